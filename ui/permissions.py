"""Who may stop, resume or delete a run, and teacher mode.

Each browser session has an owner id (ui.state.owner_id) that tags the runs it starts. A session manages
its own runs only, with or without a teacher password; teacher mode manages every run (runs started on the
command line have no owner: the teacher or the command line manages them). Teacher mode is unlocked with
the password from the environment variable NNLAB_TEACHER_PASSWORD or `teacher_password` in
.streamlit/secrets.toml (never in the repository). Wrong passwords are rate-limited per session. A server
that listens beyond this machine without a teacher password says so on every page.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

from ui import state

TEACHER_KEY = "nnlab_teacher"
FAILURES_KEY = "nnlab_teacher_failures"
LOCKED_KEY = "nnlab_teacher_locked_until"
FREE_ATTEMPTS = 5  # wrong passwords before each further attempt waits
FIRST_WAIT_S = 30.0  # doubled after every further wrong password
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")


def teacher_password() -> str | None:
    if os.environ.get("NNLAB_TEACHER_PASSWORD"):
        return os.environ["NNLAB_TEACHER_PASSWORD"]
    try:
        return st.secrets.get("teacher_password") or None
    except Exception:  # no secrets.toml at all
        return None


def is_teacher() -> bool:
    return bool(st.session_state.get(TEACHER_KEY)) and teacher_password() is not None


def can_manage(run: dict) -> bool:
    return is_teacher() or (run.get("owner") is not None and run.get("owner") == state.owner_id())


def why_not(run: dict) -> str:
    return ("This run was started in another browser session (or on the command line): only that session or the "
            "teacher can stop, resume or delete it. (A reloaded tab is a new session: manage older runs with "
            "`python -m engine cancel|resume ID` on the server, or in teacher mode: sidebar.)")


def wait_left() -> float:
    """Seconds this session must wait before its next password attempt (0: none)."""
    return max(0.0, float(st.session_state.get(LOCKED_KEY, 0.0)) - time.monotonic())


def record_attempt(ok: bool) -> None:
    """After FREE_ATTEMPTS wrong passwords, each further one locks the session for a doubling wait."""
    if ok:
        st.session_state[FAILURES_KEY] = 0
        return
    failures = int(st.session_state.get(FAILURES_KEY, 0)) + 1
    st.session_state[FAILURES_KEY] = failures
    if failures >= FREE_ATTEMPTS:
        st.session_state[LOCKED_KEY] = time.monotonic() + FIRST_WAIT_S * 2 ** (failures - FREE_ATTEMPTS)


def _check() -> None:
    expected = teacher_password()
    given = st.session_state.get("teacher_password_input", "")
    st.session_state["teacher_password_input"] = ""  # never keep the password in the session
    if not given or wait_left() > 0:  # while locked, an attempt is not even compared
        return
    ok = bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
    record_attempt(ok)
    st.session_state[TEACHER_KEY] = ok
    st.session_state["teacher_login_failed"] = not ok


def teacher_login() -> None:
    """A sidebar box to unlock teacher mode (shown only when a teacher password is configured)."""
    if teacher_password() is None:
        return
    with st.sidebar:
        if is_teacher():
            st.success("Teacher mode: you can manage every run.", icon=":material/school:")
            if st.button("Leave teacher mode", key="teacher_logout"):
                st.session_state[TEACHER_KEY] = False
                st.rerun()
            return
        wait = wait_left()
        st.text_input("Teacher password", type="password", key="teacher_password_input", on_change=_check,
                      disabled=wait > 0, help="unlocks stopping, resuming and deleting every student's runs")
        if wait > 0:
            st.error(f"Too many wrong passwords: try again in {wait:.0f} s.")
        elif st.session_state.get("teacher_login_failed"):
            st.error("Wrong password.")


def open_without_password() -> bool:
    """True when the server listens beyond this machine (server.address) and no teacher password is set."""
    address = str(st.get_option("server.address") or "").strip()
    return address not in LOCAL_ADDRESSES and teacher_password() is None


def exposure_banner() -> None:
    if open_without_password():
        st.warning("This server is open to the network without a teacher password: nobody can manage other "
                   "people's runs or name server files. Fix: set NNLAB_TEACHER_PASSWORD (see README, Classroom).",
                   icon=":material/warning:")


def page_guard() -> None:
    """Every page's first call: the teacher box in the sidebar and, where it applies, the open-server warning."""
    teacher_login()
    exposure_banner()
