"""Train-page widgets generated from the engine's `Option` declarations (core settings plus the
chosen model's own), returning a validated `RunConfig`.

Widget values live in `st.session_state` under explicit keys (`train_<name>` for core settings,
`train_m_<model>_<name>` for model settings), initialised from the engine defaults. Changing the
model applies that model's default core settings (e.g. the single layer's larger learning rate);
picking a preset applies the preset's values.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from engine.access import AccessError, check_server_path
from engine.config.options import ConfigError
from engine.config.run_config import CORE, RunConfig, core_defaults, dataset_model_args, make_config
from engine.data import DATASETS
from engine.features.vectors import VECTOR_SIZES
from engine.models import MODELS, models_for
from engine.training.devices import available_devices
from ui import permissions
from ui.layout import FIELD_WIDTH, wrapping_row
from ui.option_widgets import init_state, option_widget

FEATURE_CHOICES = {
    "glove": f"GloVe 6B, {VECTOR_SIZES['glove']}-d (embedded)",
    "w2v": f"Word2Vec trained on the training headlines ({VECTOR_SIZES['w2v']}-d)",
    "word2vec": "a word2vec file on this machine (e.g. GoogleNews 300-d)",
}
TRAINING = ("optimizer", "lr", "momentum", "weight_decay", "batch_size", "schedule", "epochs", "seed", "monitor",
            "early_stopping", "patience")  # the Training section, in order
LABELS = {"lr": "Learning rate (log scale)", "weight_decay": "Weight decay (L2)", "schedule": "Learning-rate schedule",
          "epochs": "Epochs (maximum)", "monitor": "Best checkpoint by", "patience": "Patience (epochs)"}
PRESET_NONE = "(none)"
SCHEDULE_LABELS = {"none": "constant", "cosine": "cosine decay (per epoch)",
                   "onecycle": "one-cycle (warm-up, then anneal; per batch)"}
MONITOR_LABELS = {"valid_loss": "lowest valid loss", "valid_acc": "highest valid accuracy"}
FORMATS = {"schedule": SCHEDULE_LABELS.get, "monitor": MONITOR_LABELS.get}


def best_checkpoint_label(config: dict) -> str:
    """How a stored run's best checkpoint was picked; runs from before `monitor` existed used valid loss."""
    return MONITOR_LABELS[config.get("monitor", "valid_loss")]


def core_key(name: str) -> str:
    return f"train_{name}"


def model_key(model: str, name: str) -> str:
    return f"train_m_{model}_{name}"


# --- reacting to dataset, model and preset changes -------------------------------------------
def _overridden_core() -> set[str]:
    """Core settings some model or dataset gives its own default."""
    return ({name for spec in MODELS.values() for name in spec.defaults}
            | {name for spec in DATASETS.values() for name in spec.defaults if name != "model_args"})


def _dataset_tuned(model: str) -> set[str]:
    """Model settings some dataset gives its own default for `model` (e.g. covid's small MLP)."""
    return {name for spec in DATASETS.values() for name in spec.defaults.get("model_args", {}).get(model, {})}


def set_core(name: str, value) -> None:
    """Write a core setting into the widget state."""
    st.session_state[core_key(name)] = value


def apply_defaults() -> None:
    """on_change of the dataset and model selectboxes: the defaults of that model on that dataset, as
    make_config (and so the CLI) applies them: core settings (lr, ...) and the dataset's model settings."""
    model, dataset = st.session_state[core_key("model")], st.session_state.get(core_key("dataset"))
    defaults = core_defaults(model, dataset)
    for name in _overridden_core():
        set_core(name, defaults[name])
    tuned, options = dataset_model_args(model, dataset), {o.name: o for o in MODELS[model].options}
    for name in _dataset_tuned(model):
        st.session_state[model_key(model, name)] = tuned.get(name, options[name].default)
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


# --- the form ---------------------------------------------------------------------------------
def _features_widget(box) -> str:
    choices = [c for c in FEATURE_CHOICES if c != "word2vec" or permissions.is_teacher()]  # server files: teacher
    if st.session_state.get("train_features_choice", choices[0]) not in choices:
        st.session_state["train_features_choice"] = choices[0]
    choice = box.selectbox("Text features (mean of word vectors)", choices, width=2 * FIELD_WIDTH,
                           format_func=FEATURE_CHOICES.get, key="train_features_choice",
                           help=CORE["features"].help)
    if choice != "word2vec":
        return choice
    path = box.text_input("word2vec file path", key="train_features_path", width=2 * FIELD_WIDTH,
                          placeholder="/data/GoogleNews-vectors-negative300.bin.gz",
                          help="a .bin, .bin.gz or .txt word2vec file readable by this server")
    return f"word2vec:{path.strip()}" if path and path.strip() else "word2vec:"


def render_form(home: str) -> tuple[RunConfig | None, dict]:
    """Draw the settings; return (validated config or None, the raw values). Config errors are shown
    with st.error naming the allowed values."""
    values = _data_section(_section("Data", "data"), home)
    values.update(_model_section(_section("Model", "model"), values["dataset"]))
    training = _section("Training", "training")
    values.update(_training_section(training, values["model"], values["dataset"]))
    values["device"] = _device_widget(training.row)
    try:
        cfg = make_config(**values)
        check_features(cfg, home)
    except ConfigError as exc:
        st.error(f"These settings cannot train: {exc}")
        return None, values
    return cfg, values


@dataclasses.dataclass(frozen=True)
class Section:
    about: DeltaGenerator  # captions, above the widgets
    row: DeltaGenerator  # the widgets, FIELD_WIDTH each


