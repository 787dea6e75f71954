"""What the Train page needs to count a model's parameters before any run: a ready dataset's classes
and input shape, and the model these settings build on it."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import streamlit as st

from engine.config.options import ConfigError
from engine.config.run_config import RunConfig, check_monitor
from engine.data import DATASETS, DataMissingError
from engine.features.table import TableFeatures
from engine.models import build_model, count_parameters

W2V_DIM = 100


@st.cache_data(show_spinner=False, max_entries=16)
def dataset_shape(name: str, home: str, data_args_json: str = "{}") -> dict | None:
    """Classes and input shape of a dataset that is ready (None if not fetched; {"error": why} when these
    data settings cannot load, e.g. a CSV target that does not exist)."""
    spec = DATASETS[name]
    if not spec.ready(home):
        return None
    try:
        ds = spec.load(home, **json.loads(data_args_json))
    except (ConfigError, DataMissingError, ValueError, OSError) as exc:
        return {"error": str(exc)}
    out = {"classes": list(ds.classes), "kind": ds.kind, "task": ds.task}
    if ds.kind == "image":
        shape = tuple(int(s) for s in ds.train.x.shape[1:])
        out.update(image_shape=shape, input_dim=int(math.prod(shape)))
    elif ds.kind == "table":
        table = TableFeatures()
        table.fit(ds)
        out["input_dim"] = len(table.columns)
    return out


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


def model_spec_for(cfg: RunConfig, shape: dict) -> dict:
    spec = {"num_outputs": len(shape["classes"]) if shape["task"] == "classification" else 1,
            "classes": shape["classes"], "task": shape["task"], "kind": shape["kind"], "dataset": cfg.dataset}
    if shape["kind"] == "text":
        if cfg.features == "glove":
            spec["input_dim"] = 50
        elif cfg.features == "w2v":
            spec["input_dim"] = W2V_DIM
        else:
            spec["input_dim"] = word2vec_dim(cfg.features.split(":", 1)[1]) or 300
    else:
        spec.update({k: shape[k] for k in ("input_dim", "image_shape") if k in shape})
    return spec


def parameter_count(cfg: RunConfig, shape: dict | None) -> int | None:
    """Parameters of the model `cfg` describes, built on the dataset's shape (None if unknown)."""
    if shape is None:
        return None
    try:
        check_monitor(cfg, shape["task"])
        model = build_model(cfg.model, cfg.model_args, model_spec_for(cfg, shape))
    except ConfigError:
        raise  # these settings cannot train (e.g. a classifier on a regression target): the page says why
    except Exception:
        return None
    return count_parameters(model)[0]
