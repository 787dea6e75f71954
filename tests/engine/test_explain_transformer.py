"""Explain for the pretrained transformer (the real MiniLM, offline): per-subword integrated gradients that add up
to the logit change, and the attention weights of every layer and head, taken without changing the model."""

from __future__ import annotations

import pytest
import torch

from engine.features.sequence import Subwords
from engine.predict.explain import explain_text
from engine.predict.explain_subwords import MAX_ATTENTION_TOKENS

HEADLINE = "Fed raises interest rates as inflation climbs"


class MiniPredictor:
    """What explain_text reads of a Predictor, around an untrained head on the pretrained encoder."""

    def __init__(self):
        from engine.models.transformer import TransformerClassifier

        torch.manual_seed(0)
        self.featurizer, self.classes = Subwords(), ["business", "science/tech", "entertainment", "health"]
        self.model = TransformerClassifier(len(self.classes), probe_head=False).eval()
        self.model_name = "transformer"

    @torch.no_grad()
    def probabilities(self, texts):
        return torch.softmax(self.model(self.featurizer.transform(texts)), dim=1)


@pytest.fixture(scope="module")
def minilm():
    return MiniPredictor()


def test_subword_attributions_add_up_to_the_logit_change(minilm):
    out = explain_text(minilm, HEADLINE)
    assert [a["token"] for a in out["attributions"]] == ["fed", "raises", "interest", "rates", "as", "inflation",
                                                         "climbs"]
    total = sum(a["score"] for a in out["attributions"])
    assert abs(total - out["logit_change"]) <= 0.05 * abs(out["logit_change"]) + 1e-3
    assert out["method"].startswith("layer integrated gradients")


def test_attention_per_layer_and_head_and_the_model_keeps_its_attention_kernel(minilm):
    before = minilm.model.encoder.config._attn_implementation
    probs = minilm.probabilities([HEADLINE])
    att = explain_text(minilm, HEADLINE)["attention"]
    assert att["tokens"] == ["[CLS]", "fed", "raises", "interest", "rates", "as", "inflation", "climbs", "[SEP]"]
    w = torch.tensor(att["weights"])
    assert (att["layers"], att["heads"]) == (6, 12) and w.shape == (6, 12, 9, 9)
    assert torch.allclose(w.sum(-1), torch.ones(6, 12, 9), atol=1e-3)  # each query's weights over the keys
    assert minilm.model.encoder.config._attn_implementation == before
    assert torch.allclose(minilm.probabilities([HEADLINE]), probs)


def test_attention_of_a_long_input_is_bounded(minilm):
    att = explain_text(minilm, " ".join(["markets"] * 200))["attention"]
    assert len(att["tokens"]) <= MAX_ATTENTION_TOKENS
    assert torch.tensor(att["weights"]).shape[-1] == len(att["tokens"])


def test_explain_command_gives_a_transformer_runs_attention(home, capsys, tmp_path):
    import json

    from headlines import write_split

    from engine.cli import main
    from engine.data import news

    news.fetch(home, from_dir=write_split(tmp_path, per_class=(8, 2, 2)))
    assert main(["train", "--dataset", "news", "--model", "transformer", "--epochs", "1", "--batch-size", "16",
                 "--freeze-layers", "6", "--rdrop", "0", "--probe-head", "false", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    assert main(["explain", run_id, "--text", "Apple unveils a new phone", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["label"] in news.CLASS_NAMES and len(out["top"]) == 3
    att = out["attention"]
    assert att["tokens"][0] == "[CLS]" and att["tokens"][-1] == "[SEP]" and (att["layers"], att["heads"]) == (6, 12)
    assert len(att["weights"]) == 6 and len(att["weights"][0]) == 12
    assert all(len(row) == len(att["tokens"]) for row in att["weights"][5][11])
    assert [a["token"] for a in out["attributions"]] == att["tokens"][1:-1]
