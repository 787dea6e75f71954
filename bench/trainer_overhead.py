"""Trainer with the RunStore reporter and every callback a real run uses, vs a bare PyTorch loop.

Same model, data, seed, batches and epochs; the Trainer also runs with the layer-health callback every
run has (engine/training/layer_health.py; target <= 1.10x the bare loop). The variants alternate REPEATS
times (order flipped each round) and each round gives one trainer/bare ratio. Prints `overhead ratio = X.XX`: the median of
those paired ratios (robust to load that drifts on a shared machine), plus the ratio of the medians
(target ≤ 1.05 for both), and the ratio of CPU seconds, which other processes disturb less.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common
import torch
from torch import nn

from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.models import build_model
from engine.training.batching import make_batches
from engine.training.callbacks import CancelWatcher, Checkpointer, EarlyStopping, NanGuard, StoreReporter
from engine.training.layer_health import LayerHealth
from engine.training.trainer import Trainer

EPOCHS, BATCH, REPEATS = 6, 64, 5


def make(spec, seed=1):
    torch.manual_seed(seed)
    model = build_model("mlp", make_config(model="mlp").model_args, spec)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.Generator().manual_seed(seed)


def bare(data, spec) -> tuple[float, float]:
    _, x, y, xv, yv, _ = data
    model, opt, gen = make(spec)
    loss_fn = nn.CrossEntropyLoss()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        total, correct = 0.0, 0
        for i in range(0, len(y), BATCH):
            idx = perm[i:i + BATCH]
            out = model(x[idx])
            loss = loss_fn(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        model.eval()
        with torch.no_grad():
            out = model(xv)
            _ = float(loss_fn(out, yv)), float((out.argmax(1) == yv).float().mean())
    return time.perf_counter() - t0, time.process_time() - c0


def ours(data, spec, home: Path, health: bool = False) -> tuple[float, float]:
    _, x, y, xv, yv, _ = data
    model, opt, gen = make(spec)
    store = RunStore(home)
    run_id = store.create_run(make_config(model="mlp", epochs=EPOCHS), status="running")
    folder = store.run_dir(run_id)
    train = make_batches(x, y, BATCH, shuffle=True, generator=gen, drop_single=True)
    valid = make_batches(xv, yv, 1024)
    callbacks = [NanGuard(), StoreReporter(store, run_id, every=max(1, len(train) // 10)), CancelWatcher(store, run_id),
                 EarlyStopping(patience=10**6), Checkpointer(folder, {"config": {}}, batch_generator=gen)]
    if health:  # what every run adds since issue 29: layer health written to the store each epoch
        callbacks.append(LayerHealth(lambda rows: store.log_layers(run_id, rows)))
    trainer = Trainer(model, opt, callbacks=callbacks)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.fit(train, valid, EPOCHS)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    torch.set_num_threads(1)  # both paths alike; avoids noise from thread contention on 2 cores
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        data = _common.features(home)
        spec = data[5]
        print(f"data: {data[0]} ({len(data[2])} training examples), mlp, batch {BATCH}, {EPOCHS} epochs, "
              f"{REPEATS} alternating repeats")
        t_bare, t_ours, t_health = [], [], []
        for i in range(REPEATS):
            runs = [lambda: t_bare.append(bare(data, spec)), lambda: t_ours.append(ours(data, spec, home)),
                    lambda: t_health.append(ours(data, spec, home, health=True))]
            for run in runs[::-1] if i % 2 else runs:  # flip the order every round: no side always runs first
                run()
        wall_b, wall_o, wall_h = ([w for w, _ in t] for t in (t_bare, t_ours, t_health))
        cpu_b, cpu_o, cpu_h = ([c for _, c in t] for t in (t_bare, t_ours, t_health))
        paired = [o / b for o, b in zip(wall_o, wall_b, strict=True)]
        paired_h = [h / b for h, b in zip(wall_h, wall_b, strict=True)]
        print("bare loop  wall s:", " ".join(f"{t:.2f}" for t in wall_b), f"(median {statistics.median(wall_b):.2f})")
        print("Trainer    wall s:", " ".join(f"{t:.2f}" for t in wall_o), f"(median {statistics.median(wall_o):.2f})")
        print("+ health   wall s:", " ".join(f"{t:.2f}" for t in wall_h), f"(median {statistics.median(wall_h):.2f})")
        print("paired wall ratios:", " ".join(f"{r:.3f}" for r in paired))
        print("paired wall ratios with layer health:", " ".join(f"{r:.3f}" for r in paired_h))
        print(f"ratio of wall medians = {statistics.median(wall_o) / statistics.median(wall_b):.3f}")
        # CPU seconds of this process: insensitive to other processes on a shared machine, but blind to
        # time spent waiting on the disk (the checkpoint fsync), which the wall ratio includes
        print(f"CPU-time ratio (medians) = {statistics.median(cpu_o) / statistics.median(cpu_b):.3f}")
        print(f"CPU-time ratio with layer health (medians) = {statistics.median(cpu_h) / statistics.median(cpu_b):.3f}")
        print(f"overhead ratio = {statistics.median(paired):.2f}")
        print(f"overhead ratio with layer health = {statistics.median(paired_h):.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
