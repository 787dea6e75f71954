"""Take a trained run away: as a standalone script, an ONNX model, a torch.export program, weights as JSON, or the
checkpoint itself. Each format is an exporter in FORMATS: `fn(source, out_dir, **options) -> [paths]`.

`python -m engine export RUN_ID --format FORMAT --out DIR` and the Runs page both call `export()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import atomic
from engine.jobs.store import RunStore
from engine.predict.export.source import ExportError, ExportSource
from engine.predict.predictor import check_checkpoint_file
from engine.training import checkpoint


@dataclass(frozen=True)
class ExportFormat:
    name: str
    title: str
    description: str
    write: Callable[..., list[Path]]  # write(source: ExportSource, out: Path, **options) -> files written


FORMATS: dict[str, ExportFormat] = {}


def register(fmt: ExportFormat) -> ExportFormat:
    FORMATS[fmt.name] = fmt
    return fmt


def source_from_run(store: RunStore, run_id: str, which: str = "best") -> ExportSource:
    """The run's best.pt (best by the run's monitor, e.g. lowest valid loss; the weights its test metrics come from), else last.pt."""
    from engine.predict.export.model_card import monitored_history

    run = store.get_run(run_id)  # RunNotFound names the fix
    folder = store.run_dir(run_id)
    names = ["best.pt", "last.pt"] if which == "best" else ["last.pt"]
    for name in names:
        if (folder / name).exists():
            history = monitored_history(store.metrics(run_id), run["config"].get("monitor", "valid_loss"))
            return ExportSource(checkpoint.load(folder / name), store.home, run_id=run_id,
                                result=store.result(run_id) or {}, run=run, history=history)
    raise checkpoint.CheckpointError(f"run {run_id} has no checkpoint yet (it saves one per epoch); "
                                     "export it after its first epoch")


def source_from_checkpoint(path: str | Path, home=None) -> ExportSource:
    check_checkpoint_file(path, home)  # a checkpoint from outside names only vectors the server offers
    return ExportSource(checkpoint.load(path), home, run_id=Path(path).stem)


def export(source: ExportSource, fmt: str, out: str | Path, **options) -> list[Path]:
    """Write format `fmt` of `source` into folder `out`; returns the files written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    files = FORMATS[fmt].write(source, out, **options)
    mask = os.umask(0)
    os.umask(mask)
    for f in files:  # atomic writes create private (0600) files; exports are for sharing
        f.chmod(0o666 & ~mask)
    return files


def bundle(source: ExportSource, fmt: str, dest: str | Path, **options) -> tuple[Path, list[tuple[str, int]]]:
    """An export as one downloadable file written into folder `dest`: (its path, [(name, size) of what it holds]).
    A single-file export is that file; several files are zipped into <run>-<format>.zip."""
    import shutil
    import zipfile

    dest = Path(dest)
    parts = dest / ".parts"
    shutil.rmtree(parts, ignore_errors=True)
    try:
        files = export(source, fmt, parts, **options)
        listing = [(f.name, f.stat().st_size) for f in files]
        if len(files) == 1:
            return Path(shutil.move(files[0], dest / files[0].name)), listing
        folder = f"{source.slug}-{fmt}"
        with atomic.atomic_open(dest / f"{folder}.zip") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:  # .npz and .pt are compressed already: store them as they are
                kind = zipfile.ZIP_STORED if f.suffix in (".npz", ".pt") else zipfile.ZIP_DEFLATED
                zf.write(f, f"{folder}/{f.name}", compress_type=kind)
        return dest / f"{folder}.zip", listing
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _register_builtin() -> None:
    from engine.predict.export import onnx, portable, script, torch_export

    register(ExportFormat("script", "Python script",
                          "a standalone, readable predict script (torch + numpy only) with the weights "
                          "(model.pt) and, for text runs, the word vectors (vectors.npz) beside it",
                          script.write_script))
    register(ExportFormat("onnx", "ONNX model",
                          "model.onnx (onnxruntime in Python, a browser, a phone or another language; dynamic batch "
                          "and sequence length) with example.npz (test inputs and the expected logits), the featurizer "
                          "description and MODEL_CARD.md", onnx.write_onnx))
    register(ExportFormat("torch-export", "torch.export program",
                          "model.pt2 (torch.export.load(path).module(), no NN Lab code needed; dynamic batch and "
                          "sequence length) with example.npz, the featurizer description and MODEL_CARD.md",
                          torch_export.write_torch_export))
    register(ExportFormat("weights-json", "Weights as JSON",
                          "every weight as nested lists with its shape, for a notebook or a spreadsheet "
                          f"(models up to {portable.WEIGHTS_JSON_LIMIT:,} numbers)", portable.write_weights_json))
    register(ExportFormat("checkpoint", "NN Lab checkpoint",
                          "the run's checkpoint file, to predict with elsewhere "
                          "(`python -m engine predict --checkpoint FILE`, or upload it on the Predict page)",
                          portable.write_checkpoint))


_register_builtin()

__all__ = ["FORMATS", "ExportError", "ExportFormat", "ExportSource", "bundle", "export", "register", "source_from_checkpoint",
           "source_from_run"]
