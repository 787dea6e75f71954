"""Shared by the real-browser tests and bench/live_sessions.py: `streamlit run app.py` on a free port
with its own data home, Debian's chromium for Playwright, and what a session shows, for a failure message."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync"]
# many windows open at once: none may be throttled as a background window
UNTHROTTLED_ARGS = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                    "--disable-backgrounding-occluded-windows"]
IDLE = "[data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            if resp.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f}s")


@contextlib.contextmanager
def streamlit_server(home: Path, log_path: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """(url, process) of `streamlit run app.py` with NNLAB_HOME=home, extra command-line `options`
    (e.g. "--runner.postScriptGC", "true") and its output in `log_path`; terminated on exit."""
    port = free_port()
    env = {**os.environ, "NNLAB_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *options],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def page_text(page) -> str:
    """What a session shows (for a failure message): its script state and the start of its text."""
    try:
        state = page.get_attribute("[data-test-script-state]", "data-test-script-state", timeout=2000)
        return f"[{state}] " + " ".join(page.inner_text("body", timeout=2000).split())[:300]
    except Exception as exc:  # noqa: BLE001 (a diagnostic must not hide the assertion)
        return f"<unreadable: {exc}>"
