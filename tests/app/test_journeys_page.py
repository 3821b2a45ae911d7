"""Journeys page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from analytics import journeys
from analytics.charts import journeys as charts
from analytics.filters import Filters
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


def _steps(at, level="stage"):
    """The funnel's steps as the step boxes show them, in order."""
    boxes = [b for b in at.selectbox if b.key and b.key.startswith(f"j_steps_{level}_")]
    return [b.value for b in sorted(boxes, key=lambda b: int(b.key.rsplit("_", 1)[1]))]


def _set_steps(at, names, level="stage"):
    """Add or remove step boxes with the page's buttons until there are len(names), then pick the names."""
    while len(_steps(at, level)) < len(names):
        at.button(key=f"j_step_add_{level}").click().run()
    while len(_steps(at, level)) > len(names):
        at.button(key=f"j_step_remove_{level}").click().run()
    for k, name in enumerate(names, start=1):
        at.selectbox(key=f"j_steps_{level}_{k}").set_value(name)
    at.run()
    assert not at.exception, at.exception
    assert _steps(at, level) == list(names)
    return at


def _box(at, prefix):
    """The selectbox whose key starts with ``prefix`` (keys of step-naming selectors carry the naming)."""
    (box,) = [b for b in at.selectbox if b.key and b.key.startswith(prefix + "|")]
    return box


