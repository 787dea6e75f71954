"""Your own table: a CSV file added on the Home page (upload) or with `python -m engine fetch csv --from FILE`.

A file is checked when it is added (`read_checked`: UTF-8, a header and rows, at least two columns, a
numeric column, no empty column, under MAX_BYTES) and stored as `datasets/csv/<name>.csv`; a bad file
raises a ValueError naming the fix and nothing stored changes. A file whose name is taken by a table
with other contents is stored under a new name (`name_2`), so runs trained on the old one still load.

A run picks `table` and `target` (default: the last column). `task=auto` infers classification when
the target holds text, booleans or at most MAX_AUTO_CLASSES distinct integers, else regression.
Features are every other column: numbers standardised, text one-hot (engine.features.table.TableFeatures);
text columns that look like identifiers (mostly distinct values) are left out and named in `meta`.
Rows are shuffled with `split_seed`; `holdout` of them go to valid and as many to test (stratified
for classification when every class allows it). A regression target is standardised with the training
rows' mean and std, so its MSE reads as the share of the target's variance left unexplained (0.05: 95 %
explained); `meta["target_scale"]` = [mean, std] maps predictions back to the target's units.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine import atomic
from engine.config.options import ConfigError, Option
from engine.data.base import Dataset, Split, parse_problem
from engine.data.download import DataMissingError
from engine.paths import datasets_dir

if TYPE_CHECKING:  # imported where used: ~1 s of start-up that predicting a digit or a headline skips
    import pandas as pd

MAX_BYTES = 50 * 2**20  # the same limit as server.maxUploadSize in .streamlit/config.toml
MIN_ROWS = 10
OWNERS_FILE = "owners.json"  # table -> the browser session that added it (quota per owner)
MAX_AUTO_CLASSES = 20
MAX_CLASSES = 100
SEPARATORS = ",;\t|"

OPTIONS = (
    Option("table", "str", "", "csv: which added table (its file name without .csv; empty = the only one)"),
    Option("target", "str", "", "csv: the column to predict (empty = the last column)"),
    Option("task", "str", "auto", "csv: classification or regression (auto: text, booleans or few distinct "
           "integers classify; other numbers regress)", choices=("auto", "classification", "regression")),
    Option("holdout", "float", 0.2, "csv: share of the rows held out for valid, and again for test",
           min=0.05, max=0.4),
    Option("split_seed", "int", 0, "csv: seed of the row shuffle that makes the splits", min=0),
)


def folder(home=None) -> Path:
    return datasets_dir(home) / "csv"


def tables(home=None) -> list[str]:
    path = folder(home)
    return sorted(p.stem for p in path.glob("*.csv")) if path.exists() else []


def ready(home=None) -> bool:
    return bool(tables(home))


# --- reading and checking a file ----------------------------------------------------------------
def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text (at byte offset {exc.start}). Fix: save "
                         "it as 'CSV UTF-8' (Excel, LibreOffice) or convert it, e.g. "
                         f"`iconv -f latin1 -t utf-8 {name} > fixed.csv`") from None
    if "\x00" in text:
        raise ValueError(f"{name} holds NUL bytes, so it is not a text table. Fix: export the data as CSV")
    return text


def _separator(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        return ","


def read_text(text: str, name: str, nrows: int | None = None) -> pd.DataFrame:
    import pandas as pd
    if not text.strip():
        raise ValueError(f"{name} is empty. Fix: give a CSV with a header row and at least {MIN_ROWS} rows")
    try:
        df = pd.read_csv(io.StringIO(text), sep=_separator(text), nrows=nrows, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ValueError(f"{name} is not a readable CSV ({parse_problem(exc)}). Fix: one header row, then the same "
                         "number of comma-separated fields on every row") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_checked(path: Path, name: str | None = None) -> pd.DataFrame:
    """Read `path` as a table fit for training, or raise ValueError naming what is wrong and the fix."""
    import pandas as pd
    name = name or path.name
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{name} is {size / 2**20:.1f} MB, over the {MAX_BYTES // 2**20} MB limit. Fix: keep a "
                         f"sample of its rows (e.g. `head -n 100000 {name} > sample.csv`)")
    df = read_text(_decode(path.read_bytes(), name), name)
    if df.shape[1] < 2:
        raise ValueError(f"{name} has one column. Fix: a table needs feature columns and a "
                         "target column; if it has more, separate them with commas (or ; or tabs)")
    if len(df) < MIN_ROWS:
        raise ValueError(f"{name} has {len(df)} data row(s). Fix: give at least {MIN_ROWS} rows below the header")
    empty = [c for c in df.columns if df[c].isna().all()]
    if empty:
        raise ValueError(f"{name}: column(s) {', '.join(map(repr, empty))} hold no values. Fix: fill them in or "
                         "delete them")
    if not any(pd.api.types.is_numeric_dtype(df[c]) for c in df.columns):
        raise ValueError(f"{name} has no numeric column (every column holds text). Fix: a table needs numbers to "
                         "learn from; check that decimals use '.' and that the header is a single row")
    return df


def columns(home, table: str) -> list[str]:
    """The column names of an added table (reads only its header)."""
    path = folder(home) / f"{table}.csv"
    text = _decode(path.read_bytes()[:65536], path.name)
    return list(read_text(text, path.name, nrows=0).columns)


# --- adding files -------------------------------------------------------------------------------
def table_name(filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(filename).replace("\\", "/")).stem).strip("._-")
    return stem[:60] or "table"


def _store(home, src: Path) -> str:
    """Copy a checked file into the data home; a taken name with other contents gets a suffix."""
    data = src.read_bytes()
    dest_dir = folder(home)
    dest_dir.mkdir(parents=True, exist_ok=True)
    base = table_name(src.name)
    name, n = base, 1
    while (dest_dir / f"{name}.csv").exists():
        if hashlib.sha256((dest_dir / f"{name}.csv").read_bytes()).digest() == hashlib.sha256(data).digest():
            return name
        n += 1
        name = f"{base}_{n}"
    atomic.write_bytes(dest_dir / f"{name}.csv", data)
    return name


def table_owners(home=None) -> dict[str, str]:
    """Who added each table from a browser session (tables added on the command line have no entry)."""
    try:
        owners = json.loads((folder(home) / OWNERS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in owners.items()} if isinstance(owners, dict) else {}


def _check_quota(home, owner: str, adding: int, limit: int) -> None:
    mine = [t for t, o in table_owners(home).items() if o == owner and t in tables(home)]
    if len(mine) + adding > limit:
        raise ValueError(f"you have added {len(mine)} table(s) and at most {limit} per person are kept "
                         "(max_tables_per_owner). Fix: ask the teacher to remove one of yours, or to raise the limit")


def fetch(home=None, from_dir: str | Path | None = None, progress=None, owner: str | None = None,
          max_tables: int | None = None) -> Path:
    """Check and add a CSV file (FILE, or every *.csv in DIR). All files are checked before any is stored.
    With `owner` (a browser session) and `max_tables`, that owner keeps at most `max_tables` tables."""
    if from_dir is None:
        raise DataMissingError("a CSV table has no download. Fix: upload it on the Home page, or "
                               "`python -m engine fetch csv --from FILE.csv`")
    src = Path(from_dir).expanduser()
    if not src.exists():
        raise DataMissingError(f"{src} does not exist. Fix: give the path of a .csv file or of a folder holding one")
    files = [src] if src.is_file() else sorted(p for p in src.iterdir() if p.suffix.lower() == ".csv")
    if not files:
        raise DataMissingError(f"{src} holds no .csv file. Fix: give a file whose name ends in .csv")
    for path in files:
        read_checked(path)
    if owner is not None and max_tables is not None:
        _check_quota(home, owner, len(files), max_tables)
    for i, path in enumerate(files):
        name = _store(home, path)
        if owner is not None:
            atomic.write_text(folder(home) / OWNERS_FILE, json.dumps({**table_owners(home), name: owner}))
        if progress:
            progress(i + 1, len(files))
    return folder(home)


# --- loading a run's table ----------------------------------------------------------------------
def infer_task(target: pd.Series) -> str:
    import pandas as pd
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    values = target.dropna()
    whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    return "classification" if whole and values.nunique() <= MAX_AUTO_CLASSES else "regression"


def _target(df: pd.DataFrame, target: str, task: str, name: str) -> tuple[np.ndarray, list[str], str]:
    import pandas as pd
    series = df[target]
    task = infer_task(series) if task == "auto" else task
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise ConfigError(f"{name}: the target {target!r} holds text, so it cannot be regressed. Fix: --task "
                              "classification, or choose a numeric target")
        return series.to_numpy(np.float32), [target], task
    values = sorted(series.unique(), key=lambda v: (isinstance(v, str), v))
    if len(values) < 2:
        raise ConfigError(f"{name}: the target {target!r} has a single value ({values[0]!r}). Fix: choose a column "
                          "with at least two classes")
    if len(values) > MAX_CLASSES:
        raise ConfigError(f"{name}: the target {target!r} has {len(values)} distinct values, too many classes. "
                          "Fix: --task regression for a number, or choose another target")
    index = {v: i for i, v in enumerate(values)}
    return series.map(index).to_numpy(np.int64), [str(v) for v in values], task


def _split(n: int, y: np.ndarray, task: str, holdout: float, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    counts = np.bincount(y) if task == "classification" else None
    stratify = task == "classification" and counts.min() >= 3 and len(counts) <= holdout * n
    rest, test = train_test_split(idx, test_size=holdout, random_state=seed, stratify=y if stratify else None)
    train, valid = train_test_split(rest, test_size=holdout / (1 - holdout), random_state=seed,
                                    stratify=y[rest] if stratify else None)
    return np.sort(train), np.sort(valid), np.sort(test)


def _identifiers(features: pd.DataFrame) -> list[str]:
    """Text columns whose values are mostly distinct (names, ids): one-hot codes would only memorise."""
    import pandas as pd
    n = len(features)
    return [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])
            and features[c].nunique() > max(MAX_CLASSES // 2, n // 2)]


def load(home=None, table: str = "", target: str = "", task: str = "auto", holdout: float = 0.2,
         split_seed: int = 0) -> Dataset:
    names = tables(home)
    if not names:
        raise DataMissingError(f"no CSV table is added yet ({folder(home)} is empty). Fix: upload one on the Home "
                               "page or `python -m engine fetch csv --from FILE.csv`")
    if not table:
        if len(names) > 1:
            raise ConfigError(f"several tables are added ({', '.join(names)}). Fix: choose one with --table NAME")
        table = names[0]
    if table not in names:
        raise ConfigError(f"no table {table!r} is added. Fix: --table one of {', '.join(names)}, or add it first")
    path = folder(home) / f"{table}.csv"
    df = read_checked(path)
    target = target or df.columns[-1]
    if target not in df.columns:
        raise ConfigError(f"{path.name} has no column {target!r}; its columns are {', '.join(df.columns)}. Fix: "
                          "choose one of them as the target (--target NAME)")
    df = df[df[target].notna()].reset_index(drop=True)
    y, classes, task = _target(df, target, task, path.name)
    features = df.drop(columns=[target])
    ignored = _identifiers(features)
    features = features.drop(columns=ignored)
    if features.shape[1] == 0:
        raise ConfigError(f"{path.name}: no feature column is left besides the target {target!r} "
                          f"(left out as identifiers: {', '.join(ignored)}). Fix: add feature columns")
    if len(df) < MIN_ROWS:
        raise ConfigError(f"{path.name}: {len(df)} rows have a {target!r} value. Fix: at least {MIN_ROWS} are needed")
    train, valid, test = _split(len(df), y, task, holdout, split_seed)
    scale = None
    if task == "regression":  # learn a standardised target (any scale trains with the usual lr); predictions
        mean, std = float(y[train].mean()), float(y[train].std()) or 1.0  # are mapped back with target_scale
        y, scale = ((y - mean) / std).astype(np.float32), [mean, std]

    def split(idx) -> Split:
        return Split(features.iloc[idx].reset_index(drop=True), y[idx])

    return Dataset("csv", "table", task, classes, split(train), split(valid), split(test),
                   meta={"table": table, "target": target, "ignored": ignored, "source": str(path),
                         "columns": list(features.columns), "target_scale": scale})


def option_choices(home, data_args: dict) -> dict[str, list[str]]:
    """Choices for the Train form: the added tables, and the chosen table's columns as targets."""
    names = tables(home)
    if not names:
        return {}
    table = data_args.get("table") if data_args.get("table") in names else names[0]
    try:
        cols = columns(home, table)
    except (OSError, ValueError):
        cols = []
    return {"table": names, "target": cols[::-1]}  # the last column (the default target) first
