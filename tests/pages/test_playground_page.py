"""The Train page on a playground run: the decision boundary heatmap with the points, the hidden units' small
pictures by layer, the epoch slider of a finished run, and the newest stored grid while a run trains."""

from __future__ import annotations

import numpy as np
import pytest
from pagehelpers import open_page, plotly_specs, spec_values

from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.training.boundary import GRID
from engine.training.run import execute

SMALL = {"points": 100, "shape": "xor"}


@pytest.fixture
def playground_run(home):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="playground", model="mlp", epochs=3, data_args=SMALL),
                              status="running")
    assert execute(store, run_id, threads=1)["status"] == "done"
    return run_id


def boundary_specs(at, meta="boundary"):
    return [s for s in plotly_specs(at) if s["layout"].get("meta") == meta]


def z_of(spec) -> np.ndarray:
    z = spec["data"][0]["z"]
    return np.asarray(spec_values(z) if isinstance(z, dict) else z, dtype=float).reshape(GRID, GRID)


def test_train_page_shows_the_boundary_of_a_finished_playground_run(home, playground_run):
    at = open_page("1_Train.py", run=playground_run)
    (spec,) = boundary_specs(at)
    assert spec["data"][0]["type"] == "heatmap" and "epoch 3" in spec["layout"]["title"]["text"]
    names = [t.get("name") for t in spec["data"][1:]]
    assert "train: positive (+1)" in names and "test: negative (-1)" in names
    (units,) = boundary_specs(at, "boundary_units")
    assert len(units["data"]) == 3 * 8  # the playground's default MLP: 3 tanh layers of 8 units
    slider = at.select_slider(key="train_boundary_epoch")
    assert list(slider.options) == ["0", "1", "2", "3"] and slider.value == 3
    last = z_of(spec)
    slider.set_value(0).run()
    assert not at.exception
    (before,) = boundary_specs(at)
    assert "epoch 0" in before["layout"]["title"]["text"] and not np.allclose(z_of(before), last)


def test_other_runs_show_no_boundary(home, no_workers):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="linear", epochs=1), status="queued")
    at = open_page("1_Train.py", run=run_id)
    assert not boundary_specs(at) and "Decision boundary" not in [s.value for s in at.subheader]


def test_a_training_run_shows_its_newest_stored_grid(home, no_workers, playground_run):
    store = RunStore(home)
    live = store.create_run(make_config(dataset="playground", model="mlp", epochs=9, data_args=SMALL),
                            status="running")
    for epoch in (0, 1, 2):  # the grids a worker stored so far: copied from the finished run
        store.log_boundary(live, store.boundary(playground_run, epoch))
    at = open_page("1_Train.py", run=live)
    (spec,) = boundary_specs(at)
    assert "epoch 2" in spec["layout"]["title"]["text"]
    # no slider while it trains: the newest grid is drawn each second
    assert [s for s in at.select_slider if s.key == "train_boundary_epoch"] == []


def test_choosing_the_playground_brings_its_options_and_the_playgrounds_mlp(home):
    at = open_page("1_Train.py")
    at.selectbox(key="train_dataset").set_value("playground").run()
    assert not at.exception
    assert at.selectbox(key="train_d_playground_shape").value == "circle"
    assert at.toggle(key="train_d_playground_sin_x1").value is False
    at.selectbox(key="train_d_playground_shape").set_value("spiral").run()
    at.toggle(key="train_d_playground_x1_squared").set_value(True).run()
    assert not at.exception
    from ui.config_form import core_key, model_key

    assert at.session_state[core_key("lr")] == 0.01 and at.session_state[model_key("mlp", "activation")] == "tanh"
    assert at.query_params["shape"] == "spiral" and at.query_params["x1_squared"] == "true"  # a link shares them
