"""The architecture before it trains: a layer table (name, type, output shape for one batch, parameters,
trainable) in the manner of Keras' model.summary(), computed on PyTorch's `meta` device: the model is built
and run once on tensors that have a shape and no storage, so no weights are allocated (an 8 x 4096 MLP
costs kilobytes, not the 540 MB of its weights) and no pretrained file is read.

`data_shape` and `model_spec` give a model builder what it needs to know about a dataset without
featurizing it (the Train page caches `data_shape`; the CLI's `summary` calls both)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import torch
from torch import nn

from engine.config.run_config import RunConfig
from engine.data import DATASETS
from engine.features.vectors import VECTOR_SIZES
from engine.models import MODELS, build_model

TOKENS = 16  # a sequence model's example input: a headline has ~10 words
UNKNOWN_DIM = 300  # a word2vec file whose header cannot be read: the common GoogleNews size


def word2vec_dim(path: str) -> int | None:
    """The vector size from a word2vec file's header line ("count dim"), or None if unreadable."""
    src = Path(path).expanduser()
    try:
        opener = gzip.open if src.name.endswith(".gz") else open
        with opener(src, "rb") as fh:
            parts = fh.readline(200).split()
        return int(parts[1])
    except (OSError, ValueError, IndexError):
        return None


def vector_size(source: str) -> int:
    """The size of a word-vector source's vectors without loading them."""
    if source.startswith("word2vec:"):
        return word2vec_dim(source.split(":", 1)[1]) or UNKNOWN_DIM
    return VECTOR_SIZES.get(source, UNKNOWN_DIM)


def data_shape(name: str, home=None, data_args: dict | None = None, vocab: bool = False) -> dict:
    """Classes, task and input shape of a ready dataset (with `vocab`: the word-id vocabulary size of its
    training titles). Raises the loader's error when these data settings cannot load."""
    from engine.features.sequence import build_vocab
    from engine.features.table import TableFeatures

    ds = DATASETS[name].load(home, **(data_args or {}))
    out = {"classes": list(ds.classes), "kind": ds.kind, "task": ds.task}
    if ds.kind == "image":
        shape = tuple(int(s) for s in ds.train.x.shape[1:])
        out.update(image_shape=shape, input_dim=int(math.prod(shape)))
    elif ds.kind == "table":
        table = TableFeatures()
        table.fit(ds)
        out["input_dim"] = len(table.columns)
    elif vocab:
        out["vocab_size"] = len(build_vocab(ds.train.x)) + 1  # id 0: rare words and padding
    return out


def model_spec(cfg: RunConfig, shape: dict) -> dict:
    """The data spec a model builder reads (as pipeline.prepare_data makes it), from `data_shape`."""
    spec = {"num_outputs": len(shape["classes"]) if shape["task"] == "classification" else 1,
            "classes": shape["classes"], "task": shape["task"], "kind": shape["kind"], "dataset": cfg.dataset}
    if shape["kind"] == "text":
        spec["input_dim"] = vector_size(cfg.features)
        if "vocab_size" in shape:
            spec["vocab_size"] = shape["vocab_size"]
    else:
        spec.update({k: shape[k] for k in ("input_dim", "image_shape") if k in shape})
    return spec


def _embedding_dim(args: dict) -> int:
    """The embedding size engine.models.embedding.make_embedding picks, without reading the vectors."""
    source = args.get("init_vectors", "none")
    if source == "none":
        return int(args.get("emb_size") or 300)
    return max(vector_size(source), int(args.get("emb_size") or 0))


def build_on_meta(name: str, args: dict, spec: dict) -> nn.Module:
    """The model on the meta device: shapes, no storage, no pretrained weights or vectors read."""
    model_spec_ = MODELS[name]
    args, spec = dict(args), dict(spec)
    if model_spec_.input == "ids":  # the embedding's init and the unknown words' table read word vectors
        spec.setdefault("embedding_dim", _embedding_dim(args))
        args["unknown_vectors"] = False  # a fixed buffer, no parameters
    with torch.device("meta"):
        if model_spec_.skeleton is not None:
            return model_spec_.skeleton(args, spec)
        return build_model(name, args, spec)


