"""AppTest for Home and every dashboard page: each renders without exception, and its widgets,
driven by key, do their work. Real runs are trained in-process (engine.training.run.execute) on tiny data in a
temporary data home; where a page would start a worker process, the supervisor start is patched out
(the run is still written to the store, exactly as the page writes it)."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from pagehelpers import as_teacher, frame, open_page, plotly_specs, progress_texts, spec_values, texts
from streamlit.testing.v1 import AppTest

from engine.config.run_config import make_config
from engine.data import news
from engine.jobs.store import RunStore
from engine.training.run import execute
from engine.training.trainer import Callback

WORDS = {
    "b": ["stocks", "bank", "profits", "shares", "market", "investors", "earnings", "oil", "dollar", "economy"],
    "t": ["apple", "google", "software", "smartphone", "internet", "microsoft", "app", "space", "data", "chip"],
    "e": ["film", "actress", "singer", "album", "movie", "concert", "star", "tv", "celebrity", "music"],
    "m": ["cancer", "health", "virus", "patients", "study", "disease", "vaccine", "hospital", "drug", "doctors"],
}


def write_news_split(folder: Path, per_class=(12, 4, 4), seed: int = 0) -> Path:
    """A tiny made-up headline set in the news format (title TAB category)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in zip(news.SPLIT_FILES, per_class, strict=True):
        lines = [f"{' '.join(rng.sample(words, 4))} report\t{code}" for code, words in WORDS.items() for _ in range(n)]
        rng.shuffle(lines)
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


