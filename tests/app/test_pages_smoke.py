"""Every page renders without exceptions on an empty store and on a store with real runs."""

from __future__ import annotations

import pytest
from app_driver import PAGES, no_exception, texts


@pytest.mark.parametrize("page", list(PAGES))
def test_page_on_empty_store_says_how_to_get_data(app_at, empty_db, page):
    at = app_at(empty_db, page)
    no_exception(at)
    info = texts(at, "info")
    if page == "learning":
        assert "edgemarket train" in info
    else:
        assert "Run" in info and "edgemarket run" in info
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("page", list(PAGES))
def test_page_on_a_real_run(app_at, app_db, page):
    at = app_at(app_db.url, page, app_db.uniform)
    no_exception(at)
    assert at.get("plotly_chart"), f"no chart on {page}"
