"""AppTest for the lab pages: each renders without exception and its buttons do their work."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "pages"


def test_gradient_check_page(home):
    at = AppTest.from_file(str(PAGES / "4_Gradient_check.py"), default_timeout=120).run()
    assert not at.exception
    at.number_input(key="gc_batch").set_value(10)
    at.number_input(key="gc_hidden").set_value(5)
    at.number_input(key="gc_loop").set_value(50)
    at.button(key="gc_run").click().run()
    assert not at.exception
    result = at.session_state["gc_result"]
    assert result["dataset"] == "digits" and result["architecture"] == "64-5-10"
    assert result["max_rel_err"]["backprop_vs_autograd"] < 1e-10
    at.number_input(key="gc_iters").set_value(2)
    at.button(key="gc_train").click().run()
    assert not at.exception
    rows = at.session_state["gc_train_rows"]
    assert set(rows["method"]) == {"backprop", "vectorised"} and len(rows) == 4
