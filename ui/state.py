"""Shared, cached handles for pages: the data home, its RunStore and JobRunner, and the
per-browser-session owner id.

The RunStore and JobRunner are cached with `st.cache_resource` keyed by the data home, so every
session of one server shares them (they hold no per-user state: runs live in SQLite). The owner id
lives in `st.session_state`: it tags the runs a session starts so its Train page can follow them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st

from engine.jobs.backends import make_runner
from engine.jobs.local import JobRunner
from engine.jobs.store import RunStore
from engine.paths import data_home

OWNER_KEY = "nnlab_owner"


def home() -> Path:
    """The data home ($NNLAB_HOME or ~/.nnlab), read on every call so tests can point it elsewhere."""
    return data_home()


@st.cache_resource(show_spinner=False)
def _store(home_dir: str) -> RunStore:
    return RunStore(home_dir)


@st.cache_resource(show_spinner=False)
def _runner(home_dir: str) -> JobRunner:
    return make_runner(home_dir)  # the local process backend, or Ray when settings choose it


def store() -> RunStore:
    return _store(str(home()))


def runner() -> JobRunner:
    return _runner(str(home()))


def owner_id() -> str:
    """A random id for this browser session (kept across reruns, new for a new tab)."""
    if OWNER_KEY not in st.session_state:
        st.session_state[OWNER_KEY] = secrets.token_hex(4)
    return st.session_state[OWNER_KEY]