def _section(title: str, key: str) -> Section:
    """A subheader, a place for captions, and a row of fixed-width widgets that wraps onto more lines on a
    narrow screen (three st.columns at 800 px left ~110 px per label and cut them)."""
    st.subheader(title)
    return Section(st.container(), wrapping_row(f"train_form_{key}"))


def _data_section(box: Section, home: str) -> dict:
    """Dataset, its text features and its own options."""
    names = list(DATASETS)
    init_state(core_key("dataset"), CORE["dataset"].default if CORE["dataset"].default in names else names[0])
    dataset = box.row.selectbox("Dataset", names, key=core_key("dataset"), format_func=lambda n: f"{DATASETS[n].title}",
                                on_change=apply_defaults, help="Fetch more datasets on the Home page",
                                width=FIELD_WIDTH)
    spec = DATASETS[dataset]
    box.about.caption(spec.description)
    values: dict = {"dataset": dataset}
    if spec.kind == "text":
        values["features"] = _features_widget(box.row)
    data_args = {}
    for opt in spec.options:
        key = f"train_d_{dataset}_{opt.name}"
        known = spec.option_choices(home, data_args).get(opt.name) if spec.option_choices else None
        if known:  # values only known at run time (e.g. the added CSV tables and their columns)
            opt = dataclasses.replace(opt, choices=tuple(known), default=known[0])
        data_args[opt.name] = option_widget(opt, key, box.row, width=FIELD_WIDTH)
    values["data_args"] = data_args
    return values


def _model_section(box: Section, dataset: str) -> dict:
    """Architecture (among those for this kind of data), its preset and its own options."""
    choices = models_for(DATASETS[dataset].kind)
    init_state(core_key("model"), CORE["model"].default)
    if st.session_state[core_key("model")] not in choices:
        st.session_state[core_key("model")] = choices[0]
        apply_defaults()
    model = box.row.selectbox("Architecture", choices, key=core_key("model"), format_func=lambda m: MODELS[m].title,
                              on_change=apply_defaults, width=FIELD_WIDTH)
    mspec = MODELS[model]
    if mspec.description:
        box.about.caption(mspec.description)
    if mspec.presets:
        init_state(f"train_preset_{model}", PRESET_NONE)
        box.row.selectbox("Preset", [PRESET_NONE, *mspec.presets], key=f"train_preset_{model}", width=FIELD_WIDTH,
                          on_change=apply_preset, args=(model,), help="fill the settings with a classic configuration")
    tuned = dataset_model_args(model, dataset)
    for opt in mspec.options:
        init_state(model_key(model, opt.name), tuned.get(opt.name, opt.default))
    return {"model": model, "model_args": {opt.name: option_widget(opt, model_key(model, opt.name), box.row,
                                                                   width=FIELD_WIDTH) for opt in mspec.options}}


def _training_section(box: Section, model: str, dataset: str) -> dict:
    """Optimizer, learning rate and schedule, batch size, epochs, seed, best checkpoint, early stopping: one
    widget per core Option. What the model does not use (ModelSpec.fixed) shows the model's value, disabled,
    and is left to make_config."""
    defaults, fixed = core_defaults(model, dataset), MODELS[model].fixed
    values = {}
    for name in TRAINING:
        init_state(core_key(name), defaults[name])
        if name in fixed:
            set_core(name, defaults[name])
        if name == "momentum" and st.session_state[core_key("optimizer")] != "sgd":
            continue
        label = LABELS.get(name, name.replace("_", " ").capitalize()) + (" (this model's own)" if name in fixed else "")
        value = option_widget(CORE[name], core_key(name), box.row, label, format_func=FORMATS.get(name),
                              width=FIELD_WIDTH, disabled=name in fixed or (name == "patience" and not values.get("early_stopping")))
        if name not in fixed:
            values[name] = value
    return values


def _device_widget(col) -> str:
    devices = ["auto", *available_devices()]
    auto_to = devices[2] if len(devices) > 2 else "cpu"
    init_state(core_key("device"), "auto")
    if st.session_state[core_key("device")] not in devices:
        st.session_state[core_key("device")] = "auto"
    return col.selectbox("Device", devices, key=core_key("device"), width=FIELD_WIDTH,
                         format_func=lambda d: f"auto ({auto_to})" if d == "auto" else d,
                         help="only the devices this server has are offered")


def check_features(cfg: RunConfig, home=None) -> None:
    """A word2vec file is the administrator's: named only in teacher mode, under an allowed folder
    (engine.access), and it must exist on this server (caught here, not in the worker)."""
    sources = [cfg.model_args.get("init_vectors")]
    if DATASETS[cfg.dataset].kind == "text":
        sources.append(cfg.features)
    for source in sources:
        if isinstance(source, str) and source.startswith("word2vec:"):
            _check_word2vec(source.split(":", 1)[1], home)


def _check_word2vec(path: str, home) -> None:
    if not permissions.is_teacher():
        raise ConfigError("word2vec files on this server are for teacher mode. Fix: choose the embedded GloVe "
                          "vectors (or Word2Vec trained on the headlines)")
    if not path:
        raise ConfigError("give the path of a word2vec file (e.g. GoogleNews-vectors-negative300.bin.gz), "
                          "or choose the embedded GloVe vectors")
    try:
        check_server_path(path, home)
    except AccessError as exc:
        raise ConfigError(str(exc)) from None
    if not Path(path).expanduser().is_file():
        raise ConfigError(f"the word2vec file {path} is not on this server. Fix: give the path of a "
                          ".bin/.bin.gz/.txt word2vec file, or choose the embedded GloVe vectors")
