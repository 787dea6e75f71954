"""Layer health: one callback with hooks records every trainable layer per epoch, leaves no hook behind,
reaches the store and the `layers` command, and shows the plain RNN's vanishing gradient beside a GRU."""

from __future__ import annotations

import json
import math

import torch
from torch import nn

from engine.cli import main
from engine.jobs.store import RunStore
from engine.training.batching import make_batches
from engine.training.layer_health import BINS, LayerHealth, histogram, trainable_layers
from engine.training.trainer import Trainer


def blobs(n=96, dim=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    return torch.randn(n, dim, generator=g) + 2.0 * nn.functional.one_hot(y, dim).float(), y


def fit(model, epochs=2, samples=4, lr=0.1):
    x, y = blobs()
    rows: list[dict] = []
    health = LayerHealth(rows.extend, samples=samples)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=lr), callbacks=[health])
    trainer.fit(make_batches(x, y, 16, shuffle=True, generator=torch.Generator().manual_seed(0)),
                make_batches(x, y, 32), epochs)
    return rows, trainer


def test_every_trainable_layer_gets_a_row_per_epoch_with_finite_positive_norms():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    rows, _ = fit(model, epochs=3)
    names = [n for n, _ in trainable_layers(model)]
    assert names == ["0", "1", "3"]
    assert [(r["epoch"], r["layer"]) for r in rows] == [(e, n) for e in (1, 2, 3) for n in names]
    for r in rows:
        for key in ("weight_norm", "grad_norm", "update_ratio", "act_std"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["layer"], key)
        assert sum(r["weight_hist"]["counts"]) == r["params"] and len(r["weight_hist"]["counts"]) == BINS
        assert sum(r["grad_hist"]["counts"]) == r["params"]
    bn = [r for r in rows if r["layer"] == "1"]
    assert all(r["dead"] is not None for r in bn)  # the ReLU after the batch norm is attributed to it
    assert all(r["dead"] is None for r in rows if r["layer"] != "1")
    assert json.loads(json.dumps(rows)) == rows  # plain JSON for the store


def test_dead_relu_units_and_saturated_sigmoids_are_counted():
    torch.manual_seed(0)
    dead = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        dead[0].bias[:2] = -1e4  # two of four units never fire
    rows, _ = fit(dead, epochs=1, lr=0.0)
    assert [r["dead"] for r in rows if r["layer"] == "0"] == [0.5]
    sat = nn.Sequential(nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 3))
    with torch.no_grad():
        sat[0].weight.mul_(1e3)
    rows, _ = fit(sat, epochs=1, lr=0.0)
    assert rows[0]["saturated"] > 0.9 and rows[0]["dead"] is None
    assert rows[0]["update_ratio"] == 0.0  # lr 0: nothing moved


def test_hooks_are_gone_after_fit_and_evaluation_records_nothing():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    _, trainer = fit(model, epochs=1)
    assert all(not m._forward_hooks for m in model.modules())
    assert not trainer.optimizer._optimizer_step_pre_hooks and not trainer.optimizer._optimizer_step_post_hooks
    health = LayerHealth(lambda rows: None)
    trainer.callbacks = [health]
    health.on_fit_start(trainer, None)
    health.on_epoch_start(trainer, None)  # armed for a training batch...
    trainer.evaluate(make_batches(*blobs(), 32))  # ...but an eval pass is not one
    assert all(not acc for acc in health._acc.values())
    health.on_fit_end(trainer, None)


def test_histogram_is_symmetric_and_survives_zeros():
    h = histogram(torch.tensor([-2.0, 0.5, 1.0, 2.0]), bins=4)
    assert (h["lo"], h["hi"], h["counts"]) == (-2.0, 2.0, [1, 0, 1, 2])
    assert histogram(torch.zeros(3), bins=2) == {"lo": -1.0, "hi": 1.0, "counts": [0, 3]}


