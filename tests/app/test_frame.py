"""The shared frame's sidebar filters (ui.frame) through AppTest: what a shared link can and cannot set."""

from __future__ import annotations

import duckdb

from tests.conftest import app_test


def open_overview(**query: str | list[str]):
    at = app_test("pages/overview.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def test_a_link_to_a_deleted_saved_segment_says_so(app_db):
    """Guards the review's finding: /?f_saved=DoesNotExist silently showed all customers."""
    at = open_overview(f_saved="DoesNotExist")
    assert at.selectbox(key="f_saved").value is None
    assert warnings(at) == [
        "The link asked for the saved segment “DoesNotExist”, which no longer exists; the page shows all "
        "customers instead (within the other filters)."
    ]
    # Must not happen: a stack trace instead of the message.
    assert not at.exception


def test_the_warning_stays_until_a_filter_changes(app_db):
    """Guards that the notice does not vanish on the next rerun, and does not outlive the link's view."""
    at = open_overview(f_country="XX")
    assert len(warnings(at)) == 1
    at.run()
    assert len(warnings(at)) == 1
    at.multiselect(key="f_country").set_value(["DE"]).run()
    assert not at.exception
    assert warnings(at) == []


def test_an_unknown_country_is_named_and_the_known_ones_kept(app_db):
    """Guards the review's finding: /?f_country=XX dropped the country without notice."""
    at = open_overview(f_country=["DE", "XX"])
    assert at.multiselect(key="f_country").value == ["DE"]
    assert warnings(at) == [
        "The link asked for the country “XX”, which does not occur in the data; the filter leaves it out."
    ]

    at = open_overview(f_country="XX", f_segment=["Nope", "Gone"])
    assert at.multiselect(key="f_country").value == []
    assert warnings(at) == [
        "The link asked for the segments “Nope”, “Gone”, which do not occur in the data; the page shows all segments.",
        "The link asked for the country “XX”, which does not occur in the data; the page shows all countries.",
    ]


def test_a_period_outside_the_data_is_named(app_db):
    at = open_overview(f_period=["1990-01-01", "1990-02-01"])
    (message,) = warnings(at)
    assert message.startswith("The link asked for the period “1990-01-01 – 1990-02-01”, which is not within the data")
    assert message.endswith("the page shows the default period, the data's last 12 months.")


def test_a_valid_link_shows_no_warning(app_db):
    with duckdb.connect(str(app_db)) as con:
        country = con.execute("SELECT min(country) FROM customers").fetchone()[0]
        first, last = con.execute("SELECT min(occurred_at)::DATE, max(occurred_at)::DATE FROM interactions").fetchone()
    at = open_overview(f_country=country, f_period=[str(first), str(last)])
    assert at.multiselect(key="f_country").value == [country]
    # Must not happen: a warning about a filter the link set correctly.
    assert warnings(at) == []


def test_a_linked_value_is_shown_as_plain_text(app_db):
    """Guards against a crafted link styling the message: its value is escaped, never Markdown or HTML."""
    at = open_overview(f_saved="**Big** [x](https://example.org) :red[alert] <b>")
    (message,) = warnings(at)
    assert "“\\*\\*Big\\*\\* \\[x\\](https\\://example.org) \\:red\\[alert\\] \\<b\\>”" in message


def test_the_saved_segment_box_shows_a_placeholder_when_empty(app_db):
    """Guards the review's finding: the box showed 'None' with a clear button when nothing was chosen."""
    at = open_overview()
    saved = at.selectbox(key="f_saved")
    assert saved.value is None
    assert saved.proto.placeholder == "No saved segment"
    assert None not in saved.options and "None" not in saved.options
