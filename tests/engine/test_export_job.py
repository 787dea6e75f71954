"""Exports prepared in a worker process for the Runs page (engine/predict/export/job.py): the lifecycle of a job
(running, done with its download, failed with the reason), one per owner, the time limit, the cleanup; and the
Runs page panel that starts one without waiting for it."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest

from engine.config.run_config import make_config
from engine.jobs.procs import pid_alive
from engine.jobs.store import RunStore
from engine.predict.export import job as export_job


def wait(job: dict, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = export_job.poll(job)
        if status["state"] != "running":
            return status
        time.sleep(0.2)
    raise AssertionError(f"export still running after {timeout}s")


def leftovers(job: dict) -> set[str]:
    return {p.name for p in Path(job["folder"]).iterdir()}


def test_an_export_job_prepares_a_download_in_a_worker_and_replaces_the_previous_one(digits_run):
    home, run_id = digits_run
    began = time.monotonic()
    job = export_job.start(home, "alice", run_id, "script")
    assert time.monotonic() - began < 2  # launched, not run
    assert Path(job["folder"]).parent == home / "exports" / "alice"
    with pytest.raises(export_job.ExportBusy, match="still being prepared"):  # one per owner at a time
        export_job.start(home, "alice", run_id, "checkpoint")
    status = wait(job)
    assert status["state"] == "done", status
    assert status["name"].endswith("-script.zip") and {n for n, _ in status["listing"]} == {"predict.py", "model.pt"}
    names = zipfile.ZipFile(status["path"]).namelist()
    assert sorted(n.split("/")[-1] for n in names) == ["model.pt", "predict.py"]
    assert ".parts" not in leftovers(job)
    # the owner's next export replaces this one; another owner's is untouched
    other = export_job.start(home, "bob", run_id, "weights-json")
    second = export_job.start(home, "alice", run_id, "weights-json")
    assert not Path(job["folder"]).exists()
    done = wait(second)
    assert done["name"] == "weights.json" and json.loads(Path(done["path"]).read_text())["model"] == "mlp"
    assert wait(other)["state"] == "done"
    # a swept folder (its session ended long ago) is gone, and poll says how to get it back
    export_job.sweep(home, keep_s=0)
    assert not (home / "exports" / "alice").exists() and not (home / "exports" / "bob").exists()
    assert "prepare the export again" in export_job.poll(second)["error"]


def test_a_failing_export_reports_the_reason_and_leaves_no_partial_files(digits_run, tmp_path):
    home, run_id = digits_run
    job = export_job.start(home, "carol", run_id, "nope")
    status = wait(job)
    assert status["state"] == "failed" and "unknown export format 'nope'" in status["error"]
    assert leftovers(job) == {"job.json", export_job.LOG, export_job.STATUS}
    # a run without a checkpoint: the message names the fix
    store = RunStore(home)
    empty = store.create_run(make_config(dataset="digits", model="linear", device="cpu", epochs=1), status="failed")
    status = wait(export_job.start(home, "carol", empty, "onnx"))
    assert status["state"] == "failed" and "export it after its first epoch" in status["error"]


def test_an_export_past_its_time_limit_ends_itself_and_cleans_up(digits_run):
    home, run_id = digits_run
    job = export_job.start(home, "dave", run_id, "onnx", limit_s=0.001)
    status = wait(job)
    assert status["state"] == "failed" and "0.001-second limit" in status["error"]
    assert leftovers(job) <= {"job.json", export_job.LOG, export_job.STATUS}
    assert not any(p.suffix in (".onnx", ".zip") for p in Path(job["folder"]).rglob("*"))


def test_a_worker_that_vanished_or_is_cancelled_is_not_left_running(digits_run):
    home, run_id = digits_run
    (home / "exports" / "x" / "1").mkdir(parents=True)
    gone = {"folder": str(home / "exports" / "x" / "1"), "pid": 2**22 + 12345, "run_id": run_id, "format": "onnx",
            "options": {}, "started": time.time(), "limit_s": 60}
    assert export_job.poll(gone)["state"] == "failed" and "ended without a result" in export_job.poll(gone)["error"]
    job = export_job.start(home, "erin", run_id, "onnx")
    export_job.cancel(job)
    deadline = time.monotonic() + 10
    while pid_alive(job["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(job["pid"]) and not Path(job["folder"]).exists()


def test_the_server_prepares_at_most_max_at_once_exports_in_all(digits_run):
    home, run_id = digits_run
    jobs = [export_job.start(home, owner, run_id, "checkpoint") for owner in ("fay", "gus")]
    assert export_job.MAX_AT_ONCE == 2
    with pytest.raises(export_job.ExportBusy, match="at most 2 at once"):
        export_job.start(home, "hal", run_id, "checkpoint")
    assert [wait(job)["state"] for job in jobs] == ["done", "done"]
    assert wait(export_job.start(home, "hal", run_id, "checkpoint"))["state"] == "done"  # room again


@pytest.mark.parametrize("owner", ["../evil", "a/b", ""])
def test_an_owner_that_is_not_a_plain_name_is_refused(digits_run, owner):
    home, run_id = digits_run
    with pytest.raises(ValueError, match="not allowed"):
        export_job.start(home, owner, run_id, "onnx")


# --- the Runs page panel ------------------------------------------------------------------------
def _panel_app():
    import os

    from engine.jobs.store import RunStore
    from ui import export_panel

    export_panel.render(RunStore(os.environ["NNLAB_HOME"]), os.environ["NNLAB_TEST_RUN"])


def test_the_panel_returns_at_once_and_offers_the_download_when_the_worker_is_done(digits_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home, run_id = digits_run
    monkeypatch.setenv("NNLAB_HOME", str(home))
    monkeypatch.setenv("NNLAB_TEST_RUN", run_id)
    at = AppTest.from_function(_panel_app, default_timeout=60).run()
    assert not at.exception
    assert {b.key for b in at.button} == {f"export_prepare_{f}_{run_id}" for f in
                                          ("script", "onnx", "torch-export", "weights-json", "checkpoint")}
    began = time.monotonic()
    at.button(key=f"export_prepare_onnx_{run_id}").click().run()
    assert time.monotonic() - began < 10 and not at.exception and not at.error  # the worker exports, not the page
    job = at.session_state["export_job"]
    assert export_job.poll(job)["state"] == "running"
    assert at.button(key=f"export_prepare_script_{run_id}").disabled  # one export at a time
    assert any("exporting onnx" in c.value for c in at.caption)
    assert not at.get("download_button")
    assert wait(job)["state"] == "done"
    at.run()
    assert not at.exception and not at.error
    buttons = at.get("download_button")
    assert len(buttons) == 1 and buttons[0].proto.label.startswith(f"Download {run_id}-onnx.zip")
    assert not at.button(key=f"export_prepare_script_{run_id}").disabled
