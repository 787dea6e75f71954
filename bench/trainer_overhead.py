"""Trainer with the RunStore reporter and every callback a real run uses, vs a bare PyTorch loop.

Same model, data, seed, batches and epochs; the two alternate REPEATS times and the medians are
compared. Prints `overhead ratio = trainer / bare` (target ≤ 1.05).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common
import torch
from torch import nn

from engine.batching import TensorBatches
from engine.callbacks import CancelWatcher, Checkpointer, EarlyStopping, NanGuard, StoreReporter
from engine.config import make_config
from engine.models import build_model
from engine.store import RunStore
from engine.trainer import Trainer

EPOCHS, BATCH, REPEATS = 10, 64, 3


def make(spec, seed=1):
    torch.manual_seed(seed)
    model = build_model("mlp", make_config(model="mlp").model_args, spec)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.Generator().manual_seed(seed)


def bare(data, spec) -> float:
    _, x, y, xv, yv, _ = data
    model, opt, gen = make(spec)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
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
    return time.perf_counter() - t0


def ours(data, spec, home: Path) -> float:
    _, x, y, xv, yv, _ = data
    model, opt, gen = make(spec)
    store = RunStore(home)
    run_id = store.create_run(make_config(model="mlp", epochs=EPOCHS), status="running")
    folder = store.run_dir(run_id)
    train = TensorBatches(x, y, BATCH, shuffle=True, generator=gen, drop_single=True)
    valid = TensorBatches(xv, yv, 1024)
    callbacks = [NanGuard(), StoreReporter(store, run_id, every=max(1, len(train) // 10)), CancelWatcher(store, run_id),
                 EarlyStopping(patience=10**6), Checkpointer(folder, {"config": {}}, batch_generator=gen)]
    trainer = Trainer(model, opt, callbacks=callbacks)
    t0 = time.perf_counter()
    trainer.fit(train, valid, EPOCHS)
    return time.perf_counter() - t0


def main() -> None:
    torch.set_num_threads(1)  # both paths alike; avoids noise from thread contention on 2 cores
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        data = _common.features(home)
        spec = data[5]
        print(f"data: {data[0]} ({len(data[2])} training examples), mlp, batch {BATCH}, {EPOCHS} epochs, "
              f"{REPEATS} alternating repeats")
        t_bare, t_ours = [], []
        for _ in range(REPEATS):
            t_bare.append(bare(data, spec))
            t_ours.append(ours(data, spec, home))
        mb, mo = statistics.median(t_bare), statistics.median(t_ours)
        print("bare loop  s:", " ".join(f"{t:.2f}" for t in t_bare), f"(median {mb:.2f})")
        print("Trainer    s:", " ".join(f"{t:.2f}" for t in t_ours), f"(median {mo:.2f})")
        print(f"overhead ratio = {mo / mb:.3f}")


if __name__ == "__main__":
    main()
