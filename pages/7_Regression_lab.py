"""Regression lab: y = b + w·x by gradient descent (plain and AdaGrad, with L2) on the loss surface, then
Pokémon Water vs Normal by Gaussian generative classifiers and by logistic regression."""

import streamlit as st

from engine.data.download import DataMissingError
from engine.labs import linreg
from ui import labs_regression as lab
from ui import permissions
from ui.layout import CHART_WIDTH, FIELD_WIDTH, wrapping_row

st.set_page_config(page_title="Regression lab · NN Lab", layout="wide")
permissions.page_guard()
st.title("Regression and generative classifiers")
st.markdown("Part 1 fits a line by gradient descent and shows where each step goes on the loss surface; "
            "part 2 compares a Gaussian per class (Bayes' rule, closed form) with logistic regression "
            "(gradient descent) on the course's Pokémon Water vs Normal split.")

st.header("1 · Linear regression by gradient descent")
tables = lab.tables()
lab.init_state(tables)
if "pokemon" not in tables:
    st.info(f"The Pokémon stats are not fetched here, so the built-in tables are offered. Fix: {lab.FETCH_FIX}.")
row = wrapping_row("reg_data_row")
row.selectbox("Table", list(tables), format_func=lambda n: tables[n].title, key="reg_table",
              on_change=lab.reset_table, args=(tables,), width=FIELD_WIDTH)
table = tables[st.session_state["reg_table"]]
columns = list(table.frame.columns)
xcol = row.selectbox("x (input)", columns, key="reg_x", on_change=lab.reset_rates, args=(tables,), width=FIELD_WIDTH)
ycol = row.selectbox("y (target)", columns, key="reg_y", on_change=lab.reset_rates, args=(tables,), width=FIELD_WIDTH)
row = wrapping_row("reg_descent_row")
lr = row.select_slider("Learning rate η (plain GD)", linreg.LR_OPTIONS, key="reg_lr", format_func="{:g}".format,
                       width=FIELD_WIDTH)
lr_ada = row.select_slider("Learning rate η (AdaGrad)", linreg.LR_OPTIONS, key="reg_lr_ada",
                           format_func="{:g}".format, width=FIELD_WIDTH)
steps = row.select_slider("Iterations", lab.STEP_OPTIONS, key="reg_steps", format_func="{:,}".format, width=FIELD_WIDTH)
l2 = row.select_slider("L2 penalty λ", lab.L2_OPTIONS, key="reg_l2", format_func="{:g}".format, width=FIELD_WIDTH,
                       help="λ·w² is added to the loss (b is not penalised): larger λ, flatter line")
with_ada = st.checkbox("Show the AdaGrad path", value=True, key="reg_adagrad")
st.latex(lab.LOSS_LATEX)
st.latex(lab.GRAD_LATEX)
st.latex(lab.UPDATE_LATEX)

x, y = table.frame[xcol].to_numpy(float), table.frame[ycol].to_numpy(float)
res = lab.descent_result(x, y, lr, lr_ada if with_ada else None, steps, l2)
st.caption(f"{table.title}, {len(x)} rows. Start at w = 0, b = 0. The loss's curvature is the same everywhere: "
           f"plain gradient descent diverges above η = 2/λ_max(Hessian) = {res['stable_lr']:.3g}; AdaGrad's "
           f"first step moves each parameter by η.")
numbers = lab.numbers_table(res, lr, lr_ada, x, y)
row = wrapping_row("reg_metrics")
for name, path in res["paths"].items():
    row.metric(f"{name}: final loss", f"{path.loss[-1]:.6g}", width=FIELD_WIDTH,
               help=f"w = {path.w[-1]:.6g}, b = {path.b[-1]:.6g} after {len(path.w) - 1:,} steps")
row.metric(f"minimum (closed form, λ = {l2:g})", f"{res['min_loss']:.6g}", width="content")
for name, path in res["paths"].items():
    if path.diverged:
        st.warning(f"{name} diverged after {len(path.w) - 1:,} steps: the learning rate is too large. "
                   f"Try η below {res['stable_lr']:.3g}." if name == "plain GD" else
                   f"{name} diverged: try a smaller learning rate.")
contour, fit, curve = lab.descent_figures(res, x, y, xcol, ycol)
row = wrapping_row("reg_charts")
for fig, key in ((contour, "reg_contour"), (fit, "reg_fit"), (curve, "reg_curve")):
    row.plotly_chart(fig, key=key, width=CHART_WIDTH)
st.dataframe(numbers.style.format("{:.5g}", subset=["w", "b", "loss", "MSE"]), hide_index=True, key="reg_numbers",
             width="content")

st.header("2 · Pokémon Water vs Normal: generative vs logistic")
if "pokemon" not in tables:  # no controls that cannot work: say what to fetch
    st.warning(f"Part 2 needs the Pokémon table, which is not fetched here. Fix: {lab.FETCH_FIX}.")
    st.stop()
st.latex(lab.POSTERIOR_LATEX)
st.latex(lab.LOGISTIC_LATEX)
row = wrapping_row("reg_classifier_row")
stats = row.radio("Features", list(lab.STATS_LABELS), format_func=lab.STATS_LABELS.get, key="reg_stats")
covariance = row.radio("Covariance", ["separate", "shared"], key="reg_cov",
                       format_func={"separate": "separate Σ per class", "shared": "one shared Σ"}.get)
log_lr = row.select_slider("Logistic η", lab.LOG_LR_OPTIONS, value=0.5, key="reg_log_lr", width=FIELD_WIDTH)
log_steps = row.select_slider("Logistic iterations", lab.LOG_STEP_OPTIONS, value=1_000, key="reg_log_steps",
                              width=FIELD_WIDTH)
try:
    cls = lab.classifier(stats, covariance, float(log_lr), int(log_steps))
except DataMissingError as exc:
    st.warning(f"Part 2 needs the Pokémon table: {exc}")
    st.stop()
st.caption(f"Course split: # < 400 train ({cls['n_train']} Pokémon), the rest test ({cls['n_test']}). Logistic "
           f"regression: features standardised with the training mean and deviation, full-batch gradient "
           f"descent from zero, final training cross-entropy {cls['logistic_loss']:.4f}.")
st.dataframe(lab.accuracy_table(cls, stats, covariance).style.format(
    "{:.1%}", subset=["train accuracy", "test accuracy"]),
    hide_index=True, key="reg_acc")
st.caption("The course reports 54 % test accuracy with separate covariances and 73 % with a shared one, on all "
           "seven stats (its Defense/Sp. Def figures are not listed here).")
if "grid" in cls:
    st.plotly_chart(lab.classes_figure(cls), key="reg_classes")
    if "shared_linear" in cls:
        w, b = cls["shared_linear"]
        lw, lb = cls["logistic_line"]
        st.markdown(f"Shared Σ gives a straight boundary: z = {w[0]:.4f}·Defense + {w[1]:.4f}·Sp. Def + {b:.3f} "
                    f"(from μ, Σ and the priors); logistic regression fits z = {lw[0]:.4f}·Defense + "
                    f"{lw[1]:.4f}·Sp. Def + {lb:.3f} directly.")
else:
    st.caption("Seven features cannot be drawn in 2-D: choose Defense and Sp. Def for the plot.")
