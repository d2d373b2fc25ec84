"""Small tables as plain HTML (for `st.markdown`), sized to fit the page, not a data grid.

Streamlit's `st.dataframe` draws its cells on a canvas inside a scrolling box: a table
wider than the page scrolls sideways with its last columns out of view, and nothing in the
page (or a browser test) can see which cells are cut. These tables are HTML: they take
the container's width (``table-layout: fixed``), wrap long headers and names instead of
widening, and show a score in [0, 1] as a bar behind its number. Use them for tables of a
few dozen rows; big tables belong in `st.dataframe`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

_TABLE = ("width:100%;table-layout:fixed;border-collapse:collapse;font-size:0.85rem;"
          "margin-bottom:0.5rem")
_CELL = "padding:0.25rem 0.4rem;border-bottom:1px solid rgba(128,128,128,0.25);overflow-wrap:anywhere"
_BAR = "rgba(31,119,180,0.28)"


def _text(value: Any, fmt: str | Callable[[Any], str] | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt is None or isinstance(value, str):  # text is shown as it is
        return str(value)
    return fmt(value) if callable(fmt) else fmt.format(value)


def html_table(df: pd.DataFrame, *, headers: Mapping[str, str] | None = None,
               formats: Mapping[str, str | Callable[[Any], str]] | None = None,
               bars: Sequence[str] = (), index: str | None = None) -> str:
    """`df` as an HTML table that fits its container.

    headers: display name per column; formats: a format string or function per column for
    its numbers (text cells are shown as they are; None and NaN show "–"); bars: columns
    whose numbers are scores in [0, 1], drawn as a bar behind the number; index: show the
    index as a first column with this header.
    """
    headers, formats = dict(headers or {}), dict(formats or {})
    frame = df.reset_index(names=index) if index is not None else df
    cols = list(frame.columns)
    head = "".join(f'<th style="{_CELL};text-align:left">{html.escape(str(headers.get(c, c)))}</th>'
                   for c in cols)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for c, v in zip(cols, row, strict=True):
            style = _CELL
            if c in bars and isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v):
                share = max(0.0, min(1.0, float(v))) * 100
                style += f";background:linear-gradient(90deg,{_BAR} {share:.1f}%,transparent {share:.1f}%)"
            cells.append(f'<td style="{style}">{html.escape(_text(v, formats.get(c)))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="em-table" style="{_TABLE}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
