"""Projector: a finished run's test examples in the space of its hidden representation, and its first layer's
weights as pictures.

`project` samples the test split (seeded, at most MAX_LIMIT examples; t-SNE at most TSNE_LIMIT), runs the
model with a forward pre-hook on the output layer (the last nn.Linear with one output per class) to read what
that layer is given, and reduces it to 2-D with scikit-learn (PCA, or t-SNE on request). `first_layer` returns
an image run's first Linear layer's weights (MLP) or first convolution's filters (CNN) as 2-D arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.predict.predictor import InputError, Predictor

MAX_LIMIT = 2000
TSNE_LIMIT = 1000  # t-SNE is quadratic in the examples: slow beyond this on a laptop
METHODS = ("pca", "tsne")
CHUNK = 256
TEXT_CHARS = 120  # a headline in the hover is cut here
MAX_PICTURES = 32


def output_layer(model: nn.Module, num_outputs: int) -> nn.Linear:
    """The last nn.Linear producing one value per class: the layer whose input is the hidden representation."""
    found = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == num_outputs]
    if not found:
        raise InputError("this model has no linear output layer, so it has no hidden representation to project")
    return found[-1]


def _take(x, idx: np.ndarray):
    if hasattr(x, "iloc"):  # a table's DataFrame
        return x.iloc[idx].reset_index(drop=True)
    if isinstance(x, np.ndarray):
        return x[idx]
    return [x[i] for i in idx]


@torch.no_grad()
def hidden_states(pred: Predictor, raw) -> tuple[np.ndarray, np.ndarray]:
    """(representations (N, D), predicted class ids (N,)) of raw inputs of the run's kind, CHUNK at a time."""
    layer = output_layer(pred.model, len(pred.classes))
    seen: list[torch.Tensor] = []
    hook = layer.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().float().flatten(1)))
    preds = []
    try:
        for start in range(0, len(raw), CHUNK):
            part = _take(raw, np.arange(start, min(start + CHUNK, len(raw))))
            preds.append(pred.model(pred.featurizer.transform(part)).argmax(1))
    finally:
        hook.remove()
    return torch.cat(seen).cpu().numpy(), torch.cat(preds).cpu().numpy()


def reduce_2d(feats: np.ndarray, method: str, seed: int = 0) -> tuple[np.ndarray, list[float] | None]:
    """(N, 2) coordinates and, for PCA, the share of the variance each axis explains."""
    from sklearn.decomposition import PCA

    if method == "pca":
        pca = PCA(n_components=2, random_state=seed)
        return pca.fit_transform(feats), [float(v) for v in pca.explained_variance_ratio_]
    from sklearn.manifold import TSNE

    if feats.shape[1] > 50:  # the usual first step: t-SNE on the top 50 principal components
        feats = PCA(n_components=50, random_state=seed).fit_transform(feats)
    tsne = TSNE(n_components=2, init="pca", random_state=seed, perplexity=min(30.0, (len(feats) - 1) / 3))
    return tsne.fit_transform(feats), None


def _label(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"


def project(pred: Predictor, test, method: str = "pca", limit: int = 1000, seed: int = 0) -> dict:
    """{"method", "layer_dim", "explained" (PCA), "classes", "rows": [{"index", "x", "y", "true", "pred",
    "text" (headlines)}]} for a seeded sample of at most `limit` examples of `test` (a data Split)."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    cap = TSNE_LIMIT if method == "tsne" else MAX_LIMIT
    if not 3 <= limit <= cap:
        raise InputError(f"--limit must be between 3 and {cap} for {method}")
    if pred.spec.get("task") != "classification":
        raise InputError("the projector colours examples by their class: it needs a classification run")
    n = len(test)
    idx = np.sort(np.random.default_rng(seed).choice(n, size=min(limit, n), replace=False))
    if len(idx) < 3:
        raise InputError("the test split has fewer than 3 examples: nothing to project")
    feats, preds = hidden_states(pred, _take(test.x, idx))
    xy, explained = reduce_2d(feats, method, seed)
    rows = []
    for k, i in enumerate(idx):
        row = {"index": int(i), "x": float(xy[k, 0]), "y": float(xy[k, 1]), "true": pred.classes[int(test.y[i])],
               "pred": pred.classes[int(preds[k])]}
        if pred.kind == "text":
            row["text"] = _label(str(test.x[i]))
        rows.append(row)
    return {"method": method, "layer_dim": int(feats.shape[1]), "explained": explained, "classes": pred.classes,
            "rows": rows}


def first_layer(pred: Predictor, count: int = 16) -> dict | None:
    """An image run's first layer as pictures: {"kind": "weights" (an MLP's first Linear, one input-sized
    picture per unit) or "filters" (a CNN's first convolution, averaged over input channels), "layer", "total",
    "images": [[[...]]]} for the first `count` units; None for other runs."""
    if pred.kind != "image":
        return None
    count = max(1, min(int(count), MAX_PICTURES))
    h, w = pred.image_shape
    for name, module in pred.model.named_modules():
        if isinstance(module, nn.Conv2d):
            weight = module.weight.detach().float().mean(1)  # (out, kh, kw)
            return {"kind": "filters", "layer": name, "total": int(weight.shape[0]),
                    "images": weight[:count].tolist()}
        if isinstance(module, nn.Linear) and module.in_features == h * w:
            weight = module.weight.detach().float().reshape(-1, h, w)
            return {"kind": "weights", "layer": name, "total": int(weight.shape[0]),
                    "images": weight[:count].tolist()}
    return None


def project_run(store, run_id: str, method: str = "pca", limit: int = 1000, seed: int = 0) -> dict:
    """`project` of a stored run's best checkpoint over its dataset's test split."""
    from engine.data import load_dataset

    pred = Predictor.from_run(store, run_id)
    test = load_dataset(pred.config.dataset, store.home, **pred.config.data_args).test
    return {"run_id": run_id, **project(pred, test, method, limit, seed)}
