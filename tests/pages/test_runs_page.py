"""AppTest for the Runs page as an experiment tracker: a column per varying setting, filters and the picked
runs read from the URL, the diff and the parallel coordinates, tags and notes edited by the run's owner only."""

from __future__ import annotations

import pytest
from pagehelpers import as_teacher, frame, open_page, plotly_specs, texts

from engine.config.run_config import make_config
from engine.jobs.store import RunStore


def fake_run(store, created_offset, accs, test_acc, owner=None, **cfg):
    """A finished run with valid accuracy per epoch and a test accuracy, without training (the tracker views
    read only the store)."""
    run_id = store.create_run(make_config(epochs=len(accs) - 1, **cfg), owner=owner, status="running")
    store.log_metrics(run_id, [(e, e * 5, "valid", "acc", a) for e, a in enumerate(accs)])
    store.update(run_id, status="done", epoch=len(accs) - 1)
    store.save_result(run_id, {"test_acc": test_acc})
    with store._tx() as db:  # distinct creation times, in the order given
        db.execute("UPDATE runs SET created = created + ? WHERE id = ?", (created_offset, run_id))
    return run_id


@pytest.fixture
def tracker_home(home):
    store = RunStore(home)
    ids = {
        "digits": fake_run(store, 0, [0.1, 0.8, 0.9], 0.91),
        "news_fast": fake_run(store, 1, [0.25, 0.85, 0.88], 0.87, dataset="news", lr=0.01),
        "news_slow": fake_run(store, 2, [0.25, 0.7, 0.8], 0.79, dataset="news", lr=0.001, owner="someone-else"),
    }
    store.change_tags(ids["news_fast"], add=["sweep"])
    store.change_tags(ids["news_slow"], add=["sweep"])
    return store, ids


def test_table_has_varying_settings_and_overlay_defaults_to_the_newest_dataset(tracker_home):
    store, ids = tracker_home
    at = open_page("2_Runs.py")
    table = frame(at, "run", "status", "lr", "tags")
    assert set(table["run"]) == set(ids.values())
    assert sorted(at.multiselect(key="runs_compare").value) == sorted([ids["news_fast"], ids["news_slow"]])
    overlay = plotly_specs(at)[0]
    names = [t["name"] for t in overlay["data"] if t.get("showlegend") is not False]
    assert {"lr=0.01", "lr=0.001"} <= set(names)  # short labels: only the setting that differs
    diff = frame(at, "setting")
    assert diff["setting"].tolist() == ["lr"]
    assert any(s["data"][0]["type"] == "parcoords" for s in plotly_specs(at))
    assert at.query_params["compare"] == ",".join(at.multiselect(key="runs_compare").value)


def test_a_queued_run_shows_its_place_in_line_in_the_table(tracker_home, no_workers):
    store, ids = tracker_home
    first = store.create_run(make_config(epochs=2))
    second = store.create_run(make_config(epochs=2))
    table = frame(open_page("2_Runs.py"), "run", "status").set_index("run")
    assert table.loc[first, "status"] == "queued · next in line, starting soon"
    assert table.loc[second, "status"].startswith("queued · 2nd in line")


def test_filters_and_picked_runs_come_from_the_link(tracker_home):
    store, ids = tracker_home
    at = open_page("2_Runs.py", tag="sweep", compare=f"{ids['news_slow']},no-such-run", run=ids["news_slow"])
    assert set(frame(at, "run", "status")["run"]) == {ids["news_fast"], ids["news_slow"]}
    assert at.multiselect(key="runs_compare").value == [ids["news_slow"]]
    assert at.selectbox(key="runs_detail").value == ids["news_slow"]
    at.selectbox(key="runs_filter_tag").set_value("any").run()
    assert len(frame(at, "run", "status")) == 3 and "tag" not in at.query_params
    at.selectbox(key="runs_sort").set_value("best test accuracy first").run()
    assert frame(at, "run", "status")["run"].tolist()[0] == ids["digits"]
    at = open_page("2_Runs.py", dataset="no-such-dataset")
    assert len(frame(at, "run", "status")) == 3  # a value the filter does not offer is ignored


def test_teacher_or_owner_edits_tags_and_note_others_only_read_them(tracker_home, monkeypatch):
    store, ids = tracker_home
    at = open_page("2_Runs.py", run=ids["news_fast"])
    assert not [w for w in at.text_input if w.key == f"runs_tags_{ids['news_fast']}"]  # a run of the command line
    at = as_teacher(at, monkeypatch)
    run_id = ids["news_fast"]
    at.text_input(key=f"runs_tags_{run_id}").input("sweep best")
    at.text_area(key=f"runs_note_{run_id}").input("lr 0.01 learns faster")
    at.button(key="runs_note_save").click().run()
    assert not at.exception
    assert store.annotations([run_id])[run_id] == {"tags": ["best", "sweep"], "note": "lr 0.01 learns faster"}
    at.text_input(key=f"runs_tags_{run_id}").input("has/slash")
    at.button(key="runs_note_save").click().run()
    assert any("Not saved" in t for t in texts(at.error))
    assert store.annotations([run_id])[run_id]["tags"] == ["best", "sweep"]  # nothing stored is lost

    at = open_page("2_Runs.py", run=ids["news_slow"])  # a student's session: another session's run
    assert not [w for w in at.text_input if w.key == f"runs_tags_{ids['news_slow']}"]
    assert any("sweep" in c.value for c in at.caption)


def test_an_early_stop_is_explained_with_a_full_bar_and_the_kept_epoch_marked(home):
    store = RunStore(home)
    run_id = store.create_run(make_config(epochs=10, patience=2), status="running")
    losses = [2.3, 0.6, 0.4, 0.45, 0.5]  # best at epoch 2, then two epochs without improvement
    store.log_metrics(run_id, [(e, e * 5, "valid", "loss", v) for e, v in enumerate(losses)]
                      + [(e, e * 5, "train", "loss", v) for e, v in enumerate(losses) if e])
    store.update(run_id, status="done", epoch=4)
    store.save_result(run_id, {"test_acc": 0.9, "message": "valid_loss has not improved for 2 epochs (best 0.4000 "
                                                          "at epoch 2)"})
    expected = "Stopped early at epoch 4: valid loss had not improved for 2 epochs; kept epoch 2"
    at = open_page("1_Train.py", run=run_id)
    bar = at.get("progress")[0].proto
    assert bar.text == expected and bar.value == 100
    kept_lines = [s for spec in plotly_specs(at) for s in spec["layout"].get("shapes", []) if s.get("x0") == 2]
    assert len(kept_lines) == 2  # on the loss and on the accuracy curve
    at = open_page("2_Runs.py", run=run_id)
    assert any(t.startswith(expected) for t in texts(at.info))


def test_learners_get_the_viewer_toolbar_without_deploy():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"
