"""The shared frame every page starts with: store handle, page config, sidebar filters.

Each page begins with ``ctx = page_setup(_("Title"))``. That works whether the page was reached
through ``app.py``'s navigation or opened by its own URL on a fresh server.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import duckdb
import streamlit as st

from analytics import overview, store
from analytics.filters import Filters
from ui.i18n import LOCALE, _

APP_TITLE = "Customer Workbench"


@st.cache_resource(show_spinner=False)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    demo_size = int(os.environ.get("WORKBENCH_DEMO_CUSTOMERS", "5000"))
    return store.bootstrap(path, demo_customers=demo_size)


def connection() -> duckdb.DuckDBPyConnection:
    """The process's connection (created, migrated and filled with demo data on first use).

    On a locked or unreadable file, shows a plain message and stops the page.
    """
    try:
        with st.spinner(_("Opening the database (the first start creates demo data)…")):
            return _connection(str(store.db_path()))
    except store.StoreError as exc:
        st.error(_("The workbench cannot open its database.") + " " + str(exc), icon=":material/lock:")
        st.stop()


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor for this run of this session (DuckDB connections are not shared by threads)."""
    return connection().cursor()


@dataclass(frozen=True)
class PageContext:
    con: duckdb.DuckDBPyConnection
    filters: Filters
    version: int


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def _filter_options(version: int) -> dict[str, list[str]]:
    return overview.filter_options(cursor())


def _date_range(bounds: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    first, last = bounds
    default = (max(first, last - dt.timedelta(days=364)), last)
    picked = st.sidebar.date_input(
        _("Period"),
        value=default,
        min_value=first,
        max_value=last,
        key="f_period",
        format="DD.MM.YYYY" if LOCALE == "de" else "YYYY-MM-DD",
        bind="query-params",
        help=_(
            "Every page counts only what happened in this period. The KPIs compare it with the period of equal length just before."
        ),
    )
    if isinstance(picked, (tuple, list)) and len(picked) == 2:
        return picked[0], picked[1]
    if isinstance(picked, (tuple, list)) and len(picked) == 1:
        return picked[0], picked[0]
    return default


def sidebar_filters() -> Filters:
    """Draw the global filters in the sidebar (kept in the URL) and return them."""
    options = _filter_options(store.VERSION)
    bounds = options.get("period") or [dt.date.today() - dt.timedelta(days=365), dt.date.today()]
    st.sidebar.subheader(_("Filters"))
    start, end = _date_range((bounds[0], bounds[1]))
    segments = st.sidebar.multiselect(
        _("Segment"), options["segments"], key="f_segment", bind="query-params", placeholder=_("All segments")
    )
    countries = st.sidebar.multiselect(
        _("Country"), options["countries"], key="f_country", bind="query-params", placeholder=_("All countries")
    )
    channels = st.sidebar.multiselect(
        _("Acquisition channel"),
        options["channels"],
        key="f_channel",
        bind="query-params",
        placeholder=_("All channels"),
    )
    saved = st.sidebar.selectbox(
        _("Saved segment"),
        [None, *options["saved_segments"]],
        format_func=lambda v: _("None") if v is None else v,
        key="f_saved",
        bind="query-params",
        help=_("Customer groups saved on the Segments page."),
    )
    return Filters(
        start=start,
        end=end,
        segments=tuple(segments),
        countries=tuple(countries),
        channels=tuple(channels),
        saved_segment=saved,
    )


def page_setup(title: str, *, filters: bool = True) -> PageContext:
    """Start a page: config, title, store and (optionally) the sidebar filters.

    When a deep link ran this page file directly on a fresh server, hand over to the router, which
    runs the page again inside the app's navigation, and stop this outer run.
    """
    from ui import nav

    if not nav.ROUTER_STARTED:
        nav.route()
        st.stop()
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=":material/groups:", layout="wide")
    con = connection()
    st.title(title)
    chosen = sidebar_filters() if filters else Filters()
    return PageContext(con=con, filters=chosen, version=store.VERSION)
