"""Every page renders without exceptions on an empty store and on a filled one."""

from __future__ import annotations

import pytest
from app_driver import PAGES


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_on_empty_store(app_at, empty_db, page):
    at = app_at(empty_db, page)
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(i.value for i in at.info)
    if page == "learning":
        assert "edgemarket train" in text
    elif page != "run":
        assert "Run page" in text or "edgemarket run" in text


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_on_filled_store(app_at, filled_db, page):
    at = app_at(filled_db, page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("plotly_chart"), f"no chart on {page}"
