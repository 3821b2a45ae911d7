"""Journeys page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import app_test


@pytest.fixture
def page(app_db, monkeypatch):
    """The page file run directly (as after app.py has routed once), on the demo database copy."""
    from ui import nav

    monkeypatch.setattr(nav, "ROUTER_STARTED", True)
    return app_db


def _run():
    at = app_test("pages/journeys.py", timeout=120).run()
    assert not at.exception, at.exception
    return at


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_journeys_page_renders_funnel_tabs_and_charts(page):
    at = _run()
    assert at.title[0].value == "Journeys"
    assert [t.label for t in at.tabs] == ["Funnel", "Paths", "Touchpoints", "Moments of truth"]
    labels = [m.label for m in at.metric]
    for label in ("Entered", "Converted", "Conversion", "Median time to convert", "Repeat-purchase rate"):
        assert label in labels
    # Funnel, time to convert, trend, drop-off Sankey, paths Sankey, heat map, purchase gaps.
    assert len(at.get("plotly_chart")) >= 6
    assert at.expander[0].label.startswith("How the funnel counts")
    assert len(at.get("download_button")) >= 4


def test_changing_the_steps_and_order_changes_the_funnel(page):
    """Guards against a cached funnel that ignores the builder's controls."""
    at = _run()
    converted_five = _metric(at, "Converted")
    at.multiselect(key="j_steps_stage").set_value(["awareness", "purchase"]).run()
    assert not at.exception
    converted_short = _metric(at, "Converted")
    assert int(converted_short.replace(",", "")) > int(converted_five.replace(",", ""))
    at.selectbox(key="j_order").set_value("strict").run()
    assert not at.exception
    converted_strict = _metric(at, "Converted")
    assert int(converted_strict.replace(",", "")) <= int(converted_short.replace(",", ""))


def test_one_step_asks_for_more_and_an_exclusion_and_breakdown_render(page):
    at = _run()
    at.multiselect(key="j_steps_stage").set_value(["awareness"]).run()
    assert not at.exception
    assert any("at least two steps" in i.value for i in at.info)
    at.multiselect(key="j_steps_stage").set_value(["awareness", "interest", "purchase"]).run()
    at.selectbox(key="j_exclusion_stage").set_value("service").run()
    at.selectbox(key="j_breakdown").set_value("segment").run()
    assert not at.exception
    assert any("z-test" in c.value for c in at.caption)


def test_event_steps_and_per_step_windows(page):
    at = _run()
    at.segmented_control(key="j_level").set_value("event").run()
    assert not at.exception
    assert at.multiselect(key="j_steps_event").value == ["site_visit", "product_view", "add_to_cart", "purchase"]
    at.toggle(key="j_per_step").set_value(True).run()
    assert not at.exception
    assert at.number_input(key="j_step_window_2").value == 14


def test_saving_the_dropped_customers_as_a_segment(page):
    """Guards the write path: the button stores a saved segment the sidebar can offer."""
    at = _run()
    at.text_input(key="j_segment_name").set_value("Journey drop-outs").run()
    at.button(key="j_save_segment").click().run()
    assert not at.exception
    assert any("Journey drop-outs" in s.value for s in at.success)
    con = duckdb.connect(str(page))
    try:
        name, ids = con.execute("SELECT name, customer_ids FROM saved_segments").fetchone()
    finally:
        con.close()
    assert name == "Journey drop-outs" and len(ids) > 0
