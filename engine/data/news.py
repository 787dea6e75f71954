"""UCI News Aggregator headlines, 4 classes, the standard exercise split (10,684 / 1,336 / 1,336)."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
import zlib
from pathlib import Path

import numpy as np

from engine import atomic
from engine.data.base import Dataset, Split
from engine.data.download import DataMissingError, RemoteFile, fetch_file, read_limited
from engine.paths import datasets_dir

CODES = ("b", "t", "e", "m")
CLASS_NAMES = ("business", "science/tech", "entertainment", "health")
PUBLISHERS = ("Reuters", "Huffington Post", "Businessweek", "Contactmusic.com", "Daily Mail")
SPLIT_FILES = ("train.txt", "valid.txt", "test.txt")
# UCI publishes no checksum for this archive, so its content is validated instead
# (`_validate_zip`: the CSV inside parses and holds the 422k-row corpus).
UCI_ZIP = RemoteFile(
    "NewsAggregatorDataset.zip",
    (
        "https://archive.ics.uci.edu/ml/machine-learning-databases/00359/NewsAggregatorDataset.zip",
        "https://archive.ics.uci.edu/static/public/359/news+aggregator.zip",
    ),
    sha256=None,
)
CORPUS_MEMBER = "newsCorpora.csv"
MIN_CORPUS_ROWS = 400_000
MAX_CORPUS_BYTES = 256 * 1024 * 1024  # newsCorpora.csv is about 100 MB: a bigger one is refused while reading


def folder(home=None) -> Path:
    return datasets_dir(home) / "news"


def ready(home=None) -> bool:
    return all((folder(home) / name).exists() for name in SPLIT_FILES)


def read_split_file(path: Path) -> tuple[list[str], np.ndarray]:
    """Read `title<TAB>category` lines. Raises ValueError naming the first bad line (not quoting it)."""
    try:
        return _read_split_lines(path)
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not UTF-8 text. Fix: give the split files of the News Aggregator "
                         "exercise (UTF-8)") from None


def _read_split_lines(path: Path) -> tuple[list[str], np.ndarray]:
    titles, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            title, sep, code = line.rpartition("\t")
            if not sep or code not in CODES:
                raise ValueError(  # the line itself is not quoted: the file may be anything
                    f"{path.name} line {lineno} is not 'title<TAB>category' with category in {'/'.join(CODES)}. "
                    "Fix: give the split files of the News Aggregator exercise")
            titles.append(title)
            labels.append(CODES.index(code))
    if not titles:
        raise ValueError(f"{path.name} holds no headlines")
    return titles, np.asarray(labels, dtype=np.int64)


def split_corpus(titles: list[str], codes: list[str], publishers: list[str]):
    """The exercise's split: keep five publishers, 80/20 stratified (seed 123), then halve the 20."""
    from sklearn.model_selection import train_test_split

    keep = [i for i, p in enumerate(publishers) if p in PUBLISHERS]
    rows = [(titles[i], codes[i]) for i in keep]
    cats = [c for _, c in rows]
    train, rest = train_test_split(rows, test_size=0.2, shuffle=True, random_state=123, stratify=cats)
    valid, test = train_test_split(
        rest, test_size=0.5, shuffle=True, random_state=123, stratify=[c for _, c in rest]
    )
    return train, valid, test


def _read_corpus(raw: bytes):
    import pandas as pd

    names = ["ID", "TITLE", "URL", "PUBLISHER", "CATEGORY", "STORY", "HOSTNAME", "TIMESTAMP"]
    try:
        df = pd.read_csv(io.BytesIO(raw), sep="\t", header=None, names=names, quoting=csv.QUOTE_NONE,
                         dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError):  # the parser's message may quote the file
        raise ValueError(f"{CORPUS_MEMBER} is not the News Aggregator corpus (8 tab-separated columns). "
                         "Fix: use the UCI zip or its newsCorpora.csv") from None
    return df


