"""Regression lab engine and figures: logistic regression by gradient descent, the Gaussian boundary and
ellipses, the lab's tables, and the Pokémon figures the page shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import shared

from engine.data import pokemon
from engine.labs import generative, regression_tables
from ui import charts_regression


def _two_blobs(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal([2.0, 1.0], [1.0, 2.0], (60, 2)), rng.normal([0.0, -1.0], [1.5, 1.0], (40, 2))]
    return x, np.r_[np.zeros(60, int), np.ones(40, int)]


@pytest.fixture
def pokemon_home(home):
    pokemon.fetch(home, from_dir=shared("pokemon"))
    return home


def test_logistic_gradient_matches_autograd():
    x, y = _two_blobs()
    t = (y == 0).astype(float)
    w, b = np.array([0.3, -0.7]), 0.2
    loss, gw, gb = generative.loss_and_gradient(w, b, x, t)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(x) @ wt + bt, torch.tensor(t))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-12)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-12)


def test_logistic_descent_reaches_the_maximum_likelihood_fit():
    from sklearn.linear_model import LogisticRegression

    x, y = _two_blobs()
    fit = generative.logistic_gd(x, y, lr=1.0, steps=5000)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x, (y == 0).astype(int))
    w, b = fit.raw_linear()
    np.testing.assert_allclose(w, ref.coef_[0], rtol=1e-4)
    assert b == pytest.approx(ref.intercept_[0], rel=1e-4)
    assert fit.loss[-1] < fit.loss[0] == pytest.approx(np.log(2))
    np.testing.assert_array_equal(fit.predict(x), np.where(ref.predict(x) == 1, 0, 1))


@pytest.mark.parametrize("covariance", ["separate", "shared"])
def test_boundary_grid_agrees_with_the_classifier(covariance):
    x, y = _two_blobs()
    model = generative.fit_generative(x, y, covariance)
    xs, ys, z = generative.ratio_grid(model, (-4, 5), (-5, 6), n=40)
    pts = np.array([(xs[j], ys[i]) for i in range(40) for j in range(40)])
    pred = generative.predict_generative(model, pts).reshape(40, 40)
    np.testing.assert_array_equal(z > 0, pred == 0)  # the zero contour is the classifier's boundary
    assert (z > 0).any() and (z < 0).any()
    logits = model(torch.tensor(pts)).double().numpy()
    np.testing.assert_allclose(z.ravel(), logits[:, 0] - logits[:, 1], rtol=1e-5, atol=1e-4)


def test_shared_covariance_boundary_is_the_closed_form_line():
    x, y = _two_blobs(1)
    model = generative.fit_generative(x, y, "shared")
    w, b = generative.shared_linear(model)
    pts = np.random.default_rng(2).normal(0, 3, (200, 2))
    np.testing.assert_allclose(generative.log_ratio(model, pts), pts @ w + b, rtol=1e-9, atol=1e-9)
    separate = generative.fit_generative(x, y, "separate")
    assert np.abs(generative.log_ratio(separate, pts) - (pts @ w + b)).max() > 0.1  # quadratic, not this line


def test_ellipse_points_are_k_sigma_away():
    mean, cov = np.array([3.0, -1.0]), np.array([[4.0, 1.2], [1.2, 1.0]])
    inv = np.linalg.inv(cov)
    for k in (1, 2):
        d = generative.ellipse(mean, cov, k, n=50) - mean
        np.testing.assert_allclose(np.sqrt(np.einsum("ni,ij,nj->n", d, inv, d)), k, rtol=1e-10)


@pytest.mark.real_data
def test_tables_offline_and_with_pokemon(home):
    offline = regression_tables.available(home)
    assert list(offline) == ["course_cp", "diabetes"]
    assert offline["course_cp"].frame.shape == (10, 2) and offline["diabetes"].frame.shape == (442, 11)
    pokemon.fetch(home, from_dir=shared("pokemon"))
    tables = regression_tables.available(home)
    assert list(tables)[0] == "pokemon"
    stats = tables["pokemon"]
    assert stats.frame.shape == (800, 7) and (stats.x, stats.y) == ("Attack", "Total")


def test_pokemon_accuracies_on_the_course_split(pokemon_home):
    two = generative.pokemon_split(pokemon_home, "defense_spdef")
    seven = generative.pokemon_split(pokemon_home, "all7")
    acc = {(s, c): generative.compare(d, c, lr=0.5, steps=1000)["rows"]
           for s, d in (("2d", two), ("7", seven)) for c in ("separate", "shared")}
    test = {k: round(rows[0]["test_acc"] * 70) for k, rows in acc.items()}  # correct out of 70
    assert test == {("2d", "separate"): 36, ("2d", "shared"): 34, ("7", "separate"): 45, ("7", "shared"): 54}
    assert round(acc[("7", "shared")][1]["test_acc"] * 70) == 55  # logistic regression, seven stats
    assert acc[("7", "separate")][0]["train_acc"] > acc[("7", "separate")][0]["test_acc"]  # separate Σ overfits


def test_figures():
    from engine.labs import linreg

    assert len(charts_regression.thin(10)) == 10
    idx = charts_regression.thin(100_001, 1500)
    assert len(idx) <= 1500 and idx[0] == 0 and idx[-1] == 100_000 and (np.diff(idx) > 0).all()
    x = np.linspace(0, 10, 30)
    y = 1 + 2 * x
    path = linreg.gradient_descent(x, y, 1.0, steps=30)  # diverges
    fig = charts_regression.fit_figure(x, y, {"plain GD": (path.w[-1], path.b[-1]), "closed form (λ = 0)": (2, 1)},
                                       "x", "y")
    assert fig.layout.yaxis.range[0] < 1 and fig.layout.yaxis.range[1] > 21 and fig.layout.yaxis.range[1] < 23
    xb, yb = _two_blobs()
    model = generative.fit_generative(xb, yb, "shared")
    rings = [(m.numpy(), [generative.ellipse(m.numpy(), c.numpy(), k) for k in (1, 2)])
             for m, c in zip(model.means, model.covs, strict=True)]
    fig = charts_regression.classes_figure({"train": (xb, yb)}, generative.CLASSES, rings,
                                           generative.ratio_grid(model, (-4, 5), (-5, 6), 30), ["a", "b"],
                                           logistic_line=generative.shared_linear(model))
    names = [t.name for t in fig.data]
    assert {"generative boundary", "logistic boundary", "Water · train", "Normal · train"} <= set(names)
    boundary = next(t for t in fig.data if t.name == "generative boundary")
    assert boundary.contours.start == boundary.contours.end == 0
