"""`export RUN_ID|--checkpoint FILE --format FORMAT --out DIR [--top-words N] [--json]`."""

from __future__ import annotations

import json

from engine.predict.export import FORMATS


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained run: a standalone script, ONNX, torch.export, weights as JSON, "
                                      "or its checkpoint")
    p.add_argument("run_id", nargs="?", help="a run id (see `runs`)")
    p.add_argument("--checkpoint", help="an NN Lab checkpoint file instead of a run id")
    p.add_argument("--format", required=True, choices=list(FORMATS),
                   help="; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()))
    p.add_argument("--out", required=True, help="folder to write the files into (created if missing)")
    p.add_argument("--top-words", type=int, default=None,
                   help="script export of a text run: keep only the N most frequent word vectors (default all; "
                        "rarer words become unknown)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(func=run_export)


def run_export(args) -> int:
    from engine.jobs.store import RunStore
    from engine.predict.export import export, source_from_checkpoint, source_from_run

    if bool(args.run_id) == bool(args.checkpoint):
        raise ValueError("give either a RUN_ID or --checkpoint FILE")
    src = source_from_checkpoint(args.checkpoint, args.home) if args.checkpoint \
        else source_from_run(RunStore(args.home), args.run_id)
    files = export(src, args.format, args.out, top_words=args.top_words)
    listing = [{"path": str(f), "bytes": f.stat().st_size} for f in files]
    if args.json:
        print(json.dumps({"run_id": src.run_id, "format": args.format, "files": listing}))
    else:
        for item in listing:
            print(f"{_size(item['bytes']):>10}  {item['path']}")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
