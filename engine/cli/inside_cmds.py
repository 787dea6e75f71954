"""Seeing inside a network: `summary` (the layer table of some settings, before training), `layers` (a run's
layer health per epoch), `boundary` (a playground run's decision boundary per epoch), `explain` (why a run
answered as it did) and `projector` (its test examples in the space of its hidden representation)."""

from __future__ import annotations

import numpy as np

from engine.cli import emit
from engine.cli.flags import add_run_flags, config_from_args
from engine.jobs.store import RunStore


def register(sub) -> None:
    p = sub.add_parser("summary", help="the layer table of the model these train settings build (no training, no "
                                       "weights allocated)")
    add_run_flags(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run_summary)

    la = sub.add_parser("layers", help="a run's layer health per epoch: weight and gradient norms, update/weight "
                                       "ratio, activation mean and std, dead or saturated units")
    la.add_argument("run_id")
    la.add_argument("--epoch", type=int, default=None, help="only this epoch")
    la.add_argument("--histograms", action="store_true", help="also the 30-bin weight and gradient histograms")
    la.add_argument("--json", action="store_true", help="one JSON line per (epoch, layer)")
    la.set_defaults(func=run_layers)

    bo = sub.add_parser("boundary", help="a playground run's decision boundary: the class-1 probability over a grid "
                                         "of the input plane, stored at each epoch end")
    bo.add_argument("run_id")
    bo.add_argument("--epoch", type=int, default=None, help="this epoch's grid (default: the newest; 0 = before "
                                                            "training)")
    bo.add_argument("--json", action="store_true", help='one JSON object {"epoch", "x", "y", "probs"}')
    bo.set_defaults(func=run_boundary)

    ex = sub.add_parser("explain", help="why a run answered as it did: word attributions for a headline, a saliency "
                                        "map for a digit picture, per-column contributions for a table row")
    ex.add_argument("run_id")
    src = ex.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="a headline (text runs), or a table row as JSON ('{\"HP\": 60}')")
    src.add_argument("--input-file", help="a PNG/JPEG picture of a digit (image runs)")
    ex.add_argument("--json", action="store_true", help="one JSON object")
    ex.set_defaults(func=run_explain)

    pr = sub.add_parser("projector", help="a finished run's test examples in 2-D: the layer before the output, "
                                          "reduced by PCA (or t-SNE)")
    pr.add_argument("run_id")
    pr.add_argument("--method", choices=("pca", "tsne"), default="pca", help="pca (fast) or tsne (slow; at most "
                                                                             "1000 examples)")
    pr.add_argument("--limit", type=int, default=1000, help="test examples, a seeded sample (at most 2000)")
    pr.add_argument("--seed", type=int, default=0, help="seed of the sample and of t-SNE")
    pr.add_argument("--json", action="store_true", help="one JSON object")
    pr.set_defaults(func=run_projector)


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


def run_layers(args) -> int:
    store = RunStore(args.home)
    store.get_run(args.run_id)  # RunNotFound names the fix
    rows = [r for r in store.layers(args.run_id) if args.epoch is None or r["epoch"] == args.epoch]
    if not args.histograms:
        rows = [{k: v for k, v in r.items() if not k.endswith("_hist")} for r in rows]
    if args.json:
        for row in rows:
            emit(row, True)
        return 0
    if not rows:
        print("no layer health recorded for this run (yet): it is written at the end of each epoch")
        return 0
    print(f"{'epoch':>5} {'layer':<36} {'weight norm':>11} {'grad norm':>10} {'upd/w':>9} {'act mean':>9} "
          f"{'act std':>8} {'dead':>6} {'satur.':>6}")
    for r in rows:
        cells = [_cell(r.get(k), w) for k, w in (("weight_norm", 11), ("grad_norm", 10), ("update_ratio", 9),
                                               ("act_mean", 9), ("act_std", 8), ("dead", 6), ("saturated", 6))]
        print(f"{r['epoch']:>5} {r['layer']:<36} " + " ".join(cells))
    for r in rows:
        if r.get("grad_from_last"):
            back = " ".join(f"{v:.2g}" for v in r["grad_from_last"][:12])
            print(f"epoch {r['epoch']} {r['layer']}: gradient reaching the last word, the one before, ...: {back}")
    return 0


