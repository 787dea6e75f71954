"""Server CPU per watching session: N browser sessions (default 10) on one live run's Train page, with
Streamlit's full garbage collection after every script run (`runner.postScriptGC` true, Streamlit's
default) and without it (false, this project's .streamlit/config.toml), side by side in one run.

Each live view reruns a fragment every second; with torch, pandas and plotly loaded, a full
gc.collect(2) after each of those reruns is what the server spent most of its time on. Both servers
watch the same 400-epoch digits run (one worker, started first); each gets N fresh headless chromium
sessions, and once every session shows the live run, the server's CPU time over WINDOW seconds is read
from /proc (psutil). Also printed: the server's RSS at the end (memory must stay bounded without the
forced collections), and the worker's CPU share (what the training run got).

    .venv/bin/python bench/live_sessions.py [N]
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 (puts the repo and tests/ on sys.path)
import psutil
from browserhelpers import CHROMIUM, CHROMIUM_ARGS, UNTHROTTLED_ARGS, streamlit_server
from jobhelpers import stop_runs_and_supervisor, wait_for

from engine.config.run_config import make_config
from engine.jobs.local import JobRunner

WINDOW = 30.0  # seconds of steady state measured per setting
TINY = {"layers": 1, "width": 16, "batch_norm": False, "input_norm": False, "dropout": 0.0}


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def measure(home: Path, run_id: str, worker_pid: int, sessions: int, post_script_gc: bool) -> dict:
    from playwright.sync_api import sync_playwright

    with streamlit_server(home, home / f"streamlit_gc_{post_script_gc}.log", "--runner.postScriptGC",
                          str(post_script_gc).lower()) as (url, proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=[*CHROMIUM_ARGS, *UNTHROTTLED_ARGS])
        try:
            t0 = time.monotonic()
            pages = []
            for _ in range(sessions):
                page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                page.goto(f"{url}/Train?run={run_id}", wait_until="commit", timeout=120_000)
                pages.append(page)
            for page in pages:
                page.get_by_text(re.compile(r"Epoch \d+ of 400 finished")).first.wait_for(timeout=600_000)
            all_live = time.monotonic() - t0
            server0, worker0, w0 = cpu_seconds(proc.pid), cpu_seconds(worker_pid), time.monotonic()
            time.sleep(WINDOW)
            elapsed = time.monotonic() - w0
            server = (cpu_seconds(proc.pid) - server0) / elapsed
            worker = (cpu_seconds(worker_pid) - worker0) / elapsed
            rss = psutil.Process(proc.pid).memory_info().rss
        finally:
            browser.close()
    return {"all_live_s": all_live, "server_cpu": server, "worker_cpu": worker, "rss_mib": rss / 2**20}


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: `make browser` (or apt-get install chromium) installs it")
    home = Path(tempfile.mkdtemp(prefix="nnlab_live_"))
    runner = JobRunner(home)
    run_id = runner.submit(make_config(dataset="digits", model="mlp", epochs=400, early_stopping=False,
                                       model_args=TINY))
    try:
        worker_pid = wait_for(lambda: runner.status(run_id)["worker_pid"], 120,
                              f"the run to start (see {home}/supervisor.log)")
        results = {gc: measure(home, run_id, worker_pid, sessions, gc) for gc in (True, False)}
    finally:
        stop_runs_and_supervisor(home)
    print(f"{sessions} sessions watching one live run; server CPU over {WINDOW:.0f} s once all showed it "
          f"(cores: 1.00 = one core busy)")
    for gc, r in results.items():
        print(f"  postScriptGC {str(gc).lower():5}: server {r['server_cpu']:.2f} cores, worker {r['worker_cpu']:.2f} "
              f"cores, server RSS {r['rss_mib']:.0f} MiB, all sessions live after {r['all_live_s']:.0f} s")
    ratio = results[True]["server_cpu"] / max(results[False]["server_cpu"], 1e-9)
    print(f"server CPU with / without the forced collections: {ratio:.2f}")


if __name__ == "__main__":
    main()
