"""Optuna tuning: every trial is a run queued through the JobRunner (quota and max_concurrent apply), tagged with
its study and trial; bad trials are pruned on the run's stored valid accuracy; the CLI prints a JSON line per
trial; the Tuning page follows a study and retrains the best configuration through the JobRunner (never
training in the page)."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest
from jobhelpers import stop_runs_and_supervisor
from pagehelpers import frame, open_page, plotly_specs

from engine import tune
from engine.cli import main
from engine.config.options import ConfigError
from engine.config.run_config import RunConfig, make_config
from engine.jobs.store import RunStore

TINY = {"width": 16, "layers": 1}


@pytest.fixture(autouse=True)
def no_leftover_workers(home):
    """The trials' workers and their supervisor outlive a study by design: end them after each test."""
    yield
    stop_runs_and_supervisor(home)


def tiny_config(epochs: int = 2, **extra) -> RunConfig:
    return make_config(dataset="digits", model="mlp", epochs=epochs, model_args=TINY, **extra)


def small_study(home, trials: int, epochs: int = 2, **kwargs) -> optuna.Study:
    base = tiny_config(epochs, **kwargs.pop("extra", {}))
    return tune.tune(base, trials, home=home, search=["lr", "batch_size", "dropout"], **kwargs)


def test_a_study_of_three_trials_records_three_tagged_runs(home):
    seen = []
    study = small_study(home, 3, on_trial=seen.append)
    store = RunStore(home)
    runs = store.list_runs()
    assert len(runs) == 3
    table = tune.trials_frame(study.study_name, home)
    assert list(table["number"]) == [0, 1, 2] and [r["number"] for r in seen] == [0, 1, 2]
    assert set(table["user_attrs_run_id"]) == {r["id"] for r in runs}
    for row in table.itertuples():
        run = store.get_run(row.user_attrs_run_id)
        assert store.result(row.user_attrs_run_id)["tuning"] == {"study": study.study_name, "trial": row.number}
        assert run["name"].endswith(f"tune {study.study_name} #{row.number}")
        cfg = run["config"]  # the run trained what the trial suggested, the rest fixed
        assert (cfg["lr"], cfg["batch_size"], cfg["model_args"]["dropout"]) == (
            row.params_lr, row.params_batch_size, row.params_dropout)
        assert (cfg["epochs"], cfg["model_args"]["width"]) == (2, 16)
        assert row.state in ("COMPLETE", "PRUNED") and run["status"] in ("done", "stopped")
    best = tune.best_config(study.study_name, home)
    assert best == RunConfig.from_json(best.to_json())
    assert best.lr == study.best_params["lr"] and best.batch_size == study.best_params["batch_size"]
    summary = tune.study_summary(study)
    assert summary["best_run_id"] == study.best_trial.user_attrs["run_id"]
    assert store.get_run(summary["best_run_id"])["config"] == best.to_dict()
    assert store.result(summary["best_run_id"])["valid_acc"] == pytest.approx(study.best_value)
    assert not summary["running"] and summary["trials"] == 3


def test_a_pruned_trial_stops_its_run_early_with_a_message(home):
    study = small_study(home, 1, epochs=200, pruner=optuna.pruners.ThresholdPruner(lower=1.01),
                        extra={"early_stopping": False})
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]  # reported once (read from the run's metrics), then stopped
    run = RunStore(home).get_run(trial.user_attrs["run_id"])
    assert run["status"] == "stopped" and 1 <= run["epoch"] < 200 and run["max_epochs"] == 200
    assert run["error"].startswith("pruned by the tuner at epoch 1")
    assert tune.trials_frame(study)["user_attrs_message"][0] == run["error"]
    with pytest.raises(ValueError, match="no finished trial"):
        tune.best_config(study)
    # a trial is never pruned at its last epoch: it has trained fully by then
    last = small_study(home, 1, epochs=1, pruner=optuna.pruners.ThresholdPruner(lower=1.01))
    assert last.trials[0].state == optuna.trial.TrialState.COMPLETE


def test_a_study_asked_to_stop_starts_no_new_trial(home):
    study = small_study(home, 5, epochs=1, study_name="stop-me",
                        on_trial=lambda row: tune.request_stop("stop-me", home))
    assert len(study.trials) == 1 and len(RunStore(home).list_runs()) == 1
    assert study.user_attrs["stop_requested"] and study.user_attrs["finished"]


