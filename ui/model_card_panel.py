"""Runs page: a run's model card (engine.predict.export.model_card), shown and downloadable as MODEL_CARD.md."""

from __future__ import annotations

import streamlit as st

from engine.predict.export.model_card import CARD_FILE, model_card, monitored_history


def card_text(store, run: dict, metrics=None) -> str:
    """The card of a stored run; `metrics`: its metrics frame when the page has it already."""
    metrics = store.metrics(run["id"]) if metrics is None else metrics
    history = monitored_history(metrics, run["config"].get("monitor", "valid_loss"))
    return model_card(run, store.result(run["id"]), history)


def render(store, run: dict, metrics=None) -> None:
    text = card_text(store, run, metrics)
    st.download_button(CARD_FILE, icon=":material/download:", data=text, file_name=f"{run['id']}-{CARD_FILE}",
                       mime="text/markdown", key=f"runs_dl_card_{run['id']}", on_click="ignore",
                       help="the same card every export of this run carries")
    st.markdown(text)
