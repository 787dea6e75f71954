"""What the Train page needs to show a model before any run: a ready dataset's classes and input shape
(cached), and the layer table these settings build on it (engine/models/summary.py, meta device)."""

from __future__ import annotations

import json

import streamlit as st

from engine.config.options import ConfigError
from engine.config.run_config import RunConfig, check_monitor
from engine.data import DATASETS, DataMissingError
from engine.models import summary


@st.cache_data(show_spinner=False, max_entries=16)
def dataset_shape(name: str, home: str, data_args_json: str = "{}", vocab: bool = False) -> dict | None:
    """Classes and input shape of a dataset that is ready (None if not fetched; {"error": why} when these
    data settings cannot load, e.g. a CSV target that does not exist). With `vocab`: its word-id vocabulary size."""
    if not DATASETS[name].ready(home):
        return None
    try:
        return summary.data_shape(name, home, json.loads(data_args_json), vocab=vocab)
    except (ConfigError, DataMissingError, ValueError, OSError) as exc:
        return {"error": str(exc)}


def model_summary(cfg: RunConfig, shape: dict | None) -> dict | None:
    """The layer table of the model `cfg` describes on the dataset's shape, built on the meta device (None if
    unknown)."""
    if shape is None:
        return None
    try:
        check_monitor(cfg, shape["task"])
        return summary.summarize(cfg.model, cfg.model_args, summary.model_spec(cfg, shape), cfg.batch_size)
    except ConfigError:
        raise  # these settings cannot train (e.g. a classifier on a regression target): the page says why
    except Exception:
        return None
