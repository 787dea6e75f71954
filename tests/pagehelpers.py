"""Helpers for AppTest page tests: open a page by path (with query parameters), read its tables, texts,
progress bars and plotly figures."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def open_page(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if page:
        for k, v in query.items():
            at.query_params[k] = v
        at.switch_page(f"pages/{page}").run()
        assert not at.exception, at.exception
    return at


def as_teacher(at: AppTest, monkeypatch, *allowed_dirs, password: str = "s3cret-for-test") -> AppTest:
    """Unlock teacher mode in `at`'s session (setting the password) and let it name `allowed_dirs` on the server."""
    import os

    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", password)
    if allowed_dirs:
        monkeypatch.setenv("NNLAB_ALLOWED_DIRS", os.pathsep.join(str(d) for d in allowed_dirs))
    at.run()
    at.text_input(key="teacher_password_input").input(password).run()
    assert at.session_state["nnlab_teacher"] is True
    return at


def frame(at: AppTest, *columns: str):
    """The first st.dataframe holding all of `columns` (AppTest does not expose dataframe keys)."""
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    raise AssertionError(f"no dataframe with columns {columns}")


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def spec_values(values) -> list:
    """A plotly trace's x or y as a list: plotly sends numeric arrays as base64 typed arrays."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(p.proto.spec) for p in at.get("plotly_chart")]