class StopAfterFirstEpoch(Callback):
    def on_epoch_end(self, trainer, state):
        state.stop("cancelled", "stopped by the test after one epoch")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A data home with tiny news headlines and three real runs: news linear (done), digits MLP (done),
    digits MLP stopped after 1 of 3 epochs (resumable)."""
    home = tmp_path_factory.mktemp("lab_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        news.fetch(home, from_dir=write_news_split(home / "src"))
        store = RunStore(home)
        ids = {}
        for name, cfg, extra in (
            ("news", make_config(dataset="news", model="linear", epochs=2, lr=0.1), ()),
            ("digits", make_config(dataset="digits", model="mlp", epochs=2, model_args={"width": 32, "layers": 1}), ()),
            ("stopped", make_config(dataset="digits", model="linear", epochs=3), (StopAfterFirstEpoch(),)),
        ):
            ids[name] = store.create_run(cfg, status="running")
            summary = execute(store, ids[name], extra_callbacks=extra, threads=1)
            assert summary["status"] == ("stopped" if name == "stopped" else "done"), summary
        yield {"home": home, "store": store, **ids}


@pytest.fixture
def lab_env(lab, monkeypatch):
    monkeypatch.setenv("NNLAB_HOME", str(lab["home"]))
    return lab


@pytest.mark.parametrize("page", [None, "1_Train.py", "2_Runs.py", "3_Predict.py"])
def test_pages_render_in_an_empty_home(home, page):
    at = open_page(page)
    if page == "2_Runs.py":
        assert any("No runs yet" in t for t in texts(at.info))
    if page == "3_Predict.py":
        assert any("No trained run" in t for t in texts(at.info))


# --- Home ----------------------------------------------------------------------------------------
def test_home_shows_dataset_readiness_and_latest_runs(lab_env):
    at = open_page()
    md = " ".join(texts(at.markdown))
    from engine.data import DATASETS

    assert md.count("ready]") == 3  # digits, playground (both generated) and news; every other is not fetched
    assert md.count("not fetched]") == len(DATASETS) - 3
    runs = frame(at, "run", "status", "test_acc")
    assert set(runs["run"]) == {lab_env["news"], lab_env["digits"], lab_env["stopped"]}
    assert runs.set_index("run").loc[lab_env["stopped"], "status"] == "stopped"


def test_home_fetches_news_from_a_folder_and_explains_a_bad_one(home, tmp_path, monkeypatch):
    assert not news.ready(home)
    at = as_teacher(open_page(), monkeypatch, tmp_path)  # server folders: the teacher's, under allowed_dirs
    assert "not fetched" in " ".join(texts(at.markdown))
    at.text_input(key="home_from_news").input(str(tmp_path / "missing")).run()
    at.button(key="home_from_go_news").click().run()
    assert not at.exception
    assert any("Fix" in t and "not a folder" in t for t in texts(at.error)), texts(at.error)
    assert not news.ready(home)
    src = write_news_split(tmp_path / "split")
    at.text_input(key="home_from_news").input(str(src)).run()
    at.button(key="home_from_go_news").click().run()
    assert not at.exception
    assert news.ready(home)
    assert (home / "datasets" / "news" / "train.txt").read_text() == (src / "train.txt").read_text()
    assert any("is ready" in t.value for t in at.toast)  # the fetch says it worked
    placeholders = {w.key: w.placeholder for w in at.text_input if w.key.startswith("home_from_")}
    assert placeholders["home_from_mnist"] == "/data/mnist" and placeholders["home_from_pokemon"] == "/data/pokemon"


# --- Train ---------------------------------------------------------------------------------------
def test_train_page_builds_config_from_widgets_and_queues_a_run(home, no_workers):
    at = open_page("1_Train.py")
    assert at.session_state["train_lr"] == 1e-3  # the MLP's default
    at.selectbox(key="train_model").set_value("linear").run()
    assert at.session_state["train_lr"] == 0.01  # the single layer's own default lr
    params = {m.label: m.value for m in at.metric}
    assert params["Parameters"] == "650"  # 64 inputs x 10 classes + 10 biases
    at.number_input(key="train_epochs").set_value(5)
    at.select_slider(key="train_batch_size").set_value(128)
    at.selectbox(key="train_schedule").set_value("cosine")
    at.select_slider(key="train_lr").set_value(0.05)
    at.run()
    at.button(key="train_start").click().run()
    assert not at.exception
    run_id = at.session_state["train_run_id"]
    run = RunStore(home).get_run(run_id)
    assert run["status"] == "queued" and run["owner"] == at.session_state["nnlab_owner"]
    cfg = run["config"]
    assert (cfg["model"], cfg["epochs"], cfg["batch_size"], cfg["lr"], cfg["schedule"]) == ("linear", 5, 128, 0.05,
                                                                                            "cosine")
    assert no_workers and set(no_workers) == {home}  # a worker would have been started, never training in the page
    assert at.query_params["run"] == run_id
    assert progress_texts(at) == ["Epoch 0 of 5 finished · next in line, starting soon"]
    at.button(key=f"live_stop_{run_id}").click().run()  # stopping a queued run stops it at once
    assert RunStore(home).get_run(run_id)["status"] == "stopped"


def test_sessions_watching_a_live_run_share_one_figure_build(home, no_workers, monkeypatch):
    """Two sessions on one running run: the progress line comes from the store's aggregates, the curves
    are built once per interval for both, and once the run has ended, once more from all its rows."""
    from ui import charts, live

    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="mlp", epochs=10), status="running")
    for e in (1, 2):
        store.log_metrics(run_id, [(e, 10 * e - 5, "train", "loss_smooth", 1.0 / e), (e, 10 * e, "train", "loss", 1.0 / e),
                                   (e, 10 * e, "valid", "acc", 0.5 + e / 10), (e, 10 * e, "train", "epoch_seconds", 2.0)])
    store.update(run_id, epoch=2, max_epochs=10)
    builds = []
    real = charts.curve_figure
    monkeypatch.setattr(charts, "curve_figure", lambda m, metric, *a, **k: builds.append(metric) or real(m, metric, *a, **k))
    monkeypatch.setattr(live, "REFRESH_SECONDS", 3600.0)  # both sessions read within one interval

    sessions = [open_page("1_Train.py", run=run_id) for _ in range(2)]
    for at in sessions:
        assert progress_texts(at) == ["Epoch 2 of 10 finished · about 2 s per epoch · at most 16 s left"]
        assert len([s for s in plotly_specs(at) if not s["layout"].get("meta")]) == 2  # not the architecture
    assert builds == ["loss", "acc"]  # one build serves both sessions

    store.log_metrics(run_id, [(3, 30, "train", "loss", 0.3), (3, 30, "valid", "acc", 0.8)])
    store.update(run_id, status="done", epoch=3)
    sessions[0].run()
    assert progress_texts(sessions[0]) == ["Epoch 3 of 10 finished"]
    assert builds == ["loss", "acc", "loss", "acc"]  # ended: rebuilt from every row
    valid = [t for t in plotly_specs(sessions[0])[1]["data"] if t["name"] == "valid acc"][0]
    assert spec_values(valid["x"]) == [1, 2, 3]


def test_train_page_mlp_layer_widgets_change_the_parameter_count(home):
    at = open_page("1_Train.py")
    at.slider(key="train_m_mlp_layers").set_value(1)
    at.number_input(key="train_m_mlp_width").set_value(10)
    at.toggle(key="train_m_mlp_batch_norm").set_value(False)
    at.toggle(key="train_m_mlp_input_norm").set_value(False)
    at.run()
    assert {m.label: m.value for m in at.metric}["Parameters"] == str(64 * 10 + 10 + 10 * 10 + 10)
    layers = frame(at, "Layer", "Output shape", "Parameters")  # the architecture, built on the meta device
    batch = at.select_slider(key="train_batch_size").value
    assert layers[layers["Type"] == "Linear"]["Output shape"].tolist() == [f"{batch} x 10", f"{batch} x 10"]
    assert layers["Parameters"].sum() == 64 * 10 + 10 + 10 * 10 + 10
    diagram = [s for s in plotly_specs(at) if s["layout"].get("meta") == "architecture"]
    assert len(diagram) == 1 and len(diagram[0]["layout"]["shapes"]) == 3  # the input and two Linear layers
    at.slider(key="train_m_mlp_layers").set_value(3).run()
    assert frame(at, "Layer", "Output shape")["Type"].tolist().count("Linear") == 4


def test_train_page_refuses_a_missing_word2vec_file(lab_env, tmp_path, monkeypatch):
    at = as_teacher(open_page("1_Train.py"), monkeypatch, tmp_path)  # word2vec files: the teacher's
    at.selectbox(key="train_dataset").set_value("news").run()
    at.selectbox(key="train_features_choice").set_value("word2vec").run()
    at.text_input(key="train_features_path").input(str(tmp_path / "vectors.bin")).run()
    assert not at.exception
    assert any("not on this server" in t for t in texts(at.error))
    at.text_input(key="train_features_path").input("/nonexistent/vectors.bin").run()  # outside allowed_dirs
    assert any("allowed_dirs" in t for t in texts(at.error))
    assert at.button(key="train_start").disabled


def test_train_page_shows_a_finished_run(lab_env):
    at = open_page("1_Train.py", run=lab_env["digits"])
    from ui.charts import epoch_table, kept_epoch

    kept = kept_epoch(epoch_table(lab_env["store"].metrics(lab_env["digits"])))
    assert kept in (1, 2) and progress_texts(at) == [f"Epoch 2 of 2 finished · kept epoch {kept}"]
    specs = [s for s in plotly_specs(at) if not s["layout"].get("meta")]  # the live charts (not the views inside)
    assert len(specs) == 2
    names = {trace.get("name") for spec in specs for trace in spec["data"]}
    assert {"train loss", "valid loss", "train acc", "valid acc"} <= names
    health = [s for s in plotly_specs(at) if s["layout"].get("meta") == "layer_health"]  # heatmap, histograms
    assert [s["data"][0]["type"] for s in health] == ["heatmap", "bar"]
    assert health[0]["data"][0]["y"] == ["net.1 (BatchNorm1d)", "net.2 (Linear)", "net.3 (BatchNorm1d)", "net.6 (Linear)"]
    at.radio(key="train_inside_view").set_value("small multiples").run()
    panels = [s for s in plotly_specs(at) if s["layout"].get("meta") == "layer_health"][0]
    assert len(panels["data"]) == 4 and all(spec_values(t["x"]) == [1, 2] for t in panels["data"])
    assert "Test accuracy (best epoch's weights)" in {m.label for m in at.metric}
    from ui.config_form import model_key

    # the form shows that run's settings (a 1-layer MLP of width 32), not this session's defaults
    assert at.session_state[model_key("mlp", "width")] == 32 and at.session_state[model_key("mlp", "layers")] == 1
    assert at.selectbox(key="train_dataset").value == "digits"


# --- Runs ----------------------------------------------------------------------------------------
def test_runs_page_table_comparison_and_details(lab_env):
    at = open_page("2_Runs.py")
    table = frame(at, "run", "status", "created")
    assert set(table["run"]) == {lab_env["news"], lab_env["digits"], lab_env["stopped"]}
    at.multiselect(key="runs_compare").set_value([lab_env["news"]]).run()
    overlay = plotly_specs(at)[0]
    refs = sorted(spec_values(t["y"])[0] for t in overlay["data"] if t["name"].startswith("exercise"))
    assert refs == [0.891, 0.921]  # the exercise's numbers as reference lines (in the legend) on news accuracy
    assert not overlay["layout"].get("annotations")  # no floating labels over the curves
    comparison = frame(at, "source", "reference")
    assert comparison[comparison["reference"]]["test_acc"].tolist() == [0.921, 0.891]
    assert lab_env["news"] in set(comparison["source"])

    at.selectbox(key="runs_detail").set_value(lab_env["news"]).run()
    assert not at.exception
    result = lab_env["store"].result(lab_env["news"])
    per_class = frame(at, "class", "precision", "support")
    assert per_class["class"].tolist() == list(news.CLASS_NAMES)
    assert per_class["support"].sum() == result["n_test"]
    heatmaps = [s for s in plotly_specs(at) if s["data"][0].get("type") == "heatmap"]
    confusion = [s for s in heatmaps if not s["layout"].get("meta")]
    assert len(confusion) == 1
    health = [s for s in heatmaps if s["layout"].get("meta") == "layer_health"]  # layer x epoch of the linear run
    assert len(health) == 1 and health[0]["data"][0]["y"] == ["fc (Linear)"] and health[0]["data"][0]["x"] == [1, 2]
    if result["n_misclassified"]:
        mistakes = frame(at, "input", "true", "pred", "confidence")
        assert "input" in mistakes.columns and len(mistakes) == min(200, result["n_misclassified"])
    for key in ("runs_dl_best.pt", "runs_dl_last.pt", "runs_dl_metrics", "runs_dl_config"):
        assert not at.get_by_key(key).disabled
    assert not at.get_by_key(f"runs_dl_card_{lab_env['news']}").disabled  # the model card, shown and downloadable
    card = next(m.value for m in at.markdown if m.value.startswith("# Model card"))
    assert "## Known failure modes" in card and f"{result['n_test']:,} test examples" in card


def test_runs_page_resumes_a_stopped_run(lab_env, no_workers, monkeypatch):
    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", "s3cret-for-test")  # the run has no owner: the teacher's
    at = open_page("2_Runs.py")
    at.text_input(key="teacher_password_input").input("s3cret-for-test").run()
    at.selectbox(key="runs_detail").set_value(lab_env["stopped"]).run()
    at.button(key="runs_resume").click().run()
    assert not at.exception
    run = lab_env["store"].get_run(lab_env["stopped"])
    assert (run["status"], run["resume"]) == ("queued", 1)
    assert no_workers == [lab_env["home"]]
    lab_env["store"].update(lab_env["stopped"], status="stopped", resume=0)  # leave the lab as it was


def test_runs_page_resumes_a_run_on_another_device(lab_env, no_workers, monkeypatch):
    store, run_id = lab_env["store"], lab_env["stopped"]
    before = store.get_run(run_id)["config"]
    at = as_teacher(open_page("2_Runs.py"), monkeypatch)  # a run without an owner: the teacher's to resume
    at.selectbox(key="runs_detail").set_value(run_id).run()
    other = "auto" if before["device"] != "auto" else "cpu"
    at.selectbox(key="runs_resume_device").set_value(other).run()
    at.button(key="runs_resume").click().run()
    assert not at.exception
    run = store.get_run(run_id)
    assert (run["status"], run["resume"], run["config"]["device"]) == ("queued", 1, other)
    store.update(run_id, status="stopped", resume=0)  # leave the lab as it was
    store.set_device(run_id, before["device"])


def test_runs_page_deletes_a_run_only_when_confirmed(lab_env):
    store = lab_env["store"]
    doomed = store.create_run(make_config(dataset="digits", model="linear"), status="failed", owner="me")
    at = open_page("2_Runs.py")
    at.session_state["nnlab_owner"] = "me"  # the session that started it
    at.selectbox(key="runs_detail").set_value(doomed).run()
    assert not at.exception  # a run without metrics, results or checkpoints still renders
    assert at.button(key="runs_delete").disabled
    at.checkbox(key="runs_delete_confirm").check().run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert doomed not in {r["id"] for r in store.list_runs()}
    assert lab_env["news"] in {r["id"] for r in store.list_runs()}


# --- Predict -------------------------------------------------------------------------------------
def test_predict_page_classifies_a_typed_headline(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["news"]).run()
    at.text_input(key="predict_text").input("Bank profits rise as stocks rally zzqxw").run()
    assert not at.exception
    prediction = {m.label: m.value for m in at.metric}["Prediction"]
    assert prediction in news.CLASS_NAMES
    tokens = frame(at, "token", "in vocabulary")
    assert tokens["token"].tolist() == ["bank", "profits", "rise", "as", "stocks", "rally", "zzqxw"]
    assert tokens["in vocabulary"].tolist() == [True] * 6 + [False]
    assert any("~~zzqxw~~" in t for t in texts(at.markdown))
    probs = plotly_specs(at)[0]["data"][0]
    assert sorted(probs["y"]) == sorted(news.CLASS_NAMES) and abs(sum(probs["x"]) - 1) < 1e-4
    assert "Why this answer" in " ".join(texts(at.markdown))  # word attributions (Captum) below the answer
    words = [s for s in plotly_specs(at) if s["layout"].get("meta") == "explain"][0]["data"][0]
    assert words["y"] == ["1. bank", "2. profits", "3. rise", "4. as", "5. stocks", "6. rally", "7. zzqxw"]
    assert spec_values(words["x"])[-1] == 0.0  # a word the vectors do not know gets nothing
    assert any(":green-background[" in t or ":red-background[" in t for t in texts(at.markdown))


def test_predict_page_warns_on_empty_and_huge_input(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["news"]).run()
    at.button(key="predict_go").click().run()
    assert not at.exception and any("empty" in t for t in texts(at.warning))
    at.text_input(key="predict_text").input("word " * 2000).run()
    assert not at.exception and any("characters" in t for t in texts(at.warning))
    at.button(key="predict_example_0").click().run()
    assert at.session_state["predict_text"] and not at.warning


def test_predict_page_is_honest_when_no_word_is_known_and_shows_no_arrow(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["news"]).run()
    at.text_input(key="predict_text").input("\U0001F600\U0001F600 zzqxw").run()
    assert not at.exception
    assert any("None of these words" in t for t in texts(at.warning))
    assert any("No known words: this is the model's bias" in t for t in texts(at.warning))
    assert not [s for s in plotly_specs(at) if s["layout"].get("meta") == "explain"]  # no story about nothing
    metric = next(m for m in at.metric if m.label == "Prediction")
    assert not metric.proto.delta  # a probability is not a change: no arrow


def test_predict_page_classifies_many_headlines_least_confident_first(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["news"]).run()
    headlines = ["Bank profits rise as stocks rally", "New album from pop star tops charts", "Virus study in hospital"]
    at.text_area(key="predict_batch_text").input("\n".join(headlines) + "\n\n").run()
    table = frame(at, "headline", "label", "confidence", "runner-up")
    assert table["headline"].tolist() == headlines and set(table["label"]) <= set(news.CLASS_NAMES)
    assert (table["confidence"] >= table["runner-up probability"]).all()
    at.toggle(key="predict_batch_least").set_value(True).run()
    assert frame(at, "headline", "confidence")["confidence"].is_monotonic_increasing
    at.text_area(key="predict_batch_text").input("\n".join(f"headline {i}" for i in range(201))).run()
    assert any("at most 200" in t for t in texts(at.warning))


def test_predict_page_steers_drawings_from_8x8_digits_to_the_best_mnist_run(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["digits"]).run()
    assert any("too coarse for drawings" in t for t in texts(at.warning))
    link = next(p for p in at.get("page_link") if "MNIST CNN" in p.proto.label)
    assert "dataset=mnist" in link.proto.query_string and "model=cnn" in link.proto.query_string
    store = lab_env["store"]
    mnist = store.create_run(make_config(dataset="mnist", model="cnn", epochs=1), status="done")
    try:
        store.save_result(mnist, {"test_acc": 0.99})
        (store.run_dir(mnist) / "best.pt").write_bytes(b"not loaded by this test")
        at = open_page("3_Predict.py")
        at.selectbox(key="predict_run").set_value(lab_env["digits"]).run()
        at.button(key="predict_use_mnist").click().run()
        assert at.session_state["predict_run"] == mnist
    finally:
        store.delete_run(mnist)


def test_predict_page_with_an_image_run(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["digits"]).run()
    assert not at.exception


def test_choosing_the_cnn_brings_its_one_cycle_schedule(home):
    """The schedule widget offers every schedule the engine has, so a model's default (onecycle) survives."""
    at = open_page("1_Train.py")
    assert at.session_state["train_schedule"] == "none"
    at.selectbox(key="train_model").set_value("cnn").run()
    assert not at.exception and not at.error
    assert at.session_state["train_schedule"] == "onecycle"
    assert set(at.selectbox(key="train_schedule").options) == {"constant", "cosine decay (per epoch)",
                                                              "one-cycle (warm-up, then anneal; per batch)"}


