"""Journeys in a real browser: build a funnel from event names and see its chart and step table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import current, screenshot, wait_for_app

pytestmark = pytest.mark.e2e

WAIT = 60_000  # ms an expectation waits for the app (the machine is shared with other test runs)
EVENT_STEPS = ("site_visit", "product_view", "add_to_cart", "purchase")  # the page's default event funnel


def _focused_step_grid(page, *, rows: int):
    """The drop-off table's grid, focused until it shows its accessible table with ``rows`` data rows.

    A rerun can replace the grid (and drop the focus) just after it was focused, so focus is retried
    while waiting for the grid's own state (its row count), never for a fixed time.
    """
    grid = page.locator("[data-testid='stDataFrame'] [data-testid='data-grid-canvas']").first
    for _attempt in range(10):
        grid.focus()
        try:
            expect(grid.locator("table")).to_have_attribute("aria-rowcount", str(rows + 1), timeout=WAIT // 10)
            return grid
        except AssertionError:
            wait_for_app(page)
    expect(grid.locator("table")).to_have_attribute("aria-rowcount", str(rows + 1), timeout=WAIT)
    return grid


def test_a_funnel_built_from_event_names_draws_its_chart_and_step_table(shared_server, page):
    """Guards the funnel tab against drawing nothing or a warning instead of the funnel when it is built in the
    browser (regression to watch: the engine's input checks moved into its main query, so a check that fired on
    good input would show "This funnel cannot be counted" here while the unit tests call the engine directly)."""
    page.goto(f"{shared_server.url}/journeys")
    wait_for_app(page)
    chart = current(page, "j_funnel_chart").get_by_test_id("stPlotlyChart")
    expect(chart).to_be_visible(timeout=WAIT)

    # Build a funnel: steps from event names (found by its label, then checked by its widget key).
    level = page.get_by_role("radio", name="Event names", exact=True)
    expect(current(page, "j_level").get_by_role("radio", name="Event names", exact=True)).to_have_count(1)
    level.click()
    wait_for_app(page)
    for k, name in enumerate(EVENT_STEPS, start=1):  # one box per step, in order
        expect(current(page, f"j_steps_event_{k}").get_by_role("combobox")).to_have_value(name, timeout=WAIT)

    # The chart shows the new steps (one bar per step) with customer counts on the bars.
    expect(chart).to_contain_text(f"1. {EVENT_STEPS[0]}", timeout=WAIT)
    expect(chart).to_contain_text(f"{len(EVENT_STEPS)}. {EVENT_STEPS[-1]}", timeout=WAIT)
    expect(chart.locator(".funnellayer .point")).to_have_count(len(EVENT_STEPS), timeout=WAIT)
    expect(chart).to_contain_text(re.compile(r"\d[\d,]* · 100\.0% of first"), timeout=WAIT)
    wait_for_app(page)

    # The step table under "Drop-off by step" lists the steps with their numbers. The grid draws on a
    # canvas; it writes its accessible table (the cells as text) once it has the focus.
    expect(page.get_by_role("heading", name="Drop-off by step", exact=True)).to_be_visible(timeout=WAIT)
    grid = _focused_step_grid(page, rows=len(EVENT_STEPS))
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text(EVENT_STEPS[0], timeout=WAIT)
    expect(grid.get_by_test_id(f"glide-cell-1-{len(EVENT_STEPS) - 1}")).to_have_text(EVENT_STEPS[-1], timeout=WAIT)
    for row in range(len(EVENT_STEPS)):  # Customers column: a count on every step
        expect(grid.get_by_test_id(f"glide-cell-2-{row}")).to_have_text(re.compile(r"^\d[\d,.]*$"), timeout=WAIT)
    expect(grid.get_by_test_id("glide-cell-2-0")).not_to_have_text("0")
    screenshot(page, "journeys_event_funnel")

    # Must not happen: the engine refusing a good funnel, or an exception box.
    expect(page.get_by_text("This funnel cannot be counted")).to_have_count(0)
    assert page.locator('[data-testid="stException"]').count() == 0


def _pick(page, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox with widget ``key`` and wait for the run it starts."""
    box = current(page, key).get_by_role("combobox")
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def _metric_value(page, label: str) -> str:
    tile = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return tile.locator('[data-testid="stMetricValue"]').inner_text()


def test_the_funnel_builder_shows_the_kept_choices_after_another_tab_and_level(shared_server, page):
    """Guards the builder showing its defaults on screen after a visit to another tab (or to the other level)
    while the page kept counting the user's funnel: what the boxes show must be what is counted."""
    page.goto(f"{shared_server.url}/journeys")
    wait_for_app(page)
    for _ in range(3):  # five stages -> two steps
        current(page, "j_step_remove_stage").get_by_role("button").click()
        wait_for_app(page)
    _pick(page, "j_steps_stage_1", "purchase")
    _pick(page, "j_steps_stage_2", "purchase")
    converted = _metric_value(page, "Converted")

    for away in (
        lambda: page.get_by_role("tab", name="Touchpoints").click(),
        lambda: page.get_by_role("radio", name="Event names", exact=True).click(),
    ):
        away()
        wait_for_app(page)
        if page.get_by_role("tab", name="Funnel", selected=False).count():
            page.get_by_role("tab", name="Funnel").click()
        else:
            page.get_by_role("radio", name="Journey stages", exact=True).click()
        wait_for_app(page)
        for k in (1, 2):
            expect(current(page, f"j_steps_stage_{k}").get_by_role("combobox")).to_have_value("purchase", timeout=WAIT)
        expect(current(page, "j_steps_stage_3")).to_have_count(0)
        expect(current(page, "j_exclusion_stage").get_by_role("combobox")).to_have_value("No exclusion", timeout=WAIT)
        expect(current(page, "j_breakdown").get_by_role("combobox")).to_have_value("No breakdown", timeout=WAIT)
        assert _metric_value(page, "Converted") == converted
    # Selectors that name the steps follow a renamed step (they kept showing "2. purchase").
    _pick(page, "j_steps_stage_2", "intent")
    drop_step = page.locator("[class*='st-key-j_drop_step-']:not([data-stale='true'])").get_by_role("combobox")
    expect(drop_step).to_have_value("2. intent", timeout=WAIT)
    screenshot(page, "journeys_kept_choices")
    assert page.locator('[data-testid="stException"]').count() == 0
