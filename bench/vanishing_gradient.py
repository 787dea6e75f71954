"""The exercise's plain RNN beside a GRU on the same reduced news data and epochs: the gradient reaching the
first and the last word of each title (engine/training/position_grads.py: the median over the sampled titles), per
epoch, and their GRU / RNN ratios, beside the whole embedding matrix's gradient norm.

    .venv/bin/python bench/vanishing_gradient.py [--train 2000] [--epochs 3]

Both runs use the preset "exercise: emb 300, hidden 50, plain RNN, SGD"; the GRU changes only --cell.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

import _common

from engine.cli import main
from engine.data import news
from engine.data.news import SPLIT_FILES
from engine.jobs.store import RunStore

PRESET = "exercise: emb 300, hidden 50, plain RNN, SGD"


def reduced_split(dest: Path, train: int, other: int) -> Path:
    """The first `train` training titles and `other` valid and test titles of the real split."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SPLIT_FILES:
        lines = (_common.SHARED / "news_aggregator" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (dest / name).write_text("".join(lines[:train if name == "train.txt" else other]), encoding="utf-8")
    return dest


def train(cell: str, epochs: int, seed: int) -> tuple[dict, float]:
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        assert main(["train", "--dataset", "news", "--model", "rnn", "--preset", PRESET, "--cell", cell,
                     "--epochs", str(epochs), "--early-stopping", "false", "--seed", str(seed), "--device", "cpu",
                     "--json"]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1]), time.perf_counter() - start


def main_() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--other", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="nnlab-bench-"))
    os.environ["NNLAB_HOME"] = str(home)
    news.fetch(home, from_dir=reduced_split(home / "split", a.train, a.other))
    store = RunStore(home)
    emb = {}
    for cell in ("rnn", "gru"):
        result, secs = train(cell, a.epochs, a.seed)
        rows = [r for r in store.layers(result["run_id"]) if r["layer"] == "embedding"]
        emb[cell] = rows
        print(f"{cell}: {secs:.0f} s, test acc {result.get('test_acc')}")
        for r in rows:
            pos = ", ".join(f"{v:.2e}" for v in r["grad_from_last"][:16])
            print(f"  epoch {r['epoch']}: whole-matrix grad {r['grad_norm']:.3g}  first word {r['grad_first']:.3e}  "
                  f"last word {r['grad_last']:.3e}  from the last word back [{pos}]")
    for g, r in zip(emb["gru"], emb["rnn"], strict=True):
        back = ", ".join(f"{d}: {a / b:.1f}x" for d, (a, b) in enumerate(zip(g["grad_from_last"], r["grad_from_last"],
                                                                                strict=False)) if d % 3 == 0)
        print(f"epoch {g['epoch']}: GRU / plain RNN gradient at the first word = {g['grad_first'] / r['grad_first']:.1f}x"
              f", at the last word = {g['grad_last'] / r['grad_last']:.1f}x; d words before the last: {back}")


if __name__ == "__main__":
    main_()
