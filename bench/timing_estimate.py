"""The batch-size timing page's estimate against the timing it estimates, side by side in one run: the page's
calibration (engine.labs.timing_estimate.CALIBRATION) is timed first, its rows give the step-time fit, then each
planned timing is estimated and run; prints estimated and measured seconds and their ratio.

    .venv/bin/python bench/timing_estimate.py [--dataset digits] [--models linear,mlp]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 (puts the repository on sys.path)
import torch

from engine.labs import timing, timing_estimate

PLANS = (([2, 4, 16, 64], 1, 1000), ([16, 64, 256, 1024], 3, None))  # (sizes, repeats, examples timed)


def timed(home: Path, dataset: str, model: str, sizes, repeats: int, max_examples) -> tuple[list[dict], float]:
    t0 = time.perf_counter()
    rows = list(timing.time_epochs(dataset, model, sizes, devices="cpu", repeats=repeats, home=home,
                                   max_examples=max_examples))
    return rows, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--models", default="linear,mlp")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the page's timing process uses the CLI's default of one thread
    home = Path(tempfile.mkdtemp(prefix="nnlab-bench-"))
    cal = timing_estimate.CALIBRATION
    for model in args.models.split(","):
        rows, cal_s = timed(home, args.dataset, model, cal["sizes"], cal["repeats"], cal["max_examples"])
        step = timing_estimate.fit_step_time(rows)
        print(f"{args.dataset}/{model}: calibration {cal_s:.1f} s; step = {step.fixed * 1e3:.3f} ms + "
              f"{step.per_example * 1e6:.2f} us x B")
        for sizes, repeats, examples in PLANS:
            estimate = timing_estimate.estimate_seconds(step, sizes, repeats, examples)
            _, measured = timed(home, args.dataset, model, sizes, repeats, examples)
            print(f"  B={sizes} x{repeats} on {examples or 'all'} examples: estimated {estimate:.2f} s, "
                  f"measured {measured:.2f} s (model set-up included), ratio {estimate / measured:.2f}")


if __name__ == "__main__":
    main()