def test_tuning_refuses_what_it_cannot_do(home):
    tune.tune(tiny_config(1), 1, home=home, search=["lr"], study_name="taken")
    with pytest.raises(ConfigError, match="exists already"):
        tune.tune(tiny_config(1), 1, home=home, study_name="taken")
    with pytest.raises(ConfigError, match="cannot search"):
        tune.tune(tiny_config(1), 1, home=home, search=["momentum"])
    with pytest.raises(ConfigError, match="nothing to search"):
        tune.tune(tiny_config(1), 1, home=home, search=[])
    assert tune.study_names(home) == ["taken"] and len(RunStore(home).list_runs()) == 1


def test_cli_tune_prints_a_json_line_per_trial_and_the_best(home, capsys):
    code = main(["--home", str(home), "tune", "--dataset", "digits", "--model", "mlp", "--trials", "2",
                 "--epochs", "1", "--width", "16", "--layers", "1", "--study", "cli", "--json"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(out) == 3
    trials, final = out[:2], out[2]
    assert [t["trial"] for t in trials] == [0, 1] and all(t["state"] == "COMPLETE" for t in trials)
    assert all(set(t["params"]) == {"lr", "batch_size", "dropout"} for t in trials)  # width, layers: fixed flags
    assert final["study"] == "cli" and final["complete"] == 2
    best = max(trials, key=lambda t: t["value"])
    assert (final["best_value"], final["best_params"], final["best_run_id"]) == (
        best["value"], best["params"], best["run_id"])
    assert {r["id"] for r in RunStore(home).list_runs()} == {t["run_id"] for t in trials}


@pytest.mark.parametrize("flags, message", [
    (["--dataset", "mnist"], "python -m engine fetch mnist"),
    (["--lr", "0.01", "--search", "lr"], "both as a fixed flag and in --search"),
    (["--lr", "2000"], "lr=2000"),
    (["--models", "mlp,rnn"], "does not take image data"),
])
def test_cli_tune_errors_are_clear_messages(tmp_path, capsys, flags, message):
    code = main(["--home", str(tmp_path), "tune", "--trials", "1", "--json", *flags])
    captured = capsys.readouterr()
    assert code == 2 and message in json.loads(captured.out)["error"] and "Traceback" not in captured.err
    assert RunStore(tmp_path).list_runs() == []


def test_tuning_page_shows_a_study_and_retrains_its_best(home, monkeypatch):
    from engine.jobs.local import JobRunner

    study = small_study(home, 2, epochs=1)
    no_workers = []  # from here on the page's runs are recorded, not trained
    monkeypatch.setattr(JobRunner, "ensure_supervisor", lambda self: no_workers.append(self.home))
    at = open_page("8_Tuning.py")
    assert at.session_state["tune_study"] == study.study_name
    table = frame(at, "trial", "state", "run")
    assert list(table["run"]) == [t.user_attrs["run_id"] for t in study.trials]
    assert list(table["state"]) == ["complete", "complete"]
    titles = [spec["layout"]["title"]["text"] for spec in plotly_specs(at)]
    assert titles == ["Optimisation history"]  # importances only from 5 complete trials: 2 say nothing yet
    assert any("5 trials are complete (2 so far)" in i.value for i in at.info)
    at.button(key="tune_retrain").click().run()
    assert not at.exception
    run = RunStore(home).get_run(at.session_state["tune_retrain_run"])
    # queued; the supervisor the study started may have picked it up already
    assert run["status"] in ("queued", "running", "done") and run["owner"] == at.session_state["nnlab_owner"]
    assert run["config"] == tune.best_config(study).to_dict()
    assert no_workers == [home]  # the page queued it for a worker; it trained nothing itself


def test_tuning_page_starts_a_study_as_a_background_command(home, monkeypatch):
    launched = []
    monkeypatch.setattr("ui.tuning.launch", lambda h, argv, study: launched.append(argv) or
                        {"study": study, "pid": None, "log": str(home / "missing.log")})
    at = open_page("8_Tuning.py")
    assert any("No study yet" in i.value for i in at.info)
    at.selectbox(key="tune_dataset").set_value("mnist").run()
    assert at.button(key="tune_start").disabled and any("not fetched" in w.value for w in at.warning)
    at.selectbox(key="tune_dataset").set_value("digits").run()
    at.multiselect(key="tune_search_mlp").set_value(["lr", "batch_size"])
    at.number_input(key="tune_trials").set_value(1)
    at.number_input(key="tune_epochs").set_value(1)
    at.text_input(key="tune_name").input("page-study")
    at.button(key="tune_start").click().run()
    assert not at.exception and len(launched) == 1
    assert any("page-study did not start" in e.value for e in at.error)  # its process is gone, no study
    argv = launched[0]
    assert argv[1:3] == ["-m", "engine"] and "--json" in argv
    assert main(argv[3:]) == 0  # the command the page starts runs as it is
    at.run()
    table = frame(at, "trial", "state", "run")
    assert len(table) == 1 and set(tune.load_study("page-study", home).best_params) == {"lr", "batch_size"}


def test_trials_table_has_a_column_per_parameter_and_a_link_per_run():
    import pandas as pd

    from ui.tuning import trials_table

    rows = [{"number": 0, "state": "COMPLETE", "value": 0.9, "params_lr": 0.01, "user_attrs_run_id": "r0"},
            {"number": 1, "state": "RUNNING", "value": None, "params_lr": 0.1, "user_attrs_run_id": "r1"}]
    live = trials_table(pd.DataFrame(rows), running=True)  # as trials_dataframe gives it: no message column
    assert list(live["state"]) == ["complete", "running"] and list(live["lr"]) == [0.01, 0.1]
    assert list(live["run_link"]) == ["Train?run=r0", "Train?run=r1"] and list(live["note"]) == ["", ""]
    assert list(trials_table(pd.DataFrame(rows), running=False)["state"]) == ["complete", "interrupted"]


def test_history_shows_pruned_trials_at_their_last_value():
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from ui.tuning import history_figure, history_points

    dist = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}
    trials = [create_trial(state=TrialState.COMPLETE, value=0.9, params={"lr": 0.01}, distributions=dist,
                           intermediate_values={1: 0.8, 2: 0.9}),
              create_trial(state=TrialState.PRUNED, params={"lr": 0.1}, distributions=dist,
                           intermediate_values={1: 0.3, 2: 0.35}),
              create_trial(state=TrialState.COMPLETE, value=0.85, params={"lr": 0.001}, distributions=dist)]
    for number, trial in enumerate(trials):
        trial.number = number
    points = history_points(trials)
    assert points.to_dict("records") == [{"trial": 0, "value": 0.9, "state": "complete"},
                                         {"trial": 1, "value": 0.35, "state": "pruned"},
                                         {"trial": 2, "value": 0.85, "state": "complete"}]
    fig = history_figure(points, "valid_acc")
    assert [t.name for t in fig.data] == ["complete", "best so far", "pruned (last value)"]
    assert list(fig.data[1].y) == [0.9, 0.9] and list(fig.data[2].x) == [1]


def test_three_studies_with_max_concurrent_1_never_train_two_runs_at_once(home):
    (home / "settings.json").write_text('{"max_concurrent": 1}')
    studies = [subprocess.Popen([sys.executable, "-m", "engine", "--home", str(home), "tune", "--dataset", "digits",
                                 "--model", "mlp", "--width", "16", "--layers", "1", "--epochs", "1", "--trials", "2",
                                 "--search", "lr", "--pruner", "none", "--study", f"s{i}", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    for proc in studies:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
    runs = sorted(RunStore(home).list_runs(), key=lambda r: r["started"])
    assert len(runs) == 6 and all(r["status"] == "done" for r in runs)
    for before, after in zip(runs, runs[1:], strict=False):
        assert after["started"] >= before["finished"], (before, after)  # one after the other, never side by side


def test_a_studys_trials_wait_for_a_free_slot_of_its_owner(home, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_ACTIVE_PER_OWNER", "1")
    store = RunStore(home)
    from engine.jobs.local import JobRunner

    first = JobRunner(home).submit(tiny_config(3), owner="alice")
    study = small_study(home, 1, epochs=1, owner="alice")
    trial_run = store.get_run(study.trials[0].user_attrs["run_id"])
    assert trial_run["owner"] == "alice" and trial_run["created"] >= store.get_run(first)["finished"]
