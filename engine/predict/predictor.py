"""Rebuild a trained pipeline (featurizer + model) from a checkpoint and predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine import access
from engine.config.options import ConfigError
from engine.config.run_config import RunConfig
from engine.features import featurizer_from_state
from engine.features.text import MAX_CHARS
from engine.models import MODELS, build_model
from engine.training import checkpoint


class InputError(ValueError):
    """An input that cannot be predicted. The message says what to give instead."""


def check_headline(text: str) -> str:
    if text is None or not str(text).strip():
        raise InputError("the headline is empty. Type a news headline, e.g. 'Apple unveils a new iPhone'.")
    if len(text) > MAX_CHARS:
        raise InputError(f"the headline is {len(text):,} characters long; at most {MAX_CHARS:,} are read. "
                         "Paste one headline, not an article.")
    return str(text)


def parse_row(row) -> dict:
    """A table row: a dict, or a JSON object given as text (`--text '{"HP": 60, "Attack": 80}'`)."""
    if isinstance(row, dict):
        return row
    try:
        value = json.loads(row)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise InputError(f"{str(row)[:60]!r} is not a row. Fix: give a JSON object of column values, e.g. "
                         '\'{"HP": 60, "Attack": 80}\', or a CSV file with the columns as its header')
    return value


def check_checkpoint_file(path: str | Path, home=None) -> dict:
    """A checkpoint file from outside, loaded, if every word-vector source it names is one the server offers
    (engine.access); else CheckpointError."""
    ckpt = checkpoint.load(path)
    try:
        access.check_checkpoint_sources(ckpt, home)
    except access.AccessError as exc:
        raise checkpoint.CheckpointError(f"{Path(path).name} was refused: {exc}") from None
    return ckpt


def check_weights(config: RunConfig, spec: dict, weights: dict) -> None:
    """The model the spec describes, built on the meta device (no storage), has the checkpoint's tensor shapes
    and is not much bigger than the weights the checkpoint holds; else ValueError. Run before the real build."""
    from engine.models.summary import build_on_meta

    if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise ValueError("its weights are not tensors")
    try:
        expected = build_on_meta(config.model, config.model_args, spec).state_dict()
    except ConfigError:
        raise
    except Exception:  # a model without a meta build: the bounds of access.check_spec still hold
        return
    for key, tensor in weights.items():
        if key in expected and tuple(expected[key].shape) != tuple(tensor.shape):
            raise ValueError(f"its weights {key} have shape {tuple(tensor.shape)}, its spec builds "
                             f"{tuple(expected[key].shape)}")
    need = sum(t.numel() for t in expected.values())
    have = sum(t.numel() for t in weights.values())
    if need > 2 * have + 1_000_000:
        raise ValueError(f"its spec builds {need:,} weights, it holds {have:,}")


class Predictor:
    def __init__(self, ckpt: dict, home=None, source: str = ""):
        self.source = source
        try:
            self.config = RunConfig.from_dict(ckpt["config"])
            self.spec = ckpt["spec"]
            self.featurizer = featurizer_from_state(ckpt["featurizer"], home)
            access.check_spec(self.spec, self.featurizer.spec())  # before any weights are allocated
            check_weights(self.config, self.spec, ckpt["model"])
            self.model = build_model(self.config.model, self.config.model_args, self.spec)
            self.model.load_state_dict(ckpt["model"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise checkpoint.CheckpointError(
                f"{source or 'the checkpoint'} does not match its own model/dataset description "
                f"({str(exc)[:300]}). Fix: use the checkpoint NN Lab saved for that run.") from None
        self.model.eval()
        self.classes = list(self.spec.get("classes", []))
        self.kind = self.spec.get("kind")

    @classmethod
    def from_checkpoint(cls, path: str | Path, home=None) -> Predictor:
        """A checkpoint from outside (an upload, `--checkpoint`): it may name only word vectors the server
        knows (engine.access)."""
        return cls(check_checkpoint_file(path, home), home, source=Path(path).name)

    @classmethod
    def from_run(cls, store, run_id: str) -> Predictor:
        folder = store.run_dir(run_id)
        path = folder / "best.pt" if (folder / "best.pt").exists() else folder / "last.pt"
        if not path.exists():
            raise checkpoint.CheckpointError(f"run {run_id} has no checkpoint yet (it saves one per epoch)")
        return cls(checkpoint.load(path), store.home, source=f"run {run_id}")

    @property
    def model_name(self) -> str:
        return MODELS[self.config.model].title

    @torch.no_grad()
    def probabilities(self, raw_items) -> torch.Tensor:
        x = self.featurizer.transform(raw_items)
        return torch.softmax(self.model(x).float(), dim=1)

    def predict_inputs(self, items: list) -> list[dict]:
        """Predict raw inputs of this run's kind (headlines for text runs)."""
        if self.kind == "text":
            return self.predict_texts(items)
        if self.kind == "image":
            return [{k: v for k, v in item.items() if k != "image"} for item in self.predict_images(items)]
        if self.kind == "table":
            return self.predict_rows(items)
        raise InputError(f"predicting {self.kind} inputs is not supported")

    @property
    def columns(self) -> list[str]:
        """The input columns a table run was trained on (numeric ones first)."""
        state = self.featurizer.state()
        return list(state.get("numeric", [])) + list(state.get("categorical", []))

    def predict_rows(self, rows: list) -> list[dict]:
        """Table rows (dicts, or JSON objects as text) -> {"label", "probs"} or {"value"} (in the target's
        units). A missing number becomes the training mean; an unseen category counts as none."""
        import pandas as pd  # only table runs need it: ~1 s of start-up

        parsed = [parse_row(r) for r in rows]
        unknown = sorted({k for r in parsed for k in r} - set(self.columns))
        if unknown:
            raise InputError(f"unknown column(s) {', '.join(map(repr, unknown))}. Fix: use the run's columns: "
                             + ", ".join(self.columns))
        frame = pd.DataFrame(parsed, columns=self.columns)
        try:
            with torch.no_grad():
                out = self.model(self.featurizer.transform(frame)).float()
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if self.spec.get("task") == "regression":
            mean, std = self.spec.get("target_scale") or (0.0, 1.0)
            return [{"value": round(float(v) * std + mean, 6)} for v in out.reshape(len(parsed), -1)[:, 0]]
        probs = torch.softmax(out, dim=1)
        return [{"label": self.classes[int(p.argmax())],
                 "probs": {c: round(float(v), 6) for c, v in zip(self.classes, p, strict=True)}} for p in probs]

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.spec.get("image_shape") or self.featurizer.state().get("shape") or (28, 28))

    def predict_images(self, images: list, paper: float | None = None) -> list[dict]:
        """Pictures of digits (paths, bytes, PIL images or arrays, any background convention) ->
        {"label", "probs" (one per class, in class order), "image" (the preprocessed input)}, with the
        same preprocessing for the canvas, uploads and the CLI (`engine.predict.images.prepare_digit`); `paper`: the
        background grey when known (the canvas's black), else guessed per picture."""
        from engine.predict.images import prepare_digit

        prepared = []
        for image in images:
            try:
                prepared.append(prepare_digit(image, self.image_shape, paper))
            except ValueError as exc:  # BlankImageError included: a message, not a prediction
                raise InputError(str(exc)) from None
        probs = self.probabilities(np.stack(prepared))
        out = []
        for image, p in zip(prepared, probs, strict=True):
            name = self.classes[int(p.argmax())]
            out.append({"label": int(name) if name.isdigit() else name,
                        "probs": [round(float(v), 6) for v in p], "image": image})
        return out

    def predict_texts(self, texts: list[str]) -> list[dict]:
        texts = [check_headline(t) for t in texts]
        probs = self.probabilities(texts)
        out = []
        for text, p in zip(texts, probs, strict=True):
            view = self.featurizer.explain(text)
            item = {"label": self.classes[int(p.argmax())],
                    "probs": {c: round(float(v), 6) for c, v in zip(self.classes, p, strict=True)}}
            if view is not None:
                item["tokens"] = [{"token": t, "known": k} for t, k in view.tokens]
                item["unknown"] = view.unknown
            out.append(item)
        return out
