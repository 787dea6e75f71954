"""Exports per model kind: the size of model.onnx and model.pt2, and the latency of one prediction (batch 1) in
PyTorch (eager), onnxruntime and the loaded torch.export program, side by side in one run at one thread each.

Models at the lab's default sizes with random weights (size and speed do not depend on training): an MLP and a
CNN on 28x28 MNIST pictures, a table MLP, a TextCNN and a bidirectional GRU over a 5,000-word
vocabulary (embedding 50, a 12-word headline), without the GloVe rows for unknown words (a 400k x 50 table, 76 MB,
that an rnn with unknown_vectors carries inside its graph).

    .venv/bin/python bench/export_latency.py [KIND ...]      (kinds: mlp cnn table textcnn rnn)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts NN Lab on the path)
import numpy as np
import torch

from engine.config.run_config import make_config
from engine.features.pixels import FlatPixels, ImagePixels
from engine.features.sequence import TokenIds
from engine.features.table import TableFeatures
from engine.models import build_model
from engine.predict.export import ExportSource, export
from engine.predict.export.inputs import named
from engine.predict.export.onnx import run_onnx, session

REPEATS, WARM = 200, 20
VOCAB = [f"w{i}" for i in range(4999)]
SEQ = {"init_vectors": "none", "emb_size": 50, "unknown_vectors": False}


def source(kind: str) -> ExportSource:
    if kind in ("mlp", "cnn"):
        feat = FlatPixels((28, 28)) if kind == "mlp" else ImagePixels((28, 28))
        spec = {**feat.spec(), "num_outputs": 10, "classes": [str(i) for i in range(10)], "task": "classification",
                "dataset": "mnist", "kind": "image"}
        cfg = make_config(dataset="mnist", model=kind)
    elif kind == "table":
        feat = TableFeatures([f"c{i}" for i in range(13)], [0.0] * 13, [1.0] * 13, [], [])
        spec = {**feat.spec(), "num_outputs": 2, "classes": ["a", "b"], "task": "classification",
                "dataset": "pokemon", "kind": "table"}
        cfg = make_config(dataset="pokemon", model="mlp", model_args={"width": 32})
    else:
        feat = TokenIds(VOCAB)
        spec = {**feat.spec(), "num_outputs": 4, "classes": ["b", "t", "e", "m"], "task": "classification",
                "dataset": "news", "kind": "text"}
        args = {**SEQ, "cell": "gru", "bidirectional": True, "hidden": 128, "adversarial": 0.0} if kind == "rnn" \
            else SEQ
        cfg = make_config(dataset="news", model=kind, model_args=args)
    torch.manual_seed(0)
    net = build_model(cfg.model, cfg.model_args, spec)
    return ExportSource({"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": feat.state(),
                         "spec": spec, "epoch": 1}, run_id=f"bench-{kind}")


def one_input(src: ExportSource) -> dict[str, np.ndarray]:
    kind = src.spec["kind"]
    if kind == "text":
        raw = [" ".join(VOCAB[i * 37 % len(VOCAB)] for i in range(12))]
    elif kind == "image":
        raw = np.random.default_rng(0).random((1, *src.spec["image_shape"]), dtype=np.float32)
    else:
        raw = [{f"c{i}": float(i) for i in range(13)}]
    return {k: v.numpy() for k, v in named(src.predictor.featurizer.transform(raw)).items()}


def median_ms(fn) -> float:
    for _ in range(WARM):
        fn()
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def measure(kind: str) -> str:
    """One table row: export both formats, then time one prediction in each runtime."""
    src = source(kind)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export(src, "onnx", Path(tmp) / "onnx")
        export(src, "torch-export", Path(tmp) / "pt2")
        export_s = time.perf_counter() - t0
        onnx_kb = (Path(tmp) / "onnx" / "model.onnx").stat().st_size / 1024
        pt2_kb = (Path(tmp) / "pt2" / "model.pt2").stat().st_size / 1024
        sess = session(Path(tmp) / "onnx" / "model.onnx")
        program = torch.export.load(str(Path(tmp) / "pt2" / "model.pt2")).module()
    x = one_input(src)
    tensors = [torch.from_numpy(v) for v in x.values()]
    model = src.model.eval()
    eager_in = tensors[0] if len(tensors) == 1 else tuple(tensors)
    with torch.no_grad():
        torch_ms = median_ms(lambda: model(eager_in))
        pt2_ms = median_ms(lambda: program(*tensors))
    ort_ms = median_ms(lambda: run_onnx(sess, x))
    return (f"{kind:8s} {onnx_kb:9.1f} {pt2_kb:9.1f} {torch_ms:9.3f} {ort_ms:8.3f} {pt2_ms:8.3f} "
            f"{torch_ms / ort_ms:9.2f} {export_s:8.1f}")


def main(kinds: list[str]) -> None:
    torch.set_num_threads(1)
    print(f"{'kind':8s} {'onnx KB':>9s} {'pt2 KB':>9s} {'torch ms':>9s} {'ort ms':>8s} {'pt2 ms':>8s} "
          f"{'torch/ort':>9s} {'export s':>8s}")
    for kind in kinds:
        print(measure(kind), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["mlp", "cnn", "table", "textcnn", "rnn"])
