"""Streamlit widgets generated from engine `Option` declarations: one widget per Option, its value
kept in st.session_state under an explicit key and initialised to the Option's default."""

from __future__ import annotations

import streamlit as st

from engine.config.options import Option

LR_GRID = [round(m * 10.0 ** e, 10) for e in range(-6, 1) for m in (1, 2, 5)] + [1.0]


def with_value(grid: list, value) -> list:
    """`grid` plus `value` (sorted) when a default or preset lies off the grid."""
    return grid if value in grid else sorted([*grid, value])


def init_state(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def log_grid(opt: Option) -> list:
    """The values a log-scale Option offers within its range: powers of two (ints), 1-2-5 steps (floats, with 0
    when the range starts there)."""
    lo, hi = opt.min if opt.min is not None else 0, opt.max if opt.max is not None else 1e9
    if opt.type == "int":
        return [2 ** i for i in range(64) if lo <= 2 ** i <= hi]
    return [0.0] * (lo == 0) + [v for v in LR_GRID if lo <= v <= hi]


def off_widget(opt: Option, value, default) -> str | None:
    """Why a linked value cannot be shown by `opt`'s widget (a log-scale Option offers only its grid), or None."""
    if not opt.log or value in log_grid(opt) or value == default:
        return None
    grid = log_grid(opt)
    return (f"{opt.name}={value:g} is not offered here (the page offers {grid[0]:g} to {grid[-1]:g}"
            + (", powers of two" if opt.type == "int" else ", in 1-2-5 steps") + f"); using {default:g}")


def option_widget(opt: Option, key: str, container=None, label: str | None = None, disabled: bool = False,
                  format_func=None, width: int | str = "stretch"):
    """One widget for `opt`, its value kept in st.session_state[key] (initialised to the default); its range,
    steps and help are the Option's; `width` in pixels or "stretch"."""
    box = container or st
    init_state(key, opt.default)
    label = label or opt.name.replace("_", " ").capitalize()
    common = {"key": key, "help": opt.help or None, "disabled": disabled, "width": width}
    if opt.choices:
        if st.session_state[key] not in opt.choices:
            st.session_state[key] = opt.default
        return box.selectbox(label, list(opt.choices), format_func=format_func or str, **common)
    if opt.type == "bool":
        return box.toggle(label, **common)
    if opt.log:
        grid = with_value(log_grid(opt), st.session_state[key])
        return box.select_slider(label, grid, format_func=lambda v: f"{v:g}", **common)
    if opt.type == "int":
        if opt.min is not None and opt.max is not None and opt.max - opt.min <= 16:
            return box.slider(label, int(opt.min), int(opt.max), step=1, **common)
        return box.number_input(label, min_value=None if opt.min is None else int(opt.min),
                                max_value=None if opt.max is None else int(opt.max), step=1, **common)
    if opt.type == "float":
        if opt.min is not None and opt.max is not None and opt.max <= 1.0:
            return box.slider(label, float(opt.min), float(opt.max), step=opt.step or 0.05, **common)
        return box.number_input(label, min_value=opt.min, max_value=opt.max, format="%g", **common)
    if opt.type == "ints":  # kept as text ("3,4,5"); Option.parse turns it into integers
        if not isinstance(st.session_state[key], str):
            st.session_state[key] = ",".join(map(str, st.session_state[key]))
        return box.text_input(label + " (comma-separated)", **common)
    return box.text_input(label, **common)
