"""Why this answer: Captum attributions of real (tiny) runs: word scores that add up to the logit change
(completeness), an honest note when no word is known, saliency at the model's input size."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.data import news
from engine.jobs.store import RunStore
from engine.predict.explain import NO_KNOWN_WORDS, explain_text
from engine.predict.predictor import Predictor

WORDS = {"b": ["stocks", "bank", "profits", "shares", "market", "investors"],
         "t": ["apple", "google", "software", "smartphone", "internet", "microsoft"],
         "e": ["film", "actress", "singer", "album", "movie", "concert"],
         "m": ["cancer", "health", "virus", "patients", "vaccine", "hospital"]}


def tiny_news(home, per_class=(30, 6, 6)):
    rng = random.Random(0)
    folder = home / "src"
    folder.mkdir()
    for name, n in zip(news.SPLIT_FILES, per_class, strict=True):
        lines = [f"{' '.join(rng.sample(words, 3))} report\t{code}" for code, words in WORDS.items() for _ in range(n)]
        (folder / name).write_text("\n".join(lines) + "\n")
    news.fetch(home, from_dir=folder)


def train(capsys, *flags) -> str:
    assert main(["train", *flags, "--seed", "1", "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]


def explain(capsys, *args) -> dict:
    assert main(["explain", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def complete(out: dict) -> float:
    """|sum of scores - logit change| / |logit change|: integrated gradients' completeness error."""
    total = sum(a["score"] for a in out["attributions"])
    return abs(total - out["logit_change"]) / abs(out["logit_change"])


def test_mean_vector_words_add_up_to_the_logit_change_and_unknown_words_say_so(home, capsys):
    tiny_news(home)
    run_id = train(capsys, "--dataset", "news", "--features", "glove", "--model", "mlp", "--layers", "1",
                   "--width", "16", "--epochs", "3")
    out = explain(capsys, run_id, "--text", "Stocks and shares rally as bank profits climb")
    assert [a["token"] for a in out["attributions"]] == ["stocks", "and", "shares", "rally", "as", "bank", "profits",
                                                         "climb"]
    assert complete(out) < 0.05 and abs(out["delta"]) < 0.05 * abs(out["logit_change"])
    assert len(out["top"]) == 3 and out["top"][0]["label"] == out["label"]
    nothing = explain_text(Predictor.from_run(RunStore(home), run_id), "zzqxw qqzxv")
    assert nothing["note"] == NO_KNOWN_WORDS and nothing["attributions"] == []


def test_word_ids_get_layer_integrated_gradients(home, capsys):
    tiny_news(home)
    run_id = train(capsys, "--dataset", "news", "--model", "textcnn", "--init-vectors", "none", "--emb-size", "16",
                   "--channels", "8", "--epochs", "3")
    out = explain(capsys, run_id, "--text", "google software report")
    assert [a["token"] for a in out["attributions"]] == ["google", "software", "report"]
    assert complete(out) < 0.05


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_a_digit_saliency_map_has_the_models_input_shape(home, capsys, tmp_path, model):
    from sklearn.datasets import load_digits

    run_id = train(capsys, "--dataset", "digits", "--model", model, "--epochs", "1")
    digits = load_digits()
    picture = tmp_path / "three.png"
    Image.fromarray((digits.images[3] / 16 * 255).astype(np.uint8)).resize((64, 64), Image.NEAREST).save(picture)
    out = explain(capsys, run_id, "--input-file", str(picture))
    saliency = np.asarray(out["saliency"])
    assert saliency.shape == (8, 8) and (saliency >= 0).all() and saliency.max() > 0
    assert len(out["probs"]) == 10 and out["top"][0]["prob"] == max(out["probs"])
    if model == "cnn":
        assert np.asarray(out["feature_maps"]).shape == (16, 8, 8)  # the first convolution's 16 channels
    else:
        assert "feature_maps" not in out
    assert main(["explain", run_id, "--text", "a headline"]) == 2  # a digit run wants a picture
