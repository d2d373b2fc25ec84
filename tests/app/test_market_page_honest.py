"""Market page: the honest welfare figures (allocative efficiency, delivered welfare) of a
real stored run."""

from __future__ import annotations

from app_driver import no_exception, texts


def test_honest_welfare_is_shown_for_a_real_run(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    no_exception(at)
    assert "Honest welfare" in [s.value for s in at.subheader]
    assert "pool-wide optimum on true costs" in texts(at, "caption")
    assert len(at.get("arrow_line_chart")) + len(at.get("vega_lite_chart")) >= 2
