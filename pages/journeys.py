"""Journeys: funnel builder, drop-off, time to convert, trends, paths, touchpoint heat map, moments of truth."""

from __future__ import annotations

import datetime as dt
import zlib

import pandas as pd
import streamlit as st

from analytics import journeys as jn
from analytics import schema
from analytics.charts import journeys as charts
from ui.downloads import download_buttons
from ui.frame import cursor, flash_and_rerun, page_setup, show_flash
from ui.i18n import _, fmt_date, fmt_number, fmt_pct

ctx = page_setup(_("Journeys"))
f = ctx.filters

# --- texts ---------------------------------------------------------------------------------------

ORDER_NAMES = {
    "ordered": _("In this order (other events may come between)"),
    "strict": _("Strictly one after the other (nothing in between)"),
    "unordered": _("In any order"),
}
UNITS = {"hours": (_("hours"), 3600), "days": (_("days"), 86400), "weeks": (_("weeks"), 7 * 86400)}
PERIOD_NAMES = {"day": _("day"), "week": _("week"), "month": _("month")}
BREAKDOWN_NAMES = {
    "acquisition_channel": _("Acquisition channel"),
    "segment": _("Segment"),
    "country": _("Country"),
    "customer_type": _("Customer type (B2B / B2C)"),
    "region": _("Region"),
    "industry": _("Industry"),
    "employees": _("Employees"),
}
SEMANTICS = _(
    """
**How the funnel counts customers**

1. A customer enters with an event of the first step. Events of later steps that happen before it do not count.
2. The conversion window runs from that first-step event to every later step. An event exactly at the end of the window still counts.
3. Each new first-step event starts a new attempt. A customer is counted at the furthest step any attempt reached, so the numbers can only fall from step to step.
4. One event fills one step. A funnel that repeats an event needs it twice.
5. The first attempt to reach a customer's furthest step sets the times; later attempts are ignored. If several attempts get there with the same event, the one that started last counts.
6. Events of different steps at the same moment are taken in step order, so they convert.
7. *Strictly one after the other*: any other event of the customer between two steps breaks the attempt. *In any order*: the steps may come in any order within the window from the first of them.
8. Exclusions: an excluded event between the chosen steps, inside the window, spoils the attempt. A customer whose furthest attempt is spoiled leaves the funnel entirely, unless a clean attempt gets as far. In an any-order funnel an excluded event starts the counting again.
9. Time to convert is measured from the previous step of the attempt that counted. Median and mean leave out conversions in zero seconds.
10. Over time, a customer belongs to the period of their first-step event (a customer with attempts in several periods counts in each).

Only interactions inside the period in the sidebar count, so a journey that began before it enters at its first event inside the period.
"""
)

# --- cached reads --------------------------------------------------------------------------------
# Every read is cached on small keys (filters, data version, the funnel definition). A funnel is
# counted once per definition: the per-customer progress (one row per entered customer) is held by
# reference in a resource cache, because a data cache would copy its hundreds of thousands of rows on
# every rerun; the funnel table, time to convert and drop-outs are small data-cached results read off it.

DROPPED_PREVIEW = 1_000  # rows of the drop-out list shown on the page (the full list is a download)
EXCEL_ROWS = 50_000  # longer lists download as CSV and Parquet only (an Excel file that size takes long to build)


def engine_options(options: tuple) -> dict:
    """The page's hashable funnel options (window s, order, exclusions, step windows s) -> funnel() keyword options."""
    window, order, exclusions, step_windows = options
    return {
        "window": dt.timedelta(seconds=window),
        "order": order,
        "exclusions": exclusions,
        "step_windows": None
        if step_windows is None
        else [None if w is None else dt.timedelta(seconds=w) for w in step_windows],
    }


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_options(filters, version: int) -> dict[str, list[str]]:
    return jn.step_options(cursor(), filters)


@st.cache_resource(ttl=600, max_entries=4, show_spinner=False)
def load_progress(filters, version: int, level: str, steps: tuple, options: tuple) -> pd.DataFrame:
    """One pass of the funnel engine: funnel_customers() for this definition. Read-only: never modify it."""
    cur = cursor()
    events = jn.journey_events(cur, filters, level=level)
    return jn.funnel_customers(events, list(steps), con=cur, **engine_options(options))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_funnel(filters, version: int, level: str, steps: tuple, options: tuple) -> pd.DataFrame:
    progress = load_progress(filters, version, level, steps, options)
    return charts.funnel_from_customers(progress, list(steps), order=options[1])


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_excluded(filters, version: int, level: str, steps: tuple, options: tuple) -> int:
    """Customers an exclusion took out of the funnel (furthest attempt spoiled, no clean attempt as far)."""
    progress = load_progress(filters, version, level, steps, options)
    return int((progress["furthest_step"] == 0).sum())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_time_to_convert(filters, version: int, level: str, steps: tuple, options: tuple, from_step: int, to_step: int):
    progress = load_progress(filters, version, level, steps, options)
    return jn.conversion_time_bins(charts.conversion_seconds(progress, from_step, to_step), bins=24)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_trend(filters, version: int, level: str, steps: tuple, options: tuple, period: str) -> pd.DataFrame:
    cur = cursor()
    events = jn.journey_events(cur, filters, level=level)
    return jn.conversion_trend(events, list(steps), period=period, con=cur, **engine_options(options))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_breakdown(filters, version: int, level: str, steps: tuple, options: tuple, breakdown: str) -> pd.DataFrame:
    cur = cursor()
    events = jn.journey_events(cur, filters, level=level)
    groups = jn.customer_groups(cur, breakdown)
    return jn.funnel_breakdown(events, list(steps), groups, con=cur, **engine_options(options))


