"""Regression lab: y = b + w·x by gradient descent (plain and AdaGrad, with L2) on the loss surface, then
Pokémon Water vs Normal by Gaussian generative classifiers and by logistic regression."""

import streamlit as st

from engine.data.download import DataMissingError
from engine.labs import linreg
from ui import labs_regression as lab
from ui import permissions

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
c1, c2, c3 = st.columns(3)
c1.selectbox("Table", list(tables), format_func=lambda n: tables[n].title, key="reg_table",
             on_change=lab.reset_table, args=(tables,))
table = tables[st.session_state["reg_table"]]
columns = list(table.frame.columns)
xcol = c2.selectbox("x (input)", columns, key="reg_x", on_change=lab.reset_rates, args=(tables,))
ycol = c3.selectbox("y (target)", columns, key="reg_y", on_change=lab.reset_rates, args=(tables,))
d1, d2, d3, d4 = st.columns([3, 3, 2, 2])
lr = d1.select_slider("Learning rate η (plain GD)", linreg.LR_OPTIONS, key="reg_lr", format_func="{:g}".format)
lr_ada = d2.select_slider("Learning rate η (AdaGrad)", linreg.LR_OPTIONS, key="reg_lr_ada", format_func="{:g}".format)
with_ada = d2.checkbox("Show the AdaGrad path", value=True, key="reg_adagrad")
steps = d3.select_slider("Iterations", lab.STEP_OPTIONS, key="reg_steps", format_func="{:,}".format)
l2 = d4.select_slider("L2 penalty λ", lab.L2_OPTIONS, key="reg_l2", format_func="{:g}".format,
                      help="λ·w² is added to the loss (b is not penalised): larger λ, flatter line")
st.latex(lab.LOSS_LATEX)
st.latex(lab.GRAD_LATEX)
st.latex(lab.UPDATE_LATEX)

x, y = table.frame[xcol].to_numpy(float), table.frame[ycol].to_numpy(float)
res = lab.descent_result(x, y, lr, lr_ada if with_ada else None, steps, l2)
st.caption(f"{table.title}, {len(x)} rows. Start at w = 0, b = 0. The loss's curvature is the same everywhere: "
           f"plain gradient descent diverges above η = 2/λ_max(Hessian) = {res['stable_lr']:.3g}; AdaGrad's "
           f"first step moves each parameter by η.")
numbers = lab.numbers_table(res, lr, lr_ada, x, y)
m = st.columns(len(res["paths"]) + 1)
for col, (name, path) in zip(m, res["paths"].items(), strict=False):
    col.metric(f"{name}: final loss", f"{path.loss[-1]:.6g}",
               help=f"w = {path.w[-1]:.6g}, b = {path.b[-1]:.6g} after {len(path.w) - 1:,} steps")
m[-1].metric(f"minimum (closed form, λ = {l2:g})", f"{res['min_loss']:.6g}")
for name, path in res["paths"].items():
    if path.diverged:
        st.warning(f"{name} diverged after {len(path.w) - 1:,} steps: the learning rate is too large. "
                   f"Try η below {res['stable_lr']:.3g}." if name == "plain GD" else
                   f"{name} diverged: try a smaller learning rate.")
contour, fit, curve = lab.descent_figures(res, x, y, xcol, ycol)
left, right = st.columns(2)
left.plotly_chart(contour, key="reg_contour")
right.plotly_chart(fit, key="reg_fit")
left, right = st.columns(2)
left.plotly_chart(curve, key="reg_curve")
right.dataframe(numbers.style.format("{:.6g}", subset=["w", "b", "loss", "MSE"]), hide_index=True, key="reg_numbers")

st.header("2 · Pokémon Water vs Normal: generative vs logistic")
if "pokemon" not in tables:  # no controls that cannot work: say what to fetch
    st.warning(f"Part 2 needs the Pokémon table, which is not fetched here. Fix: {lab.FETCH_FIX}.")
    st.stop()
st.latex(lab.POSTERIOR_LATEX)
st.latex(lab.LOGISTIC_LATEX)
e1, e2, e3, e4 = st.columns(4)
stats = e1.radio("Features", list(lab.STATS_LABELS), format_func=lab.STATS_LABELS.get, key="reg_stats")
covariance = e2.radio("Covariance", ["separate", "shared"], key="reg_cov",
                      format_func={"separate": "separate Σ per class", "shared": "one shared Σ"}.get)
log_lr = e3.select_slider("Logistic η", lab.LOG_LR_OPTIONS, value=0.5, key="reg_log_lr")
log_steps = e4.select_slider("Logistic iterations", lab.LOG_STEP_OPTIONS, value=1_000, key="reg_log_steps")
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
