"""What every exporter starts from: one checkpoint, rebuilt into its featurizer + model."""

from __future__ import annotations

import functools
import re

import torch

from engine.predict.predictor import Predictor


class ExportError(ValueError):
    """An export that cannot be made. The message says why and what to do instead."""


class ExportSource:
    def __init__(self, ckpt: dict, home=None, run_id: str = "", result: dict | None = None, run: dict | None = None,
                 history: dict[int, float] | None = None):
        self.ckpt, self.home, self.run_id = ckpt, home, run_id or "checkpoint"
        self.result = result or {}
        self.run, self.history = run, history or {}  # the stored run and its monitored metric per epoch (model card)

    @functools.cached_property
    def predictor(self) -> Predictor:
        return Predictor(self.ckpt, self.home, source=f"run {self.run_id}")

    @property
    def config(self):
        return self.predictor.config

    @property
    def spec(self) -> dict:
        return self.ckpt["spec"]

    @property
    def model(self) -> torch.nn.Module:
        return self.predictor.model

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu() for k, v in self.ckpt["model"].items()}

    @property
    def slug(self) -> str:
        """A file-name-safe name for this run."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.run_id).strip("._") or "run"

    def example_raw(self) -> list:
        """A small batch of raw inputs of this run's kind (for tracing and self-checks)."""
        kind = self.spec.get("kind")
        if kind == "text":
            return ["Apple unveils a new iPhone", "Stocks fall as oil prices rise"]
        if kind == "image":
            import numpy as np

            shape = self.spec.get("image_shape") or self.ckpt["featurizer"].get("shape")
            if not shape:
                raise ExportError("the checkpoint does not record its image shape")
            return np.random.default_rng(0).random((2, *shape), dtype=np.float32)
        if kind == "table":  # one row of training means and each column's first category
            state = self.ckpt["featurizer"]
            row = {**dict(zip(state["numeric"], state["means"], strict=True)),
                   **{c: (cats[0] if cats else None) for c, cats in zip(state["categorical"], state["categories"],
                                                                         strict=True)}}
            return [row, row]
        raise ExportError(f"exporting {kind} runs is not supported yet")

    def example_inputs(self) -> torch.Tensor:
        return self.predictor.featurizer.transform(self.example_raw())

    def summary(self) -> dict:
        """What a reader of an export wants to know about where it came from."""
        keep = ("test_acc", "valid_acc", "test_loss", "valid_loss", "test_mse", "params")
        return {"run_id": self.run_id, "epoch": self.ckpt.get("epoch"),
                **{k: self.result[k] for k in keep if k in self.result}}
