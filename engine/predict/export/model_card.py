"""MODEL_CARD.md: what a trained run is, what it was trained on, how well it did, where it fails and what it is for.

`model_card(run, result, history)` is a pure function of the run's stored record (id, name, config), its results
(test metrics, per-class report, confusion matrix) and the monitored metric per epoch; every export writes it and
the Runs page shows it."""

from __future__ import annotations

from pathlib import Path

from engine import atomic

CARD_FILE = "MODEL_CARD.md"
MONITORS = {"valid_loss": ("lowest", "valid loss"), "valid_acc": ("highest", "valid accuracy"),
            "valid_mse": ("lowest", "valid mean squared error")}
SETTINGS = ("model", "optimizer", "lr", "momentum", "weight_decay", "schedule", "batch_size", "epochs",
            "early_stopping", "patience", "monitor", "features", "seed")
MAX_FAILURES = 3


def cell(value) -> str:
    """A value as a Markdown table cell (a `|` or a line break in a class name would break the table)."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def task_section(config: dict, result: dict, spec: dict | None) -> list[str]:
    from engine.data import DATASETS

    data = DATASETS.get(config.get("dataset"))
    classes = result.get("classes") or (spec or {}).get("classes") or []
    task = data.task if data and data.task != "auto" else ("classification" if classes else "regression")
    lines = ["## Task", ""]
    if task == "classification" and classes:
        lines.append(f"Classification into {len(classes)} classes: " + ", ".join(f"`{cell(c)}`" for c in classes) + ".")
    else:
        lines.append("Regression: one number per input.")
    lines += ["", "## Data", ""]
    lines.append(f"**{cell(data.title)}**: {data.description}" if data else f"Dataset `{cell(config.get('dataset'))}`.")
    if result.get("n_test"):
        lines.append(f"The test metrics below are on {result['n_test']:,} test examples the model never trained on.")
    if config.get("data_args"):
        lines.append("Data options: " + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(config["data_args"].items())))
    return lines


def settings_section(config: dict) -> list[str]:
    lines = ["## Settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {cell(_fmt(config[k]))} |" for k in SETTINGS if k in config]
    lines += [f"| model: {k} | {cell(_fmt(v))} |" for k, v in sorted(config.get("model_args", {}).items())]
    return lines


def metrics_section(result: dict) -> list[str]:
    lines = ["## Test results", ""]
    names = {"test_acc": "accuracy", "test_loss": "loss", "test_mse": "mean squared error", "params": "parameters"}
    found = [f"{label} {_fmt(result[k])}" for k, label in names.items() if k in result]
    lines.append("; ".join(found) + "." if found else "No test metrics were stored (the run did not finish).")
    report = {k: v for k, v in (result.get("report") or {}).items() if isinstance(v, dict) and "support" in v}
    if report:
        lines += ["", "| class | precision | recall | F1 | test examples |", "|---|---|---|---|---|"]
        for name, r in report.items():
            if name in ("macro avg", "weighted avg"):
                continue
            lines.append(f"| {cell(name)} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1-score']:.3f} | "
                         f"{int(r['support'])} |")
    return lines


def epoch_section(config: dict, result: dict, history: dict[int, float]) -> list[str]:
    monitor = config.get("monitor", "valid_loss")
    how, label = MONITORS.get(monitor, ("best", monitor))
    lines = ["## The epoch kept", ""]
    if not history:
        return lines + [f"The weights of the epoch with the {how} {label} (the per-epoch values were not stored)."]
    pick = min if how == "lowest" else max
    best = pick(history, key=lambda e: history[e])
    ran = max(history)
    lines.append(f"Epoch {best} of the {ran} trained (of at most {config.get('epochs', ran)}): the one with the {how} "
                 f"{label}, {history[best]:.4g}; the exports and the test metrics use its weights.")
    if ran > best:
        lines.append(f"The {ran - best} later epoch(s) did not improve it"
                     + (f" and early stopping (patience {config.get('patience')}) ended the run."
                        if config.get("early_stopping") and ran < config.get("epochs", ran) else "."))
    return lines


def failures_section(result: dict) -> list[str]:
    """The largest off-diagonal cells of the test confusion matrix, as sentences."""
    matrix, classes = result.get("confusion_matrix"), result.get("classes")
    lines = ["## Known failure modes", ""]
    if not matrix or not classes:
        return lines + ["Not measured: the run stored no confusion matrix (a regression, or the run did not finish)."]
    cells = sorted(((n, i, j) for i, row in enumerate(matrix) for j, n in enumerate(row) if i != j and n > 0),
                   key=lambda c: (-c[0], c[1], c[2]))
    if not cells:
        return lines + ["No test example was misclassified; expect mistakes on inputs unlike the training data."]
    for n, i, j in cells[:MAX_FAILURES]:
        total = sum(matrix[i])
        lines.append(f"- confuses `{cell(classes[i])}` with `{cell(classes[j])}`: {n} of {total} `{cell(classes[i])}` "
                     f"test examples ({n / max(total, 1):.0%}) were predicted `{cell(classes[j])}`.")
    wrong = sum(n for n, _, _ in cells)
    lines.append(f"- {wrong} test examples misclassified in all; inputs unlike the training data (other sources, "
                 "styles or languages) will fare worse.")
    return lines


INTENDED_USE = ["## Intended use", "",
                "Teaching and experimenting: it was trained in NN Lab, a classroom tool, on a small public dataset "
                "with a short training budget, and was not tested for fairness, robustness or drift. It is not for "
                "production or for decisions about people."]


def model_card(run: dict, result: dict | None, history: dict[int, float] | None = None,
               spec: dict | None = None) -> str:
    """The card as Markdown. `run`: the stored run (id, name, config); `result`: its stored results ({} if none);
    `history`: epoch -> the monitored metric's value; `spec`: the checkpoint's data spec, when at hand."""
    config, result = run.get("config", {}), result or {}
    title = cell(run.get("name") or f"{config.get('dataset')} · {config.get('model')}")
    head = [f"# Model card: {title}", "", f"Run `{cell(run.get('id', ''))}` trained in NN Lab"
            + (f", status {cell(run['status'])}." if run.get("status") else ".")]
    sections = [head, task_section(config, result, spec), settings_section(config), metrics_section(result),
                epoch_section(config, result, history or {}), failures_section(result), INTENDED_USE]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"


def monitored_history(metrics, monitor: str = "valid_loss") -> dict[int, float]:
    """epoch -> the monitored metric from a run's metrics frame (RunStore.metrics: split, name, value per step)."""
    if metrics is None or len(metrics) == 0:
        return {}
    split, name = monitor.split("_", 1)
    rows = metrics[(metrics["split"] == split) & (metrics["name"] == name) & (metrics["epoch"] > 0)]
    return {int(e): float(v) for e, v in rows.groupby("epoch")["value"].last().items()}


def write_model_card(src, out: Path) -> list[Path]:
    """MODEL_CARD.md of an export's source: the stored run when it comes from one, else the checkpoint's own record."""
    run = {"id": src.run_id, "config": src.ckpt.get("config", {}), **(src.run or {})}
    best = src.ckpt.get("best") or {}
    history = src.history or ({int(best["epoch"]): float(best["value"])} if best.get("epoch") else {})
    path = out / CARD_FILE
    with atomic.atomic_open(path, "wb") as fh:
        fh.write(model_card(run, src.result, history, src.spec).encode("utf-8"))
    return [path]
