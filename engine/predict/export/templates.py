"""Per-model and per-featurizer pieces of the exported script. A new model (or featurizer) adds one
entry here; the model's class source itself is copied from its engine module by `pysource.collect`.

- SCRIPT_MODELS[model name](model_args, spec) -> (class name, constructor keyword arguments); optional
- SCRIPT_INPUTS[featurizer kind] -> ScriptInputs: script source that reads inputs and turns them
  into the model's input tensor, plus the side files it needs (e.g. the word vectors).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import atomic
from engine.predict.export.source import ExportError, ExportSource

# model name -> (model_args, spec) -> (class name in the model's module, constructor kwargs).
# Optional: a model without an entry is constructed by matching its __init__ parameters by name to
# its settings and the data spec (script.default_call); the export checks the result either way.
SCRIPT_MODELS: dict[str, Callable[[dict, dict], tuple[str, dict]]] = {
    "linear": lambda args, spec: ("Linear", {"input_dim": spec["input_dim"], "num_outputs": spec["num_outputs"],
                                             "bias": args["bias"]}),
    "mlp": lambda args, spec: ("MLP", {"input_dim": spec["input_dim"], "num_outputs": spec["num_outputs"],
                                       **args}),
}


@dataclass(frozen=True)
class ScriptInputs:
    """`source(src)` must define, in the script: add_input_args(parser), read_inputs(args) -> items,
    featurize(items) -> tensor, describe(item, args) -> dict (extra JSON fields per input).
    `engine_code`: (module, names) whose engine source is copied in verbatim (e.g. the tokenizer).
    An image featurizer without an entry gets `generic_image_inputs`.
    `files(src, out, options)` writes the side files and returns them."""
    source: Callable[[ExportSource], str]
    files: Callable[[ExportSource, Path, dict], list[Path]] = lambda src, out, options: []
    engine_code: tuple[tuple[str, tuple[str, ...]], ...] = ()
    imports: tuple[str, ...] = field(default=())
    notes: Callable[[ExportSource, dict], str] = lambda src, options: ""


# --- text: mean of word vectors ---------------------------------------------------------------
VECTORS_FILE = "vectors.npz"


def write_vectors(src: ExportSource, out: Path, options: dict) -> list[Path]:
    """The featurizer's word vectors as vectors.npz: `words` (UTF-8, newline-separated, as uint8) and
    `matrix` (float32). `top_words=N` keeps the N most frequent words only (the vectors are ordered by
    frequency); words beyond them become unknown to the script."""
    featurizer = src.predictor.featurizer
    if hasattr(featurizer, "kv"):
        kv = featurizer.kv
    else:  # word ids reading unknown words by their vector rows: all rows, in the vectors' order
        from engine.features.vectors import load_vectors

        kv, options = load_vectors(featurizer.vectors, src.home), {}
    words = list(kv.index_to_key)
    matrix = np.asarray(kv.vectors, dtype=np.float32)
    top = options.get("top_words")
    if top:
        if int(top) < 1:
            raise ExportError(f"top_words={top}: expected a positive number of words")
        words, matrix = words[: int(top)], matrix[: int(top)]
    if any("\n" in w for w in words):
        raise ExportError("a word of the vectors contains a line break; cannot store them as lines")
    blob = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)
    path = out / VECTORS_FILE
    with atomic.atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, words=blob, matrix=matrix)
    return [path]


MEAN_VECTORS_SOURCE = '''
# --- features: x = mean of the word vectors of the headline's known words ---------------------
_VECTORS = None


def load_vectors(path=HERE / {vectors_file!r}):
    """words (one per line, UTF-8) and their vectors, as saved by NN Lab."""
    global _VECTORS
    if _VECTORS is None:
        with np.load(path) as data:
            words = data["words"].tobytes().decode("utf-8").split("\\n")
            matrix = data["matrix"]
        _VECTORS = ({{w: i for i, w in enumerate(words)}}, matrix)
    return _VECTORS


def words_of(title, known):
    """The words of a headline that have a vector (unknown hyphenated words fall back to their parts)."""
    out = []
    for token in tokenize(title):
        out.extend(expand_unknown(token, known))
    return out


def featurize(titles):
    index, matrix = load_vectors()
    x = np.zeros((len(titles), matrix.shape[1]), dtype=np.float32)
    for i, title in enumerate(titles):
        ids = [index[w] for w in words_of(title, index)]
        if ids:
            x[i] = matrix[ids].mean(axis=0)
    return torch.from_numpy(x)


def add_input_args(parser):
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--text", action="append", help="a headline (repeat --text for several)")
    group.add_argument("--input-file", help="a text file with one headline per line")
    parser.add_argument("--tokens", action="store_true", help="also print the tokens and the words used")


def read_inputs(args):
    if args.text:
        return list(args.text)
    with open(args.input_file, encoding="utf-8") as fh:
        return [line.rstrip("\\n") for line in fh if line.strip()]


def describe(title, args):
    if not args.tokens:
        return {{}}
    return {{"tokens": tokenize(title), "words": words_of(title, load_vectors()[0])}}
'''


def _mean_vectors_notes(src: ExportSource, options: dict) -> str:
    total = len(src.predictor.featurizer.kv.index_to_key)
    top = options.get("top_words")
    which = f"the {min(int(top), total):,} most frequent of {total:,} words" if top else f"all {total:,} words"
    return f"{VECTORS_FILE}  word vectors ({src.predictor.featurizer.source}): {which}"


# --- images ------------------------------------------------------------------------------------
IMAGE_IO_SOURCE = '''

def add_input_args(parser):
    parser.add_argument("--npy", required=True,
                        help=f"a .npy file: one image {{IMAGE_SHAPE}} or a stack (N, *{{IMAGE_SHAPE}}), values in [0, 1]")


def read_inputs(args):
    images = np.load(args.npy, allow_pickle=False).astype(np.float32)
    if images.ndim == len(IMAGE_SHAPE):
        images = images[None]
    if tuple(images.shape[1:]) != IMAGE_SHAPE:
        raise SystemExit(f"expected images of shape {{IMAGE_SHAPE}}, got {{images.shape[1:]}}")
    return images


def describe(image, args):
    return {{}}
'''

FLAT_PIXELS_SOURCE = '''
# --- features: an image (H, W) in [0, 1] -> its pixels as one row -----------------------------
IMAGE_SHAPE = {shape!r}


def featurize(images):
    images = np.asarray(images, dtype=np.float32)
    return torch.from_numpy(images.reshape(len(images), -1).copy())
''' + IMAGE_IO_SOURCE

GENERIC_IMAGE_SOURCE = '''
# --- features: NN Lab's {cls} with the run's state (the class is copied above) ----------------
IMAGE_SHAPE = {shape!r}
FEATURIZER = {cls}.from_state({state!r})


def featurize(images):
    return FEATURIZER.transform(np.asarray(images, dtype=np.float32))
''' + IMAGE_IO_SOURCE


def image_shape(src: ExportSource) -> tuple:
    shape = src.spec.get("image_shape") or src.ckpt["featurizer"].get("shape")
    if not shape:
        raise ExportError("the checkpoint does not record its image shape")
    return tuple(int(v) for v in shape)


def generic_image_inputs(src: ExportSource) -> ScriptInputs:
    """For an image featurizer without its own entry: copy its class from the engine (pysource refuses it
    if it needs NN Lab imports) and rebuild it from its state in the script."""
    cls = type(src.predictor.featurizer)
    state = src.ckpt["featurizer"]
    try:
        ok = ast.literal_eval(repr(state)) == state  # plain literals only: the state is written into the script
    except (ValueError, SyntaxError):
        ok = False
    if not ok:
        raise ExportError(f"the {state.get('kind')!r} featurizer state is not plain data; use the onnx export")
    return ScriptInputs(
        source=lambda s: GENERIC_IMAGE_SOURCE.format(cls=cls.__name__, state=state, shape=image_shape(s)),
        engine_code=((cls.__module__, (cls.__name__,)),),
    )


SCRIPT_INPUTS: dict[str, ScriptInputs] = {
    "mean_vectors": ScriptInputs(
        source=lambda src: MEAN_VECTORS_SOURCE.format(vectors_file=VECTORS_FILE),
        files=write_vectors,
        engine_code=(("engine.features.text", ("normalize", "tokenize", "expand_unknown", "MAX_CHARS")),),
        notes=_mean_vectors_notes,
    ),
    "flat_pixels": ScriptInputs(
        source=lambda src: FLAT_PIXELS_SOURCE.format(shape=image_shape(src)),
    ),
}