def test_a_run_stores_layer_health_and_the_layers_command_prints_it(home, capsys):
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--layers", "2", "--width", "16", "--epochs", "2",
                 "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    assert main(["layers", run_id, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    layers = ["net.1", "net.2", "net.3", "net.6", "net.7", "net.10"]  # input norm, then (linear, norm) x 2, output
    assert [(r["epoch"], r["layer"]) for r in rows] == [(e, n) for e in (1, 2) for n in layers]
    assert all(math.isfinite(r["grad_norm"]) and r["grad_norm"] > 0 for r in rows)
    assert {"epoch", "layer", "weight_norm", "grad_norm", "act_mean", "act_std"} <= set(rows[0])
    assert "weight_hist" not in rows[0]
    assert main(["layers", run_id, "--epoch", "2", "--histograms", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 6 and all(len(r["weight_hist"]["counts"]) == BINS for r in rows)
    store = RunStore(home)
    store.drop_metrics_after(run_id, 1)  # a resume drops the epochs after its checkpoint
    assert {r["epoch"] for r in store.layers(run_id)} == {1}
    store.delete_run(run_id)
    assert store.layers(run_id) == []
    assert main(["layers", "no-such-run"]) == 2


def test_the_gradient_reaching_each_word_is_recorded_by_position():
    from engine.models.rnn import RNNClassifier
    from engine.training.position_grads import PositionGrads

    torch.manual_seed(0)
    emb = nn.Embedding(20, 8, padding_idx=0)
    model = RNNClassifier(emb, 3, cell="rnn", hidden=8, pool="last", dropout=0.0, adversarial=0.0).train()
    ids = torch.tensor([[3, 4, 5, 6], [7, 0, 9, 0]])  # the second title: 3 words, the middle one without an id
    x, y = (ids, torch.tensor([4, 3])), torch.tensor([0, 1])
    positions = PositionGrads("embedding", emb)
    hooks = positions.hooks(model)
    nn.functional.cross_entropy(model(x), y).backward()
    for h in hooks:
        h.remove()
    e = emb(ids).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(nn.functional.cross_entropy(model.head(e, x), y), e)
    n = g.norm(dim=-1).tolist()
    assert n[1][3] == 0.0  # padding gets no gradient through the packed sequence
    stats = positions.stats()
    approx = lambda values: [round(v, 6) for v in values]  # noqa: E731
    assert approx(stats["grad_by_position"]) == approx([(n[0][0] + n[1][0]) / 2, (n[0][1] + n[1][1]) / 2,
                                                        (n[0][2] + n[1][2]) / 2, n[0][3]])
    assert approx(stats["grad_from_last"]) == approx([(n[0][3] + n[1][2]) / 2, (n[0][2] + n[1][1]) / 2,
                                                      (n[0][1] + n[1][0]) / 2, n[0][0]])
    assert approx([stats["grad_first"], stats["grad_last"]]) == approx([(n[0][0] + n[1][0]) / 2,
                                                                        (n[0][3] + n[1][2]) / 2])
    assert n[1][1] > 0  # the word without an id still has a place in the title: its gradient counts


def test_a_sequence_run_records_the_gradient_by_word_position(home, capsys, tmp_path):
    from headlines import write_split

    from engine.data import news

    write_split(tmp_path, per_class=(40, 8, 8))
    news.fetch(home, from_dir=tmp_path)
    assert main(["train", "--dataset", "news", "--model", "rnn", "--preset",
                 "exercise: emb 300, hidden 50, plain RNN, SGD", "--epochs", "1", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    assert main(["layers", run_id, "--json"]) == 0
    rows = {r["layer"]: r for r in map(json.loads, capsys.readouterr().out.strip().splitlines())}
    emb = rows["embedding"]
    assert 4 <= len(emb["grad_by_position"]) == len(emb["grad_from_last"]) <= 11
    values = [emb["grad_first"], emb["grad_last"], *emb["grad_by_position"], *emb["grad_from_last"]]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert (emb["grad_first"], emb["grad_last"]) == (emb["grad_by_position"][0], emb["grad_from_last"][0])
    assert "grad_by_position" not in rows["rnn"]  # only the word embedding has positions


def test_with_adversarial_training_the_clean_losss_gradient_is_recorded_once():
    from engine.models.rnn import RNNClassifier
    from engine.training.position_grads import PositionGrads

    torch.manual_seed(0)
    emb = nn.Embedding(20, 8, padding_idx=0)
    model = RNNClassifier(emb, 3, cell="gru", hidden=8, pool="max", dropout=0.0, adversarial=1.0).train()
    ids = torch.tensor([[3, 4, 5], [7, 9, 0]])
    x, y = (ids, torch.tensor([3, 2])), torch.tensor([0, 1])
    positions = PositionGrads("embedding", emb)
    hooks = positions.hooks(model)
    _, loss = model.training_loss(x, y, nn.functional.cross_entropy)  # embeds without calling forward
    loss.backward()
    for h in hooks:
        h.remove()
    e = emb(ids).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(nn.functional.cross_entropy(model.head(e, x), y), e)
    n = g.norm(dim=-1).tolist()
    assert [round(v, 6) for v in positions.stats()["grad_by_position"]] == \
        [round(v, 6) for v in ((n[0][0] + n[1][0]) / 2, (n[0][1] + n[1][1]) / 2, n[0][2])]


def test_each_positions_figure_is_the_median_title_not_the_mean():
    """A typical title's gradient, not the few largest: one title whose first word got 1000x the others' does not
    move the figure (a mean would report about 334)."""
    from engine.training.position_grads import PositionGrads

    emb = nn.Embedding(20, 4, padding_idx=0).train()
    positions = PositionGrads("embedding", emb)
    hooks = positions.hooks(emb)  # called directly: each title ends after its last non-zero id
    ids = torch.tensor([[3, 4, 0], [5, 6, 7], [8, 9, 0]])
    out = emb(ids)
    grad = torch.zeros(3, 3, 4)
    grad[:, 0, 0] = torch.tensor([1.0, 2.0, 1000.0])  # the first words' gradient norms
    grad[:, 1, 0] = torch.tensor([5.0, 7.0, 9.0])  # the second words' (the last word of two titles)
    out.backward(grad)
    for h in hooks:
        h.remove()
    stats = positions.stats()
    assert stats["grad_first"] == 2.0 and stats["grad_by_position"][:2] == [2.0, 7.0]
    assert stats["grad_by_position"][2] == 0.0  # the third word: only the second title has one
    assert stats["grad_last"] == 5.0  # the last words: 5, 0 (the long title's third), 9


def test_a_huge_batch_keeps_a_bounded_number_of_titles():
    from engine.training.position_grads import MAX_POSITIONS, TITLES_PER_STEP, PositionGrads

    emb = nn.Embedding(20, 2, padding_idx=0).train()
    positions = PositionGrads("embedding", emb)
    hooks = positions.hooks(emb)
    for _ in range(5):  # the sampled steps of an epoch at the largest batch size the form allows (65,536)
        emb(torch.randint(1, 20, (65_536, MAX_POSITIONS))).sum().backward()
    for h in hooks:
        h.remove()
    assert sum(len(t) for t in positions._by_position) == 5 * TITLES_PER_STEP
    stats = positions.stats()  # torch.quantile refuses inputs over 16M values: 5 x 65,536 x 64 would be 21M
    assert len(stats["grad_by_position"]) == MAX_POSITIONS and stats["grad_first"] > 0
