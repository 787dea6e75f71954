"""Batch-size timing: seconds per training epoch for B = 1, 2, 4 ... 1024 on each device. The timing runs in a
background process (`python -m engine timing`, the CLI's command and thread count); this page only reads its rows."""

import streamlit as st

from engine.data import DATASETS
from engine.labs import timing, timing_estimate
from engine.models import models_for
from engine.training.devices import available_devices
from ui import labs_timing as lab
from ui import permissions, state

st.set_page_config(page_title="Batch-size timing · NN Lab", layout="wide")
permissions.page_guard()
st.title("Batch-size timing")
st.markdown("One training epoch for each mini-batch size, the median of several repeats, measured as a real run "
            "trains: the same batches and copies to the device, the Trainer's step, in a separate process with one "
            "CPU thread (as `python -m engine timing`); on a GPU the clock waits for the device to finish. The "
            "dashed line is the exercise's reported GPU time (B=1: 5.44 s, B=1024: 0.16 s per epoch; only the "
            "endpoints are given).")
ready = [name for name, spec in DATASETS.items() if spec.ready()]
c1, c2, c3 = st.columns(3)
dataset = c1.selectbox("Dataset", ready, index=ready.index("news") if "news" in ready else 0, key="tm_dataset")
models = models_for(DATASETS[dataset].kind)
model = c2.selectbox("Model", models, index=models.index("linear") if "linear" in models else 0, key="tm_model")
devices = c3.multiselect("Devices", available_devices(), default=available_devices(), key="tm_devices")
d1, d2, d3 = st.columns(3)
sizes = d1.multiselect("Batch sizes", list(timing.DEFAULT_SIZES), default=list(lab.QUICK_SIZES), key="tm_sizes",
                       help="small B takes many steps per epoch: add 1, 2, 4 ... with few examples timed")
repeats = d2.number_input("Repeats (median)", 1, 20, 3, key="tm_repeats")
max_examples = d3.number_input("Examples timed per epoch (0 = all)", 0, 1_000_000, lab.QUICK_EXAMPLES, step=1000,
                               key="tm_max", help="Small B on a big dataset is slow: time part of an epoch and scale it.")
job = st.session_state.get("tm_job")
busy = job is not None and lab.progress(job)[1]
per_device = timing_estimate.plan_seconds(state.home(), dataset, model, devices, sorted(sizes), int(repeats),
                                          int(max_examples) or None)
if estimate := lab.seconds_estimate(per_device):
    st.caption(estimate)
else:
    st.caption(lab.work_estimate(sorted(sizes), len(devices), int(repeats), int(max_examples)))
    if sizes and devices and st.button("Measure the step time (a few seconds)", key="tm_calibrate", disabled=busy,
                           help="a short timing (B = 16 and 256 on 2,048 examples) whose step times give an "
                                "estimate in seconds for any batch sizes"):
        st.session_state["tm_job"] = {"calibration": True, **lab.launch(str(state.home()), state.owner_id(), {
            "dataset": dataset, "model": model, "devices": [d for d, v in per_device.items() if v is None],
            **timing_estimate.CALIBRATION})}
        st.rerun()
if st.button("Time the epochs", key="tm_run", type="primary", disabled=busy or not (sizes and devices),
             help="starts the timing in the background; rows appear below as each batch size is done"):
    st.session_state["tm_job"] = lab.launch(str(state.home()), state.owner_id(), {
        "dataset": dataset, "model": model, "sizes": sorted(sizes), "devices": devices, "repeats": int(repeats),
        "max_examples": int(max_examples) or None})
    st.session_state.pop("tm_rows", None)
    st.rerun()  # the button shows as busy at once


@st.fragment(run_every=1.0)
def follow() -> None:
    """Reads the rows written so far; once the process has ended, one full rerun draws the results."""
    job = st.session_state.get("tm_job")
    if job is None or job.get("done"):
        return
    rows, running, error = lab.progress(job)
    if not job.get("calibration"):  # a calibration's rows feed the estimate, not the results
        st.session_state["tm_rows"] = lab.rows_frame(rows)
    if running:
        doing = "measuring the step time" if job.get("calibration") else "timing"
        st.progress(len(rows) / max(1, job["expected"]), text=f"{doing}... {len(rows)} of {job['expected']} done")
        return
    job["done"], job["error"] = True, error
    st.rerun()


follow()
job = st.session_state.get("tm_job")
if job is not None and job.get("error"):
    st.error(f"The timing stopped: {job['error']}")
df = st.session_state.get("tm_rows")
if df is not None and len(df):
    metric = st.radio("Plot", ["seconds", "examples_per_s"], horizontal=True, key="tm_metric",
                      format_func={"seconds": "seconds per epoch", "examples_per_s": "examples per second"}.get)
    st.plotly_chart(lab.timing_figure(df, metric), key="tm_chart")
    st.dataframe(df, hide_index=True, key="tm_table", column_config={
        "seconds": st.column_config.NumberColumn("seconds per epoch", format="%.3f"),
        "examples_per_s": st.column_config.NumberColumn("examples per second", format="%.0f")})
    st.download_button("Download CSV", lab.to_csv(df), "batch_size_timing.csv", "text/csv", key="tm_csv")
