"""AppTest of the Regression lab page, with the Pokémon table fetched and without it (built-in tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import shared
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "7_Regression_lab.py")


def _metrics(at) -> dict[str, float]:
    return {m.label: float(m.value) for m in at.metric}


def _table(at, index: str):
    """The shown dataframe indexed by `index` ("how": part 1's numbers, "model": part 2's accuracies)."""
    (df,) = [d.value for d in at.dataframe if index in d.value.columns]
    return df.set_index(index)


def _numbers(at):
    return _table(at, "how")


def _run(at):
    at.run()
    assert not at.exception
    return at


def test_page_without_pokemon_uses_the_built_in_table_and_names_the_fix(home):
    at = _run(AppTest.from_file(PAGE, default_timeout=60))
    assert any("fetch pokemon --from DIR" in i.value for i in at.info)
    assert at.selectbox(key="reg_table").value == "course_cp"
    assert (at.selectbox(key="reg_x").value, at.selectbox(key="reg_y").value) == ("cp", "cp_after_evolution")
    assert any("Part 2 needs the Pokémon table" in w.value and "fetch pokemon --from DIR" in w.value
               for w in at.warning)
    assert not [r for r in at.radio if r.key in ("reg_stats", "reg_cov")]  # Part 2's controls wait for the data
    assert len(at.latex) >= 3 and any("AdaGrad" in x.value for x in at.latex)
    before = _metrics(at)
    # the course demo's ten points: least squares y = -188.4 + 2.669·x, MSE 1.1e4 at the minimum
    numbers = _numbers(at)
    assert numbers.loc["closed form (λ = 0)", "w"] == pytest.approx(2.6694, abs=1e-4)
    assert numbers.loc["closed form (λ = 0)", "b"] == pytest.approx(-188.43, abs=0.01)
    assert before["AdaGrad: final loss"] == pytest.approx(before["minimum (closed form, λ = 0)"], rel=1e-6)
    assert before["plain GD: final loss"] > 1.2 * before["minimum (closed form, λ = 0)"]  # b has barely moved

    at.select_slider(key="reg_lr").set_value(1e-6)
    _run(at)
    assert _metrics(at)["plain GD: final loss"] > before["plain GD: final loss"]  # smaller steps, further away

    at.select_slider(key="reg_lr").set_value(1e-4)  # above 2/λ_max: diverges, with a warning naming the limit
    _run(at)
    assert any("plain GD diverged" in w.value for w in at.warning)

    at.checkbox(key="reg_adagrad").uncheck()
    _run(at)
    assert "AdaGrad: final loss" not in _metrics(at) and "AdaGrad" not in _numbers(at).index

    at.select_slider(key="reg_l2").set_value(1000.0)
    _run(at)
    numbers = _numbers(at)
    assert abs(numbers.loc["closed form (λ = 1000)", "w"]) < numbers.loc["least squares (λ = 0)", "w"]
    assert _metrics(at)["minimum (closed form, λ = 1000)"] > before["minimum (closed form, λ = 0)"]

    at.selectbox(key="reg_table").set_value("diabetes")
    _run(at)
    assert (at.selectbox(key="reg_x").value, at.selectbox(key="reg_y").value) == ("bmi", "progression")
    # a new table resets the learning rates to ones suggested for it (and the λ chosen): nothing diverges
    from engine.labs import linreg, regression_tables

    table = regression_tables.diabetes().frame
    assert at.select_slider(key="reg_lr").value == linreg.suggested_lr(table["bmi"], table["progression"], False, 1000)
    assert not [w for w in at.warning if "diverged" in w.value]


@pytest.fixture
def pokemon_home(home):
    from engine.data import pokemon

    pokemon.fetch(home, from_dir=shared("pokemon"))
    return home


@pytest.mark.real_data
def test_page_with_pokemon(pokemon_home):
    at = _run(AppTest.from_file(PAGE, default_timeout=60))
    assert not at.info
    assert at.selectbox(key="reg_table").value == "pokemon"
    assert at.select_slider(key="reg_lr").value == 1e-4 and at.select_slider(key="reg_lr_ada").value == 10.0
    m = _metrics(at)  # Total = b + w·Attack over 800 Pokémon, 10,000 steps from (0, 0); 6 digits shown
    assert m["plain GD: final loss"] == 10506.9
    assert m["AdaGrad: final loss"] == m["minimum (closed form, λ = 0)"] == 6582.81
    numbers = _numbers(at)
    assert numbers.loc["plain GD", "loss"] == pytest.approx(10506.870, abs=1e-3)
    assert (numbers.loc["plain GD", "w"], numbers.loc["plain GD", "b"]) == pytest.approx((4.5076, 55.210), abs=1e-3)
    assert numbers.loc["AdaGrad", "w"] == pytest.approx(2.72105, abs=1e-5)
    assert numbers.loc["AdaGrad", "b"] == pytest.approx(220.136, abs=1e-3)

    at.select_slider(key="reg_l2").set_value(1000.0)
    _run(at)
    numbers = _numbers(at)
    var = pd.read_csv(shared("pokemon") / "Pokemon.csv")["Attack"].var(ddof=0)
    shrunk = numbers.loc["least squares (λ = 0)", "w"] * var / (var + 1000)  # ridge on one input
    assert numbers.loc["closed form (λ = 1000)", "w"] == pytest.approx(shrunk, rel=1e-9) == pytest.approx(1.3951, abs=1e-4)
    assert _metrics(at)["AdaGrad: final loss"] != pytest.approx(m["AdaGrad: final loss"])

    acc = _table(at, "model")
    assert round(acc.loc["generative, separate Σ", "test accuracy"] * 70) == 36
    assert len(at.get("plotly_chart")) == 4  # contour, fitted lines, loss curve, the 2-D classes
    at.radio(key="reg_stats").set_value("all7")
    at.radio(key="reg_cov").set_value("shared")
    _run(at)
    acc = _table(at, "model")
    assert round(acc.loc["generative, shared Σ", "test accuracy"] * 70) == 54
    assert acc.loc["generative, shared Σ", "course (test)"] == "73%"
    assert round(acc.loc["logistic regression", "test accuracy"] * 70) == 55
    assert len(at.get("plotly_chart")) == 3  # seven features: numbers only
    at.select_slider(key="reg_log_steps").set_value(10)
    _run(at)
    assert _table(at, "model")["test accuracy"].iloc[1] != pytest.approx(55 / 70)
