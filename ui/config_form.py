"""Train-page widgets generated from the engine's `Option` declarations (core settings plus the
chosen model's own), returning a validated `RunConfig`.

Widget values live in `st.session_state` under explicit keys (`train_<name>` for core settings,
`train_m_<model>_<name>` for model settings), initialised from the engine defaults. Changing the
model applies that model's default core settings (e.g. the single layer's larger learning rate);
picking a preset applies the preset's values.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
from pathlib import Path

import streamlit as st

from engine.config.options import ConfigError, Option
from engine.config.run_config import CORE, RunConfig, check_monitor, core_defaults, make_config
from engine.data import DATASETS, DataMissingError
from engine.features.table import TableFeatures
from engine.models import MODELS, build_model, count_parameters, models_for
from engine.training.devices import available_devices

LR_GRID = [round(m * 10.0 ** e, 10) for e in range(-6, 1) for m in (1, 2, 5)] + [1.0]
BATCH_GRID = [2 ** i for i in range(11)]  # 1 .. 1024
FEATURE_CHOICES = {
    "glove": "GloVe 6B, 50-d (embedded)",
    "w2v": "Word2Vec trained on the training headlines (100-d)",
    "word2vec": "a word2vec file on this machine (e.g. GoogleNews 300-d)",
}
W2V_DIM = 100
PRESET_NONE = "(none)"
SCHEDULE_LABELS = {"none": "constant", "cosine": "cosine decay (per epoch)",
                   "onecycle": "one-cycle (warm-up, then anneal; per batch)"}
MONITOR_LABELS = {"valid_loss": "lowest valid loss", "valid_acc": "highest valid accuracy"}


def best_checkpoint_label(config: dict) -> str:
    """How a stored run's best checkpoint was picked; runs from before `monitor` existed used valid loss."""
    return MONITOR_LABELS[config.get("monitor", "valid_loss")]


def core_key(name: str) -> str:
    return f"train_{name}"


def model_key(model: str, name: str) -> str:
    return f"train_m_{model}_{name}"


def with_value(grid: list, value) -> list:
    """`grid` plus `value` (sorted) when a default or preset lies off the grid."""
    return grid if value in grid else sorted([*grid, value])