def test_the_best_checkpoint_picker_follows_the_model_and_the_summary_names_it(news_home):
    at = open_page("1_Train.py", dataset="news")
    assert at.session_state["train_monitor"] == "valid_loss"
    at.selectbox(key="train_model").set_value("transformer").run()
    assert not at.exception and not at.error, texts(at.error)
    model_epochs = make_config(dataset="news", model="transformer").epochs  # the model's own default (5)
    assert (at.session_state["train_monitor"], at.session_state["train_epochs"]) == ("valid_acc", model_epochs)
    assert model_epochs != make_config(dataset="news", model="mlp").epochs  # so the picker had to follow the model
    assert any("best checkpoint by highest valid accuracy" in m for m in texts(at.markdown))
    assert "monitor" not in at.query_params  # the model's own default: a shared link leaves it out
    at.selectbox(key="train_monitor").set_value("valid_loss").run()
    assert any("best checkpoint by lowest valid loss" in m for m in texts(at.markdown))
    assert at.query_params["monitor"] == "valid_loss"  # a changed choice travels with the link


# --- Train settings in the URL -------------------------------------------------------------------
def test_train_page_reads_its_settings_from_the_link(home):
    at = open_page("1_Train.py", model="linear", lr="0.05", batch_size="128", epochs="7", bias="false",
                   schedule="cosine")
    assert not at.warning, texts(at.warning)
    state = at.session_state
    assert (state["train_model"], state["train_lr"], state["train_batch_size"], state["train_epochs"]) == (
        "linear", 0.05, 128, 7)
    assert state["train_m_linear_bias"] is False and state["train_schedule"] == "cosine"
    assert {m.label: m.value for m in at.metric}["Parameters"] == "640"  # no bias: 64 x 10
    # the URL keeps describing the page's settings, so copying it shares the setup
    assert dict(at.query_params) == {"dataset": "digits", "model": "linear", "lr": "0.05", "batch_size": "128",
                                     "epochs": "7", "bias": "false", "schedule": "cosine"}


