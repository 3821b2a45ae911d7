"""Overview page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import datetime as dt

from tests.conftest import app_test


def test_overview_shows_six_kpi_tiles_and_the_revenue_chart(app_db):
    at = app_test("pages/overview.py").run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    labels = [m.label for m in at.metric]
    assert labels == ["Customers", "Active customers", "Revenue", "Churn rate", "Average CLV", "Funnel conversion"]
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