def _corpus_bytes(path: Path) -> bytes:
    """newsCorpora.csv's bytes from the UCI zip (or the CSV itself), read at most MAX_CORPUS_BYTES."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.endswith(CORPUS_MEMBER) and "__MACOSX" not in n]
            if not members:
                raise ValueError(f"{path.name} does not contain {CORPUS_MEMBER}")
            try:
                with zf.open(members[0]) as fh:
                    return read_limited(fh, MAX_CORPUS_BYTES, f"{path.name}'s {CORPUS_MEMBER}")
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
                raise ValueError(f"{path.name} is a damaged zip file. Fix: download it again") from None
    with open(path, "rb") as fh:
        return read_limited(fh, MAX_CORPUS_BYTES, path.name)


def _validate_zip(path: Path, min_rows: int = MIN_CORPUS_ROWS) -> None:
    df = _read_corpus(_corpus_bytes(path))
    if len(df) < min_rows or not set(df["CATEGORY"]).issuperset(CODES):
        raise ValueError(f"{CORPUS_MEMBER} has {len(df)} rows; expected the full corpus (≥ {min_rows})")


def _write_splits(dest: Path, splits) -> None:
    for name, rows in zip(SPLIT_FILES, splits, strict=True):
        atomic.write_text(dest / name, "".join(f"{t}\t{c}\n" for t, c in rows))


def fetch(home=None, from_dir: str | Path | None = None, progress=None, min_rows: int = MIN_CORPUS_ROWS) -> Path:
    """Place the split in the data home: from DIR (train/valid/test.txt, the UCI zip or
    newsCorpora.csv), or by downloading the UCI zip."""
    dest = folder(home)
    dest.mkdir(parents=True, exist_ok=True)
    if from_dir is not None:
        src = Path(from_dir).expanduser()
        if not src.is_dir():
            raise DataMissingError(f"{src} is not a folder. Fix: pass the folder holding train.txt/valid.txt/test.txt "
                                   f"or {UCI_ZIP.filename}.")
        if all((src / n).exists() for n in SPLIT_FILES):
            for name in SPLIT_FILES:
                read_split_file(src / name)  # validate before copying anything
            for name in SPLIT_FILES:
                atomic.write_bytes(dest / name, (src / name).read_bytes())
            return dest
        for candidate in (UCI_ZIP.filename, CORPUS_MEMBER):
            if (src / candidate).exists():
                _validate_zip(src / candidate, min_rows)
                _split_from(src / candidate, dest)
                return dest
        raise DataMissingError(
            f"{src} holds neither {', '.join(SPLIT_FILES)} nor {UCI_ZIP.filename}. Fix: point --from at a "
            "folder with those files."
        )
    archive = fetch_file(UCI_ZIP, dest, progress=progress, validate=lambda p: _validate_zip(p, min_rows))
    try:
        _split_from(archive, dest)
    finally:
        archive.unlink(missing_ok=True)
    return dest


def _split_from(path: Path, dest: Path) -> None:
    df = _read_corpus(_corpus_bytes(path))
    _write_splits(dest, split_corpus(df["TITLE"].tolist(), df["CATEGORY"].tolist(), df["PUBLISHER"].tolist()))


def load(home=None) -> Dataset:
    dest = folder(home)
    if not ready(home):
        raise DataMissingError(
            f"the news headlines are not in {dest}. Fix: run `python -m engine fetch news` (downloads the "
            "UCI zip), or `python -m engine fetch news --from DIR` with DIR holding train.txt, valid.txt and "
            "test.txt (title<TAB>category), or use the Home page's fetch button."
        )
    splits = [Split(*read_split_file(dest / name)) for name in SPLIT_FILES]
    return Dataset("news", "text", "classification", list(CLASS_NAMES), *splits,
                   meta={"codes": list(CODES), "source": str(dest)})


def remove(home=None) -> None:
    shutil.rmtree(folder(home), ignore_errors=True)