def _open_tab(at, label):
    """Switch the lazy tabs (they rerun on a switch, and only the open tab is drawn)."""
    at.session_state["j_tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


def test_journeys_page_renders_funnel_tabs_and_charts(page):
    at = _run()
    assert at.title[0].value == "Journeys"
    assert [t.label for t in at.tabs] == ["Funnel", "Paths", "Touchpoints", "Moments of truth"]
    labels = [m.label for m in at.metric]
    for label in ("Entered", "Converted", "Conversion", "Median time to convert"):
        assert label in labels
    # Funnel and time to convert; the funnel table, its download and that of the drop-out list.
    assert len(at.get("plotly_chart")) >= 2
    assert at.expander[0].label.startswith("How the funnel counts")
    assert len(at.get("download_button")) >= 4
    # The other tabs are not computed until opened.
    assert "Repeat-purchase rate" not in labels

    at.toggle(key="j_show_trend").set_value(True).run()
    at.toggle(key="j_drop_paths").set_value(True).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 5  # + trend, time trend, drop-off Sankey

    _open_tab(at, "Paths")
    assert len(at.get("plotly_chart")) >= 1 and "Entered" not in [m.label for m in at.metric]
    _open_tab(at, "Touchpoints")
    assert "Digital share" in [m.label for m in at.metric] and len(at.get("plotly_chart")) >= 1
    _open_tab(at, "Moments of truth")
    assert "Repeat-purchase rate" in [m.label for m in at.metric] and len(at.get("plotly_chart")) >= 1


def test_the_funnel_choices_survive_a_visit_to_another_tab(page):
    at = _run()
    _set_steps(at, ["awareness", "purchase"])
    at.selectbox(key="j_order").set_value("strict").run()
    converted = _metric(at, "Converted")
    _open_tab(at, "Paths")
    at.slider(key="j_path_depth").set_value(3).run()
    _open_tab(at, "Funnel")
    assert _steps(at) == ["awareness", "purchase"]
    assert at.selectbox(key="j_order").value == "strict"
    assert _metric(at, "Converted") == converted
    _open_tab(at, "Paths")
    assert at.slider(key="j_path_depth").value == 3


@pytest.mark.parametrize(
    ("steps", "options"),
    [
        (["awareness", "interest", "consideration", "intent", "purchase"], {}),
        (["awareness", "consideration", "purchase"], {"order": "strict"}),
        (["purchase", "awareness", "interest"], {"order": "unordered", "window": dt.timedelta(days=30)}),
        (["awareness", "interest", "purchase"], {"exclusions": [("service", 1, 3)]}),
        (
            ["awareness", "intent", "purchase"],
            {"step_windows": [dt.timedelta(days=3), None], "window": dt.timedelta(days=20)},
        ),
    ],
)
def test_the_shared_progress_gives_the_numbers_of_funnel_and_time_to_convert(demo_con, steps, options):
    """The page counts a funnel once (funnel_customers) and reads the table and times off it: same numbers."""
    events = journeys.journey_events(demo_con, Filters(), level="stage")
    progress = journeys.funnel_customers(events, steps, con=demo_con, **options)
    expected = journeys.funnel(events, steps, con=demo_con, **options)
    pd.testing.assert_frame_equal(
        charts.funnel_from_customers(progress, steps, order=options.get("order", "ordered")), expected
    )
    for a, b in [(1, len(steps)), (1, 2), (2, len(steps))]:
        bins, summary = journeys.conversion_time_bins(charts.conversion_seconds(progress, a, b), bins=24)
        want_bins, want_summary = journeys.time_to_convert(
            events, steps, from_step=a, to_step=b, bins=24, con=demo_con, **options
        )
        pd.testing.assert_frame_equal(bins, want_bins)
        assert summary == pytest.approx(want_summary, nan_ok=True)


def test_changing_the_steps_and_order_changes_the_funnel(page):
    """Guards against a cached funnel that ignores the builder's controls."""
    at = _run()
    converted_five = _metric(at, "Converted")
    _set_steps(at, ["awareness", "purchase"])
    converted_short = _metric(at, "Converted")
    assert int(converted_short.replace(",", "")) > int(converted_five.replace(",", ""))
    at.selectbox(key="j_order").set_value("strict").run()
    assert not at.exception
    converted_strict = _metric(at, "Converted")
    assert int(converted_strict.replace(",", "")) <= int(converted_short.replace(",", ""))


def test_the_step_boxes_keep_at_least_two_steps_and_an_exclusion_and_breakdown_render(page):
    at = _run()
    _set_steps(at, ["awareness", "purchase"])
    assert at.button(key="j_step_remove_stage").disabled  # a funnel needs two steps: no way to go below
    _set_steps(at, ["awareness", "interest", "purchase"])
    at.selectbox(key="j_exclusion_stage").set_value("service").run()
    at.selectbox(key="j_breakdown").set_value("segment").run()
    assert not at.exception
    assert any("z-test" in c.value for c in at.caption)


def test_event_steps_and_per_step_windows(page):
    at = _run()
    at.segmented_control(key="j_level").set_value("event").run()
    assert not at.exception
    assert _steps(at, "event") == ["site_visit", "product_view", "add_to_cart", "purchase"]
    at.toggle(key="j_per_step").set_value(True).run()
    assert not at.exception
    assert at.number_input(key="j_step_window_2").value == 14


def _segment_name_box(at):
    (box,) = [t for t in at.text_input if t.label == "Save them as a segment named"]
    return box


def test_the_suggested_segment_name_follows_the_chosen_drop_out_step(page):
    """Guards a segment of step-3 drop-outs being saved as "Dropped before interest" (the name suggested for
    step 2 stayed in the field when another step was picked)."""
    at = _run()
    assert _segment_name_box(at).value == "Dropped before step 2 (interest)"
    _box(at, "j_drop_step").set_value(3).run()
    assert _segment_name_box(at).value == "Dropped before step 3 (consideration)"
    at.button(key="j_save_segment").click().run()
    con = duckdb.connect(str(page))
    try:
        name, description = con.execute("SELECT name, description FROM saved_segments").fetchone()
    finally:
        con.close()
    assert name == "Dropped before step 3 (consideration)" and "before step 3" in description


def test_saving_the_dropped_customers_as_a_segment(page):
    """Guards the write path: the button stores a saved segment the sidebar can offer."""
    at = _run()
    _segment_name_box(at).set_value("Journey drop-outs").run()
    at.button(key="j_save_segment").click().run()
    assert not at.exception
    assert any("Journey drop-outs" in s.value for s in at.success)
    # The sidebar, drawn before the button, offers the new segment right away (the page ran again).
    assert "Journey drop-outs" in at.selectbox(key="f_saved").options
    con = duckdb.connect(str(page))
    try:
        name, ids = con.execute("SELECT name, customer_ids FROM saved_segments").fetchone()
    finally:
        con.close()
    assert name == "Journey drop-outs" and len(ids) > 0


def test_a_funnel_can_repeat_a_step_and_counts_it_as_a_second_event(page):
    """Guards rule 4 being reachable from the page: "purchase" twice is the repeat-purchase funnel, and its
    second step counts only customers with a second purchase (the engine's count on the sidebar's period)."""
    from analytics import overview, store

    con = store.connect(page)  # before the page opens its own connection to the file
    try:
        first, last = overview.filter_options(con)["period"]
        period = Filters(start=max(first, last - dt.timedelta(days=364)), end=last)  # the sidebar's default
        events = journeys.journey_events(con, period, level="stage").df()
    finally:
        con.close()
    expected = tuple(journeys.funnel(events, ["purchase", "purchase"])["customers"])

    at = _run()
    _set_steps(at, ["purchase", "purchase"], level="stage")
    once, twice = at.dataframe[0].value["Customers"].tolist()
    assert 0 < twice < once
    assert (once, twice) == expected


def test_more_paths_shown_cover_more_customers_and_the_caption_says_how_many(page):
    """Guards a Sankey of the top 15 paths read as everyone's journey: the caption names the covered share,
    and asking for more paths raises it."""
    at = _run()
    _open_tab(at, "Paths")
    few = at.dataframe[0].value
    assert len(few) == 15
    covered = few["Share"].sum()
    assert any(f"The 15 most frequent paths, followed by {covered:.1%}" in c.value for c in at.caption)
    at.slider(key="j_path_count").set_value(50).run()
    assert not at.exception
    more = at.dataframe[0].value
    assert len(more) == 50 and more["Share"].sum() > covered
    assert more["Customers"].head(15).tolist() == few["Customers"].tolist()  # the same top paths first


def test_a_funnel_in_any_order_names_its_steps_by_count_everywhere(page):
    """Guards step names in the selectors ("2. interest") that a funnel in any order does not have: its step k
    is "any k of the n steps", in the chart, the table and the selectors alike."""
    at = _run()
    at.selectbox(key="j_order").set_value("unordered").run()
    assert not at.exception
    assert at.dataframe[0].value["Name"].tolist() == ["1 of 5", "2 of 5", "3 of 5", "4 of 5", "5 of 5"]
    assert _box(at, "j_drop_step").options == ["2 of 5 steps", "3 of 5 steps", "4 of 5 steps", "5 of 5 steps"]
    assert _box(at, "j_ttc_pair").value == (1, 5)
    assert "1 of 5 steps → 5 of 5 steps" in _box(at, "j_ttc_pair").options
    assert _segment_name_box(at).value == "Stopped at 1 of 5 steps"


def test_touchpoints_counted_by_customers_show_each_customer_once(page):
    """Guards a "digital share" of summed cell counts in the Customers view (a customer counted once per cell):
    the view shows reach, each customer once, checked against a count of distinct customers per kind."""
    from analytics import overview, schema, store

    con = store.connect(page)
    try:
        first, last = overview.filter_options(con)["period"]
        start = max(first, last - dt.timedelta(days=364))
        digital, analogue, everyone = con.execute(
            "SELECT count(DISTINCT customer_id) FILTER (WHERE channel IN (SELECT unnest($d))), "
            "count(DISTINCT customer_id) FILTER (WHERE channel IN (SELECT unnest($a))), "
            "count(DISTINCT customer_id) FROM interactions "
            "WHERE channel IS NOT NULL AND occurred_at >= $s AND occurred_at < $e",
            {
                "d": list(schema.DIGITAL_CHANNELS),
                "a": list(schema.ANALOGUE_CHANNELS),
                "s": start,
                "e": last + dt.timedelta(days=1),
            },
        ).fetchone()
    finally:
        con.close()
    at = _run()
    _open_tab(at, "Touchpoints")
    at.segmented_control(key="j_touch_measure").set_value("customers").run()
    assert not at.exception
    assert _metric(at, "Reached on digital channels") == f"{digital / everyone:.1%}"
    assert _metric(at, "Reached on analogue channels") == f"{analogue / everyone:.1%}"
    assert "Digital share" not in [m.label for m in at.metric]


def test_moments_show_the_time_between_purchases_in_days(page):
    """Guards "77.3" without a unit among percentages: the loyalty loop's median, with "days"."""
    from analytics import overview, store

    con = store.connect(page)
    try:
        first, last = overview.filter_options(con)["period"]
        period = Filters(start=max(first, last - dt.timedelta(days=364)), end=last)
        loyalty, _gaps = journeys.loyalty_loop(con, period)
    finally:
        con.close()
    at = _run()
    _open_tab(at, "Moments of truth")
    assert _metric(at, "Time between purchases (median)") == f"{loyalty['median_days_between']:,.1f} days"


def test_the_drop_off_table_shows_shares_like_the_chart_and_a_dash_after_an_empty_step(page):
    """Guards "None" in "% of previous" after a step nobody reached, and 27.33% in the table beside 27.3% on the
    chart: shares are written as the chart writes them, "–" where they are undefined."""
    at = _run()
    _set_steps(at, ["purchase"] * 6)
    table = at.dataframe[0].value
    customers = table["Customers"].tolist()
    assert customers[-1] == 0 < customers[0]  # six purchases within 14 days: nobody in the demo
    for k in range(len(customers)):
        first = f"{customers[k] / customers[0]:.1%}"
        previous = "100.0%" if k == 0 else ("–" if customers[k - 1] == 0 else f"{customers[k] / customers[k - 1]:.1%}")
        assert (table["% of first"][k], table["% of previous"][k]) == (first, previous)
    assert "–" in table["% of previous"].tolist()