def dropped_ids(filters, version: int, level: str, steps: tuple, options: tuple, step: int) -> list[str]:
    """Ids of the customers who reached step k-1 but not step k (read off the cached progress)."""
    progress = load_progress(filters, version, level, steps, options)
    return jn.dropped_customers(progress, step)["customer_id"].tolist()


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_dropped(
    filters, version: int, level: str, steps: tuple, options: tuple, step: int, limit: int | None
) -> tuple[int, pd.DataFrame]:
    """(number of drop-outs before step k, details of the first ``limit`` of them by id, or of all)."""
    dropped = jn.dropped_customers(load_progress(filters, version, level, steps, options), step)
    shown = dropped if limit is None else dropped.head(limit)
    details = jn.customer_details(cursor(), list(shown["customer_id"]))
    return len(dropped), details.merge(shown, on="customer_id", how="right")


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_dropoff_paths(filters, version: int, level: str, steps: tuple, options: tuple, step: int):
    cur = cursor()
    progress = load_progress(filters, version, level, steps, options)
    return jn.paths_after_dropoff(jn.journey_events(cur, filters, level=level), progress, step, con=cur)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_paths(filters, version: int, level: str, start: str, depth: int, top_events: int, top_paths: int):
    cur = cursor()
    events = jn.journey_events(cur, filters, level=level)
    return jn.paths(events, start, depth=depth, top_events=top_events, top_paths=top_paths, con=cur)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_reach(filters, version: int) -> dict[str, int]:
    return jn.touchpoint_reach(cursor(), filters)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_touchpoints(filters, version: int) -> pd.DataFrame:
    return jn.touchpoint_matrix(cursor(), filters)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_moments(filters, version: int, research_days: int) -> dict[str, float]:
    return jn.moments_of_truth(cursor(), filters, research_days=research_days)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_loyalty(filters, version: int) -> tuple[dict[str, float], pd.DataFrame]:
    """(loyalty summary, histogram of the days between purchases): the histogram, not one row per gap, is cached."""
    loyalty, gaps = jn.loyalty_loop(cursor(), filters)
    return loyalty, charts.purchase_gap_data(gaps)


# Widgets of a closed tab are not drawn, and Streamlit forgets the value of a widget that is not drawn.
# Re-assigning the values of a closed tab's widgets keeps the user's choices for when they come back.
# (Buttons cannot be re-assigned, so no prefix here may match a button's key.)
TAB_WIDGETS = {
    "funnel": (
        "j_level",
        "j_steps_",
        "j_window",
        "j_unit",
        "j_order",
        "j_exclusion_",
        "j_per_step",
        "j_step_window_",
        "j_breakdown",
        "j_period",
        "j_show_trend",
        "j_ttc_pair",
        "j_drop_step",
        "j_segment_name",
        "j_drop_paths",
        "j_dropped_all",
    ),
    "paths": ("j_path_level", "j_path_start_", "j_path_depth", "j_path_top", "j_path_count"),
    "touchpoints": ("j_touch_measure",),
    "moments": ("j_research_days",),
}


def keep_tab_widgets() -> None:
    """Every tab's widget values re-assigned in session state, on every run, before any widget is drawn.

    For a closed tab (or the other level's step boxes) this keeps the values Streamlit would forget.
    For the widgets drawn in this run it makes Streamlit send the kept value to the browser: a widget
    drawn again after its tab was closed would otherwise show its default on screen while the page
    counted with the kept value.
    """
    prefixes = tuple(p for keys in TAB_WIDGETS.values() for p in keys)
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes):
            st.session_state[key] = st.session_state[key]


def keep_valid(key: str, options: list, fallback) -> bool:
    """A kept widget value that is no longer among the widget's ``options`` -> ``fallback``; True when reset."""
    if key in st.session_state and st.session_state[key] not in options:
        st.session_state[key] = fallback
        return True
    return False


SAVED_FLASH = "j_saved_flash"  # the message of a segment just saved, shown after the rerun that follows
NO_CHOICE = ""  # the "no exclusion" / "no breakdown" option (None would read as "nothing selected")


def fmt_days(days: float | None) -> str:
    """A number of days -> "77.3 days", or a dash when there is none."""
    if days is None or pd.isna(days):
        return fmt_number(None)
    return _("{n} days").format(n=fmt_number(days, 1))


HOUR, DAY = 3600.0, 86400.0


def time_scale(seconds: float | None, *, empty: float) -> float:
    """Seconds -> the unit (DAY or HOUR) times of that size read best in: days from two days on, as
    :func:`fmt_duration` writes them; ``empty`` when there is no time."""
    if seconds is None or pd.isna(seconds):
        return empty
    return DAY if seconds >= 2 * DAY else HOUR


