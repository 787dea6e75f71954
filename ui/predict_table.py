"""Predict page for table runs (a CSV table, Pokémon, COVID): edit rows of the columns the run was
trained on and see each row's prediction; or upload a CSV with those columns."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.data.csvdata import read_text
from engine.predict.predictor import InputError, Predictor
from ui import charts


def starting_rows(predictor: Predictor) -> pd.DataFrame:
    """One row to edit: the training mean of every number, the first category of every text column."""
    state = predictor.featurizer.state()
    row = dict(zip(state.get("numeric", []), state.get("means", []), strict=True))
    for col, cats in zip(state.get("categorical", []), state.get("categories", []), strict=True):
        row[col] = cats[0] if cats else ""
    return pd.DataFrame([row], columns=predictor.columns)


def _rows(frame: pd.DataFrame) -> list[dict]:
    return [{k: v for k, v in row.items() if v is not None and v == v} for row in frame.to_dict("records")]


def render(predictor: Predictor, explain=None) -> None:
    """`explain(predictor, row)`, when given, draws why the model answered as it did for one chosen row."""
    target = "the value" if predictor.spec.get("task") == "regression" else "the class"
    st.markdown(f"**Edit the row(s)** (add rows at the bottom) and see {target} the model predicts for each. "
                "An empty number counts as the training mean.")
    upload = st.file_uploader("…or upload a CSV with these columns", type=["csv"], key="predict_table_upload")
    if upload is not None:
        try:
            frame = read_text(upload.getvalue().decode("utf-8-sig"), upload.name)
        except (UnicodeDecodeError, ValueError) as exc:
            st.error(f"This file cannot be read: {exc}. Fix: a UTF-8 CSV whose header names the columns below")
            return
        frame = frame[[c for c in frame.columns if c in predictor.columns]]
    else:
        frame = st.data_editor(starting_rows(predictor), num_rows="dynamic", key="predict_table_rows",
                               hide_index=True)
    try:
        results = predictor.predict_rows(_rows(frame))
    except InputError as exc:
        st.warning(str(exc))
        return
    if not results:
        st.info("Add a row to see a prediction.")
        return
    shown = frame.reset_index(drop=True).copy()
    if "value" in results[0]:
        shown.insert(0, "prediction", [r["value"] for r in results])
    else:
        shown.insert(0, "prediction", [r["label"] for r in results])
        shown.insert(1, "sure", [max(r["probs"].values()) for r in results])
    st.dataframe(shown, hide_index=True, key="predict_table_results",
                 column_config={"sure": st.column_config.ProgressColumn("sure", min_value=0.0, max_value=1.0)})
    if "probs" in results[0]:
        st.plotly_chart(charts.probability_figure(results[0]["probs"], "Class probabilities of the first row"),
                        key="predict_table_probs")
    if explain is not None:
        st.markdown("#### Why this answer")
        rows = _rows(frame)
        pick = st.selectbox("Row", range(len(rows)), format_func=lambda i: f"row {i + 1}: {shown['prediction'][i]}",
                            key="predict_table_explain_row") if len(rows) > 1 else 0
        explain(predictor, rows[pick])
