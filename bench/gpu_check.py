"""The GPU paths end to end (issue 31), for a machine with a CUDA GPU: run through bench/gpu_check.sh.

Steps, each a `python -m engine` command in a scratch data home: the device tests; the Gaussian generative
classifier on cuda; submit -> cancel -> resume on cuda to `done`; predicting that cuda run with no GPU visible;
an MNIST CNN epoch on each device; the batch-size timing table CPU vs GPU for the single layer and the
transformer. Prints a markdown table to paste into the README. Without a GPU it stops before the first GPU step
and says so (exit status 2). Data come from $NNLAB_SHARED_DATA (default ../shared/data).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NNLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))
ROWS: list[tuple[str, str, str]] = []  # (check, result, seconds)
POKEMON_ROW = '{"Total": 318, "HP": 45, "Attack": 49, "Defense": 49, "Sp. Atk": 65, "Sp. Def": 65, "Speed": 45}'


def engine(home: Path, *args: str, env: dict | None = None, timeout: float = 300) -> list[dict]:
    """Run `python -m engine --home HOME ARGS`; its JSON lines (a failure raises with the command's stderr)."""
    argv = [sys.executable, "-m", "engine", "--home", str(home), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def step(name: str):
    """Record a check's result and its seconds; a failing check is recorded and the next one runs."""
    def wrap(fn):
        t0 = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 (every failure is reported in the table)
            result = f"FAILED: {exc}"
        ROWS.append((name, str(result).replace("|", "/").replace("\n", " ")[:300], f"{time.perf_counter() - t0:.1f}"))
        print(f"[{ROWS[-1][2]:>6} s] {name}: {ROWS[-1][1]}", flush=True)
        return result
    return wrap


def fetch(home: Path, name: str, folder: str) -> bool:
    if not (SHARED / folder).is_dir():
        print(f"(no {SHARED / folder}: the steps that need {name} are skipped)", flush=True)
        return False
    engine(home, "fetch", name, "--from", str(SHARED / folder))
    return True


def device_tests() -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           "tests/engine/test_devices.py"], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else f"pytest exit {proc.returncode}"


def submit_cancel_resume(home: Path) -> str:
    run_id = engine(home, "submit", "--dataset", "digits", "--model", "mlp", "--device", "cuda", "--epochs", "40",
                    "--no-early-stopping")[0]["run_id"]
    deadline = time.monotonic() + 120
    while engine(home, "status", run_id, "--json")[0]["epoch"] < 1:
        if time.monotonic() > deadline:
            raise RuntimeError("no epoch within 120 s")
        time.sleep(0.5)
    engine(home, "cancel", run_id)
    while (status := engine(home, "status", run_id, "--json")[0])["status"] in ("running", "queued"):
        time.sleep(0.5)
    stopped_at = status["epoch"]
    done = engine(home, "resume", run_id, "--wait", "--json", timeout=300)[0]
    if done["status"] != "done":
        raise RuntimeError(f"resume ended {done['status']}: {done.get('error')}")
    return f"{status['status']} at epoch {stopped_at}, resumed on {done['device']} to done at epoch {done['epoch']}"


def timing_rows(home: Path, model: str, sizes: str, max_examples: int) -> str:
    rows = engine(home, "timing", "--dataset", "news", "--model", model, "--batch-sizes", sizes, "--device",
                  "cpu,cuda", "--repeats", "1", "--max-examples", str(max_examples), "--json", timeout=400)
    table = {(r["device"], r["batch_size"]): r["seconds"] for r in rows}
    parts = []
    for b in sorted({b for _, b in table}):
        cpu, gpu = table.get(("cpu", b)), table.get(("cuda", b))
        ratio = f" ({cpu / gpu:.1f}x)" if cpu and gpu else ""
        parts.append(f"B={b}: cpu {cpu:.3g} s, cuda {gpu:.3g} s{ratio}")
    return "; ".join(parts) + " per epoch"


def main() -> int:
    import torch

    home = Path(tempfile.mkdtemp(prefix="nnlab-gpu-check-"))
    print(f"data home {home}; torch {torch.__version__}", flush=True)
    step("device tests (tests/engine/test_devices.py)")(device_tests)
    if not torch.cuda.is_available():
        print("\nNO GPU PRESENT: torch.cuda.is_available() is False on this machine, so no GPU step ran. "
              "Run bench/gpu_check.sh on a machine with a CUDA GPU.", flush=True)
        return 2
    gpu = torch.cuda.get_device_name(0)
    pokemon = fetch(home, "pokemon", "pokemon")
    if pokemon:
        run = step("pokemon generative on cuda")(lambda: engine(
            home, "train", "--dataset", "pokemon", "--model", "generative", "--device", "cuda", "--json")[-1])
        if isinstance(run, dict):
            ROWS[-1] = (ROWS[-1][0], f"{run['status']}, test_acc {run.get('test_acc', float('nan')):.4f} "
                        f"(>= 0.73 expected) on {run['device']}", ROWS[-1][2])
            step("predict that cuda run with no GPU visible")(lambda: engine(
                home, "predict", run["run_id"], "--text", POKEMON_ROW, "--json",
                env={"CUDA_VISIBLE_DEVICES": ""})[0].get("label", "?"))
    step("submit -> cancel -> resume on cuda")(lambda: submit_cancel_resume(home))
    if fetch(home, "mnist", "mnist"):
        for device in ("cpu", "cuda"):
            step(f"MNIST CNN, one epoch on {device}")(lambda d=device: (lambda r: (
                f"{r['seconds']:.1f} s, test_acc {r['test_acc']:.4f}"))(engine(
                    home, "train", "--dataset", "mnist", "--model", "cnn", "--epochs", "1", "--device", d, "--json",
                    timeout=400)[-1]))
    if fetch(home, "news", "news_aggregator"):
        step("timing, single layer (news)")(lambda: timing_rows(home, "linear", "1,16,64,1024", 2000))
        step("timing, transformer (news)")(lambda: timing_rows(home, "transformer", "8,32", 256))
    print(f"\n### GPU check ({gpu}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')})\n")
    print("| check | result | seconds |\n|---|---|---|")
    for name, result, seconds in ROWS:
        print(f"| {name} | {result} | {seconds} |")
    return 1 if any(r[1].startswith("FAILED") for r in ROWS) else 0


if __name__ == "__main__":
    sys.exit(main())