def fmt_duration(seconds: float | None) -> str:
    """Seconds -> '3.2 h' or '4.5 days' (the unit that reads best)."""
    if seconds is None or pd.isna(seconds):
        return "–"
    if seconds < HOUR:
        return _("{n} min").format(n=fmt_number(seconds / 60, 0))
    if time_scale(seconds, empty=DAY) == HOUR:
        return _("{n} h").format(n=fmt_number(seconds / HOUR, 1))
    return _("{n} days").format(n=fmt_number(seconds / DAY, 1))


def dropped_table(details: pd.DataFrame) -> pd.DataFrame:
    """load_dropped details -> the same rows with the column names the page shows."""
    return details.rename(
        columns={
            "customer_id": _("Customer"),
            "customer_type": _("Type"),
            "segment": _("Segment"),
            "country": _("Country"),
            "acquisition_channel": _("Acquisition channel"),
            "reached_at": _("Last step reached at"),
        }
    )


# --- page ----------------------------------------------------------------------------------------

with st.expander(_("How the funnel counts (read this before comparing with other tools)"), icon=":material/info:"):
    st.markdown(SEMANTICS)

options = load_options(f, ctx.version)
if not options["event"]:
    st.info(_("No interactions in this period and selection. Widen the period or clear a filter in the sidebar."))
    st.stop()

# --- funnel tab ---------------------------------------------------------------------------------


def level_choice(label: str, default: str, *, key: str) -> str:
    """Journey stages or event names ("stage" / "event"), the default offered first; never empty."""
    other = "event" if default == "stage" else "stage"
    choice = st.segmented_control(
        label,
        [default, other],
        default=default,
        format_func=lambda v: _("Journey stages") if v == "stage" else _("Event names"),
        key=key,
    )
    return choice or default


MAX_STEPS = 10
COUNT = st.column_config.NumberColumn(format="localized", step=1)  # whole numbers with thousands separators


def _change_step_count(key: str, change: int) -> None:
    st.session_state[key] = min(MAX_STEPS, max(2, st.session_state[key] + change))


def step_picker(level: str, choices: list[str], default: list[str]) -> list[str]:
    """One box per step, in order (a step may repeat an earlier one), with buttons to add or remove the last."""
    count_key = f"j_steps_{level}_count"
    if count_key not in st.session_state:
        st.session_state[count_key] = max(2, len(default))
    count = st.session_state[count_key]
    st.markdown(
        _("**Steps, in order**"),
        help=_(
            "Pick one event per step, in the order customers should take them. A step may repeat an earlier "
            "one: a funnel with “purchase” twice counts customers who bought twice."
        ),
    )
    steps: list[str] = []
    with st.container(horizontal=True, vertical_alignment="bottom"):
        for k in range(1, count + 1):
            if k <= len(default):
                suggested = default[k - 1]
            else:  # a new step: the first event not used yet
                suggested = next((c for c in choices if c not in steps), choices[0])
            keep_valid(f"j_steps_{level}_{k}", choices, suggested)  # the filters may have removed an event
            steps.append(
                st.selectbox(
                    _("Step {k}").format(k=k),
                    choices,
                    index=choices.index(suggested),
                    key=f"j_steps_{level}_{k}",
                    width=190,
                )
            )
        st.button(
            _("Add a step"),
            icon=":material/add:",
            key=f"j_step_add_{level}",
            disabled=count >= MAX_STEPS,
            on_click=_change_step_count,
            args=(count_key, 1),
        )
        st.button(
            _("Remove the last step"),
            icon=":material/remove:",
            key=f"j_step_remove_{level}",
            disabled=count <= 2,
            on_click=_change_step_count,
            args=(count_key, -1),
        )
    return steps


