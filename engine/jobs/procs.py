"""Processes the job runner starts, checks and ends, the same way on Linux, macOS and Windows.

Nothing here reads /proc or imports fcntl: process checks and command lines come from psutil, the
supervisor's lock from filelock, and a detached process is a new session (POSIX) or a new, detached
process group (Windows). Children get a scrubbed environment: no teacher password, no other secrets.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings

import psutil

# what a worker, a supervisor or a study process needs of the environment (names compared upper-cased)
ENV_NAMES = {"PATH", "HOME", "USERPROFILE", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8",
             "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "CUDA_VISIBLE_DEVICES", "LANG", "LANGUAGE", "TMPDIR", "TEMP",
             "TMP", "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "LOCALAPPDATA", "APPDATA", "LD_LIBRARY_PATH",
             "DYLD_LIBRARY_PATH", "TZ", "USER", "USERNAME", "LOGNAME"}
ENV_PREFIXES = ("NNLAB_", "LC_", "OMP_", "MKL_", "OPENBLAS_", "HF_", "TORCH_", "PYTORCH_", "CUDA_", "XDG_",
                "COVERAGE_")
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "AUTH")


def scrubbed_env(extra: dict[str, str] | None = None, environ=None) -> dict[str, str]:
    """The environment for a child process: the allow-listed names of `environ` (default os.environ) whose
    names hold no secret word, plus `extra`. NNLAB_TEACHER_PASSWORD and any *_TOKEN, *_KEY never pass."""
    environ = os.environ if environ is None else environ
    env = {}
    for name, value in environ.items():
        upper = name.upper()
        if any(word in upper for word in SECRET_WORDS):
            continue
        if upper in ENV_NAMES or upper.startswith(ENV_PREFIXES):
            env[name] = value
    return {**env, **(extra or {})}


def scrub_environ(keep_prefixes: tuple[str, ...] = (), environ=None) -> list[str]:
    """Remove from `environ` (default os.environ, in place) every name `scrubbed_env` would not pass to a child,
    except names starting with `keep_prefixes`: for a process that did not start with a scrubbed environment (a
    Ray task's worker). Returns the names removed."""
    environ = os.environ if environ is None else environ
    passed = scrubbed_env(environ=environ)
    removed = [n for n in environ if n not in passed and not n.upper().startswith(keep_prefixes)]
    for name in removed:
        del environ[name]
    return removed


def detached_kwargs(platform: str = sys.platform) -> dict:
    """Popen arguments that start a process outside the caller's session or console group, so it outlives
    the server or CLI that started it and a Ctrl-C there does not reach it."""
    if platform == "win32":
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200) | getattr(subprocess, "DETACHED_PROCESS", 0x8)
        return {"creationflags": flags}
    return {"start_new_session": True}


def pid_alive(pid: int | None) -> bool:
    """Whether process `pid` exists and has not exited (a zombie, exited but not yet reaped, has)."""
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def cmdline(pid: int | None) -> list[str] | None:
    """The command line of `pid`, or None when there is no such process or it cannot be read."""
    if not pid:
        return None
    try:
        return psutil.Process(pid).cmdline()
    except (psutil.Error, OSError):
        return None


def started_at(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), None if unknown."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def runs_engine(pid: int | None, *words: str) -> bool:
    """Whether `pid` is a `python -m engine` process whose command line holds every one of `words`."""
    args = cmdline(pid)
    return bool(args) and "engine" in args and all(w in args for w in words)


def end_process(pid: int, force: bool = False) -> None:
    """Ask `pid` to end (SIGTERM), or with `force` kill it (SIGKILL); on Windows both are TerminateProcess.
    The caller checks first that `pid` is the process it means (`runs_engine`)."""
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc = psutil.Process(pid)
        proc.kill() if force else proc.terminate()


def file_lock(path, timeout: float = 0):
    """A lock on `path` that one process holds at a time (acquiring it waits up to `timeout` seconds): fcntl/msvcrt
    locks where the platform has them, else a pid marker file whose holder is reclaimed when it dies (filelock
    picks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "only soft file lock is available" without fcntl
        from filelock import FileLock

    return FileLock(str(path), timeout=timeout, thread_local=False)

