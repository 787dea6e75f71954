"""AppTest for the views of what happens inside a trained network: the Runs page's projector and first-layer
pictures of a finished digits run (trained in-process on the 8x8 digits), and the attention view of a pretrained
transformer run on Predict (the real MiniLM, offline; one epoch on a few made-up headlines, encoder frozen)."""

from __future__ import annotations

import pytest
from headlines import write_split
from jobhelpers import trained_run
from pagehelpers import open_page, plotly_specs, spec_values, texts

from engine.config.run_config import make_config
from engine.data import csvdata, news
from engine.jobs.store import RunStore


@pytest.fixture(scope="module")
def digits_lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("inside_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        store = RunStore(home)
        run_id = trained_run(store, threads=1, dataset="digits", model="mlp", epochs=2,
                             model_args={"width": 16, "layers": 1})
        news.fetch(home, from_dir=write_split(home / "src", per_class=(8, 2, 2)))
        transformer = trained_run(store, threads=1, dataset="news", model="transformer", epochs=1, batch_size=16,
                                  model_args={"freeze_layers": 6, "rdrop": 0.0, "probe_head": False})
        src = home / "src" / "fruit.csv"
        src.write_text("weight,colour,price\n" + "".join(f"{w},{c},{2 * w + (3 if c == 'red' else 0)}\n"
                                                         for w in range(1, 21) for c in ("red", "green")))
        csvdata.fetch(home, from_dir=src)
        table = trained_run(store, threads=1, dataset="csv", model="mlp", epochs=3, data_args={"target": "price"},
                            model_args={"width": 8, "layers": 1})
        yield {"home": home, "store": store, "run": run_id, "transformer": transformer, "table": table}


@pytest.fixture
def lab_env(digits_lab, monkeypatch):
    monkeypatch.setenv("NNLAB_HOME", str(digits_lab["home"]))
    return digits_lab


def projector_specs(at):
    return [s for s in plotly_specs(at) if s["layout"].get("meta") == "projector"]


def test_runs_page_shows_the_projector_of_a_finished_digits_run_on_request(lab_env):
    at = open_page("2_Runs.py", run=lab_env["run"])
    assert at.selectbox(key="runs_detail").value == lab_env["run"]
    assert not projector_specs(at)  # nothing is computed before the learner asks
    at.toggle(key="runs_projector_show").set_value(True).run()
    assert not at.exception, at.exception
    (spec,) = projector_specs(at)
    points = sum(len(t["customdata"]) for t in spec["data"])
    assert points == 180  # the whole 8x8 digits test split (fewer than the 1000 asked for)
    mistakes = [t for t in spec["data"] if t["marker"]["symbol"] == "x"]
    n_wrong = sum(len(t["customdata"]) for t in mistakes)
    assert all(t["name"].endswith("(mistakes)") for t in mistakes)
    assert "PC1" in spec["layout"]["xaxis"]["title"]["text"]
    caption = " ".join(texts(at.caption))
    assert f"{n_wrong} of them mistakes" in caption
    assert [len(i.proto.imgs) for i in at.get("image")] == [16]  # the first layer's weights of 16 units
    assert any("first layer's weights" in t for t in texts(at.markdown))
    if n_wrong:  # the mistakes' digits in a grid under the projector
        assert any("Mistakes" in t for t in texts(at.markdown))
    at.button(key="runs_projector_tsne").click().run()
    assert not at.exception, at.exception
    (spec,) = projector_specs(at)
    assert "t-SNE" in spec["layout"]["xaxis"]["title"]["text"]
    at.button(key="runs_projector_pca").click().run()
    (spec,) = projector_specs(at)
    assert "PC1" in spec["layout"]["xaxis"]["title"]["text"]


def test_predict_page_shows_a_transformers_attention_per_layer_and_head(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["transformer"]).run()
    at.text_input(key="predict_text").input("Fed raises interest rates").run()
    assert not at.exception, at.exception
    explain = [s for s in plotly_specs(at) if s["layout"].get("meta") == "explain"]
    words, heat = explain[0]["data"][0], explain[-1]
    assert words["y"] == ["1. fed", "2. raises", "3. interest", "4. rates"]  # one bar per word piece
    assert heat["data"][0]["type"] == "heatmap" and heat["data"][0]["y"][0] == "0. [CLS]"
    assert heat["layout"]["title"]["text"] == "Layer 6, mean of its heads"
    rows = heat["data"][0]["z"]
    assert len(rows) == 6 and all(abs(sum(r) - 1) < 1e-2 for r in rows)  # [CLS] 4 words [SEP]
    at.selectbox(key="predict_attn_layer").set_value(1).run()
    at.selectbox(key="predict_attn_head").set_value(3).run()
    assert not at.exception, at.exception
    heat = [s for s in plotly_specs(at) if s["layout"].get("meta") == "explain"][-1]
    assert heat["layout"]["title"]["text"] == "Layer 1, head 3"


def test_predict_page_shows_each_columns_contribution_to_a_table_rows_answer(lab_env):
    at = open_page("3_Predict.py")
    at.selectbox(key="predict_run").set_value(lab_env["table"]).run()
    assert not at.exception, at.exception
    (bars,) = [s for s in plotly_specs(at) if s["layout"].get("meta") == "explain"]
    labels = bars["data"][0]["y"]
    assert sorted(label.split(" = ")[0] for label in labels) == ["colour", "weight"]
    scores = [abs(v) for v in spec_values(bars["data"][0]["x"])]
    assert scores == sorted(scores, reverse=True)  # the largest push first
    assert "the predicted value" in bars["layout"]["title"]["text"]
    assert any("add up to that change" in t for t in texts(at.caption))


def test_runs_page_compares_the_gradient_per_word_of_picked_sequence_runs(home):
    store = RunStore(home)
    ids = []
    for cell, back in (("rnn", [1e-2, 4e-3, 1e-3, 2e-4]), ("gru", [8e-3, 6e-3, 5e-3, 4e-3])):
        run_id = store.create_run(make_config(dataset="news", model="rnn", epochs=1, model_args={"cell": cell}),
                                  status="running")
        store.log_metrics(run_id, [(1, 5, "valid", "acc", 0.5)])
        store.log_layers(run_id, [{"epoch": 1, "layer": "embedding", "type": "Embedding", "grad_from_last": back,
                                   "grad_by_position": back[::-1]},
                                  {"epoch": 1, "layer": "rnn", "type": "RNN"}])
        store.update(run_id, status="done", epoch=1)
        ids.append(run_id)
    at = open_page("2_Runs.py", compare=",".join(ids))
    assert not at.exception, at.exception
    (spec,) = [s for s in plotly_specs(at) if s["layout"].get("meta") == "layer_health"
               and "counted back" in s["layout"].get("title", {}).get("text", "")]
    assert sorted(t["name"] for t in spec["data"]) == ["cell=gru (epoch 1)", "cell=rnn (epoch 1)"]
    assert spec["layout"]["yaxis"]["type"] == "log"
    (curves,) = [s for s in plotly_specs(at) if "valid accuracy" in str(s["layout"].get("yaxis", {}).get("title"))]
    curve_colors = {t["name"]: t["line"]["color"] for t in curves["data"] if t.get("mode") == "lines+markers"}
    word_colors = {t["name"].removesuffix(" (epoch 1)"): t["line"]["color"] for t in spec["data"]}
    assert word_colors == curve_colors and len(set(word_colors.values())) == 2  # each run keeps its colour