def funnel_tab() -> None:
    with st.container(border=True):
        st.subheader(_("Build the funnel"))
        level = level_choice(_("Steps from"), "stage", key="j_level")
        choices = options[level]
        default_steps = [s for s in ("awareness", "interest", "consideration", "intent", "purchase") if s in choices]
        if level == "event":
            default_steps = [s for s in ("site_visit", "product_view", "add_to_cart", "purchase") if s in choices]
        steps = step_picker(level, choices, default_steps or choices[:2])
        with st.container(horizontal=True):
            window_value = st.number_input(
                _("Conversion window"), min_value=1, max_value=1000, value=14, step=1, key="j_window"
            )
            unit = st.selectbox(_("Unit"), list(UNITS), index=1, format_func=lambda u: UNITS[u][0], key="j_unit")
            order = st.selectbox(_("Order of the steps"), list(ORDER_NAMES), format_func=ORDER_NAMES.get, key="j_order")
        exclusion_options = [NO_CHOICE, *[c for c in choices if c not in steps]]
        dropped_exclusion = st.session_state.get(f"j_exclusion_{level}")
        if keep_valid(f"j_exclusion_{level}", exclusion_options, NO_CHOICE) and dropped_exclusion in steps:
            st.warning(
                _(
                    "“{event}” is now a step of the funnel, so it can no longer be excluded: the exclusion was removed."
                ).format(event=dropped_exclusion)
            )
        with st.container(horizontal=True):
            excluded = (
                st.selectbox(
                    _("Exclude customers who do this between two steps"),
                    exclusion_options,
                    format_func=lambda v: _("No exclusion") if v == NO_CHOICE else v,
                    key=f"j_exclusion_{level}",
                )
                or None
            )
            step_count = max(len(steps), 2)
            excl_range = st.slider(
                _("Between steps"),
                1,
                step_count,
                (1, step_count),
                key=f"j_exclusion_steps|{step_count}",  # one range per number of steps: its ends are the steps
                disabled=excluded is None,
            )
        per_step = st.toggle(
            _("Give each step its own window (measured from the step before)"),
            key="j_per_step",
            disabled=order == "unordered",
            help=_("The conversion window above still limits the whole funnel, from the first step to the last."),
        )
        step_windows = None
        if per_step and order != "unordered" and len(steps) >= 2:
            with st.container(horizontal=True):
                step_windows = []
                for k in range(2, len(steps) + 1):
                    value = st.number_input(
                        _("Step {k} within ({unit})").format(k=k, unit=UNITS[unit][0]),
                        min_value=1,
                        max_value=1000,
                        value=int(window_value),
                        key=f"j_step_window_{k}",
                    )
                    step_windows.append(float(value * UNITS[unit][1]))
        with st.container(horizontal=True):
            breakdown_options = [NO_CHOICE, *[c for c in BREAKDOWN_NAMES if c in jn.BREAKDOWN_COLUMNS]]
            keep_valid("j_breakdown", breakdown_options, NO_CHOICE)
            breakdown = (
                st.selectbox(
                    _("Break down by"),
                    breakdown_options,
                    format_func=lambda v: _("No breakdown") if v == NO_CHOICE else BREAKDOWN_NAMES[v],
                    key="j_breakdown",
                )
                or None
            )
            period = st.selectbox(
                _("Trend by entry"), list(PERIOD_NAMES), index=1, format_func=PERIOD_NAMES.get, key="j_period"
            )

    window_seconds = float(window_value * UNITS[unit][1])
    exclusions = ((excluded, excl_range[0], excl_range[1]),) if excluded is not None else ()
    funnel_options = (window_seconds, order, exclusions, None if step_windows is None else tuple(step_windows))

    def step_label(k: int) -> str:
        """A step as the selectors name it: "3. consideration", or "3 of 5" in a funnel in any order."""
        if order == "unordered":
            return _("{k} of {n} steps").format(k=k, n=len(steps))
        return f"{k}. {steps[k - 1]}"

    # Selectors that name the steps get a key per naming: a new set of names is a new selector, so the
    # browser never keeps showing the names of the previous steps.
    naming = zlib.crc32("|".join(step_label(k) for k in range(1, len(steps) + 1)).encode())

    funnel = None
    definition = (f, ctx.version, level, tuple(steps), funnel_options)  # the cache key of every funnel read
    if len(steps) < 2:
        st.info(_("Choose at least two steps to see a funnel."))
    elif exclusions and excl_range[0] >= excl_range[1]:
        st.warning(_("An exclusion needs two different steps: move the ends of the range apart."))
    else:
        try:
            with st.spinner(_("Counting the funnel…")):
                funnel = load_funnel(*definition)
        except jn.FunnelInputError as exc:
            st.warning(_("This funnel cannot be counted: {reason}").format(reason=str(exc)))

    if funnel is not None:
        data = charts.funnel_data(funnel)
        entered = int(funnel["customers"].iloc[0])
        converted = int(funnel["customers"].iloc[-1])
        total_seconds = load_time_to_convert(*definition, 1, len(steps))[1]
        with st.container(horizontal=True):
            st.metric(
                _("Entered"),
                fmt_number(entered),
                help=_("Customers with a first-step event in the period, without those an exclusion took out."),
                border=True,
            )
            st.metric(
                _("Converted"), fmt_number(converted), help=_("Customers who reached the last step."), border=True
            )
            st.metric(
                _("Conversion"),
                fmt_pct(converted / entered if entered else None),
                help=_("Converted customers as a share of those who entered."),
                border=True,
            )
            st.metric(
                _("Median time to convert"),
                fmt_duration(total_seconds["median"]),
                help=_("From the first to the last step, leaving out conversions in zero seconds."),
                border=True,
            )
        if exclusions and order == "unordered":
            st.caption(
                _("In a funnel in any order, “{event}” sets a customer's progress back to the start.").format(
                    event=exclusions[0][0]
                )
            )
        elif exclusions:
            st.caption(
                _(
                    "{n} customers are left out: they did “{event}” between steps {a} and {b} in their furthest "
                    "attempt and no clean attempt got them as far."
                ).format(
                    n=fmt_number(load_excluded(*definition)),
                    event=exclusions[0][0],
                    a=exclusions[0][1],
                    b=exclusions[0][2],
                )
            )
        if entered == 0:
            st.info(_("No customer entered this funnel in the period. Try another first step or a longer period."))
        else:
            st.plotly_chart(
                charts.funnel_figure(
                    data,
                    title=_("Customers reaching each step"),
                    of_first=_("of first"),
                    of_previous=_("of previous"),
                    customers=_("customers"),
                    numbered=order != "unordered",
                ),
                width="stretch",
                key="j_funnel_chart",
            )
            st.subheader(_("Drop-off by step"))
            # On screen: shares as "93.2%" like the chart ("–" where the step before had nobody) and times
            # in words; in the download: the same rows with plain numbers (shares 0..1, times in seconds).
            table = pd.DataFrame(
                {
                    _("Step"): data["step"],
                    _("Name"): data["name"],
                    _("Customers"): data["customers"],
                    _("Dropped before this step"): data["dropped"],
                    _("% of first"): data["pct_first"].map(fmt_pct),
                    _("% of previous"): data["pct_previous"].map(fmt_pct),
                    _("Median time from previous step"): funnel["median_seconds"].map(fmt_duration),
                    _("Mean time from previous step"): funnel["mean_seconds"].map(fmt_duration),
                }
            )
            st.dataframe(
                table,
                hide_index=True,
                width="stretch",
                column_config={_("Customers"): COUNT, _("Dropped before this step"): COUNT},
            )
            export = table.assign(
                **{
                    _("% of first"): data["pct_first"].to_numpy(),
                    _("% of previous"): data["pct_previous"].to_numpy(),
                    _("Median time from previous step"): funnel["median_seconds"].to_numpy(),
                    _("Mean time from previous step"): funnel["mean_seconds"].to_numpy(),
                }
            ).rename(
                columns={
                    _("% of first"): _("Share of first"),
                    _("% of previous"): _("Share of previous"),
                    _("Median time from previous step"): _("Median seconds from previous step"),
                    _("Mean time from previous step"): _("Mean seconds from previous step"),
                }
            )
            download_buttons(export, "funnel_dropoff", key="j_dropoff")

            if breakdown is not None:
                with st.container(border=True):
                    with st.spinner(_("Counting the funnel for each value…")):
                        bands = jn.NUMERIC_BANDS.get(breakdown)  # size classes keep their own order
                        bd = charts.breakdown_data(
                            load_breakdown(*definition, breakdown),
                            order=None if bands is None else [label for _upper, label in bands],
                        )
                    st.plotly_chart(
                        charts.breakdown_figure(
                            bd,
                            title=_("Conversion by {what}").format(what=BREAKDOWN_NAMES[breakdown].lower()),
                            x_title=_("Conversion from first to last step (%)"),
                            marker_text=_("differs from the rest"),
                            of_text=_("of"),
                            overall_text=_("all customers"),
                        ),
                        width="stretch",
                        key="j_breakdown_chart",
                    )
                    bd_table = pd.DataFrame(
                        {
                            BREAKDOWN_NAMES[breakdown]: bd["value"],
                            _("Entered"): bd["entered"],
                            _("Converted"): bd["converted"],
                            _("Conversion"): bd["conversion"],
                            # No test without "the rest" (one value only): a dash, not an empty cell.
                            _("p-value (Holm)"): bd["p_adjusted"].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}"),
                            _("Compared with the rest"): bd["direction"].map(
                                {
                                    "higher": _("significantly higher"),
                                    "lower": _("significantly lower"),
                                    "": _("no clear difference"),
                                }
                            ),
                        }
                    ).iloc[::-1]
                    st.dataframe(
                        bd_table,
                        hide_index=True,
                        width="stretch",
                        column_config={
                            _("Entered"): COUNT,
                            _("Converted"): COUNT,
                            _("Conversion"): st.column_config.NumberColumn(format="percent"),
                        },
                    )
                    st.caption(
                        _(
                            "Each value is compared with all other customers by a two-proportion z-test "
                            "(Agresti 2013, equivalent to a chi-square test of the 2 × 2 table); p-values are "
                            "Holm-adjusted for the number of values, ★ marks p < 0.05."
                        )
                    )
                    download_buttons(bd_table, "funnel_breakdown", key="j_breakdown")

            left, right = st.columns(2)
            with left, st.container(border=True):
                st.subheader(_("Time to convert"))
                pairs = [(a, b) for a in range(1, len(steps)) for b in range(a + 1, len(steps) + 1)]
                pair = st.selectbox(
                    _("From step to step"),
                    pairs,
                    index=pairs.index((1, len(steps))),
                    format_func=lambda p: f"{step_label(p[0])} → {step_label(p[1])}",
                    key=f"j_ttc_pair|{naming}",
                )
                bins, summary = load_time_to_convert(*definition, pair[0], pair[1])
                scale = time_scale(summary["median"], empty=HOUR)
                unit_name = _("days") if scale == DAY else _("hours")
                if bins.empty:
                    st.info(_("Nobody converted between these steps in more than zero seconds."))
                else:
                    st.plotly_chart(
                        charts.time_to_convert_figure(
                            charts.time_to_convert_data(bins, unit_seconds=scale),
                            summary,
                            title=_("Distribution of the time to convert"),
                            x_title=_("Time to convert ({unit})").format(unit=unit_name),
                            y_title=_("Customers"),
                            unit_seconds=scale,
                            marker_names={
                                "median": _("median"),
                                "p25": _("25th pct."),
                                "p75": _("75th pct."),
                                "p90": _("90th pct."),
                            },
                        ),
                        width="stretch",
                        key="j_ttc_chart",
                    )
                with st.container(horizontal=True):
                    st.metric(_("Median"), fmt_duration(summary["median"]), border=True)
                    st.metric(
                        _("25th–75th percentile"),
                        f"{fmt_duration(summary['p25'])} – {fmt_duration(summary['p75'])}",
                        border=True,
                    )
                    st.metric(_("90th percentile"), fmt_duration(summary["p90"]), border=True)
                st.caption(
                    _("{n} conversions in zero seconds are left out of these figures.").format(
                        n=fmt_number(summary["zero_second"])
                    )
                )
            with right, st.container(border=True):
                st.subheader(_("Over time"))
                # Off by default: the trend counts the funnel again for every entry period.
                show_trend = st.toggle(
                    _("Show conversion by entry period"),
                    key="j_show_trend",
                    help=_("Counts the funnel once more for each entry period; on a large base this takes a moment."),
                )
                trend = None
                if show_trend:
                    with st.spinner(_("Counting the funnel by entry period…")):
                        raw_trend = load_trend(*definition, period)
                    longest = raw_trend["median_seconds"].max() if len(raw_trend) else None
                    trend_scale = time_scale(longest, empty=DAY)
                    trend = charts.trend_data(
                        raw_trend,
                        unit_seconds=trend_scale,
                        period=period,
                        first_day=f.start,
                        data_end=None
                        if f.end is None
                        else dt.datetime.combine(f.end, dt.time()) + dt.timedelta(days=1),
                        window_seconds=window_seconds,
                    )
                if trend is None:
                    st.caption(
                        _("Switch on to see conversion and time to convert by entry {period}.").format(
                            period=PERIOD_NAMES[period]
                        )
                    )
                elif trend.empty:
                    st.info(_("No entries in this period."))
                else:
                    st.plotly_chart(
                        charts.trend_figure(
                            trend,
                            title=_("Conversion by entry {period}").format(period=PERIOD_NAMES[period]),
                            x_title=_("Entry {period}").format(period=PERIOD_NAMES[period]),
                            rate_title=_("Conversion (%)"),
                            entered_title=_("Customers entering"),
                        ),
                        width="stretch",
                        key="j_trend_chart",
                    )
                    if trend["median_time"].isna().all():
                        st.info(_("No conversion in more than zero seconds in these periods: no time to show."))
                    else:
                        st.plotly_chart(
                            charts.time_trend_figure(
                                trend,
                                title=_("Median time to convert by entry {period}").format(period=PERIOD_NAMES[period]),
                                x_title=_("Entry {period}").format(period=PERIOD_NAMES[period]),
                                y_title=(
                                    _("Median days from first to last step")
                                    if trend_scale == DAY
                                    else _("Median hours from first to last step")
                                ),
                            ),
                            width="stretch",
                            key="j_time_trend_chart",
                        )
                    st.caption(
                        _(
                            "A customer who starts the funnel in several periods counts in each of them, as in "
                            "the leading product-analytics tools, and converts only in the period whose attempt "
                            "converted. So the periods add up to more customers than the funnel above, and their "
                            "rates are lower than its overall rate. Hatched bars and open markers are periods that "
                            "are not complete yet: they begin before the chosen dates, or their customers still "
                            "have time to convert."
                        )
                    )
                    trend_table = pd.DataFrame(
                        {
                            _("Entry period"): trend["period"],
                            _("Entered"): trend["entered"],
                            _("Converted"): trend["converted"],
                            _("Conversion"): trend["conversion_rate"],
                            _("Median days to convert"): raw_trend["median_seconds"] / DAY,
                            _("Complete"): trend["complete"],
                        }
                    )
                    download_buttons(trend_table, "funnel_trend", key="j_trend")

            with st.container(border=True):
                st.subheader(_("Customers who dropped out"))
                drop_step = st.selectbox(
                    _("Dropped out before step"),
                    list(range(2, len(steps) + 1)),
                    format_func=step_label,
                    key=f"j_drop_step|{naming}",
                )
                n_dropped, listed = load_dropped(*definition, drop_step, DROPPED_PREVIEW)
                caption = _("{n} customers reached step {k1} but not step {k2}.").format(
                    n=fmt_number(n_dropped), k1=step_label(drop_step - 1), k2=step_label(drop_step)
                )
                if n_dropped > len(listed):
                    caption += " " + _("The table shows the first {m} by customer number.").format(
                        m=fmt_number(len(listed))
                    )
                st.caption(caption)
                shown = dropped_table(listed)
                st.dataframe(shown, hide_index=True, width="stretch", height=260)
                download_name = f"dropped_before_step_{drop_step}"
                if n_dropped <= len(listed):  # the table holds them all
                    download_buttons(shown, download_name, key="j_dropped")
                elif st.toggle(
                    _("Prepare the full list for download"),
                    key="j_dropped_all",
                    help=_("Builds the files of the whole list; for a long list this takes a moment."),
                ):
                    with st.spinner(_("Preparing the list…")):
                        everyone = dropped_table(load_dropped(*definition, drop_step, None)[1])
                        formats = ("csv", "xlsx") if n_dropped <= EXCEL_ROWS else ("csv", "parquet")
                        download_buttons(everyone, download_name, key="j_dropped", formats=formats)
                    if n_dropped > EXCEL_ROWS:
                        st.caption(
                            _(
                                "Lists over {n} customers come as CSV and Parquet (Excel would take long to open)."
                            ).format(n=fmt_number(EXCEL_ROWS))
                        )
                with st.container(horizontal=True, vertical_alignment="bottom"):
                    suggested = (
                        _("Dropped before step {k} ({step})").format(k=drop_step, step=steps[drop_step - 1])
                        if order != "unordered"
                        else _("Stopped at {k} of {n} steps").format(k=drop_step - 1, n=len(steps))
                    )
                    segment_name = st.text_input(
                        _("Save them as a segment named"),
                        value=suggested,
                        # One field per suggested name: picking another step or funnel suggests its own name
                        # instead of keeping the one typed for the previous choice.
                        key=f"j_segment_name|{suggested}",
                    )
                    if st.button(
                        _("Save segment"), icon=":material/bookmark_add:", key="j_save_segment", disabled=not n_dropped
                    ):
                        try:
                            size = jn.save_segment(
                                ctx.con,
                                segment_name,
                                dropped_ids(*definition, drop_step),
                                description=_("Dropped out before step {k} of the funnel {steps}").format(
                                    k=drop_step, steps=" → ".join(steps)
                                ),
                            )
                        except jn.FunnelInputError as exc:
                            st.warning(str(exc))
                        else:
                            # Run again so the sidebar (drawn before this button) offers the new segment.
                            flash_and_rerun(
                                SAVED_FLASH,
                                _(
                                    "Saved {n} customers as “{name}”. Pick it under Saved segment in the sidebar."
                                ).format(n=fmt_number(size), name=segment_name.strip()),
                            )
                show_flash(SAVED_FLASH)
                # Off by default: the paths read every later interaction of the customers who dropped out.
                if n_dropped and st.toggle(_("Show what they did next"), key="j_drop_paths"):
                    with st.spinner(_("Following their paths…")):
                        drop_paths, links = load_dropoff_paths(*definition, drop_step)
                    if links.empty:
                        st.info(_("They did nothing more in this period."))
                    else:
                        st.plotly_chart(
                            charts.sankey_figure(
                                charts.sankey_data(links),
                                title=_("What they did next (most frequent paths after dropping out)"),
                            ),
                            width="stretch",
                            key="j_drop_sankey",
                        )
                        st.caption(
                            _("The {n} most frequent paths, followed by {share} of these customers.").format(
                                n=len(drop_paths), share=fmt_pct(drop_paths["share"].sum())
                            )
                        )


