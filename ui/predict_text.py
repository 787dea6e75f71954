"""Predict page for headline runs: one headline (typed or an example) with its class probabilities and
what the model saw, or many headlines at once (pasted or a .txt/.csv file) as a table. Each part is a
fragment: pressing Enter redraws the prediction, not the page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.predict.predictor import InputError, Predictor
from ui import charts
from ui.text_view import token_markdown

EXAMPLES = (
    "Apple unveils its first foldable iPhone",
    "Federal Reserve raises interest rates for the third time this year",
    "Taylor Swift announces extra dates for her stadium tour",
    "WHO warns measles cases are rising across Europe",
)
MAX_HEADLINES = 200  # a class's front page, not a data set: the model reads them in one batch
MAX_FILE_BYTES = 200_000
HEADER_NAMES = ("headline", "title", "text")  # a CSV's first cell that names the column, not a headline


def render(predictor: Predictor, explain=None) -> None:
    """`explain(predictor, text)`, when given, draws an explanation of one prediction below it."""
    one, many = st.tabs(["One headline", "Many headlines"])
    with one:
        single(predictor, explain)
    with many:
        batch(predictor)


def _use_example(text: str) -> None:
    st.session_state["predict_text"] = text


@st.fragment
def single(predictor: Predictor, explain=None) -> None:
    st.markdown("**Try an example** (written after the 2014 training data was collected):")
    for i, (col, example) in enumerate(zip(st.columns(len(EXAMPLES)), EXAMPLES, strict=True)):
        col.button(example, key=f"predict_example_{i}", on_click=_use_example, args=(example,), width="stretch")
    text = st.text_input("Headline", key="predict_text", placeholder="Type a news headline and press Enter")
    go = st.button("Classify", key="predict_go", type="primary")
    if not text and not go:
        st.caption("Type a headline above (or pick an example) to see what the model makes of it.")
        return
    try:
        item = predictor.predict_texts([text])[0]
    except InputError as exc:
        st.warning(str(exc))
        return
    tokens = item.get("tokens") or []
    known = sum(t["known"] for t in tokens)
    if "tokens" in item and not known:
        st.warning("None of these words is in the model's vocabulary, so it was given an empty input: the "
                   "answer below is its guess for nothing at all, not a reading of your headline. Try a headline "
                   "in English words.", icon=":material/help:")
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(charts.probability_figure(item["probs"], "Class probabilities (softmax output)"),
                        key="predict_probs")
        st.caption("The softmax of the network's output: one probability per class, summing to 1.")
    with right:
        st.metric("Prediction", item["label"])
        st.caption(f"probability {item['probs'][item['label']]:.1%}")
        _tokens(tokens, known)
    if explain is not None:  # the slot for an explanation of this prediction
        explain(predictor, text)


def _tokens(tokens: list[dict], known: int) -> None:
    st.markdown("**What the model saw** (lower-cased words; ~~struck~~ = not in the vocabulary, ignored):")
    st.markdown(token_markdown(tokens) if tokens else "*no words at all*")
    st.caption(f"{known} of {len(tokens)} words are in the word vectors; the input is the mean of their vectors.")
    if tokens:
        st.dataframe(pd.DataFrame([{"token": t["token"], "in vocabulary": t["known"]} for t in tokens]),
                     hide_index=True, key="predict_tokens")


def read_headlines(pasted: str, upload: bytes | None, name: str = "") -> list[str]:
    """Headlines, one a line, from pasted text or an uploaded .txt/.csv (its first column); raises InputError
    naming the limit when there are more than MAX_HEADLINES or the file is too large or not text."""
    if upload is not None:
        if len(upload) > MAX_FILE_BYTES:
            raise InputError(f"the file has {len(upload):,} bytes; at most {MAX_FILE_BYTES:,} are read. "
                             f"Fix: upload at most {MAX_HEADLINES} headlines")
        try:
            text = upload.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("the file is not UTF-8 text. Fix: save it as UTF-8 (.txt, one headline a line)") from None
        if name.lower().endswith(".csv"):
            import csv
            import io

            cells = [row[0] for row in csv.reader(io.StringIO(text)) if row]
            text = "\n".join(cells[1:] if cells and cells[0].strip().lower() in HEADER_NAMES else cells)
    else:
        text = pasted or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_HEADLINES:
        raise InputError(f"{len(lines)} headlines given; at most {MAX_HEADLINES} at once. Fix: split the list")
    return lines


def batch_frame(texts: list[str], items: list[dict]) -> pd.DataFrame:
    """One row per headline: its label, the confidence, the runner-up class and its probability."""
    rows = []
    for text, item in zip(texts, items, strict=True):
        ranked = sorted(item["probs"].items(), key=lambda kv: -kv[1])
        second = ranked[1] if len(ranked) > 1 else ("", 0.0)
        rows.append({"headline": text, "label": ranked[0][0], "confidence": ranked[0][1], "runner-up": second[0],
                     "runner-up probability": second[1]})
    return pd.DataFrame(rows, columns=["headline", "label", "confidence", "runner-up", "runner-up probability"])


@st.fragment
def batch(predictor: Predictor) -> None:
    st.markdown(f"Paste headlines, **one a line** (at most {MAX_HEADLINES}), or upload a .txt or .csv file "
                "(one headline a line; a CSV's first column).")
    pasted = st.text_area("Headlines", key="predict_batch_text", height=160, max_chars=60_000,
                          placeholder="Fed raises interest rates again\nNew iPhone goes on sale")
    upload = st.file_uploader("…or a file", type=["txt", "csv"], key="predict_batch_file")
    least_first = st.toggle("Least confident first", key="predict_batch_least")
    try:
        texts = read_headlines(pasted, upload.getvalue() if upload else None, upload.name if upload else "")
        if not texts:
            st.caption("The table appears here: headline, label, confidence and the runner-up class.")
            return
        frame = batch_frame(texts, predictor.predict_texts(texts))
    except InputError as exc:
        st.warning(str(exc))
        return
    if least_first:
        frame = frame.sort_values("confidence").reset_index(drop=True)
    st.dataframe(frame, hide_index=True, key="predict_batch_table",
                 column_config={c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="%.2f")
                                for c in ("confidence", "runner-up probability")})
    st.download_button("predictions.csv", icon=":material/download:", data=frame.to_csv(index=False),
                       file_name="predictions.csv", mime="text/csv", key="predict_batch_download", on_click="ignore")
