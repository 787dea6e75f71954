"""Shared fixtures: every test gets its own data home; real data comes from ../shared/data.

Tests live by layer (engine/, ui/, pages/, browser/, real/) and carry markers, so a developer can run one
kind: `-m browser` (a real Chromium), `-m ray` (a local Ray cluster), `-m real_data` (files of
../shared/data), `-m slow` (trains on real data). The browser, ray and real_data markers are set here
from the folder and the fixtures a test uses; a test that calls `shared()` itself says so with
`@pytest.mark.real_data`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NNLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty data home (NNLAB_HOME) for this test."""
    path = tmp_path / "nnlab_home"
    path.mkdir()
    monkeypatch.setenv("NNLAB_HOME", str(path))
    return path


@pytest.fixture
def server(home, tmp_path):
    """The URL of `streamlit run app.py` on this test's data home (browser tests); the runs it started
    and their supervisor are ended afterwards."""
    from browserhelpers import streamlit_server
    from jobhelpers import stop_runs_and_supervisor

    try:
        with streamlit_server(home, tmp_path / "streamlit.log") as (url, _):
            yield url
    finally:
        stop_runs_and_supervisor(home)


# fixtures that read ../shared/data
REAL_DATA_FIXTURES = {"news_home", "news_run", "news_predictor", "covid_home", "pokemon_home"}
RAY_FIXTURES = {"ray_cluster", "ray_runner"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        names = set(item.fixturenames)
        if folder == "browser":
            item.add_marker(pytest.mark.browser)
        if folder == "real" or names & REAL_DATA_FIXTURES:
            item.add_marker(pytest.mark.real_data)
        if names & RAY_FIXTURES:
            item.add_marker(pytest.mark.ray)


def shared(name: str) -> Path:
    """A folder of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (tests read it from ../shared/data)")
    return path


@pytest.fixture
def news_home(home) -> Path:
    """A data home with the real news split fetched from ../shared/data/news_aggregator."""
    from engine.data import news

    news.fetch(home, from_dir=shared("news_aggregator"))
    return home


@pytest.fixture
def no_workers(monkeypatch):
    """Record supervisor starts instead of spawning processes (pages write the run, nothing trains)."""
    from engine.jobs.local import JobRunner

    calls = []
    monkeypatch.setattr(JobRunner, "ensure_supervisor", lambda self: calls.append(self.home))
    return calls


@pytest.fixture
def runner(local_runner):
    """The local-process JobRunner (tests/test_jobrunner.py parametrises `runner` over both backends)."""
    return local_runner


@pytest.fixture
def local_runner(home):
    """A JobRunner on the test's data home; its runs, workers and supervisor are stopped afterwards."""
    from jobhelpers import stop_runs_and_supervisor

    from engine.jobs.local import JobRunner

    yield JobRunner(home)
    stop_runs_and_supervisor(home)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """(home, run id) of a 1-epoch 16-unit digits MLP trained in-process; NNLAB_HOME names that home meanwhile."""
    from jobhelpers import trained_run

    from engine.jobs.store import RunStore

    home = tmp_path_factory.mktemp("digits_run_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        yield home, trained_run(RunStore(home), dataset="digits", model="mlp", device="cpu", epochs=1,
                                model_args={"layers": 1, "width": 16})


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A local two-node Ray cluster on 127.0.0.1 (head + one worker, 1 CPU each), shared by the session."""
    pytest.importorskip("ray", reason="ray is not installed (requirements.txt pins it)")
    import ray
    from rayhelpers import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("ray_nodes"))
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture
def ray_runner(home, ray_cluster):
    """The Ray backend's JobRunner on the test's data home; its Hub (and so its tasks) ends afterwards."""
    from engine.jobs.ray.backend import RayJobRunner

    runner = RayJobRunner(home)
    yield runner
    for run in runner.store.list_runs(["queued", "running"]):
        runner.cancel(run["id"])
    runner.shutdown()