def _init(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


# --- widgets from Options --------------------------------------------------------------------
def option_widget(opt: Option, key: str, container=None, label: str | None = None, disabled: bool = False):
    """One widget for `opt`, its value kept in st.session_state[key] (initialised to the default)."""
    box = container or st
    _init(key, opt.default)
    label = label or opt.name.replace("_", " ").capitalize()
    common = {"key": key, "help": opt.help or None, "disabled": disabled}
    if opt.choices:
        if st.session_state[key] not in opt.choices:
            st.session_state[key] = opt.default
        return box.selectbox(label, list(opt.choices), **common)
    if opt.type == "bool":
        return box.toggle(label, **common)
    if opt.type == "int":
        if opt.min is not None and opt.max is not None and opt.max - opt.min <= 16:
            return box.slider(label, int(opt.min), int(opt.max), step=1, **common)
        return box.number_input(label, min_value=None if opt.min is None else int(opt.min),
                                max_value=None if opt.max is None else int(opt.max), step=1, **common)
    if opt.type == "float":
        if opt.log:
            grid = with_value([v for v in LR_GRID if (opt.min or 0) <= v <= (opt.max or 1e9)], st.session_state[key])
            return box.select_slider(label, grid, format_func=lambda v: f"{v:g}", **common)
        if opt.min is not None and opt.max is not None and opt.max <= 1.0:
            return box.slider(label, float(opt.min), float(opt.max), step=0.05, **common)
        return box.number_input(label, min_value=opt.min, max_value=opt.max, format="%g", **common)
    if opt.type == "ints":  # kept as text ("3,4,5"); Option.parse turns it into integers
        if not isinstance(st.session_state[key], str):
            st.session_state[key] = ",".join(map(str, st.session_state[key]))
        return box.text_input(label + " (comma-separated)", **common)
    return box.text_input(label, **common)


# --- reacting to model and preset changes ----------------------------------------------------
def _overridden_core() -> set[str]:
    return {name for spec in MODELS.values() for name in spec.defaults}


def set_core(name: str, value) -> None:
    """Write a core setting into the widget state."""
    st.session_state[core_key(name)] = value


def apply_model_defaults() -> None:
    """on_change of the model selectbox: the new model's default core settings (lr, ...)."""
    model = st.session_state[core_key("model")]
    defaults = core_defaults(model)
    for name in _overridden_core():
        set_core(name, defaults[name])
    st.session_state[f"train_preset_{model}"] = PRESET_NONE


def apply_preset(model: str) -> None:
    """on_change of the preset selectbox: write the preset's model and core settings."""
    name = st.session_state[f"train_preset_{model}"]
    preset = MODELS[model].presets.get(name)
    if not preset:
        return
    for opt_name, value in preset.get("model_args", {}).items():
        st.session_state[model_key(model, opt_name)] = value
    for opt_name, value in preset.items():
        if opt_name in CORE:
            set_core(opt_name, value)


def apply_config(cfg: RunConfig) -> None:
    """Write every setting of `cfg` into the widget state (e.g. from a shared link)."""
    for name in CORE:
        if name != "features":
            set_core(name, getattr(cfg, name))
    if cfg.features.startswith("word2vec:"):
        st.session_state["train_features_choice"] = "word2vec"
        st.session_state["train_features_path"] = cfg.features.split(":", 1)[1]
    else:
        st.session_state["train_features_choice"] = cfg.features
    for name, value in cfg.model_args.items():
        st.session_state[model_key(cfg.model, name)] = ",".join(map(str, value)) if isinstance(value, tuple) else value
    for name, value in cfg.data_args.items():
        st.session_state[f"train_d_{cfg.dataset}_{name}"] = value


# --- data shapes for the parameter count -----------------------------------------------------
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


# --- the form ---------------------------------------------------------------------------------
def _features_widget(box) -> str:
    choice = box.selectbox("Text features (mean of word vectors)", list(FEATURE_CHOICES),
                           format_func=FEATURE_CHOICES.get, key="train_features_choice",
                           help=CORE["features"].help)
    if choice != "word2vec":
        return choice
    path = box.text_input("word2vec file path", key="train_features_path",
                          placeholder="/data/GoogleNews-vectors-negative300.bin.gz",
                          help="a .bin, .bin.gz or .txt word2vec file readable by this server")
    return f"word2vec:{path.strip()}" if path and path.strip() else "word2vec:"


def render_form(home: str) -> tuple[RunConfig | None, dict]:
    """Draw the settings; return (validated config or None, the raw values). Config errors are shown
    with st.error naming the allowed values."""
    names = list(DATASETS)
    _init(core_key("dataset"), CORE["dataset"].default if CORE["dataset"].default in names else names[0])
    data_col, model_col, opt_col = st.columns(3, gap="large")

    data_col.subheader("Data")
    dataset = data_col.selectbox("Dataset", names, key=core_key("dataset"),
                                 format_func=lambda n: f"{DATASETS[n].title}",
                                 help="Fetch more datasets on the Home page")
    spec = DATASETS[dataset]
    data_col.caption(spec.description)
    values: dict = {"dataset": dataset}
    if spec.kind == "text":
        values["features"] = _features_widget(data_col)
    data_args = {}
    for opt in spec.options:
        key = f"train_d_{dataset}_{opt.name}"
        known = spec.option_choices(home, data_args).get(opt.name) if spec.option_choices else None
        if known:  # values only known at run time (e.g. the added CSV tables and their columns)
            opt = dataclasses.replace(opt, choices=tuple(known), default=known[0])
        data_args[opt.name] = option_widget(opt, key, data_col)
    values["data_args"] = data_args

    model_col.subheader("Model")
    choices = models_for(spec.kind)
    _init(core_key("model"), CORE["model"].default)
    if st.session_state[core_key("model")] not in choices:
        st.session_state[core_key("model")] = choices[0]
        apply_model_defaults()
    model = model_col.selectbox("Architecture", choices, key=core_key("model"), format_func=lambda m: MODELS[m].title,
                                on_change=apply_model_defaults)
    mspec = MODELS[model]
    if mspec.description:
        model_col.caption(mspec.description)
    if mspec.presets:
        _init(f"train_preset_{model}", PRESET_NONE)
        model_col.selectbox("Preset", [PRESET_NONE, *mspec.presets], key=f"train_preset_{model}",
                            on_change=apply_preset, args=(model,),
                            help="fill the settings with a classic configuration")
    values["model"] = model
    values["model_args"] = {opt.name: option_widget(opt, model_key(model, opt.name), model_col)
                            for opt in mspec.options}

    opt_col.subheader("Training")
    defaults = core_defaults(model)
    for name in ("optimizer", "lr", "momentum", "weight_decay", "schedule", "epochs", "monitor", "early_stopping",
                 "patience", "seed"):
        _init(core_key(name), defaults[name])
    values["optimizer"] = option_widget(CORE["optimizer"], core_key("optimizer"), opt_col, "Optimizer")
    values["lr"] = option_widget(CORE["lr"], core_key("lr"), opt_col, "Learning rate (log scale)")
    if values["optimizer"] == "sgd":
        values["momentum"] = opt_col.slider("Momentum", 0.0, 0.99, step=0.01, key=core_key("momentum"),
                                            help=CORE["momentum"].help)
    values["weight_decay"] = opt_col.select_slider(
        "Weight decay (L2)", with_value([0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1], st.session_state[core_key("weight_decay")]),
        format_func=lambda v: f"{v:g}", key=core_key("weight_decay"), help=CORE["weight_decay"].help)
    _init(core_key("batch_size"), defaults["batch_size"])
    values["batch_size"] = opt_col.select_slider(
        "Batch size", with_value(BATCH_GRID, st.session_state[core_key("batch_size")]), key=core_key("batch_size"),
        help="examples per gradient step (powers of two from 1 to 1024)")
    values["schedule"] = opt_col.selectbox("Learning-rate schedule", CORE["schedule"].choices,
                                           key=core_key("schedule"), format_func=SCHEDULE_LABELS.get,
                                           help=CORE["schedule"].help)
    e1, e2 = opt_col.columns(2)
    values["epochs"] = e1.number_input("Epochs (maximum)", min_value=1, max_value=1000, step=1,
                                       key=core_key("epochs"), help=CORE["epochs"].help)
    values["seed"] = e2.number_input("Seed", min_value=0, max_value=2 ** 31 - 1, step=1, key=core_key("seed"),
                                     help=CORE["seed"].help)
    values["monitor"] = opt_col.selectbox("Best checkpoint by", CORE["monitor"].choices, key=core_key("monitor"),
                                          format_func=MONITOR_LABELS.get, help=CORE["monitor"].help)
    values["early_stopping"] = opt_col.toggle("Early stopping", key=core_key("early_stopping"),
                                              help=CORE["early_stopping"].help)
    values["patience"] = opt_col.number_input("Patience (epochs)", min_value=1, max_value=1000, step=1,
                                              key=core_key("patience"), disabled=not values["early_stopping"],
                                              help=CORE["patience"].help)
    devices = ["auto", *available_devices()]
    auto_to = devices[2] if len(devices) > 2 else "cpu"
    _init(core_key("device"), "auto")
    if st.session_state[core_key("device")] not in devices:
        st.session_state[core_key("device")] = "auto"
    values["device"] = opt_col.selectbox("Device", devices, key=core_key("device"),
                                         format_func=lambda d: f"auto ({auto_to})" if d == "auto" else d,
                                         help="only the devices this server has are offered")
    try:
        cfg = make_config(**values)
        check_features(cfg)
    except ConfigError as exc:
        st.error(f"These settings cannot train: {exc}")
        return None, values
    return cfg, values


def check_features(cfg: RunConfig) -> None:
    """A word2vec file must exist on this server before a run can use it (caught here, not in the worker)."""
    if DATASETS[cfg.dataset].kind != "text" or not cfg.features.startswith("word2vec:"):
        return
    path = cfg.features.split(":", 1)[1]
    if not path:
        raise ConfigError("give the path of a word2vec file (e.g. GoogleNews-vectors-negative300.bin.gz), "
                          "or choose the embedded GloVe vectors")
    if not Path(path).expanduser().is_file():
        raise ConfigError(f"the word2vec file {path} is not on this server. Fix: give the path of a "
                          ".bin/.bin.gz/.txt word2vec file, or choose the embedded GloVe vectors")
