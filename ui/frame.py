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
from ui.i18n import LOCALE, _, fmt_date

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
        on_change=_forget_link_warnings,
        help=_(
            "Every page counts only what happened in this period. The KPIs compare it with the period of equal length just before."
        ),
    )
    if isinstance(picked, (tuple, list)) and len(picked) == 2:
        return picked[0], picked[1]
    if isinstance(picked, (tuple, list)) and len(picked) == 1:
        return picked[0], picked[0]
    return default


#: Session-state key of the warnings about filter values a link asked for but that do not exist.
LINK_WARNINGS_KEY = "frame_link_warnings"

#: Longest filter value quoted in a warning; a longer one is cut with an ellipsis.
QUOTED_VALUE_LIMIT = 60

#: Most values quoted per filter in a warning; the rest are counted.
QUOTED_VALUES_SHOWN = 5

#: Characters that mean something to Streamlit's Markdown inside a sentence (emphasis, code, links,
#: HTML-like tags, tables, maths, ``:colour[...]`` and ``:icon:`` directives), escaped in quoted values.
_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>#|~$:"})


def _quoted(values: list[str]) -> str:
    """Values from the URL -> '“DE”, “XX”' for a message, each shortened and escaped for Markdown.

    The values come from whoever wrote the link: they are shown as plain text, never as Markdown
    or HTML.
    """
    shown = []
    for value in values[:QUOTED_VALUES_SHOWN]:
        text = value if len(value) <= QUOTED_VALUE_LIMIT else value[: QUOTED_VALUE_LIMIT - 1] + "…"
        shown.append("“" + text.translate(_MARKDOWN_SPECIALS) + "”")
    text = ", ".join(shown)
    if len(values) > QUOTED_VALUES_SHOWN:
        text += " " + _("and {count} more").format(count=len(values) - QUOTED_VALUES_SHOWN)
    return text


def _asked_for(key: str) -> list[str]:
    """The non-empty values the URL holds for a filter's query parameter, in order, once each."""
    return list(dict.fromkeys(v for v in st.query_params.get_all(key) if v != ""))


def _unknown_choices(key: str, known: list[str]) -> tuple[list[str], bool]:
    """A multi-value filter's URL values -> (those not among ``known``, whether no value is left)."""
    asked = _asked_for(key)
    unknown = [v for v in asked if v not in known]
    return unknown, bool(unknown) and len(unknown) == len(asked)


def _parse_link_date(text: str) -> dt.date | None:
    """A date as Streamlit writes it into the URL (YYYY-MM-DD, or YYYY/MM/DD) -> date; None otherwise."""
    for pattern in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class ChoiceFilter:
    """A multi-choice sidebar filter: widget key (and query parameter), the list of ``_filter_options``
    it offers, its label and placeholder, and how a link warning names one, several or all values."""

    key: str
    options: str
    label: str
    placeholder: str
    one: str
    several: str
    everything: str


def _choice_filters() -> tuple[ChoiceFilter, ...]:
    """The sidebar's multi-choice filters, in order (the sidebar draws them, the link check reads them)."""
    return (
        ChoiceFilter(
            "f_segment", "segments", _("Segment"), _("All segments"),
            _("the segment"), _("the segments"), _("all segments"),
        ),
        ChoiceFilter(
            "f_country", "countries", _("Country"), _("All countries"),
            _("the country"), _("the countries"), _("all countries"),
        ),
        ChoiceFilter(
            "f_channel", "channels", _("Acquisition channel"), _("All channels"),
            _("the acquisition channel"), _("the acquisition channels"), _("all channels"),
        ),
    )  # fmt: skip


