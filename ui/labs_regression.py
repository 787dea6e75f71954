"""Regression-lab page helpers: widget state (learning rates suggested per table), cached descent runs
and classifier fits as plain numbers, the number tables, and the figures (ui.charts_regression)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from engine.data import pokemon
from engine.labs import generative, linreg, regression_tables
from engine.labs.regression_tables import Table
from ui import charts_regression as charts

STEP_OPTIONS = (10, 100, 1_000, 10_000, 100_000)
L2_OPTIONS = (0.0, 1.0, 10.0, 100.0, 300.0, 1_000.0, 3_000.0, 10_000.0)
LOG_LR_OPTIONS = (0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 2.0, 4.0)
LOG_STEP_OPTIONS = (10, 30, 100, 300, 1_000, 3_000, 10_000)
STATS_LABELS = {"defense_spdef": "Defense and Sp. Def (2-D plot)", "all7": "all seven stats (numbers only)"}
FETCH_FIX = ("`python -m engine fetch pokemon --from DIR` (DIR holding the course's Pokemon.csv) or the "
             "Home page's fetch")

# One short line per relation (aligned at =): a long display formula is cut off at the page's right edge.
LOSS_LATEX = r"L(w,b)=\frac{1}{N}\sum_{n=1}^{N}\bigl(y_n-(b+w\,x_n)\bigr)^2+\lambda w^2"
GRAD_LATEX = (r"\begin{aligned}\frac{\partial L}{\partial w}&=-\frac{2}{N}\sum_n\bigl(y_n-(b+w\,x_n)\bigr)x_n"
              r"+2\lambda w\\ \frac{\partial L}{\partial b}&=-\frac{2}{N}\sum_n\bigl(y_n-(b+w\,x_n)\bigr)"
              r"\end{aligned}")
UPDATE_LATEX = (r"\begin{aligned}\text{plain: }w&\leftarrow w-\eta\,g^w_t\\ \text{AdaGrad: }w&\leftarrow "
                r"w-\frac{\eta}{\sqrt{\sum_{i=1}^{t}(g^w_i)^2}}\,g^w_t\\ &\text{(the same for }b)\end{aligned}")
POSTERIOR_LATEX = (r"\begin{aligned}P(\text{Water}\mid x)&=\sigma(z)\\ z&=\ln\frac{\mathcal N(x;\mu_W,\Sigma_W)\,"
                   r"P(\text{Water})}{\mathcal N(x;\mu_N,\Sigma_N)\,P(\text{Normal})}\\ \text{shared }\Sigma:\;z&="
                   r"\underbrace{(\mu_W-\mu_N)^{\top}\Sigma^{-1}}_{w^{\top}}x+b\end{aligned}")
LOGISTIC_LATEX = (r"\begin{aligned}f(x)&=\sigma(w\cdot x+b)\quad\text{(logistic regression)}\\ L&=-\frac{1}{N}\sum_n\bigl[t_n\ln "
                  r"f(x_n)+(1-t_n)\ln(1-f(x_n))\bigr]\\ w&\leftarrow w+\eta\,\frac{1}{N}\sum_n\bigl(t_n-f(x_n)"
                  r"\bigr)x_n\end{aligned}")


def tables() -> dict[str, Table]:
    return regression_tables.available()


def _suggest_rates(table: Table, xcol: str, ycol: str) -> None:
    x, y = table.frame[xcol].to_numpy(), table.frame[ycol].to_numpy()
    l2 = float(st.session_state.get("reg_l2", 0.0))
    st.session_state["reg_lr"] = linreg.suggested_lr(x, y, adagrad=False, l2=l2)
    st.session_state["reg_lr_ada"] = linreg.suggested_lr(x, y, adagrad=True, l2=l2)


def init_state(all_tables: dict[str, Table]) -> None:
    """Defaults on the first run (and when the chosen table went away): the first table, its default
    columns, learning rates suggested for them."""
    st.session_state.setdefault("reg_steps", 10_000)
    st.session_state.setdefault("reg_l2", 0.0)
    if st.session_state.get("reg_table") not in all_tables:
        st.session_state["reg_table"] = next(iter(all_tables))
        reset_table(all_tables)


def reset_table(all_tables: dict[str, Table]) -> None:
    table = all_tables[st.session_state["reg_table"]]
    st.session_state["reg_x"], st.session_state["reg_y"] = table.x, table.y
    _suggest_rates(table, table.x, table.y)


def reset_rates(all_tables: dict[str, Table]) -> None:
    _suggest_rates(all_tables[st.session_state["reg_table"]], st.session_state["reg_x"], st.session_state["reg_y"])


@st.cache_data(show_spinner=False, max_entries=64)
def descent(x: np.ndarray, y: np.ndarray, lr: float, steps: int, adagrad: bool, l2: float) -> linreg.Path:
    return linreg.gradient_descent(x, y, lr, steps, adagrad=adagrad, l2=l2)


def descent_result(x: np.ndarray, y: np.ndarray, lr: float, lr_ada: float | None, steps: int, l2: float) -> dict:
    """Both paths (AdaGrad when lr_ada is given), the minimum with and without λ, the loss grid around them."""
    paths = {"plain GD": descent(x, y, lr, steps, False, l2)}
    if lr_ada is not None:
        paths["AdaGrad"] = descent(x, y, lr_ada, steps, True, l2)
    minimum, plain_minimum = linreg.closed_form(x, y, l2), linreg.closed_form(x, y)
    w_range, b_range = linreg.view_range([(0.0, 0.0), minimum, plain_minimum], list(paths.values()))
    return {"paths": paths, "minimum": minimum, "plain_minimum": plain_minimum,
            "min_loss": float(linreg.loss(x, y, *minimum, l2)), "stable_lr": linreg.stable_lr(x, l2),
            "grid": linreg.loss_grid(x, y, w_range, b_range, n=90, l2=l2), "l2": l2}


def numbers_table(res: dict, lr: float, lr_ada: float | None, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """One row per path and closed form: learning rate and steps run (one column, so the table fits 800 px), w, b,
    loss (with λ) and MSE."""
    l2 = res["l2"]
    rows = [{"how": name, "η, steps": f"{lr if name == 'plain GD' else lr_ada:g}, {len(p.w) - 1:,}",
             "w": p.w[-1], "b": p.b[-1]} for name, p in res["paths"].items()]
    rows.append({"how": f"closed form (λ = {l2:g})", "η, steps": "—", "w": res["minimum"][0], "b": res["minimum"][1]})
    if l2:
        rows.append({"how": "least squares (λ = 0)", "η, steps": "—", "w": res["plain_minimum"][0],
                     "b": res["plain_minimum"][1]})
    df = pd.DataFrame(rows)
    df["loss"] = [float(linreg.loss(x, y, w, b, l2)) for w, b in zip(df["w"], df["b"], strict=True)]
    df["MSE"] = [float(linreg.loss(x, y, w, b)) for w, b in zip(df["w"], df["b"], strict=True)]
    return df


def descent_figures(res: dict, x: np.ndarray, y: np.ndarray, xcol: str, ycol: str):
    ws, bs, z = res["grid"]
    contour = charts.descent_figure(ws, bs, z, res["paths"], res["minimum"])
    lines = {name: (float(p.w[-1]), float(p.b[-1])) for name, p in res["paths"].items()}
    lines[f"closed form (λ = {res['l2']:g})"] = res["minimum"]
    if res["l2"]:
        lines["least squares (λ = 0)"] = res["plain_minimum"]
    fit = charts.fit_figure(x, y, lines, xcol, ycol)
    curve = charts.loss_curve_figure(res["paths"], res["min_loss"])
    return contour, fit, curve


def _pokemon_stamp() -> float | None:
    path = pokemon.folder() / pokemon.FILENAME
    return path.stat().st_mtime if path.exists() else None


def classifier(stats: str, covariance: str, lr: float, steps: int) -> dict:
    """The fitted Gaussians and logistic regression as plain numbers (see `_classifier`)."""
    return _classifier(str(pokemon.folder()), _pokemon_stamp(), stats, covariance, lr, steps)


@st.cache_data(show_spinner=False, max_entries=32)
def _classifier(folder: str, stamp: float | None, stats: str, covariance: str, lr: float, steps: int) -> dict:
    data = generative.pokemon_split(stats=stats)
    out = generative.compare(data, covariance, lr, steps)
    gen, log = out["generative"], out["logistic"]
    result = {"rows": out["rows"], "features": data.features, "logistic_loss": float(log.loss[-1]),
              "n_train": len(data.y_train), "n_test": len(data.y_test)}
    if len(data.features) == 2:
        both = np.r_[data.x_train, data.x_test]
        lo, hi = both.min(0), both.max(0)
        pad = 0.08 * (hi - lo)
        result["points"] = {"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test)}
        result["gaussians"] = [(m.numpy(), [generative.ellipse(m.numpy(), c.numpy(), k) for k in (1, 2)])
                               for m, c in zip(gen.means, gen.covs, strict=True)]
        result["grid"] = generative.ratio_grid(gen, (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))
        result["logistic_line"] = log.raw_linear()
        if covariance == "shared":
            result["shared_linear"] = generative.shared_linear(gen)
    return result


def accuracy_table(res: dict, stats: str, covariance: str) -> pd.DataFrame:
    """Train and test accuracy per model, with the course's reported test accuracy where it has one
    (the course reports the seven-stat generative models)."""
    df = pd.DataFrame(res["rows"]).rename(columns={"train_acc": "train accuracy", "test_acc": "test accuracy"})
    course = f"{generative.COURSE_TEST_ACC[covariance]:.0%}" if stats == "all7" else "—"
    df["course (test)"] = [course, "—"]
    return df


def classes_figure(res: dict):
    return charts.classes_figure(res["points"], generative.CLASSES, res["gaussians"], res["grid"], res["features"],
                                 logistic_line=res["logistic_line"])
