"""`torch-export` format: the model as a torch.export program (model.pt2, dynamic batch and sequence length),
loaded with `torch.export.load(path).module()` and no NN Lab code; with example.npz and the featurizer description."""

from __future__ import annotations

from pathlib import Path

import torch

from engine import atomic
from engine.predict.export import inputs as model_inputs
from engine.predict.export.featurizer_files import write_featurizer_state
from engine.predict.export.model_card import write_model_card
from engine.predict.export.program import check_close, export_program
from engine.predict.export.source import ExportSource

PT2_FILE = "model.pt2"


def write_torch_export(src: ExportSource, out: Path, top_words: int | None = None, **_) -> list[Path]:
    example = model_inputs.example_inputs(src)
    program, names = export_program(src, example)
    module = program.module()
    with torch.no_grad():  # checked before anything is written
        check_close(module(*(torch.from_numpy(example[n]) for n in names)), example[model_inputs.EXPECTED],
                    "torch.export program")
    path = out / PT2_FILE
    with atomic.atomic_open(path, "wb") as fh:
        torch.export.save(program, fh)
    return [path, *model_inputs.write_example(out, example), *write_featurizer_state(src, out, example, top_words),
            *write_model_card(src, out)]
