"""Showing user text safely: Markdown with every special character escaped (never raw HTML)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&\"'=])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown (and Streamlit's $math$, :emoji:, ~~strike~~) punctuation; collapse
    newlines so user text cannot start a heading, list or block."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def token_markdown(tokens: Iterable[Mapping]) -> str:
    """Known tokens in bold, out-of-vocabulary tokens struck through, each escaped."""
    parts = [f"**{escape_markdown(t['token'])}**" if t["known"] else f"~~{escape_markdown(t['token'])}~~"
             for t in tokens]
    return " · ".join(parts)
