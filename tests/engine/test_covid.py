"""COVID-19 regression: the homework split, feature selection, TensorBoard events, predictions CSV."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from conftest import shared

from engine.config.options import ConfigError
from engine.config.run_config import make_config
from engine.data import DataMissingError, covid


@pytest.fixture
def covid_home(home):
    covid.fetch(home, from_dir=shared("covid19_ml2022"))
    return home


def test_homework_split_names_and_selection(covid_home):
    ds = covid.load(covid_home)
    assert ds.task == "regression" and ds.sizes() == (2160, 539, 539)
    assert len(ds.train.x.columns) == 116 and "tested_positive_d4" in ds.train.x.columns
    assert "tested_positive_d5" not in ds.train.x.columns  # the 5th day's is the target
    tr, va = covid.valid_indices(2699)
    assert len(set(tr) | set(va)) == 2699 and not set(tr) & set(va)
    assert list(va[:3]) == list(covid.valid_indices(2699)[1][:3])  # fixed seed 5201314
    top = covid.load(covid_home, select="top:5")
    assert len(top.meta["columns"]) == 5 and "tested_positive_d4" in top.meta["columns"]
    assert len(top.meta["predict_x"]) == 1078
    pick = covid.load(covid_home, select="cli_d1, tested_positive_d4")
    assert list(pick.train.x.columns) == ["cli_d1", "tested_positive_d4"]
    with pytest.raises(ConfigError, match="unknown column"):
        covid.load(covid_home, select="nope")
    with pytest.raises(ConfigError, match="K must be"):
        covid.load(covid_home, select="top:999")


def test_missing_files_name_the_fix(home, tmp_path):
    with pytest.raises(DataMissingError, match="fetch covid --from DIR"):
        covid.load(home)
    (tmp_path / "covid.train.csv").write_text("id,a\n1,2\n")
    (tmp_path / "covid.test.csv").write_text("id,a\n1,2\n")
    with pytest.raises(ValueError, match="expected id, 116 features"):
        covid.fetch(home, from_dir=tmp_path)


def test_dataset_defaults_sgd_momentum_and_small_mlp_unless_given():
    cfg = make_config(dataset="covid", model="mlp")
    assert (cfg.optimizer, cfg.momentum) == ("sgd", 0.9)
    assert cfg.model_args["width"] == 64 and cfg.model_args["batch_norm"] is False
    mine = make_config(dataset="covid", model="mlp", optimizer="adam", model_args={"width": 8})
    assert mine.optimizer == "adam" and mine.model_args["width"] == 8 and mine.model_args["layers"] == 2
    assert make_config(dataset="digits", model="mlp").model_args["width"] == 512  # other datasets untouched


def test_cli_run_writes_tensorboard_events_and_predictions(covid_home):
    from engine.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["--home", str(covid_home), "train", "--dataset", "covid", "--model", "mlp", "--epochs", "3",
                   "--select", "top:16", "--json"])
    assert rc == 0, buf.getvalue()
    out = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert out["status"] == "done" and out["valid_mse"] == pytest.approx(out["valid_loss"])
    folder = covid_home / "runs" / out["run_id"]
    events = list((folder / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss/valid")] == [1, 2, 3]
    lines = (folder / "predictions.csv").read_text().splitlines()
    assert lines[0] == "id,tested_positive" and len(lines) == 1 + 1078
    assert all(len(line.split(",")) == 2 for line in lines[1:])