# --- paths tab -----------------------------------------------------------------------------------


def paths_tab() -> None:
    with st.container(horizontal=True):
        path_level = level_choice(_("Path of"), "event", key="j_path_level")
        path_choices = options[path_level]
        keep_valid(f"j_path_start_{path_level}", path_choices, path_choices[0])  # the filters may have removed it
        start = st.selectbox(_("Start at"), path_choices, key=f"j_path_start_{path_level}")
        depth = st.slider(_("Steps shown"), 2, 8, 5, key="j_path_depth")
        top_events = st.slider(
            _("Separate events"), 3, 15, 8, key="j_path_top", help=_("Rarer events are lumped together as “other”.")
        )
        top_paths = st.slider(
            _("Paths shown"),
            5,
            50,
            15,
            step=5,
            key="j_path_count",
            help=_("The most frequent paths are drawn; more paths cover more customers but crowd the chart."),
        )
    path_table, path_links = load_paths(f, ctx.version, path_level, start, depth, top_events, top_paths)
    if path_links.empty:
        st.info(_("Nobody in this selection did anything after “{start}”.").format(start=start))
    else:
        st.plotly_chart(
            charts.sankey_figure(
                charts.sankey_data(path_links), title=_("Most frequent paths from {start}").format(start=start)
            ),
            width="stretch",
            key="j_paths_sankey",
        )
        st.caption(
            _(
                "The {n} most frequent paths, followed by {share} of the customers who did “{start}”. "
                "“ended” means the customer did nothing more in the period; “other” collects rarer events."
            ).format(n=len(path_table), share=fmt_pct(path_table["share"].sum()), start=start)
        )
        shown_paths = path_table.rename(
            columns={"path": _("Path"), "steps": _("Steps"), "customers": _("Customers"), "share": _("Share")}
        )
        st.dataframe(
            shown_paths,
            hide_index=True,
            width="stretch",
            column_config={_("Customers"): COUNT, _("Share"): st.column_config.NumberColumn(format="percent")},
        )
        download_buttons(shown_paths, "paths", key="j_paths")


