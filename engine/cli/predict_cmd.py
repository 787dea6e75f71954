"""`predict RUN_ID|--checkpoint FILE (--text T | --input-file F) [--json]`."""

from __future__ import annotations

import json
import sys

from engine.jobs.store import RunStore
from engine.predict.predictor import InputError, Predictor


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict with a trained run or a checkpoint file")
    p.add_argument("run_id", nargs="?", help="a run id (see `runs`)")
    p.add_argument("--checkpoint", help="a checkpoint file instead of a run id")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="one input: a headline, or a table row as JSON ('{\"HP\": 60}')")
    src.add_argument("--input-file", help="one input per line (headlines; image paths for digit runs; JSON rows for "
                                                "table runs), a CSV with a header for table runs, or one picture "
                                                "(PNG, JPEG...) for digit runs")
    p.add_argument("--json", action="store_true", help="one JSON line per input")
    p.set_defaults(func=run_predict)


def load_predictor(args) -> Predictor:
    if bool(args.run_id) == bool(args.checkpoint):
        raise ValueError("give either a RUN_ID or --checkpoint FILE")
    if args.checkpoint:
        return Predictor.from_checkpoint(args.checkpoint, args.home)
    return Predictor.from_run(RunStore(args.home), args.run_id)


IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")  # PNG, JPEG, GIF, BMP, WebP


def read_inputs(args, kind: str | None = None) -> list:
    if args.text is not None:
        return [args.text]
    if kind == "image":
        with open(args.input_file, "rb") as fh:
            if fh.read(4).startswith(IMAGE_MAGIC):  # a picture itself rather than a list of picture paths
                return [args.input_file]
    if kind == "table" and args.input_file.lower().endswith(".csv"):  # rows of a table run: a CSV with a header
        from engine.data.csvdata import read_text

        with open(args.input_file, encoding="utf-8-sig") as fh:
            frame = read_text(fh.read(), args.input_file)
        return [{k: v for k, v in row.items() if v == v} for row in frame.to_dict("records")]
    try:
        with open(args.input_file, encoding="utf-8") as fh:
            return [line.rstrip("\n") for line in fh if line.strip()]
    except UnicodeDecodeError:
        what = "a picture (PNG, JPEG, GIF, BMP, WebP) or " if kind == "image" else ""
        raise ValueError(f"{args.input_file} is not a UTF-8 text file. Fix: give {what}a text file with one input "
                         "per line") from None


def run_predict(args) -> int:
    predictor = load_predictor(args)
    failures = 0
    for item in read_inputs(args, predictor.kind):
        try:
            result = predictor.predict_inputs([item])[0]
        except InputError as exc:
            result, failures = {"error": str(exc)}, failures + 1
        if args.json:
            result.pop("tokens", None)
            print(json.dumps(result), flush=True)
        elif "error" in result:
            print(f"error: {result['error']}", file=sys.stderr)
        elif "value" in result:
            print(f"{result['value']:<14g} | {str(item)[:70]}")
        else:
            probs = result["probs"]
            probs = dict(zip(predictor.classes, probs, strict=True)) if isinstance(probs, list) else probs
            top = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
            extra = f"  (unknown words: {', '.join(result['unknown'])})" if result.get("unknown") else ""
            print(f"{result['label']:<14} " + "  ".join(f"{c} {p:.2f}" for c, p in top) + f"  | {str(item)[:70]}{extra}")
    return 1 if failures else 0
