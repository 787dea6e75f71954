"""Pokémon Water vs Normal: the course split, the generative classifier, logistic regression."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import shared

from engine.data import DATASETS, DataMissingError, pokemon
from engine.models.generative import GaussianGenerative


@pytest.fixture
def pokemon_home(home):
    pokemon.fetch(home, from_dir=shared("pokemon"))
    return home


def test_course_split_and_options(pokemon_home):
    ds = pokemon.load(pokemon_home)
    assert ds.sizes() == (140, 140, 70)
    assert (ds.train.y == 0).sum() == 79 and (ds.train.y == 1).sum() == 61
    assert list(ds.train.x.columns) == ["Total", "HP", "Attack", "Defense", "Sp. Atk", "Sp. Def", "Speed"]
    two = pokemon.load(pokemon_home, stats="defense_spdef", valid="holdout")
    assert list(two.train.x.columns) == ["Defense", "Sp. Def"]
    assert len(two.train) == 112 and len(two.valid) == 28 and len(two.test) == 70


def test_missing_file_and_bad_file_name_the_fix(home, tmp_path):
    with pytest.raises(DataMissingError, match="fetch pokemon --from DIR"):
        pokemon.load(home)
    with pytest.raises(DataMissingError, match="--from DIR"):
        pokemon.fetch(home)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Pokemon.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the column"):
        pokemon.fetch(home, from_dir=bad)
    assert not DATASETS["pokemon"].ready(home)


def test_gaussian_fit_matches_numpy_maximum_likelihood():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 3)), rng.normal(2, 1.5, (20, 3))])
    y = np.array([0] * 30 + [1] * 20)
    for covariance in ("separate", "shared"):
        m = GaussianGenerative(3, 2, covariance)
        m.fit_closed_form(torch.tensor(x), torch.tensor(y))
        covs = [np.cov(x[y == c].T, bias=True) for c in (0, 1)]
        if covariance == "shared":
            covs = [(30 * covs[0] + 20 * covs[1]) / 50] * 2
        for c in (0, 1):
            np.testing.assert_allclose(m.means[c].numpy(), x[y == c].mean(0), rtol=1e-10)
            np.testing.assert_allclose(m.covs[c].numpy(), covs[c], rtol=1e-4)
        from scipy.stats import multivariate_normal

        expect = np.stack([multivariate_normal(x[y == c].mean(0), covs[c]).logpdf(x) for c in (0, 1)], 1)
        expect += np.log([0.6, 0.4])
        np.testing.assert_allclose(m(torch.tensor(x)).numpy(), expect, rtol=1e-4, atol=1e-3)


def _train(home, *flags) -> dict:
    import contextlib
    import io

    from engine.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["--home", str(home), "train", "--dataset", "pokemon", *flags, "--json"])
    assert rc == 0, buf.getvalue()
    return json.loads(buf.getvalue().strip().splitlines()[-1])


@pytest.mark.slow
def test_cli_generative_shared_and_logistic_reach_the_course_figures(pokemon_home):
    from engine.jobs.store import RunStore
    from engine.predict.predictor import Predictor

    shared_run = _train(pokemon_home, "--model", "generative", "--covariance", "shared")
    assert shared_run["status"] == "done" and shared_run["epochs"] == 1
    assert shared_run["test_acc"] >= 0.73
    separate = _train(pokemon_home, "--model", "generative", "--covariance", "separate")
    assert separate["test_acc"] < shared_run["test_acc"]  # the course's lesson: sharing Sigma generalises better
    logistic = _train(pokemon_home, "--model", "logistic")
    assert logistic["test_acc"] >= 0.75 and logistic["epochs"] > 1
    # the closed-form run left a checkpoint that prediction rebuilds (featurizer + Gaussians)
    store = RunStore(pokemon_home)
    pred = Predictor.from_run(store, shared_run["run_id"])
    ds = pokemon.load(pokemon_home)
    acc = float((pred.probabilities(ds.test.x).argmax(1).numpy() == ds.test.y).mean())
    assert acc == pytest.approx(shared_run["test_acc"])
    assert store.get_run(shared_run["run_id"])["status"] == "done"
