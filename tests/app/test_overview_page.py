"""Overview page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import datetime as dt

from tests.conftest import app_test


def test_overview_shows_six_kpi_tiles_and_the_revenue_chart(app_db):
    at = app_test("pages/overview.py").run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    labels = [m.label for m in at.metric]
    assert labels == [
        "Customers",
        "Active customers",
        "Revenue",
        "Churn rate (90 days inactive)",
        "Average CLV",
        "Funnel conversion",
    ]
    assert all(m.value not in ("", None) for m in at.metric)
    assert at.get("plotly_chart")


def test_filters_change_the_numbers(app_db):
    at = app_test("pages/overview.py").run()
    before = at.metric[0].value
    country = at.multiselect(key="f_country")
    at = country.set_value([country.options[0]]).run()
    assert not at.exception
    assert at.metric[0].value != before


def test_filters_are_read_from_the_url(app_db):
    at = app_test("pages/overview.py")
    at.query_params["f_country"] = "DE"
    at.run()
    assert not at.exception
    assert at.multiselect(key="f_country").value == ["DE"]


def test_an_empty_period_says_so_instead_of_failing(app_db):
    at = app_test("pages/overview.py").run()
    first = at.date_input(key="f_period").min
    at.date_input(key="f_period").set_value((first, first + dt.timedelta(days=0))).run()
    assert not at.exception


def test_every_change_starts_with_its_sign(app_db):
    """Guards a fall shown as a green rise: Streamlit reads the direction from the first character."""
    at = app_test("pages/overview.py").run()
    deltas = [m.delta for m in at.metric if m.delta]
    assert deltas
    assert all(d[0] in "+-" for d in deltas)


def test_the_churn_tile_says_its_rule_and_points_to_the_churn_page(app_db):
    """The Overview's fixed 90-day rule differs from the Churn page's learned horizon: the tile must say so."""
    at = app_test("pages/overview.py").run()
    tile = next(m for m in at.metric if m.label.startswith("Churn rate"))
    assert tile.label == "Churn rate (90 days inactive)"
    assert "no order and no interaction in the last 90 days" in tile.help
    assert "Churn and value page" in tile.help


def test_a_one_day_period_is_compared_with_the_day_before(app_db):
    """Regression guard: the caption said 'compared with the 1 days before'."""
    at = app_test("pages/overview.py").run()
    last = at.date_input(key="f_period").max
    at.date_input(key="f_period").set_value((last, last)).run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert any(c.endswith("compared with the day before.") for c in captions)
    assert not any("1 days" in c for c in captions)
    at.date_input(key="f_period").set_value((last - dt.timedelta(days=1), last)).run()
    assert any(c.endswith("compared with the 2 days before.") for c in at.caption.values)
