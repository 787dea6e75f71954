"""Linear-regression lab: gradient descent and AdaGrad converge to the closed-form least squares."""

from __future__ import annotations

import numpy as np
import pytest

from engine.labs import linreg


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 50)
    return x, 3.0 + 1.5 * x + rng.normal(0, 1, 50)


def test_closed_form_matches_numpy_least_squares_and_ridge():
    x, y = _data()
    w, b = linreg.closed_form(x, y)
    expect = np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)[0]
    assert (w, b) == pytest.approx(tuple(expect), rel=1e-10)
    w2, _ = linreg.closed_form(x, y, l2=5.0)
    assert abs(w2) < abs(w)  # L2 shrinks the slope


@pytest.mark.parametrize("adagrad,lr,l2", [(False, 0.01, 0.0), (True, 1.0, 0.0), (False, 0.01, 2.0)])
def test_descent_reaches_the_minimum(adagrad, lr, l2):
    x, y = _data()
    path = linreg.gradient_descent(x, y, lr, steps=20000, adagrad=adagrad, l2=l2)
    assert (path.w[-1], path.b[-1]) == pytest.approx(linreg.closed_form(x, y, l2), rel=1e-3)
    assert path.loss[-1] <= path.loss[0]
    g = linreg.loss(x, y, path.w[-1], path.b[-1], l2)
    assert g == pytest.approx(path.loss[-1])


def test_too_large_a_step_diverges_and_the_path_stops():
    x, y = _data()
    path = linreg.gradient_descent(x, y, lr=1.0, steps=5000)
    assert path.loss[-1] > path.loss[0] and len(path.w) < 5001


def test_grid_layout():
    x, y = _data()
    ws, bs, z = linreg.loss_grid(x, y, (0, 3), (-5, 5), n=11)
    assert z.shape == (11, 11)
    assert z[4, 7] == pytest.approx(linreg.loss(x, y, ws[7], bs[4]))


def test_gradient_matches_autograd():
    import torch

    x, y = _data()
    for w, b, l2 in ((0.3, -2.0, 0.0), (2.5, 7.0, 3.0)):
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        xt, yt = torch.tensor(x), torch.tensor(y)
        (torch.mean((yt - (bt + wt * xt)) ** 2) + l2 * wt ** 2).backward()
        assert linreg.gradient(x, y, w, b, l2) == pytest.approx((wt.grad.item(), bt.grad.item()), rel=1e-12)


def test_steps_follow_the_update_rules():
    """Three steps by hand: plain w -= lr·g; AdaGrad w -= lr·g / (sqrt(sum of squared g so far) + eps)."""
    x, y = _data()
    for adagrad, lr, l2 in ((False, 0.002, 0.5), (True, 0.7, 0.5)):
        path = linreg.gradient_descent(x, y, lr, steps=3, w0=1.0, b0=-1.0, adagrad=adagrad, l2=l2)
        w, b, sw, sb = 1.0, -1.0, 0.0, 0.0
        for i in range(3):
            gw, gb = linreg.gradient(x, y, w, b, l2)
            sw, sb = sw + gw * gw, sb + gb * gb
            if adagrad:  # eps = 1e-8 keeps the first division finite
                w, b = w - lr * gw / (np.sqrt(sw) + 1e-8), b - lr * gb / (np.sqrt(sb) + 1e-8)
            else:
                w, b = w - lr * gw, b - lr * gb
            assert (path.w[i + 1], path.b[i + 1]) == pytest.approx((w, b), rel=1e-12)
        if adagrad:  # the first AdaGrad step moves each parameter by exactly lr
            assert abs(path.w[1] - 1.0) == pytest.approx(lr) and abs(path.b[1] + 1.0) == pytest.approx(lr)
        # the path's losses (from the five means) agree with the direct mean over the data
        np.testing.assert_allclose(path.loss, linreg.loss(x, y, path.w, path.b, l2), rtol=1e-9)


def test_l2_closed_form_is_ridge_with_an_unpenalised_intercept():
    from sklearn.linear_model import Ridge

    x, y = _data()
    for l2 in (0.1, 4.0, 100.0):
        ridge = Ridge(alpha=l2 * len(x)).fit(x[:, None], y)  # sklearn sums the squared errors, we average
        assert linreg.closed_form(x, y, l2) == pytest.approx((ridge.coef_[0], ridge.intercept_), rel=1e-9)
        w, b = linreg.closed_form(x, y, l2)
        assert linreg.gradient(x, y, w, b, l2) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_stable_learning_rate_separates_convergence_from_divergence():
    x, y = _data()
    limit = linreg.stable_lr(x, l2=1.0)
    assert not linreg.gradient_descent(x, y, 0.95 * limit, steps=3000, l2=1.0).diverged
    assert linreg.gradient_descent(x, y, 1.05 * limit, steps=3000, l2=1.0).diverged
    assert linreg.suggested_lr(x, y, adagrad=False) <= 0.8 * linreg.stable_lr(x)
    assert linreg.suggested_lr(x, y, adagrad=True) in linreg.LR_OPTIONS


def test_view_range_holds_start_and_minimum_and_caps_a_diverging_path():
    x, y = _data()
    minimum = linreg.closed_form(x, y)
    good = linreg.gradient_descent(x, y, 0.01, steps=500)
    (w_lo, w_hi), (b_lo, b_hi) = linreg.view_range([(0.0, 0.0), minimum], [good])
    assert w_lo < min(0, good.w.min()) and w_hi > max(minimum[0], good.w.max())
    assert b_lo < 0 < minimum[1] < b_hi
    bad = linreg.gradient_descent(x, y, 1.0, steps=50)
    (w_lo, w_hi), _ = linreg.view_range([(0.0, 0.0), minimum], [bad])
    assert w_hi - w_lo < 6 * minimum[0]  # zoomed out at most 4x (+ padding), not to 1e90