def link_warnings(options: dict[str, list[str]], bounds: tuple[dt.date, dt.date]) -> list[str]:
    """The sentences that explain which filter values in the URL cannot be applied (empty when all can).

    Streamlit drops a bound widget's URL value that is not among its options (a saved segment
    deleted since the link was copied, a country no longer in the data, a period outside the data)
    and shows the default instead, without a word. This reads the URL before the widgets do, so
    the page can say what it left out. Call it before the filter widgets are drawn.
    """
    found = []
    period = _asked_for("f_period")
    if period:
        dates = [_parse_link_date(v) for v in period]
        first, last = bounds
        if any(d is None or d < first or d > last for d in dates):
            found.append(
                _(
                    "The link asked for the period {values}, which is not within the data ({first} to {last}); "
                    "the page shows the default period, the data's last 12 months."
                ).format(values=_quoted([" – ".join(period)]), first=fmt_date(first), last=fmt_date(last))
            )
    for choice in _choice_filters():
        key, one, several, everything = choice.key, choice.one, choice.several, choice.everything
        unknown, nothing_left = _unknown_choices(key, options[choice.options])
        if not unknown:
            continue
        templates = {
            (False, True): _(
                "The link asked for {what} {values}, which does not occur in the data; the page shows {all}."
            ),
            (False, False): _(
                "The link asked for {what} {values}, which does not occur in the data; the filter leaves it out."
            ),
            (True, True): _(
                "The link asked for {what} {values}, which do not occur in the data; the page shows {all}."
            ),
            (True, False): _(
                "The link asked for {what} {values}, which do not occur in the data; the filter leaves them out."
            ),
        }
        what = several if len(unknown) > 1 else one
        template = templates[(len(unknown) > 1, nothing_left)]
        found.append(template.format(what=what, values=_quoted(unknown), all=everything))
    saved = _asked_for("f_saved")
    if saved and saved[-1] not in options["saved_segments"]:
        found.append(
            _(
                "The link asked for the saved segment {values}, which no longer exists; the page shows all "
                "customers instead (within the other filters)."
            ).format(values=_quoted(saved[-1:]))
        )
    return found


def _forget_link_warnings() -> None:
    """Once the user changes a filter, the view is theirs: the link's warnings no longer apply."""
    st.session_state.pop(LINK_WARNINGS_KEY, None)


def _show_link_warnings() -> None:
    for message in st.session_state.get(LINK_WARNINGS_KEY, []):
        st.warning(message, icon=":material/link_off:")


def sidebar_filters() -> Filters:
    """Draw the global filters in the sidebar (kept in the URL) and return them.

    Filter values in the URL that cannot be applied are named in a warning at the top of the
    page, which stays until the user changes a filter.
    """
    options = _filter_options(store.VERSION)
    bounds = options.get("period") or [dt.date.today() - dt.timedelta(days=365), dt.date.today()]
    dropped = link_warnings(options, (bounds[0], bounds[1]))
    if dropped:
        st.session_state[LINK_WARNINGS_KEY] = dropped
    _show_link_warnings()
    st.sidebar.subheader(_("Filters"))
    start, end = _date_range((bounds[0], bounds[1]))
    chosen = {
        choice.key: st.sidebar.multiselect(
            choice.label,
            options[choice.options],
            key=choice.key,
            bind="query-params",
            placeholder=choice.placeholder,
            on_change=_forget_link_warnings,
        )
        for choice in _choice_filters()
    }
    saved = st.sidebar.selectbox(
        _("Saved segment"),
        options["saved_segments"],
        index=None,
        placeholder=_("No saved segment"),
        key="f_saved",
        bind="query-params",
        help=_("Customer groups saved on the Segments page."),
        on_change=_forget_link_warnings,
    )
    return Filters(
        start=start,
        end=end,
        segments=tuple(chosen["f_segment"]),
        countries=tuple(chosen["f_country"]),
        channels=tuple(chosen["f_channel"]),
        saved_segment=saved,
    )


def flash_and_rerun(key: str, message: str) -> None:
    """Keep ``message`` under ``key`` and run the page again, so what was drawn before the change (the
    sidebar, a table above) shows it; :func:`show_flash` shows the message once on that run."""
    st.session_state[key] = message
    st.rerun()


def show_flash(key: str, *, icon: str | None = None) -> None:
    """Show, once, the message :func:`flash_and_rerun` kept under ``key``."""
    if key in st.session_state:
        st.success(st.session_state.pop(key), icon=icon)


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
