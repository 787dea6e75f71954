"""A run's settings as URL query parameters and back: pure functions, no Streamlit.

`config_to_params(cfg)` gives flat `name=value` strings (core settings, then the model's and the
dataset's own settings, named as on the command line); `params_to_config(params)` reads them back,
ignoring anything unknown or invalid with one notice each, so a shared link never crashes a page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.config.options import ConfigError, Option
from engine.config.run_config import CORE, CORE_OPTIONS, RunConfig, core_defaults, make_config
from engine.data import DATASETS
from engine.models import MODELS, models_for


def format_value(value) -> str:
    """A setting as URL text that Option.parse reads back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)  # shortest exact form: 0.001, 1e-05
    return str(value)


def config_to_params(cfg: RunConfig, only_changed: bool = False) -> dict[str, str]:
    """Query parameters for `cfg`. `only_changed` leaves out settings equal to their defaults (for the
    config's model on its dataset), for shorter links; dataset and model are always written."""
    defaults = core_defaults(cfg.model, cfg.dataset)
    params: dict[str, str] = {}
    for opt in CORE_OPTIONS:
        value = getattr(cfg, opt.name)
        if not only_changed or opt.name in ("dataset", "model") or value != defaults.get(opt.name):
            params[opt.name] = format_value(value)
    scoped = ((MODELS[cfg.model].options, cfg.model_args), (DATASETS[cfg.dataset].options, cfg.data_args))
    for options, values in scoped:
        for opt in options:
            if opt.name in params or opt.name not in values:
                continue
            value = values[opt.name]
            if not only_changed or _normal(value) != _normal(opt.default):
                params[opt.name] = format_value(value)
    return params


def _normal(value):
    return tuple(value) if isinstance(value, list) else value


def _last(value) -> str:
    """st.query_params gives strings; a repeated parameter may come as a list: the last one wins."""
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return str(value)


def _pick(name: str, given: str | None, allowed: Iterable[str], fallback: str, notices: list[str]) -> str:
    allowed = list(allowed)
    if given is None:
        return fallback
    if given not in allowed:
        notices.append(f"{name}={given!r} is not known (expected one of {', '.join(allowed)}); "
                       f"using {fallback!r}")
        return fallback
    return given


def params_to_config(params: Mapping, ignore: Iterable[str] = ()) -> tuple[RunConfig, list[str]]:
    """The RunConfig that query parameters describe, and one notice per parameter that was ignored
    (unknown name, invalid value, or a setting that does not apply to the chosen model/dataset).
    Names in `ignore` belong to the page (e.g. a tab) and are skipped silently."""
    notices: list[str] = []
    flat = {str(k): _last(v) for k, v in params.items() if k not in set(ignore)}
    dataset = _pick("dataset", flat.pop("dataset", None), DATASETS, CORE["dataset"].default, notices)
    kind = DATASETS[dataset].kind
    default_model = CORE["model"].default
    if kind not in MODELS[default_model].kinds:
        default_model = models_for(kind)[0]
    model = _pick("model", flat.pop("model", None), MODELS, default_model, notices)
    if kind not in MODELS[model].kinds:
        notices.append(f"model {model!r} does not take {kind} data ({dataset}); using {default_model!r}")
        model = default_model
    base = {"dataset": dataset, "model": model}
    scopes: list[tuple[dict, dict[str, Option], str]] = [
        ({}, {o.name: o for o in MODELS[model].options}, "model_args"),
        ({}, {o.name: o for o in DATASETS[dataset].options}, "data_args"),
    ]
    core: dict = {}
    other_models = {o.name for m in MODELS.values() for o in m.options}
    other_data = {o.name for d in DATASETS.values() for o in d.options}
    for name, raw in flat.items():
        target, opt, field = None, None, None
        if name in CORE:
            target, opt = core, CORE[name]
        else:
            for values, options, scope in scopes:
                if name in options:
                    target, opt, field = values, options[name], scope
                    break
        if opt is None:
            if name in other_models or name in other_data:
                notices.append(f"{name}={raw!r} does not apply to model {model!r} on dataset {dataset!r}; ignored")
            else:
                notices.append(f"unknown parameter {name!r} ignored")
            continue
        try:
            value = opt.parse(raw)
            # checks that involve more than one setting (e.g. features) run in make_config
            make_config(**base, **({name: value} if field is None else {field: {name: value}}))
        except ConfigError as exc:
            notices.append(f"{exc}; ignored")
            continue
        target[name] = value
    try:
        cfg = make_config(**base, **core, model_args=scopes[0][0], data_args=scopes[1][0])
    except ConfigError as exc:  # a combination that no single setting shows
        notices.append(f"these settings do not fit together ({exc}); using the defaults for {dataset}/{model}")
        cfg = make_config(**base)
    return cfg, notices


def share_link(cfg: RunConfig, page_url: str | None) -> str:
    """The page URL (without its query) with `cfg`'s changed settings as query parameters."""
    from urllib.parse import urlencode

    base = (page_url or "").split("?", 1)[0] or "/Train"
    return f"{base}?{urlencode(config_to_params(cfg, only_changed=True))}"


def existing_run(value, store) -> str | None:
    """A run id from a link (`?init_from=`, `?run=`) if it names a run of `store`, else None: checked against the
    run-id pattern and the store before anything touches the filesystem."""
    from engine.jobs.store import RunNotFound
    from engine.paths import check_run_id

    try:
        run_id = check_run_id(_last(value) if value is not None else None)
        store.get_run(run_id)
    except (ValueError, RunNotFound):
        return None
    return run_id
