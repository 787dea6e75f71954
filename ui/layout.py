"""Layouts that hold at any screen width without CSS: rows of fixed-width widgets or charts that wrap onto more
lines when the page is narrow. Columns keep their count and, at 800 px with the sidebar open, squeeze labels
into ~110 px (cut with an ellipsis or broken mid-word)."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

FIELD_WIDTH = 220  # px of a widget: its label and help icon on one line; four fit at 1400 px, two at 800 px
CHART_WIDTH = 460  # px of a chart: two side by side at 1400 px, one a row at 800 px


def wrapping_row(key: str | None = None, box: DeltaGenerator | None = None) -> DeltaGenerator:
    """A horizontal container (in `box`, else the page) whose elements wrap onto the next line when they do not
    fit; give them a fixed width (FIELD_WIDTH, CHART_WIDTH) so each keeps a readable size."""
    return (box or st).container(horizontal=True, gap="small", vertical_alignment="bottom", key=key)
