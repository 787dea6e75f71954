from __future__ import annotations

import torch

from engine.labs import softmax


def test_formulas_match_autograd_and_shapes():
    g = torch.Generator().manual_seed(0)
    X, W = torch.randn(4, 7, generator=g, dtype=torch.float64), torch.randn(7, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 3, 1, 3])
    for n in (1, 4):
        steps = {s.name: s for s in softmax.compute(X[:n], y[:n], W)}
        assert steps["softmax"].shape == (n, 4) and steps["loss"].shape == () and steps["grad_W"].shape == (7, 4)
        for s in steps.values():
            assert s.max_abs_diff < 1e-12, s.name
        torch.testing.assert_close(steps["softmax"].by_formula.sum(1), torch.ones(n, dtype=torch.float64))


def test_softmax_is_shift_invariant_and_stable():
    z = torch.tensor([[1000.0, 1001.0, 999.0]], dtype=torch.float64)
    p = softmax.softmax(z)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, softmax.softmax(z - 1000))


def test_run_falls_back_to_digits(home):
    out = softmax.run(home)
    assert out["X"].shape == (4, 64) and out["W"].shape == (64, 10) and "digits" in out["source"]
    assert out["one"][2].by_formula.shape == (64, 10)


def test_run_on_news_features(news_home):
    out = softmax.run(news_home)
    assert out["X"].shape == (4, 50) and out["W"].shape == (50, 4) and "news" in out["source"]
    assert all(s.max_abs_diff < 1e-10 for s in out["four"])
