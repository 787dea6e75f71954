"""The gradient lab: numerical (loop, vectorised) and hand-written backprop against torch.autograd,
the way micrograd's tests compare to torch."""

from __future__ import annotations

import json

import pytest
import torch

from engine.labs import gradcheck, numgrad, numgrad_training
from engine.labs.gradcheck import TwoLayerNet


def _small(seed=0, d=12, hidden=7, c=4, n=9):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64)
    x[x < 0.3] = 0.0  # zeros exercise the vectorised method's skipping of unchanged examples
    t = torch.randint(0, c, (n,), generator=g)
    net = TwoLayerNet(d, hidden, c, weight_std=0.5, seed=seed)
    return net, x, t


def test_every_method_matches_autograd_on_a_small_net():
    net, x, t = _small()
    result = gradcheck.check(net, x, t, loop_params=None)
    ref = gradcheck.autograd(net, x, t)
    for method in ("loop", "vectorised", "backprop"):
        for name in gradcheck.NAMES:
            assert result.grads[method][name].shape == ref[name].shape
            torch.testing.assert_close(result.grads[method][name], ref[name], rtol=1e-6, atol=1e-9)
    assert result.max_rel_err["backprop_vs_autograd"] < 1e-12
    assert result.max_rel_err["loop_vs_autograd"] < 1e-6
    assert result.max_rel_err["vectorised_vs_autograd"] < 1e-6
    assert result.params == 12 * 7 + 7 + 7 * 4 + 4


def test_autograd_loss_is_torch_cross_entropy():
    net, x, t = _small(1)
    ours = gradcheck.cross_entropy(net(x), t)
    torch.testing.assert_close(ours, torch.nn.functional.cross_entropy(net(x), t))


def test_vectorised_handles_deeper_chains_and_other_activations():
    g = torch.Generator().manual_seed(3)
    shapes = [(5, 6, "tanh"), (6, 4, "relu"), (4, 3, "identity")]
    layers = [(torch.randn(a, b, generator=g, dtype=torch.float64, requires_grad=True),
               torch.randn(b, generator=g, dtype=torch.float64, requires_grad=True), act) for a, b, act in shapes]
    x = torch.randn(8, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (8,), generator=g)

    def forward(x):
        for W, b, act in layers:
            x = numgrad.ACTIVATIONS[act](x @ W + b)
        return x

    flat = [p for W, b, _ in layers for p in (W, b)]
    ref = torch.autograd.grad(gradcheck.cross_entropy(forward(x), t), flat)
    got = [p for pair in numgrad.numerical_vectorised(layers, x, lambda z, n: gradcheck.sample_ce(z, t[n]))
           for p in pair]
    for a, b in zip(got, ref, strict=True):
        assert gradcheck.rel_err(a, b) < 1e-6


def test_rel_err_and_sampling():
    a = torch.tensor([3.0, 4.0])
    assert gradcheck.rel_err(a, a) == 0.0
    assert gradcheck.rel_err(torch.zeros(2), torch.zeros(2)) == 0.0
    assert gradcheck.rel_err(a, torch.zeros(2)) == pytest.approx(1.0)
    net = TwoLayerNet(64, 50, 10)
    entries = gradcheck.sample_entries(net, 300)
    assert all(len(v) >= 8 for v in entries.values())
    assert 250 < sum(len(v) for v in entries.values()) < 400
    assert all(len(set(v.tolist())) == len(v) for v in entries.values())


def test_sampled_loop_is_compared_on_its_entries_only():
    net, x, t = _small(2, d=20, hidden=10)
    result = gradcheck.check(net, x, t, loop_params=40)
    assert result.loop_params_timed < result.params
    assert result.max_rel_err["loop_vs_autograd"] < 1e-6  # NaNs outside the sample would make this fail
    assert result.loop_seconds_full > result.seconds["loop"]


def test_numerical_training_steps_match_backprop():
    g = torch.Generator().manual_seed(0)
    x, t = torch.rand(40, 10, generator=g), torch.randint(0, 3, (40,), generator=g)
    runs = {m: numgrad_training.train(m, x, t, iterations=3, batch=10, lr=0.5, hidden=6) for m in numgrad_training.METHODS}
    assert [r["iteration"] for r in runs["backprop"]] == [1, 2, 3]
    for m in ("vectorised", "loop"):
        losses = [r["loss"] for r in runs[m]]
        assert losses == pytest.approx([r["loss"] for r in runs["backprop"]], rel=1e-7)
    assert runs["backprop"][-1]["loss"] != runs["backprop"][0]["loss"]


def test_gradcheck_cli_json(home, capsys):
    from engine.cli import main

    assert main(["gradcheck", "--dataset", "digits", "--batch", "20", "--hidden", "8", "--loop-params", "100",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["dataset"] == "digits" and out["architecture"] == "64-8-10" and out["params"] == 64 * 8 + 8 + 90
    assert out["max_rel_err"]["vectorised_vs_backprop"] <= 1e-6
    assert out["max_rel_err"]["loop_vs_autograd"] <= 1e-6
    assert set(out["seconds"]) >= {"loop", "vectorised", "backprop", "autograd"}
    assert out["loop_params_timed"] < out["params"]


@pytest.mark.real_data
@pytest.mark.slow
def test_mnist_acceptance(home):
    """784-50-10 on 100 MNIST images: ≤ 1e-6 against numerical, vectorised ≥ 20x the loop."""
    from tests.conftest import shared

    src = shared("mnist")
    from engine.data import DATASETS

    if "mnist" not in DATASETS:
        pytest.skip("the mnist dataset is not registered yet")
    DATASETS["mnist"].fetch(home, from_dir=src)
    from engine.labs.lab_data import image_batch

    torch.set_num_threads(1)
    x, t, used = image_batch("mnist", 100, home)
    assert used == "mnist" and x.shape == (100, 784)
    result = gradcheck.check(TwoLayerNet(), x, t, loop_params=1000)
    assert result.params == 39760
    assert result.max_rel_err["vectorised_vs_backprop"] <= 1e-6
    assert result.max_rel_err["vectorised_vs_autograd"] <= 1e-6
    assert result.max_rel_err["loop_vs_autograd"] <= 1e-6
    assert result.loop_seconds_full / result.seconds["vectorised"] >= 20
