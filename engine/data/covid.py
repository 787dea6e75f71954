"""The machine-learning course's COVID-19 regression (ML2022 HW1): predict the share of tested-positive
cases on the 5th day from 37 one-hot states and 5 days of 16 survey signals.

covid.train.csv: id + 116 features + tested_positive (2,699 rows); covid.test.csv: id + the 116
features, no target (1,078 rows). The survey columns repeat once per day in the files; here they are
named `<signal>_d1` .. `<signal>_d5` (the 5th day's tested_positive is the target).

Splits: the homework's valid split, 20 % of the training rows by `torch.utils.data.random_split` with
seed 5201314 (2,160 / 539). covid.test.csv has no targets, so the test split is those same 539
held-out rows (test metrics = valid metrics); predictions for covid.test.csv are written by
`write_predictions` (a run's `predictions.csv`, `id,tested_positive`, 1,078 rows).

Feature selection (`select`): `all`, `top:K` (the K columns scoring highest on the training rows by
`score` = f_regression or mutual_info), or a comma list of column names. Standardisation is the table
featurizer's (training statistics).
"""

from __future__ import annotations

import csv
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

TRAIN_FILE, TEST_FILE = "covid.train.csv", "covid.test.csv"
TARGET = "tested_positive"
SPLIT_SEED, VALID_RATIO = 5201314, 0.2
N_FEATURES = 116

OPTIONS = (
    Option("select", "str", "all", "covid features: all, top:K (best K by `score` on the training rows) or a "
           "comma list of column names (e.g. tested_positive_d4,cli_d4)"),
    Option("score", "str", "f_regression", "covid top:K scoring", choices=("f_regression", "mutual_info")),
)
# SGD with momentum 0.9 as in the homework; a small plain MLP fits 2,160 rows better than the mlp's defaults
DEFAULTS = {"optimizer": "sgd", "lr": 3e-3, "momentum": 0.9, "batch_size": 256, "epochs": 500, "patience": 100,
            "model_args": {"mlp": {"layers": 2, "width": 64, "batch_norm": False, "dropout": 0.0,
                                   "input_norm": False}}}


def folder(home=None) -> Path:
    return datasets_dir(home) / "covid"


def ready(home=None) -> bool:
    return all((folder(home) / n).exists() for n in (TRAIN_FILE, TEST_FILE))


def _names(header: list[str]) -> list[str]:
    """id, states..., then each day's signals renamed `<signal>_d<day>`."""
    out, seen = [], {}
    first_signal = header.index("cli") if "cli" in header else len(header)
    for i, name in enumerate(header):
        if i < first_signal:
            out.append(name)
            continue
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{name}_d{seen[name]}")
    return out


def read_file(path: Path, with_target: bool) -> pd.DataFrame:
    """Read one of the two CSVs; raises ValueError naming what is wrong."""
    import pandas as pd
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        df = pd.read_csv(path, header=0)
    except (UnicodeDecodeError, StopIteration, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path.name} is not a readable CSV ({parse_problem(exc)}). Fix: use the ML2022 HW1 "
                         "file") from None
    width = N_FEATURES + 1 + (1 if with_target else 0)
    if len(header) != width or header[0] != "id" or (with_target and header[-1] != TARGET):
        raise ValueError(f"{path.name} has {len(header)} columns or other names; expected id, "
                         f"{N_FEATURES} features{' and ' + TARGET if with_target else ''}: the ML2022 HW1 file")
    df.columns = _names(header)
    if with_target:
        df = df.rename(columns={df.columns[-1]: TARGET})
    if not all(pd.api.types.is_numeric_dtype(df[c]) for c in df.columns):
        raise ValueError(f"{path.name} has non-numeric values; expected the ML2022 HW1 file")
    return df


