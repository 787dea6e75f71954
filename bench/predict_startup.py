"""`python -m engine predict RUN --input-file PICTURE --json` from start to answer (issue 26: a 4000x4000 PNG digit
on an MNIST CNN run within 5 s on 2 cores), timed side by side in one run with the floor it cannot go below
(`python -c "import torch"`), and optionally with the same command from another checkout (e.g. before a change).
Wall seconds depend on the machine's load; CPU seconds (user + sys of the child) much less.

    python bench/predict_startup.py RUN_ID [--picture F] [--rounds 3] [--other /path/to/other/checkout]

RUN_ID is a run of the data home ($NNLAB_HOME); without --picture a 4000x4000 PNG of a 7 is drawn.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 (puts the repository on sys.path)

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(cwd), "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def draw_seven(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("L", (4000, 4000), 255)
    ImageDraw.Draw(img).line([(1200, 800), (2800, 800), (1800, 3300)], fill=0, width=300)
    img.save(path)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("run_id")
    p.add_argument("--picture")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--other", help="another checkout whose `python -m engine predict` runs beside this one's")
    args = p.parse_args()
    picture = args.picture or str(Path(tempfile.mkdtemp()) / "seven.png")
    if not args.picture:
        draw_seven(Path(picture))
    listing = Path(tempfile.mkdtemp()) / "pictures.txt"  # a list of paths: what older checkouts take too
    listing.write_text(str(Path(picture).resolve()) + "\n")
    predict = [sys.executable, "-m", "engine", "predict", args.run_id, "--input-file", str(listing), "--json"]
    cases = {"import torch": ([sys.executable, "-c", "import torch"], ROOT), "predict (this checkout)": (predict, ROOT)}
    if args.other:
        cases["predict (other checkout)"] = (predict, Path(args.other).resolve())
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(args.rounds):  # paired rounds: every case under the same machine load
        for name, (argv, cwd) in cases.items():
            times[name].append(timed(argv, cwd))
    print(f"load average {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs; median of {args.rounds} rounds")
    medians = {}
    for name, rows in times.items():
        medians[name] = (statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows))
        print(f"{name:>26}: {medians[name][0]:.2f} s wall, {medians[name][1]:.2f} s CPU "
              f"(walls {', '.join(f'{w:.2f}' for w, _ in rows)})")
    floor = medians["import torch"]
    this = medians["predict (this checkout)"]
    print(f"predict / import torch: {this[0] / floor[0]:.2f}x wall, {this[1] / floor[1]:.2f}x CPU")
    if args.other:
        other = medians["predict (other checkout)"]
        print(f"this / other checkout: {this[0] / other[0]:.2f}x wall, {this[1] / other[1]:.2f}x CPU")


if __name__ == "__main__":
    main()
