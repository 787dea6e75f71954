"""Issue 28's acceptance on trained runs: a digits MLP, a news rnn (bidirectional GRU) and a news textcnn exported
with `python -m engine export RUN --format onnx|torch-export --out DIR`: onnxruntime / torch.export.load on
example.npz reproduce expected_logits within 1e-4, and the argmax equals `python -m engine predict` on the same
(real test) inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import shared

from engine.cli import main
from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.predict.export import source_from_run
from engine.predict.export.inputs import example_raw, read_example
from engine.predict.export.onnx import run_onnx, session
from engine.training.run import execute

SEQ = {"init_vectors": "none", "emb_size": 16, "unknown_vectors": False, "word_dropout": 0.0}
RUNS = {
    "digits-mlp": ("digits", "mlp", {"layers": 1, "width": 32}),
    "news-rnn": ("news", "rnn", {**SEQ, "cell": "gru", "bidirectional": True, "hidden": 16, "pool": "last",
                                 "adversarial": 0.0}),
    "news-textcnn": ("news", "textcnn", {**SEQ, "channels": 16, "widths": [2, 3]}),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The three runs, trained for one epoch in one data home with the real news split."""
    from engine.data import news

    home = tmp_path_factory.mktemp("accept_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        news.fetch(home, from_dir=shared("news_aggregator"))
        store = RunStore(home)
        ids = {}
        for name, (dataset, model, args) in RUNS.items():
            run_id = store.create_run(make_config(dataset=dataset, model=model, device="cpu", epochs=1,
                                                  model_args=args), status="running")
            assert execute(store, run_id)["status"] == "done"
            ids[name] = run_id
        yield home, ids


def engine_labels(home, run_id: str, raw, capsys) -> list[str]:
    """What `python -m engine predict` says for each raw input (headlines through the CLI; digit arrays through
    the engine's Predictor, since the CLI reads pictures, whose preprocessing differs)."""
    src = source_from_run(RunStore(home), run_id)
    if src.spec["kind"] != "text":
        return [src.predictor.classes[int(i)] for i in src.predictor.probabilities(raw).argmax(1)]
    labels = []
    for headline in raw:
        assert main(["--home", str(home), "predict", run_id, "--text", headline, "--json"]) == 0
        labels.append(json.loads(capsys.readouterr().out)["label"])
    return labels


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_onnx_and_torch_export_reproduce_the_run_and_agree_with_predict(trained, name, tmp_path, capsys):
    home, ids = trained
    run_id = ids[name]
    classes = source_from_run(RunStore(home), run_id).spec["classes"]
    raw = example_raw(source_from_run(RunStore(home), run_id))
    assert len(raw) == 5
    want = engine_labels(home, run_id, raw, capsys)
    for fmt, model_file in (("onnx", "model.onnx"), ("torch-export", "model.pt2")):
        out = tmp_path / fmt
        assert main(["--home", str(home), "export", run_id, "--format", fmt, "--out", str(out), "--json"]) == 0
        listing = {f["path"].rsplit("/", 1)[-1]: f["bytes"] for f in json.loads(capsys.readouterr().out)["files"]}
        assert {model_file, "example.npz", "featurizer.json", "MODEL_CARD.md"} <= set(listing)
        inputs, expected = read_example(out / "example.npz")
        if fmt == "onnx":
            got = run_onnx(session(out / model_file), inputs)
        else:
            with torch.no_grad():
                got = torch.export.load(str(out / model_file)).module()(
                    *(torch.from_numpy(v) for v in inputs.values())).numpy()
        assert np.abs(got - expected).max() <= 1e-4
        assert [classes[i] for i in got.argmax(1)] == want
        assert "## Known failure modes" in (out / "MODEL_CARD.md").read_text()
