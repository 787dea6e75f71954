"""Who may stop, resume or delete a run.

Each browser session has an owner id (ui.state.owner_id) that tags the runs it starts. A session
manages its own runs; runs of other sessions only in teacher mode. Teacher mode is unlocked with the
password from the environment variable NNLAB_TEACHER_PASSWORD or `teacher_password` in
.streamlit/secrets.toml (never in the repository). With no password configured the lab is in
single-user mode: every run can be managed from any session (the owner id lives in the browser
session, so a reload would otherwise lose control of one's own runs).
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

from ui import state

TEACHER_KEY = "nnlab_teacher"


def teacher_password() -> str | None:
    if os.environ.get("NNLAB_TEACHER_PASSWORD"):
        return os.environ["NNLAB_TEACHER_PASSWORD"]
    try:
        return st.secrets.get("teacher_password") or None
    except Exception:  # no secrets.toml at all
        return None


def is_teacher() -> bool:
    return bool(st.session_state.get(TEACHER_KEY))


def can_manage(run: dict) -> bool:
    if teacher_password() is None:  # single-user mode: no classroom, no restrictions (a reload keeps control)
        return True
    return is_teacher() or run.get("owner") == state.owner_id()


def why_not(run: dict) -> str:
    return ("This run was started in another browser session: only that session or the teacher can stop, "
            "resume or delete it. (Teacher mode: sidebar.)")


def _check() -> None:
    expected = teacher_password()
    given = st.session_state.get("teacher_password_input", "")
    ok = bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
    st.session_state[TEACHER_KEY] = ok
    st.session_state["teacher_login_failed"] = bool(given) and not ok
    st.session_state["teacher_password_input"] = ""  # never keep the password in the session


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
        st.text_input("Teacher password", type="password", key="teacher_password_input", on_change=_check,
                      help="unlocks stopping, resuming and deleting every student's runs")
        if st.session_state.get("teacher_login_failed"):
            st.error("Wrong password.")