# --- touchpoints tab -------------------------------------------------------------------------------


def touchpoints_tab() -> None:
    measure = (
        st.segmented_control(
            _("Count"),
            ["interactions", "customers"],
            default="interactions",
            format_func=lambda v: _("Interactions") if v == "interactions" else _("Customers"),
            key="j_touch_measure",
        )
        or "interactions"
    )
    matrix = load_touchpoints(f, ctx.version)
    if matrix.empty:
        st.info(_("No touchpoints in this period and selection."))
    else:
        heat = charts.heatmap_data(matrix, value=measure)
        st.plotly_chart(
            charts.heatmap_figure(
                heat,
                title=_("Where customers meet us: channel × journey stage"),
                x_title=_("Journey stage"),
                y_title=_("Channel (digital or analogue)"),
                value_title=_("Interactions") if measure == "interactions" else _("Customers"),
            ),
            width="stretch",
            key="j_heatmap",
        )
        with st.container(horizontal=True):
            if measure == "interactions":
                kinds = matrix.groupby("kind")["interactions"].sum()
                total = kinds.sum()
                st.metric(
                    _("Digital share"),
                    fmt_pct(kinds.get("digital", 0) / total if total else None),
                    help=_("Interactions on digital channels, as a share of all interactions with a channel."),
                    border=True,
                )
                st.metric(
                    _("Analogue share"),
                    fmt_pct(kinds.get("analogue", 0) / total if total else None),
                    help=_("Interactions on analogue channels, as a share of all interactions with a channel."),
                    border=True,
                )
            else:
                reach = load_reach(f, ctx.version)
                everyone = reach["customers"]
                for label, part, text in (
                    (_("Reached on digital channels"), "digital", _("Customers with at least one digital touchpoint.")),
                    (
                        _("Reached on analogue channels"),
                        "analogue",
                        _("Customers with at least one analogue touchpoint."),
                    ),
                    (_("Reached on both"), "both", _("Customers with digital and analogue touchpoints.")),
                ):
                    st.metric(
                        label,
                        fmt_pct(reach[part] / everyone if everyone else None),
                        help=text + " " + _("Each customer counts once, so the shares overlap."),
                        border=True,
                    )
        heat_table = heat.reset_index(names=_("Channel"))
        download_buttons(heat_table, "touchpoints", key="j_touch")
        st.caption(
            _("Digital channels: {digital}. Analogue channels: {analogue}.").format(
                digital=", ".join(schema.DIGITAL_CHANNELS), analogue=", ".join(schema.ANALOGUE_CHANNELS)
            )
        )


