"""AppTest for the lab pages: each renders without exception and its buttons do their work."""

from __future__ import annotations

import time
from pathlib import Path

from pagehelpers import plotly_specs
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "pages"


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
    errors = next(df.value for df in at.dataframe if "reading" in df.value.columns).set_index("pair")
    assert errors.loc["backprop vs autograd", "reading"] in ("agree exactly: correct", "agree to 1e-10: correct",
                                                             *(f"agree to 1e-{k}: correct" for k in range(11, 17)))
    at.number_input(key="gc_iters").set_value(2)
    at.button(key="gc_train").click().run()
    assert not at.exception
    rows = at.session_state["gc_train_rows"]
    assert set(rows["method"]) == {"backprop", "vectorised"} and len(rows) == 4


def test_batch_size_timing_page(home):
    """The page starts `python -m engine timing` in a background process and reads its rows; the page's own
    script run returns at once."""
    at = AppTest.from_file(str(PAGES / "5_Batch_size_timing.py"), default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="tm_dataset").set_value("digits")
    at.run()
    at.selectbox(key="tm_model").set_value("linear")
    assert 1 not in at.multiselect(key="tm_sizes").value  # the default finishes in seconds: no B=1
    assert any("training steps per device" in c.value for c in at.caption)  # an estimate before starting
    at.multiselect(key="tm_sizes").set_value([8, 256])
    at.number_input(key="tm_repeats").set_value(1)
    at.number_input(key="tm_max").set_value(200)
    t0 = time.monotonic()
    at.button(key="tm_run").click().run()
    assert not at.exception and time.monotonic() - t0 < 10
    job = at.session_state["tm_job"]
    assert at.button(key="tm_run").disabled or job.get("done")  # one timing at a time per session
    deadline = time.monotonic() + 120
    while not job.get("done") and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        job = at.session_state["tm_job"]
    assert job.get("done") and not job.get("error"), Path(job["log"]).read_text()
    df = at.session_state["tm_rows"]
    assert list(df["batch_size"]) == [8, 256] and (df["seconds"] > 0).all() and set(df["threads"]) == {1}
    # the next timing of this model is estimated in seconds, from these rows
    assert [c for c in at.caption if "measured by earlier timings" in c.value and " s" in c.value]
    at.radio(key="tm_metric").set_value("examples_per_s").run()
    assert not at.exception
    chart = plotly_specs(at)[0]
    assert chart["layout"]["yaxis"]["dtick"] == 1  # decade ticks only


class _Ended:
    def poll(self) -> int:
        return 0


def test_timing_page_estimates_seconds_before_starting(home, monkeypatch):
    """Without a step time measured for this model, the page offers a short calibration (started like a timing,
    in a background process: here a stand-in that writes the rows the CLI would); then it shows the planned
    timing's duration in seconds before it starts, and the calibration's rows are not shown as results."""
    import json

    from engine.labs import timing_estimate
    from ui import labs_timing

    launched = []

    def launch(home_, owner, args):
        launched.append(args)
        out = timing_estimate.folder(home_) / "calibration.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps({"batch_size": b, "seconds": 1000 / b * (0.2 + 1e-3 * b), "device": d,
                                           "dataset": args["dataset"], "model": args["model"],
                                           "examples_per_epoch": 1000}) + "\n"
                               for d in args["devices"] for b in args["sizes"]))
        return {"pid": 0, "out": str(out), "log": str(out.with_suffix(".log")), "proc": _Ended(),
                "expected": len(args["sizes"]) * len(args["devices"])}

    monkeypatch.setattr(labs_timing, "launch", launch)
    at = AppTest.from_file(str(PAGES / "5_Batch_size_timing.py"), default_timeout=120).run()
    at.selectbox(key="tm_dataset").set_value("digits").run()
    at.selectbox(key="tm_model").set_value("linear").run()
    assert not at.exception and any("training steps per device" in c.value for c in at.caption)  # no seconds yet
    devices = at.multiselect(key="tm_devices").value
    at.button(key="tm_calibrate").click().run()
    assert not at.exception
    assert launched == [{"dataset": "digits", "model": "linear", "devices": devices, **timing_estimate.CALIBRATION}]
    at.multiselect(key="tm_sizes").set_value([16, 256]).run()
    at.number_input(key="tm_repeats").set_value(1).run()
    at.number_input(key="tm_max").set_value(0).run()
    # a warm-up epoch at 256, then one epoch at each size over all 1,000 examples: 63 steps of 0.216 s, 2 x 4 of 0.456 s
    expected = len(devices) * (63 * 0.216 + 8 * 0.456)
    (caption,) = [c.value for c in at.caption if "measured by earlier timings" in c.value]
    assert caption.startswith(f"About {round(expected)} s")
    assert not at.button(key="tm_run").disabled and "tm_rows" not in at.session_state
    assert not [b for b in at.button if b.key == "tm_calibrate"]  # measured: nothing left to calibrate


def test_timing_estimate_grows_with_small_batches():
    from ui.labs_timing import work_estimate

    assert "About 756 training steps" in work_estimate([8, 1000], 1, 3, 2000)  # 3 x (250 + 2)
    assert "minutes" in work_estimate([1], 1, 3, 0)


def test_timing_command_is_the_clis_with_server_chosen_paths():
    from ui import labs_timing

    argv = labs_timing.timing_command("/h", "news", "rnn", [64, 8], ["cpu", "cuda"], 3, None, "/h/timing/x.jsonl")
    assert argv[1:] == ["-m", "engine", "--home", "/h", "timing", "--dataset", "news", "--model", "rnn",
                        "--batch-sizes", "8,64", "--device", "cpu,cuda", "--repeats", "3", "--out",
                        "/h/timing/x.jsonl"]


def test_timing_rows_are_read_only_when_complete(tmp_path):
    from ui import labs_timing

    path = tmp_path / "rows.jsonl"
    path.write_text('{"batch_size": 8}\n{"batch_si')  # the second line is still being written
    assert labs_timing.read_rows(str(path)) == [{"batch_size": 8}]
    assert labs_timing.read_rows(str(tmp_path / "none.jsonl")) == []


def test_timing_figure_has_reference_line():
    from ui import labs_timing

    df = labs_timing.rows_frame([{"device": "cpu", "batch_size": b, "seconds": 1.0 / b, "examples_per_s": b}
                                 for b in (1, 2, 4)])
    fig = labs_timing.timing_figure(df)
    assert [t.name for t in fig.data] == ["measured · cpu", "exercise · GPU"]
    assert list(fig.data[1].x) == [1, 1024] and fig.layout.xaxis.type == "log"
    assert b"batch_size" in labs_timing.to_csv(df).splitlines()[0]


def test_softmax_page(home):
    at = AppTest.from_file(str(PAGES / "6_Softmax_lab.py"), default_timeout=120).run()
    assert not at.exception
    assert any("digits" in c.value for c in at.caption)
    assert any("max |formula − autograd|" in m.value for m in at.markdown)
    at.number_input(key="sm_seed").set_value(3).run()
    assert not at.exception
