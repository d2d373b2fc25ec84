"""app/ui/html_table.py: the HTML the QoAIS page renders its tables with."""

from __future__ import annotations

import math
import re

import pandas as pd

from app.ui.html_table import html_table


def test_cells_headers_formats_bars_and_escaping() -> None:
    df = pd.DataFrame({"cls": ["a<b", "c"], "score": [0.25, math.nan], "n": [1234, 5]})
    out = html_table(df, headers={"cls": "Class"}, formats={"score": "{:.2f}", "n": "{:,.0f}"}, bars=["score"])
    assert out.count("<tr>") == 3 and out.count("<td") == 6
    assert re.findall(r"<th[^>]*>([^<]*)</th>", out) == ["Class", "score", "n"]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", out)
    assert cells == ["a&lt;b", "0.25", "1,234", "c", "–", "5"]  # escaped; NaN as a dash
    # A bar filled to the score (25 %), none for the missing score, none outside `bars`.
    assert out.count("linear-gradient") == 1 and "25.0%" in out
    assert "table-layout:fixed" in out and "width:100%" in out


def test_index_becomes_a_named_first_column() -> None:
    t = pd.DataFrame({"xr": [0.5]}, index=pd.Index(["link delay"], name="indicator"))
    out = html_table(t, index="Indicator")
    assert re.findall(r"<th[^>]*>([^<]*)</th>", out) == ["Indicator", "xr"]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", out) == ["link delay", "0.5"]


def test_text_cells_skip_the_number_format_and_the_bar() -> None:
    t = pd.DataFrame({"xr": [0.5, "1,234"]}, index=["Overall", "Requests"], dtype=object)
    out = html_table(t, index="Score", formats={"xr": "{:.2f}"}, bars=["xr"])
    assert re.findall(r"<td[^>]*>([^<]*)</td>", out) == ["Overall", "0.50", "Requests", "1,234"]
    assert out.count("linear-gradient") == 1