def test_train_page_ignores_bad_link_parameters_with_a_notice(home):
    at = open_page("1_Train.py", model="mlp", lr="-3", batch_size="0", colour="blue", width="64")
    warnings = " ".join(texts(at.warning))
    assert "lr" in warnings and "batch_size" in warnings and "colour" in warnings
    assert at.session_state["train_lr"] == 1e-3 and at.session_state["train_batch_size"] == 64  # defaults kept
    assert at.session_state["train_m_mlp_width"] == 64  # the valid parameter still applies
    assert not at.exception
    # values the engine takes but the page's widgets do not offer are refused with a notice too
    at = open_page("1_Train.py", model="mlp", lr="7", batch_size="3", epochs="5")
    warnings = " ".join(texts(at.warning))
    assert "lr=7 is not offered here" in warnings and "batch_size=3 is not offered here" in warnings
    assert at.session_state["train_lr"] == 1e-3 and at.session_state["train_batch_size"] == 64
    assert at.session_state["train_epochs"] == 5 and not at.exception


# --- classroom: a session manages its own runs; the teacher manages all -----------------------------
def _runs_page_on(at: AppTest, run_id: str) -> AppTest:
    at.selectbox(key="runs_detail").set_value(run_id).run()
    assert not at.exception, at.exception
    return at


