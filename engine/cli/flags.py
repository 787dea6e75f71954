"""Train flags generated from the Option declarations: every Train-page setting is a flag."""

from __future__ import annotations

import argparse

from engine.config.options import ConfigError, Option
from engine.config.run_config import CORE_OPTIONS, RunConfig, make_config
from engine.data import DATASETS
from engine.models import MODELS


def _add(parser_or_group, opt: Option, dest: str, default: str | None = None) -> None:
    default = f"default {opt.default}" if default is None else default
    text = f"{opt.help} ({opt.allowed()}; {default})".replace("%", "%%")  # argparse %-formats help
    kwargs = {"dest": dest, "default": argparse.SUPPRESS, "help": text}
    if opt.type == "bool":
        # `--flag`, `--flag false` and `--no-flag` all work
        parser_or_group.add_argument(opt.flag, nargs="?", const="true", metavar="BOOL", **kwargs)
        parser_or_group.add_argument("--no-" + opt.flag[2:], action="store_const", const="false",
                                     dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    else:
        parser_or_group.add_argument(opt.flag, type=str, metavar=opt.type.upper(), **kwargs)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    core = parser.add_argument_group("run")
    for opt in CORE_OPTIONS:
        _add(core, opt, f"core__{opt.name}")
    seen = {o.name for o in CORE_OPTIONS}
    for scope, specs in (("model", MODELS.values()), ("data", DATASETS.values())):
        group = parser.add_argument_group(f"{scope} settings (apply to the models/datasets that declare them)")
        declared: dict[str, list[tuple[str, Option]]] = {}  # option name -> (model/dataset, its Option)
        for spec in specs:
            for opt in spec.options:
                declared.setdefault(opt.name, []).append((spec.name, opt))
        for name, owners in declared.items():
            if name in seen:
                continue
            seen.add(name)
            _add(group, owners[0][1], f"extra__{name}", _defaults(owners))
    parser.add_argument("--preset", default=argparse.SUPPRESS, help="a named preset of the model (see --list-presets)")
    parser.add_argument("--init-from", metavar="RUN_ID", default=None,
                        help="same start, different choice: start from run RUN_ID's initial weights and settings; "
                             "the flags given change only those settings")


def _defaults(owners: list[tuple[str, Option]]) -> str:
    """'default X', or each owner's default where they differ (an option several models declare)."""
    if len({repr(o.default) for _, o in owners}) == 1:
        return f"default {owners[0][1].default}"
    return "default " + ", ".join(f"{o.default} ({owner})" for owner, o in owners)


def init_source(args: argparse.Namespace, home=None) -> tuple[str | None, RunConfig | None]:
    """(parent run id, its config as the base of this run's config) for --init-from, else (None, None)."""
    parent = getattr(args, "init_from", None)
    if not parent:
        return None, None
    from engine.jobs.store import RunStore

    return parent, RunConfig.from_dict(RunStore(home).get_run(parent)["config"])


def config_from_args(args: argparse.Namespace, base: RunConfig | None = None) -> RunConfig:
    given = vars(args)
    values = {k[6:]: v for k, v in given.items() if k.startswith("core__")}
    extras = {k[7:]: v for k, v in given.items() if k.startswith("extra__")}
    base_values = base.to_dict() if base else {}
    model_name = values.get("model", base_values.get("model", "mlp"))
    dataset_name = values.get("dataset", base_values.get("dataset", "digits"))
    model = MODELS.get(model_name)
    dataset = DATASETS.get(dataset_name)
    model_args = dict(base_values.get("model_args", {})) if base and base.model == model_name else {}
    preset = given.get("preset")
    if preset:
        if model is None or preset not in model.presets:
            raise ConfigError(f"unknown preset {preset!r} for {model_name}: "
                              f"{', '.join(model.presets) if model else 'none'}")
        p = dict(model.presets[preset])
        model_args.update(p.pop("model_args", {}))
        for k, v in p.items():
            values.setdefault(k, v)
    data_args = dict(base_values.get("data_args", {})) if base and base.dataset == dataset_name else {}
    model_names = {o.name for o in model.options} if model else set()
    data_names = {o.name for o in dataset.options} if dataset else set()
    for name, value in extras.items():
        if name in model_names:
            model_args[name] = value
        elif name in data_names:
            data_args[name] = value
        else:
            raise ConfigError(f"--{name.replace('_', '-')} does not apply to model {model_name!r} on dataset "
                              f"{dataset_name!r}")
    return make_config(**{**base_values, **values, "model_args": model_args, "data_args": data_args})
