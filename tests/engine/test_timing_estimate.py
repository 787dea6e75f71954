"""The batch-size timing's estimate in seconds: step times fitted to earlier timings' rows, summed over the steps
a planned timing takes."""

from __future__ import annotations

import json
import math

import pytest

from engine.labs import timing_estimate as te

N = 1_000  # training examples of the made-up dataset


def row(batch_size: int, fixed: float, per_example: float, device: str = "cpu", **extra) -> dict:
    """A timing row of a machine whose step takes fixed + per_example·B seconds (an epoch of N examples)."""
    seconds = N / batch_size * (fixed + per_example * batch_size)
    return {"batch_size": batch_size, "seconds": seconds, "device": device, "dataset": "digits", "model": "linear",
            "examples_per_epoch": N, **extra}


def write_rows(home, name: str, rows: list[dict], partial: str = "") -> None:
    te.folder(home).mkdir(parents=True, exist_ok=True)
    (te.folder(home) / name).write_text("".join(json.dumps(r) + "\n" for r in rows) + partial)


def test_fit_recovers_the_fixed_and_per_example_step_time():
    step = te.fit_step_time([row(b, 2e-3, 1e-5) for b in (16, 64, 256, 1024)])
    assert step.fixed == pytest.approx(2e-3, rel=1e-6) and step.per_example == pytest.approx(1e-5, rel=1e-6)
    assert step.examples_per_epoch == N
    one = te.fit_step_time([row(64, 2e-3, 1e-5)])  # one size: its step time, no slope
    assert (one.fixed, one.per_example) == (pytest.approx(2e-3 + 64e-5), 0.0)
    assert te.fit_step_time([]) is None


def test_fit_never_gives_a_negative_part():
    flat = te.fit_step_time([row(16, 3e-3, 0.0), {**row(256, 3e-3, 0.0), "seconds": 0.9 * row(256, 3e-3, 0)["seconds"]}])
    assert flat.fixed > 0 and flat.per_example >= 0
    linear = te.fit_step_time([row(16, 0.0, 1e-5), {**row(256, 0.0, 1e-5), "seconds": 1.2 * row(256, 0, 1e-5)["seconds"]}])
    assert linear.fixed >= 0 and linear.per_example > 0


def test_estimate_counts_every_step_of_the_planned_timing():
    step = te.StepTime(fixed=1e-3, per_example=1e-5, examples_per_epoch=N)
    # 3 repeats at B=1 and B=100 over 500 examples, after one warm-up epoch at B=100
    b1, b100 = 500 * (1e-3 + 1e-5), 5 * (1e-3 + 1e-3)
    assert te.estimate_seconds(step, [1, 100], repeats=3, max_examples=500) == pytest.approx(b100 + 3 * (b1 + b100))
    # all examples when max_examples is None (or larger than the dataset); a partial last batch is a step
    assert te.estimate_seconds(step, [300], 1) == pytest.approx(2 * math.ceil(N / 300) * (1e-3 + 300e-5))
    assert te.estimate_seconds(step, [300], 1, max_examples=10 * N) == te.estimate_seconds(step, [300], 1)
    # small batches cost more: the estimate says so in seconds
    assert te.estimate_seconds(step, [1], 3, 500) > 50 * te.estimate_seconds(step, [256], 3, 500)


def test_plan_reads_only_this_model_dataset_and_device(home):
    write_rows(home, "a.jsonl", [row(b, 2e-3, 1e-5) for b in (16, 256)] + [row(16, 9.0, 0.0, model="mlp")],
               partial='{"batch_size": 64, "sec')  # a timing still writing its next row
    write_rows(home, "b.jsonl", [row(b, 1e-4, 1e-7, device="cuda") for b in (16, 256)])
    (te.folder(home) / "a.log").write_text("not rows")
    plan = te.plan_seconds(home, "digits", "linear", ["cpu", "cuda", "mps"], [16, 256], repeats=1)
    expected = te.estimate_seconds(te.StepTime(2e-3, 1e-5, N), [16, 256], 1)
    assert plan["cpu"] == pytest.approx(expected) and plan["cuda"] < plan["cpu"] / 10 and plan["mps"] is None
    assert te.plan_seconds(home, "digits", "cnn", ["cpu"], [16], 1) == {"cpu": None}
    assert te.plan_seconds(home / "elsewhere", "digits", "linear", ["cpu"], [16], 1) == {"cpu": None}


def test_a_real_calibration_gives_an_estimate(home):
    """The calibration is a short real timing; its rows give a positive step time and an estimate for other sizes."""
    from engine.labs import timing

    cal = te.CALIBRATION
    rows = list(timing.time_epochs("digits", "linear", cal["sizes"], devices="cpu", repeats=cal["repeats"],
                                   home=home, max_examples=cal["max_examples"]))
    write_rows(home, "cal.jsonl", rows)
    step = te.fit_step_time(te.measured_rows(home, "digits", "linear", "cpu"))
    assert step.examples_per_epoch == rows[0]["examples_per_epoch"] and step.fixed + step.per_example > 0
    plan = te.plan_seconds(home, "digits", "linear", ["cpu"], [1, 2, 4], repeats=3)
    assert plan["cpu"] > te.plan_seconds(home, "digits", "linear", ["cpu"], [64], repeats=3)["cpu"] > 0
