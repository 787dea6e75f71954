"""AppTest: a CSV table on the Train page (its tables and columns as choices, a task the model cannot do
refused before Start) and a table run on the Predict page (rows in, predictions out)."""

from __future__ import annotations

import pytest
from conftest import shared
from pagehelpers import as_teacher, frame, open_page, texts

from engine.config.run_config import make_config
from engine.data import csvdata
from engine.jobs.store import RunStore
from engine.training.run import execute


def add_pokemon(home):
    csvdata.fetch(home, from_dir=shared("pokemon") / "Pokemon.csv")


def test_train_offers_the_tables_columns_and_refuses_a_classifier_for_a_number(home, no_workers):
    add_pokemon(home)
    at = open_page("1_Train.py")
    at.selectbox(key="train_dataset").set_value("csv").run()
    assert not at.exception
    assert at.selectbox(key="train_d_csv_table").options == ["Pokemon"]
    target = at.selectbox(key="train_d_csv_target")
    assert target.value == "Legendary" and target.options[-1] == "#"  # the last column first
    target.set_value("Total").run()
    at.selectbox(key="train_model").set_value("generative").run()
    assert not at.exception
    assert any("'generative' does only classification" in e and "Fix:" in e for e in texts(at.error))
    assert at.button(key="train_start").disabled
    at.selectbox(key="train_model").set_value("mlp").run()
    assert not at.error, texts(at.error)
    at.button(key="train_start").click().run()
    run = RunStore(home).get_run(at.session_state["train_run_id"])
    assert run["status"] == "queued" and run["config"]["data_args"]["target"] == "Total"
    assert no_workers


def test_predict_takes_table_rows(home):
    add_pokemon(home)
    store = RunStore(home)
    cfg = make_config(dataset="csv", model="mlp", epochs=3, data_args={"target": "Legendary"},
                      model_args={"width": 32, "layers": 1})
    run_id = store.create_run(cfg, status="running")
    assert execute(store, run_id, threads=1)["status"] == "done"
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(run_id).run()
    assert not at.exception
    shown = frame(at, "prediction", "sure")
    assert len(shown) == 1 and shown["prediction"][0] in ("False", "True")
    assert {"HP", "Attack", "Type 1"} <= set(shown.columns) and "Legendary" not in shown.columns


@pytest.mark.real_data
def test_home_adds_a_table_and_a_bad_file_leaves_the_page_usable(home, tmp_path, monkeypatch):
    bad = tmp_path / "prices.csv"
    bad.write_bytes(b"name,price\n" + "".join(f"caf\xe9 {i},{i}\n" for i in range(20)).encode("latin-1"))
    at = as_teacher(open_page(), monkeypatch, tmp_path, shared("pokemon"))
    at.text_input(key="home_from_csv").set_value(str(bad)).run()
    at.button(key="home_from_go_csv").click().run()
    assert not at.exception
    assert any("prices.csv is not UTF-8" in e and "Fix:" in e for e in texts(at.error))
    assert csvdata.tables(home) == []
    at.text_input(key="home_from_csv").set_value(str(shared("pokemon") / "Pokemon.csv")).run()
    at.button(key="home_from_go_csv").click().run()
    assert not at.exception and not at.error
    assert csvdata.tables(home) == ["Pokemon"]
    assert any("Added: `Pokemon`" in c for c in texts(at.caption))
