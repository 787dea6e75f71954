"""Gradient check: four gradients of the same loss, and training with numerical gradients."""

import streamlit as st

from engine.labs import numgrad_training
from engine.labs.lab_data import image_dataset
from ui import labs_gradcheck as lab
from ui import permissions
from ui.layout import FIELD_WIDTH, wrapping_row

st.set_page_config(page_title="Gradient check · NN Lab", layout="wide")
permissions.page_guard()
st.title("Gradient check")
st.markdown(
    "The book's two-layer net (sigmoid hidden layer, softmax output, cross-entropy), in float64 on the CPU "
    "(the differences need float64's precision, which Apple GPUs do not have). "
    "Four ways to get **∂L/∂θ** at the same weights: (a) the central difference "
    "(L(θ+h) − L(θ−h)) / 2h with h = 1e-4, one parameter at a time, (b) the same differences for "
    "many parameters per batched pass, (c) backprop through hand-written Affine / Sigmoid / "
    "SoftmaxWithLoss layers, (d) `torch.autograd`. Relative error per tensor: ‖a−b‖ / max(‖a‖, ‖b‖)."
)
used = image_dataset("mnist")
row = wrapping_row()
dataset = row.selectbox("Data", ["mnist", "digits"], index=0 if used == "mnist" else 1, key="gc_dataset",
                        help="MNIST (784-50-10) when fetched; otherwise the 8x8 digits (64-50-10)", width=FIELD_WIDTH)
batch = row.number_input("Examples in the loss", 1, 1000, 100, key="gc_batch", width=FIELD_WIDTH)
hidden = row.number_input("Hidden units", 1, 200, 50, key="gc_hidden", width=FIELD_WIDTH)
loop_params = row.number_input("Parameters the loop times (0 = all)", 0, 100_000, 1000, step=500, key="gc_loop",
                               help="The loop is slow: it is timed on a random sample and extrapolated.",
                               width=FIELD_WIDTH)
if dataset == "mnist" and used != "mnist":
    st.info("MNIST is not fetched here: the 8x8 digits are used instead (64-50-10).")

if st.button("Compute the four gradients", key="gc_run", type="primary"):
    with st.spinner("differentiating..."):
        st.session_state["gc_result"] = lab.run_check(dataset, int(batch), int(hidden),
                                                       int(loop_params) or None)
result = st.session_state.get("gc_result")
if result:
    st.caption(f"{result['dataset']} {result['architecture']}, {result['batch']} examples, "
               f"{result['params']:,} parameters, loss {result['loss']:.6f}; the loop ran on "
               f"{result['loop_params_timed']:,} parameters.")
    st.subheader("Relative error per tensor")
    st.caption(f"|a - b| / max(|a|, |b|) per tensor. Read against {lab.CORRECT_BELOW:.0e}: below it two methods agree "
               f"(the gradient is correct); between {lab.CORRECT_BELOW:.0e} and {lab.WRONG_ABOVE:.0e} suspicious; above "
               f"{lab.WRONG_ABOVE:.0e} one of them is wrong.")
    st.dataframe(lab.error_table(result).style.format("{:.2e}", subset=["W1", "b1", "W2", "b2", "max"]),
                 hide_index=True, key="gc_errors")
    st.subheader("Time")
    st.metric("vectorised numerical vs the loop", f"{result['speedup_vectorised_vs_loop']:.0f}x faster")
    st.plotly_chart(lab.seconds_figure(result), key="gc_seconds")

st.divider()
st.subheader("Train with numerical gradients beside backprop")
st.markdown("The same SGD step (the engine's Trainer), fed by each gradient method. The book's "
            "100 iterations on MNIST took 75 minutes with the loop.")
row = wrapping_row()
methods = row.multiselect("Gradient methods", list(numgrad_training.METHODS), default=["backprop", "vectorised"],
                          format_func=numgrad_training.METHODS.get, key="gc_train_methods", width=2 * FIELD_WIDTH)
iterations = row.number_input("Iterations", 1, 1000, 10, key="gc_iters", width=FIELD_WIDTH)
lr = row.number_input("Learning rate", 0.001, 10.0, 0.1, key="gc_lr", width=FIELD_WIDTH)
placeholder = st.empty()
if st.button("Train", key="gc_train", disabled=not methods):
    st.session_state["gc_train_rows"] = lab.train_side_by_side(dataset, methods, int(iterations), int(batch),
                                                               float(lr), placeholder)
rows = st.session_state.get("gc_train_rows")
if rows is not None and len(rows):
    placeholder.plotly_chart(lab.training_figure(rows), key="gc_train_chart")
    per_iter = rows.groupby("method")["seconds"].max() / rows.groupby("method")["iteration"].max()
    st.dataframe(per_iter.rename("seconds per iteration").reset_index(), hide_index=True, key="gc_train_table")