# --- moments of truth tab --------------------------------------------------------------------------


def moments_tab() -> None:
    research_days = st.columns([2, 3])[0].slider(
        _("Online research counts if it happened within (days before the purchase)"), 1, 60, 14, key="j_research_days"
    )
    moments = load_moments(f, ctx.version, research_days)
    loyalty, gap_bins = load_loyalty(f, ctx.version)
    st.caption(
        _("Purchases in the period: {n}. Period {start} to {end}.").format(
            n=fmt_number(moments["purchases"]), start=fmt_date(f.start), end=fmt_date(f.end)
        )
    )
    with st.container(horizontal=True):
        st.metric(
            _("Zero moment: researched online first"),
            fmt_pct(moments["zmot_share"]),
            help=_(
                "Share of purchases where the customer said they researched online, or had a search click or a site "
                "visit in the days set above before buying."
            ),
            border=True,
        )
        st.metric(
            _("First encounter was digital"),
            fmt_pct(moments["first_encounter_share"]),
            help=_("Share of buyers whose very first interaction with us happened in a digital channel."),
            border=True,
        )
        st.metric(
            _("First touch to first purchase"),
            fmt_days(moments["median_days_first_touch_to_purchase"]),
            help=_("Median time from a buyer's first interaction to their first purchase."),
            border=True,
        )
        st.metric(
            _("Second moment: reviewed within 90 days"),
            fmt_pct(moments["reviewed_share"]),
            help=_("Share of purchases followed by a review from the same customer within 90 days."),
            border=True,
        )
        st.metric(_("Average review rating"), fmt_number(moments["mean_rating"], 2), help=_("Out of 5."), border=True)
    st.subheader(_("Loyalty loop"))
    with st.container(horizontal=True):
        st.metric(_("Buyers"), fmt_number(loyalty["buyers"]), border=True)
        st.metric(
            _("Repeat-purchase rate"),
            fmt_pct(loyalty["repeat_rate"]),
            help=_("Buyers with two or more purchases in the period, as a share of all buyers."),
            border=True,
        )
        st.metric(
            _("Time between purchases (median)"),
            fmt_days(loyalty["median_days_between"]),
            help=_("Between two consecutive purchases of the same customer, both in the period."),
            border=True,
        )
    if gap_bins.empty:
        st.info(_("No customer bought twice in this period."))
    else:
        st.plotly_chart(
            charts.purchase_gap_figure(
                gap_bins,
                title=_("Days between a customer's purchases"),
                x_title=_("Days between purchases"),
                y_title=_("Repeat purchases"),
                median=loyalty["median_days_between"],
                median_text=_("median"),
            ),
            width="stretch",
            key="j_gap_chart",
        )


# Only the open tab runs (tabs that rerun on a switch are lazy), so a first visit counts the funnel alone.
TABS = {
    "funnel": (_("Funnel"), funnel_tab),
    "paths": (_("Paths"), paths_tab),
    "touchpoints": (_("Touchpoints"), touchpoints_tab),
    "moments": (_("Moments of truth"), moments_tab),
}
keep_tab_widgets()
containers = st.tabs([label for label, _draw in TABS.values()], on_change="rerun", key="j_tab")
for (_label, draw), tab in zip(TABS.values(), containers, strict=True):
    if tab.open:
        with tab:
            draw()