def test_students_cannot_manage_runs_of_other_sessions(lab_env, monkeypatch):
    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", "s3cret-for-test")
    store = lab_env["store"]
    other = store.create_run(make_config(dataset="digits", model="linear", epochs=2), owner="someone-else")
    store.update(other, status="interrupted")
    at = _runs_page_on(open_page("2_Runs.py"), other)
    assert any("another browser session" in t for t in texts(at.info))
    assert not [b for b in at.button if b.key in ("runs_resume", "runs_delete")]
    # a wrong password changes nothing; the right one unlocks managing every run
    at.text_input(key="teacher_password_input").input("guess").run()
    assert any("Wrong password" in t for t in texts(at.error))
    at = _runs_page_on(at, other)
    assert not [b for b in at.button if b.key == "runs_delete"]
    at.text_input(key="teacher_password_input").input("s3cret-for-test").run()
    at = _runs_page_on(at, other)
    assert at.session_state["nnlab_teacher"] is True
    with contextlib.suppress(KeyError):  # the password is not kept in the session
        assert at.session_state["teacher_password_input"] == ""
    assert [b for b in at.button if b.key == "runs_delete"]
    store.delete_run(other)


def test_a_session_stops_its_own_queued_run_but_not_another_sessions(home, no_workers, monkeypatch):
    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", "s3cret-for-test")
    store = RunStore(home)
    foreign = store.create_run(make_config(dataset="digits", epochs=3), owner="someone-else")
    at = open_page("1_Train.py", run=foreign)
    assert at.button(key=f"live_stop_{foreign}").disabled
    at.button(key="train_start").click().run()
    mine = at.session_state["train_run_id"]
    assert not at.button(key=f"live_stop_{mine}").disabled
    at.button(key=f"live_stop_{mine}").click().run()
    assert store.get_run(mine)["status"] == "stopped" and store.get_run(foreign)["status"] == "queued"


def test_retrain_from_the_same_initial_weights_via_the_link(lab_env, no_workers):
    parent = lab_env["digits"]
    at = _runs_page_on(open_page("2_Runs.py"), parent)
    link = next(p for p in at.get("page_link") if "same initial weights" in p.proto.label)
    query = dict(pair.split("=", 1) for pair in link.proto.query_string.split("&"))
    assert query["init_from"] == parent and query["dataset"] == "digits" and query["width"] == "32"
    at = open_page("1_Train.py", dataset="digits", model="mlp", width="32", layers="1", epochs="2",
                   init_from=parent)
    assert any(parent in t for t in texts(at.info))
    at.select_slider(key="train_lr").set_value(0.01).run()
    at.button(key="train_start").click().run()
    child = RunStore(lab_env["home"]).get_run(at.session_state["train_run_id"])
    assert child["parent"] == parent and child["config"]["lr"] == 0.01
    RunStore(lab_env["home"]).delete_run(child["id"])