def _cell(value, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3g}"


def run_boundary(args) -> int:
    from engine.training.boundary import class1_share, grid

    store = RunStore(args.home)
    run = store.get_run(args.run_id)  # RunNotFound names the fix
    dataset = run["config"].get("dataset")
    if dataset != "playground":
        raise ValueError(f"run {args.run_id} trained on {dataset!r}: a decision boundary is recorded for playground "
                         "runs only. Fix: train with --dataset playground")
    epochs = store.boundary_epochs(args.run_id)
    if not epochs:
        raise ValueError(f"run {args.run_id} has stored no decision boundary yet: one is written before the first "
                         "epoch and at each epoch end. Fix: wait for the run to start (`status RUN_ID`)")
    if args.epoch is not None and args.epoch not in epochs:
        raise ValueError(f"run {args.run_id} has no decision boundary of epoch {args.epoch}. Fix: --epoch between "
                         f"{epochs[0]} and {epochs[-1]}")
    record = store.boundary(args.run_id, args.epoch)
    out = grid(record)
    if args.json:
        emit(out, True)
        return 0
    share = class1_share(record)
    print(f"epoch {out['epoch']}: {len(out['x'])}x{len(out['y'])} grid over x1, x2 in [{out['x'][0]:g}, "
          f"{out['x'][-1]:g}]; class 1 predicted on {share:.1%} of the plane (--json for the values)")
    return 0


def run_explain(args) -> int:
    from engine.predict.explain import explain_image, explain_row, explain_text
    from engine.predict.predictor import InputError, Predictor

    pred = Predictor.from_run(RunStore(args.home), args.run_id)
    if (args.text is not None) != (pred.kind in ("text", "table")):
        raise InputError(f"this run reads {pred.kind} inputs: give " + {
            "text": "--text HEADLINE", "table": "--text '{\"column\": value, ...}'"}.get(pred.kind,
                                                                                   "--input-file PICTURE"))
    if pred.kind == "table":
        out = explain_row(pred, args.text)
    else:
        out = explain_text(pred, args.text) if args.text is not None else explain_image(pred, args.input_file)
    if args.json:
        emit({k: v for k, v in out.items() if k != "image"}, True)
        return 0
    if "contributions" in out:
        print(f"{out.get('label', out.get('value'))}  (output {out['output_change']:+.4f} from the training means' "
              f"{out['baseline_output']:.4f})")
        for item in sorted(out["contributions"], key=lambda c: -abs(c["score"])):
            print(f"{item['feature']:>24} = {str(item['value']):<12} {item['score']:+.4f}")
        return 0
    print(f"{out['label']}  (" + ", ".join(f"{t['label']} {t['prob']:.3f}" for t in out["top"]) + ")")
    if out.get("note"):
        print(out["note"])
    for item in out.get("attributions", []):
        print(f"{item['token']:>20} {item['score']:+.4f}")
    if "saliency" in out:
        print("saliency map " + "x".join(map(str, np.shape(out["saliency"]))) + " (--json for the values)")
    return 0


def run_projector(args) -> int:
    from engine.predict.projector import project_run

    out = project_run(RunStore(args.home), args.run_id, args.method, args.limit, args.seed)
    if args.json:
        emit(out, True)
        return 0
    wrong = sum(r["true"] != r["pred"] for r in out["rows"])
    explained = f", axes explain {sum(out['explained']):.1%} of the variance" if out["explained"] else ""
    print(f"{len(out['rows'])} test examples, {wrong} mistakes; {out['layer_dim']}-d hidden representation to 2-D "
          f"by {out['method']}{explained} (--json for the points)")
    return 0
