"""The machine-learning course's Pokémon classification: Water vs Normal from the base stats.

Pokemon.csv (800 rows: #, Name, Type 1, Type 2, Total, HP, Attack, Defense, Sp. Atk, Sp. Def, Speed,
Generation, Legendary). The course's split: Water and Normal Pokémon with # < 400 train (79 Water +
61 Normal = 140), the rest test (70).

The course has no validation split. `valid=train` (default) keeps all 140 training rows for fitting,
as the course does, and reports the valid metrics on those same rows (best-weight selection then
never looks at the test rows). `valid=holdout` holds out 20 % of the training rows (stratified,
fixed seed) for a real validation split, leaving 112 to fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine import atomic
from engine.config.options import Option
from engine.data.base import Dataset, Split, parse_problem
from engine.data.download import DataMissingError
from engine.paths import datasets_dir

if TYPE_CHECKING:  # imported where used: ~1 s of start-up that predicting a digit or a headline skips
    import pandas as pd

FILENAME = "Pokemon.csv"
CLASSES = ("Water", "Normal")
STATS = {
    "all7": ("Total", "HP", "Attack", "Defense", "Sp. Atk", "Sp. Def", "Speed"),
    "defense_spdef": ("Defense", "Sp. Def"),
}
COLUMNS = ("#", "Name", "Type 1", "Total", "HP", "Attack", "Defense", "Sp. Atk", "Sp. Def", "Speed")
TRAIN_BELOW = 400
HOLDOUT_SEED = 0

OPTIONS = (
    Option("stats", "str", "all7", "Pokémon stats used as features: all7 (Total, HP, Attack, Defense, Sp. Atk, "
           "Sp. Def, Speed) or defense_spdef (the 2-D plot)", choices=tuple(STATS)),
    Option("valid", "str", "train", "Pokémon valid split: train (the course: fit all 140 training rows, valid "
           "metrics on them) or holdout (20 % of the training rows held out)", choices=("train", "holdout")),
)


def folder(home=None) -> Path:
    return datasets_dir(home) / "pokemon"


def ready(home=None) -> bool:
    return (folder(home) / FILENAME).exists()


def read_table(path: Path) -> pd.DataFrame:
    """Read and check Pokemon.csv. Raises ValueError naming what is wrong."""
    import pandas as pd
    try:
        df = pd.read_csv(path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path.name} is not a readable CSV ({parse_problem(exc)}). Fix: use the course's "
                         "Pokemon.csv") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name} lacks the column(s) {', '.join(missing)}; expected the course's Pokemon.csv")
    for c in COLUMNS:
        if c not in ("Name", "Type 1") and not pd.api.types.is_numeric_dtype(df[c]):
            raise ValueError(f"{path.name}: column {c!r} is not numeric")
    kept = df[df["Type 1"].isin(CLASSES)]
    if len(kept) < 20 or kept["Type 1"].nunique() < 2:
        raise ValueError(f"{path.name} holds {len(kept)} Water/Normal rows; expected the course's Pokemon.csv")
    return df


def fetch(home=None, from_dir: str | Path | None = None, progress=None) -> Path:
    """Validate Pokemon.csv from DIR (or DIR itself naming the file) and place it in the data home."""
    dest = folder(home)
    if from_dir is None:
        raise DataMissingError(
            f"Pokemon.csv has no public download with a fixed checksum. Fix: `python -m engine fetch pokemon "
            f"--from DIR` with DIR holding {FILENAME} (the course's file), or place it at {dest / FILENAME}.")
    src = Path(from_dir).expanduser()
    path = src if src.is_file() else src / FILENAME
    if not path.exists():
        raise DataMissingError(f"{path} does not exist. Fix: point --from at the folder holding {FILENAME}.")
    read_table(path)
    dest.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(dest / FILENAME, path.read_bytes())
    return dest


def load(home=None, stats: str = "all7", valid: str = "train") -> Dataset:
    path = folder(home) / FILENAME
    if not path.exists():
        raise DataMissingError(
            f"the Pokémon table is not in {folder(home)}. Fix: `python -m engine fetch pokemon --from DIR` with "
            f"DIR holding {FILENAME}, or use the Home page's fetch.")
    df = read_table(path)
    df = df[df["Type 1"].isin(CLASSES)].reset_index(drop=True)
    x = df[list(STATS[stats])].astype(np.float64)
    y = df["Type 1"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy(np.int64)
    train = np.flatnonzero(df["#"].to_numpy() < TRAIN_BELOW)
    test = np.flatnonzero(df["#"].to_numpy() >= TRAIN_BELOW)
    valid_idx = train
    if valid == "holdout":
        from sklearn.model_selection import train_test_split

        train, valid_idx = train_test_split(train, test_size=0.2, random_state=HOLDOUT_SEED, stratify=y[train])

    def split(idx) -> Split:
        return Split(x.iloc[idx].reset_index(drop=True), y[idx])

    return Dataset("pokemon", "table", "classification", list(CLASSES), split(train), split(valid_idx),
                   split(test), meta={"stats": list(STATS[stats]), "names": df["Name"].tolist(),
                                      "source": str(path)})
