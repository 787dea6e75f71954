"""Lab numbers read for a learner: gradient-check errors against thresholds."""

from __future__ import annotations

from ui.labs_gradcheck import reading


def test_gradient_errors_are_read_against_thresholds():
    assert reading(3e-10) == "agree to 1e-9: correct"
    assert reading(2e-6).startswith("agree only to 1e-5: suspicious")
    assert reading(0.3) == "differ by up to 1e0: a gradient is wrong"
    assert reading(0.0) == "agree exactly: correct" and reading(float("nan")).startswith("not a number")
