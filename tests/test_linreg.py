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