def example_input(input_kind: str, spec: dict, batch: int, tokens: int = TOKENS):
    """One batch's input on the meta device, as the model's featurizer would give it."""
    meta = torch.device("meta")
    if input_kind == "image":
        return torch.empty(batch, spec.get("in_channels", 1), *spec["image_shape"], device=meta)
    if input_kind == "ids":
        return (torch.empty(batch, tokens, dtype=torch.long, device=meta),
                torch.full((batch,), tokens, dtype=torch.long, device=meta))
    if input_kind == "subword":
        ids = torch.empty(batch, tokens, dtype=torch.long, device=meta)
        return {"input_ids": ids, "attention_mask": torch.ones(batch, tokens, dtype=torch.long, device=meta)}
    return torch.empty(batch, spec["input_dim"], device=meta)


def _shape(out) -> list[int] | None:
    """The first tensor's shape in a module's output (an RNN gives (output, hidden))."""
    if isinstance(out, torch.Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)) and out:
        return _shape(out[0])
    if isinstance(out, dict) or hasattr(out, "values"):
        for value in out.values():
            return _shape(value)
    return None


def layer_rows(model: nn.Module, x) -> tuple[list[dict], str | None]:
    """One row per leaf module (and per module holding parameters of its own), in the order the forward
    pass calls them; a module with parameters that the pass never calls comes last without a shape. Also why shapes are missing."""
    named = [(n, m) for n, m in model.named_modules()
             if not list(m.children()) or (n and list(m.parameters(recurse=False)))]
    shapes: dict[str, list[int] | None] = {}

    def record(name: str):
        def hook(_module, _inputs, out) -> None:  # returns None: a hook's return value would replace the output
            shapes.setdefault(name, _shape(out))
        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in named]
    error = None
    model.eval()  # dropout and batch-norm statistics do nothing on the meta device either way
    if hasattr(model, "pack"):
        model.pack = False  # packing reads the lengths' values, which meta tensors do not have
    try:
        with torch.no_grad():
            model(x)
    except Exception as exc:  # an operation without a meta kernel: the table keeps its parameters
        error = f"output shapes unavailable ({type(exc).__name__})"
    finally:
        for h in hooks:
            h.remove()
    order = {n: i for i, n in enumerate(shapes)}
    rows = []
    for n, m in sorted(named, key=lambda nm: order.get(nm[0], len(order))):
        params = list(m.parameters(recurse=False))
        if n not in shapes and not params and error is None:  # e.g. attention dropout applied as a function
            continue
        count = sum(p.numel() for p in params)
        rows.append({"name": n or "(model)", "type": type(m).__name__, "output_shape": shapes.get(n), "params": count,
                     "trainable": all(p.requires_grad for p in params) if params else None})
    return rows, error


def summarize(name: str, args: dict, spec: dict, batch: int = 1, tokens: int = TOKENS) -> dict:
    """The layer table of model `name` with settings `args` on data `spec`, for a batch of `batch` inputs."""
    model = build_on_meta(name, args, spec)
    x = example_input(MODELS[name].input, spec, batch, tokens)
    rows, error = layer_rows(model, x)
    params = list(model.parameters())
    out = {"model": name, "input_shape": _shape(x), "layers": rows,
           "total_params": sum(p.numel() for p in params),
           "trainable_params": sum(p.numel() for p in params if p.requires_grad)}
    if error:
        out["note"] = error
    return out


def summarize_config(cfg: RunConfig, home=None) -> dict:
    """`summarize` for the settings of a run, on its dataset's shape."""
    shape = data_shape(cfg.dataset, home, cfg.data_args, vocab=MODELS[cfg.model].input == "ids")
    return summarize(cfg.model, cfg.model_args, model_spec(cfg, shape), cfg.batch_size)
