"""Recipes for the news rnn and textcnn, judged on the valid split over several seeds.

Each recipe is the acceptance command of issue 8 for its model plus some flags:
  rnn      python -m engine train --dataset news --model rnn --cell gru --bidirectional --init-vectors glove
  textcnn  python -m engine train --dataset news --model textcnn --init-vectors glove
run through the CLI (`--json`) once per seed, two runs at a time at one thread each, each in its own
data home. It prints valid accuracy (which chooses: the mean over the seeds), test accuracy (recorded,
never choosing), the epochs run and seconds per run.

Results of every recipe, dated: bench/RESULTS.md (RNN and TextCNN).

Usage: .venv/bin/python bench/text_recipes.py [--seeds 1,2,3] [--lanes 2] MODEL RECIPE [RECIPE ...]
A recipe is `name=flags`, e.g. `default=` or 'ch512=--channels 512'.
Needs the news split in ../shared/data (or NNLAB_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shlex
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common

BASE = {
    "rnn": "--dataset news --model rnn --cell gru --bidirectional --init-vectors glove",
    "textcnn": "--dataset news --model textcnn --init-vectors glove",
}


def train(model: str, flags: str, seed: int, home: Path) -> dict:
    cmd = [sys.executable, "-m", "engine", "train", *shlex.split(BASE[model]), *shlex.split(flags),
           "--seed", str(seed), "--json"]
    env = {**os.environ, "NNLAB_HOME": str(home), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, cwd=_common.ROOT, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"error": done.stderr[-500:]}
    if "test_acc" not in result:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(BASE))
    parser.add_argument("recipes", nargs="+", help="name=flags")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--lanes", type=int, default=2)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if bad := [r for r in args.recipes if "=" not in r]:
        parser.error(f"a recipe is name=flags (e.g. default= or 'ch512=--channels 512'), not {bad[0]!r}")
    recipes = dict(r.split("=", 1) for r in args.recipes)
    homes: queue.Queue[Path] = queue.Queue()
    for _ in range(args.lanes):  # a data home per lane: no two runs at once share one
        homes.put(_common.news_home())

    def lane(job: tuple[str, int]) -> dict:
        home = homes.get()
        try:
            return train(args.model, recipes[job[0]], job[1], home)
        finally:
            homes.put(home)

    jobs = [(name, seed) for name in recipes for seed in seeds]
    by_recipe: dict[str, list[dict]] = {name: [] for name in recipes}
    with ThreadPoolExecutor(args.lanes) as pool:  # each line as soon as its run (and those before it) ends
        for (name, seed), r in zip(jobs, pool.map(lane, jobs), strict=True):
            by_recipe[name].append(r)
            print(f"{args.model} {name:12s} seed {seed}: valid acc {r['valid_acc']:.4f} loss {r['valid_loss']:.4f} "
                  f"| test acc {r['test_acc']:.4f} | {r['epochs']} epochs, {r['seconds']:.0f} s", flush=True)
    print(f"\nmeans over seeds {args.seeds} (valid chooses; test is the record):")
    for name, rs in by_recipe.items():
        print(f"{args.model} {name:12s}: valid acc {statistics.mean(r['valid_acc'] for r in rs):.4f} "
              f"| test acc {statistics.mean(r['test_acc'] for r in rs):.4f}  [{recipes[name] or 'defaults'}]")


if __name__ == "__main__":
    main()
