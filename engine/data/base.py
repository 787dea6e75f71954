"""The in-memory form every dataset loader returns."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.config.options import Option


@dataclass
class Split:
    # list[str] (text) | float32 array (N, H, W) (image) | pandas DataFrame of the feature columns (table:
    # numeric and categorical columns by name, target excluded; engine.features.table.TableFeatures encodes it)
    x: Any
    y: np.ndarray  # int64 class ids, or float32 targets for regression

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    name: str
    kind: str  # "text" | "image" | "table"
    task: str  # "classification" | "regression"
    classes: list[str]  # display names, index = class id
    train: Split
    valid: Split
    test: Split
    meta: dict = field(default_factory=dict)

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.valid), len(self.test)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str
    task: str
    title: str
    description: str
    load: Callable[..., Dataset]  # load(home, **data_args) -> Dataset
    ready: Callable[..., bool]  # ready(home) -> bool: usable without a download
    fetch: Callable[..., Path] | None = None  # fetch(home, from_dir=None, progress=None) -> folder
    options: tuple[Option, ...] = ()
    # core settings this dataset trains best with (e.g. SGD with momentum for covid); applied where the
    # user gave no value (the model's own defaults take precedence)
    defaults: dict = field(default_factory=dict)
    # after_run(prepared, model, folder): extra files a finished run leaves (e.g. a predictions CSV);
    # called with the best weights loaded
    after_run: Callable[..., None] | None = None
    # option_choices(home, data_args) -> {option name: allowed values known only at run time} (e.g. the
    # added CSV tables and their columns), for the Train form's selectboxes
    option_choices: Callable[..., dict] | None = None
    addable: bool = False  # a collection the user adds files to (csv): offered even when ready


def parse_problem(exc: BaseException) -> str:
    """What a parser's error says about a file, without quoting the file (parsers put its lines in their
    messages): the kind of problem and its line number when the parser gives one."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte offset {exc.start})"
    if isinstance(exc, StopIteration) or type(exc).__name__ == "EmptyDataError":
        return "empty"
    line = re.search(r"\bline (\d+)", str(exc))
    return f"unreadable at line {line.group(1)}" if line else "unreadable"
