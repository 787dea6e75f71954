"""`fetch NAME [--from DIR]`: place a dataset in the data home."""

from __future__ import annotations

from engine.data import DATASETS
from engine.data.download import DataMissingError


def register(sub) -> None:
    p = sub.add_parser("fetch", help="download a dataset, or take it from a local folder")
    p.add_argument("name", choices=sorted(DATASETS))
    p.add_argument("--from", dest="from_dir", help="a folder with local copies of the files")
    p.set_defaults(func=run_fetch)


def run_fetch(args) -> int:
    from tqdm import tqdm

    spec = DATASETS[args.name]
    if spec.fetch is None:
        print(f"{args.name} needs no fetch: it ships with the lab")
        return 0
    bar = tqdm(unit="B", unit_scale=True, desc=f"fetch {args.name}", disable=None)

    def progress(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        folder = spec.fetch(args.home, from_dir=args.from_dir, progress=progress)
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataMissingError):
            raise
        raise DataMissingError(f"fetch {args.name} failed: {exc}") from None
    finally:
        bar.close()
    print(f"{args.name} is ready in {folder}")
    return 0
