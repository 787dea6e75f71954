"""Seeing inside a network: `summary` (the layer table of some settings, before training)."""

from __future__ import annotations

from engine.cli import emit
from engine.cli.flags import add_run_flags, config_from_args


def register(sub) -> None:
    p = sub.add_parser("summary", help="the layer table of the model these train settings build (no training, no "
                                       "weights allocated)")
    add_run_flags(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run_summary)


def run_summary(args) -> int:
    from engine.models.summary import summarize_config

    summary = summarize_config(config_from_args(args), args.home)
    if args.json:
        emit(summary, True)
        return 0
    print(f"{'layer':<44} {'type':<16} {'output shape':<20} {'params':>12}  trainable")
    for row in summary["layers"]:
        shape = "?" if row["output_shape"] is None else "x".join(map(str, row["output_shape"]))
        trainable = {True: "yes", False: "frozen", None: "-"}[row["trainable"]]
        print(f"{row['name']:<44} {row['type']:<16} {shape:<20} {row['params']:>12,}  {trainable}")
    print(f"total {summary['total_params']:,} parameters, {summary['trainable_params']:,} trainable; input "
          f"{'x'.join(map(str, summary['input_shape'] or []))}")
    if summary.get("note"):
        print(summary["note"])
    return 0