def fetch(home=None, from_dir: str | Path | None = None, progress=None) -> Path:
    dest = folder(home)
    if from_dir is None:
        raise DataMissingError(
            f"the COVID-19 homework files have no public download with a fixed checksum. Fix: `python -m engine "
            f"fetch covid --from DIR` with DIR holding {TRAIN_FILE} and {TEST_FILE}.")
    src = Path(from_dir).expanduser()
    missing = [n for n in (TRAIN_FILE, TEST_FILE) if not (src / n).exists()]
    if missing:
        raise DataMissingError(f"{src} lacks {', '.join(missing)}. Fix: point --from at the folder holding "
                               f"{TRAIN_FILE} and {TEST_FILE}.")
    read_file(src / TRAIN_FILE, True)
    read_file(src / TEST_FILE, False)
    dest.mkdir(parents=True, exist_ok=True)
    for name in (TRAIN_FILE, TEST_FILE):
        atomic.write_bytes(dest / name, (src / name).read_bytes())
    return dest


def valid_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The homework's `train_valid_split`: random_split with a generator seeded 5201314."""
    import torch

    n_valid = int(VALID_RATIO * n)
    train, valid = torch.utils.data.random_split(range(n), [n - n_valid, n_valid],
                                                 generator=torch.Generator().manual_seed(SPLIT_SEED))
    return np.asarray(train.indices), np.asarray(valid.indices)


def select_columns(x: pd.DataFrame, y: np.ndarray, select: str, score: str = "f_regression") -> list[str]:
    columns = list(x.columns)
    select = select.strip()
    if select == "all":
        return columns
    if select.startswith("top:"):
        try:
            k = int(select[4:])
        except ValueError:
            raise ConfigError(f"select={select!r}: expected top:K with K a whole number") from None
        if not 1 <= k <= len(columns):
            raise ConfigError(f"select={select!r}: K must be in [1, {len(columns)}]")
        from sklearn.feature_selection import f_regression, mutual_info_regression

        if score == "f_regression":
            scores = np.nan_to_num(f_regression(x.to_numpy(), y)[0], nan=-1.0)
        else:
            scores = mutual_info_regression(x.to_numpy(), y, random_state=0)
        best = np.argsort(-scores, kind="stable")[:k]
        return [columns[i] for i in sorted(best)]
    wanted = [c.strip() for c in select.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in columns]
    if unknown or not wanted:
        raise ConfigError(f"select: unknown column(s) {', '.join(unknown) or '(none given)'}; expected all, "
                          f"top:K or names such as {', '.join(columns[-4:])}")
    return wanted


def load(home=None, select: str = "all", score: str = "f_regression") -> Dataset:
    if not ready(home):
        raise DataMissingError(
            f"the COVID-19 files are not in {folder(home)}. Fix: `python -m engine fetch covid --from DIR` with "
            f"DIR holding {TRAIN_FILE} and {TEST_FILE}.")
    train_df = read_file(folder(home) / TRAIN_FILE, True)
    test_df = read_file(folder(home) / TEST_FILE, False)
    features = [c for c in train_df.columns if c not in ("id", TARGET)]
    y = train_df[TARGET].to_numpy(np.float32)
    tr, va = valid_indices(len(train_df))
    cols = select_columns(train_df.iloc[tr][features], y[tr], select, score)
    x = train_df[cols].astype(np.float64)

    def split(idx) -> Split:
        return Split(x.iloc[idx].reset_index(drop=True), y[idx])

    valid = split(va)
    return Dataset("covid", "table", "regression", [TARGET], split(tr), valid, valid,
                   meta={"columns": cols, "predict_x": test_df[cols].astype(np.float64),
                         "predict_ids": test_df["id"].tolist(), "test_is_valid": True})


def write_predictions(prepared, model, folder: Path) -> Path:
    """predictions.csv (id,tested_positive) for covid.test.csv, from the run's best weights."""
    import torch

    meta = prepared.dataset.meta
    x = prepared.featurizer.transform(meta["predict_x"])
    device = next(iter(model.state_dict().values())).device
    model.eval()
    with torch.no_grad():
        pred = model(x.to(device)).reshape(-1).float().cpu().numpy()
    lines = ["id,tested_positive"] + [f"{i},{p:.6f}" for i, p in zip(meta["predict_ids"], pred, strict=True)]
    path = Path(folder) / "predictions.csv"
    atomic.write_text(path, "\n".join(lines) + "\n")
    return path
