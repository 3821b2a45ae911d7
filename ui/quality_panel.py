"""The data-quality panel of the Data page: four-V scores per table, growth, freshness, drill-down.

Call ``render(ctx)`` inside the page (e.g. in a "Data quality" tab). The numbers come from
:mod:`analytics.quality`; this module only caches, labels and draws them. Widget keys start
with ``dq_`` so they never collide with the rest of the page.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics import quality
from analytics.charts import quality as quality_charts
from ui.downloads import download_buttons
from ui.frame import PageContext, cursor
from ui.i18n import _, fmt_date, fmt_number, fmt_pct

#: Largest number of offending rows shown and offered for download per check.
DRILL_DOWN_LIMIT = 500


def table_labels() -> dict[str, str]:
    """Canonical table name -> the name users read."""
    return {
        "customers": _("Customers"),
        "interactions": _("Interactions"),
        "orders": _("Order lines"),
        "kano_responses": _("Kano answers"),
        "requirements": _("Requirements"),
    }


def v_labels() -> dict[str, str]:
    """V score name -> the name users read."""
    return {
        "volume": _("Volume"),
        "velocity": _("Velocity"),
        "variety": _("Variety"),
        "veracity": _("Veracity"),
        "overall": _("Overall"),
    }


def check_labels() -> dict[str, str]:
    """Check name of analytics.quality -> what it means, in business words."""
    return {
        "missing_required": _("Required value missing"),
        "duplicate_key": _("Same key on more than one row"),
        "invalid_channel": _("Channel not in our channel list"),
        "invalid_stage": _("Journey stage not recognised"),
        "invalid_customer_type": _("Customer type is neither B2B nor B2C"),
        "out_of_range": _("Value outside its allowed range"),
        "amount_mismatch": _("Amount differs from quantity × unit price"),
        "negative_price": _("Negative unit price"),
        "outlier_amount": _("Unusually high amount (above Q3 + 3 × IQR)"),
        "invalid_answer": _("Kano answer not recognised"),
        "invalid_moscow": _("MoSCoW priority not recognised"),
        "future_date": _("Date lies in the future"),
        "unknown_customer": _("Customer id not found among the customers"),
    }


def detail_help() -> dict[str, str]:
    """Check name -> what the Detail column of its offending rows holds."""
    return {
        "missing_required": _("The required columns that are empty."),
        "duplicate_key": _("How many rows share this key."),
        "invalid_channel": _("The channel as stored."),
        "invalid_stage": _("The stage as stored."),
        "invalid_customer_type": _("The customer type as stored."),
        "out_of_range": _("The columns and values outside their range."),
        "amount_mismatch": _("Quantity × unit price, the amount we expected."),
        "negative_price": _("The unit price as stored."),
        "outlier_amount": _("The fence: amounts above it count as unusually high."),
        "invalid_answer": _("Functional / dysfunctional answer as stored."),
        "invalid_moscow": _("The priority as stored."),
        "future_date": _("The date as stored."),
        "unknown_customer": _("The customer id that has no customer record."),
    }


def weights_text() -> str:
    """The overall-score formula with the current weights, for help texts."""
    w = quality.WEIGHTS
    return _(
        "Overall = {volume} volume + {velocity} velocity + {variety} variety + {veracity} veracity. "
        "Where a dimension does not apply (no date column), the others share its weight."
    ).format(**{v: fmt_pct(w[v], 0) for v in quality.VS})


def measurement_time() -> dt.datetime:
    """The current local time to the second: the reference time of a fresh assessment."""
    return dt.datetime.now().replace(microsecond=0)


def cache_bucket(now: dt.datetime) -> dt.datetime:
    """A time rounded down to ten minutes: the cache key, so reruns within that span share one
    assessment. Only a key; the panel shows the time the scores were computed for.
    """
    return now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_assessment(version: int, bucket: dt.datetime) -> quality.Assessment:
    """The assessment of the store at data ``version``, computed for the time of the call.

    ``bucket`` (:func:`cache_bucket`) only keys the cache; the result carries its own
    ``measured_at``, so a cached result still says when it was computed.
    """
    return quality.assess(cursor(), now=measurement_time())


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_offending_rows(version: int, table: str, check: str, now: dt.datetime, limit: int) -> pd.DataFrame:
    rows = quality.offending_rows(cursor(), table, check, now=now, limit=limit)
    return quality.mask_personal(rows, table)


def _score(value) -> str:
    """A score rounded down (only a flawless table shows 100); '–' where it does not apply."""
    if value is None or pd.isna(value):
        return "–"
    return fmt_number(float(quality_charts.score_text(float(value))), 0)


def _tiles(scores: pd.DataFrame) -> None:
    tables, vs = table_labels(), v_labels()
    with st.container(horizontal=True):
        for row in scores.to_dict("records"):
            parts = " · ".join(f"{vs[v]} {_score(row[v])}" for v in quality.VS)
            st.metric(
                tables[row["table"]],
                _score(row["overall"]),
                help=_("Quality score 0–100 of {rows} rows. {parts}. {weights}").format(
                    rows=fmt_number(row["rows"]), parts=parts, weights=weights_text()
                ),
                border=True,
            )


def _explanation() -> None:
    with st.expander(_("How the scores are calculated"), icon=":material/function:"):
        st.markdown(
            "\n".join(
                [
                    "- "
                    + _(
                        "**Volume**: share of calendar months, from the oldest to the newest record, that "
                        "received new rows. A month without rows is a gap in the feed."
                    ),
                    "- "
                    + _(
                        "**Velocity**: freshness of the newest record. 100 up to 7 days old, 0 from 90 days, "
                        "falling evenly in between. Tables without a date (Kano answers, requirements) have none."
                    ),
                    "- "
                    + _(
                        "**Variety**: share of the cells that apply to a row and hold a value. Columns that "
                        "are empty by design do not count: industry and employees apply to B2B customers "
                        "only, birth year to B2C customers only (none of the three to a customer without a "
                        "type), and optional columns (interaction properties, the customer id of a Kano "
                        "answer, the Kano feature of a requirement) are left out. Rows that carry little "
                        "more than their id lower it, and so do columns nobody fills. Sources and channels "
                        "are shown beside it, but not scored."
                    ),
                    "- "
                    + _(
                        "**Veracity**: 100 × (1 − share of rows with at least one problem): required value "
                        "missing, duplicate key, unknown code, amount not equal to quantity × unit price, "
                        "negative price, unusually high amount, date in the future, unknown customer. An empty "
                        "optional value is not a problem here; it counts under variety."
                    ),
                    "- " + weights_text(),
                ]
            )
        )


def _facts(scores: pd.DataFrame) -> pd.DataFrame:
    """The figures behind the scores, one row per table, with user-facing column names."""
    tables = table_labels()
    frame = pd.DataFrame(
        {
            _("Table"): [tables[t] for t in scores["table"]],
            _("Rows"): scores["rows"],
            _("Months with new rows"): scores["months_with_rows"],
            _("Months spanned"): scores["months_spanned"],
            _("Newest record"): scores["newest"],
            _("Age of newest record (hours)"): pd.to_numeric(scores["freshness_hours"]).round(1),
            _("Rows per day, last 30 days"): pd.to_numeric(scores["events_per_day_30"]).round(1),
            _("Rows per day, last 90 days"): pd.to_numeric(scores["events_per_day_90"]).round(1),
            _("Imports"): scores["imports"],
            _("Files"): scores["files"],
            _("Rows not from an import"): scores["rows_without_import"],
            _("Channels used"): scores["channels_used"],
            _("Columns filled"): scores["columns_filled"],
            _("Columns"): scores["columns_total"],
            _("Applicable cells filled (%)"): [
                round(100 * f / t, 1) if t else None
                for f, t in zip(scores["cells_filled"], scores["cells_applicable"], strict=True)
            ],
            _("Rows with a problem"): scores["rows_with_issues"],
        }
    )
    return frame


def _drill_down(ctx: PageContext, now: dt.datetime, assessment: quality.Assessment) -> None:
    issues, all_nulls = assessment.issues, assessment.nulls
    tables, labels, details = table_labels(), check_labels(), detail_help()
    with st.container(border=True):
        st.subheader(_("Rows with problems"))
        table = st.selectbox(
            _("Table"),
            list(quality.QUALITY_TABLES),
            format_func=lambda t: tables[t],
            key="dq_table",
        )
        counts = issues[issues["table"] == table]
        per_check = dict(zip(counts["check"], counts["rows"], strict=True))
        check_names = list(quality.checks(table))
        worst_first = sorted(check_names, key=lambda c: -per_check.get(c, 0))
        check = st.selectbox(
            _("Check"),
            worst_first,
            format_func=lambda c: _("{check} ({rows} rows)").format(
                check=labels.get(c, c), rows=fmt_number(per_check.get(c, 0))
            ),
            key=f"dq_check_{table}",
            help=_("Checks with the most affected rows come first."),
        )
        failing = int(per_check.get(check, 0))
        if failing == 0:
            st.success(_("No row fails this check."), icon=":material/check_circle:")
        else:
            rows = load_offending_rows(ctx.version, table, check, now, DRILL_DOWN_LIMIT)
            if failing > len(rows):
                st.caption(
                    _("Showing the first {shown} of {total} rows, in key order.").format(
                        shown=fmt_number(len(rows)), total=fmt_number(failing)
                    )
                )
            shown = rows.assign(reason=rows["reason"].map(lambda c: labels.get(c, c)))
            shown = shown.rename(columns={"reason": _("Reason"), "detail": _("Detail")})
            st.dataframe(
                shown,
                hide_index=True,
                width="stretch",
                column_config={_("Detail"): st.column_config.TextColumn(help=details.get(check))},
            )
            download_buttons(shown, f"quality_{table}_{check}", key="dq_rows")
            st.caption(_("Names, e-mail addresses and towns are shortened here and in the download."))

        with st.expander(_("Empty values per column"), icon=":material/grid_on:"):
            nulls = all_nulls[all_nulls["table"] == table].drop(columns="table").reset_index(drop=True)
            st.dataframe(
                nulls,
                hide_index=True,
                width="stretch",
                column_config={
                    "column": st.column_config.TextColumn(_("Column")),
                    "required": st.column_config.CheckboxColumn(_("Required")),
                    "nulls": st.column_config.NumberColumn(_("Empty values"), format="localized"),
                    "share": st.column_config.ProgressColumn(
                        _("Share empty"), min_value=0.0, max_value=1.0, format="percent"
                    ),
                },
            )


def render(ctx: PageContext) -> None:
    """Draw the data-quality panel for the whole store (the sidebar filters do not apply)."""
    with st.spinner(_("Checking the data…")):
        assessment = load_assessment(ctx.version, cache_bucket(measurement_time()))
    # The drill-down uses the assessment's reference time, so its rows match the counts above.
    now = assessment.measured_at or measurement_time()
    scores = assessment.scores
    tables, vs = table_labels(), v_labels()

    st.caption(
        _(
            "Quality of everything stored, along volume, velocity, variety and veracity; the sidebar "
            "filters do not apply. Measured at {time}."
        ).format(time=f"{fmt_date(now)} {now:%H:%M}")
    )
    _tiles(scores)
    _explanation()

    st.plotly_chart(
        quality_charts.score_heatmap(
            scores,
            title=_("Quality score by table and dimension"),
            x_title=_("Dimension"),
            y_title=_("Table"),
            colorbar_title=_("Score (0–100)"),
            not_applicable=_("n/a"),
            labels={**tables, **vs},
        ),
        width="stretch",
        key="dq_heatmap",
    )

    left, right = st.columns(2)
    with left:
        growth = assessment.growth
        if growth.empty:
            st.info(_("No dated records yet, so there is no growth to show."))
        else:
            st.plotly_chart(
                quality_charts.volume_growth(
                    growth,
                    title=_("Volume: rows added per month"),
                    x_title=_("Month"),
                    y_title=_("Rows added (log scale)"),
                    labels=tables,
                ),
                width="stretch",
                key="dq_growth",
            )
    with right:
        if scores["freshness_hours"].notna().any():
            st.plotly_chart(
                quality_charts.freshness_bars(
                    scores,
                    title=_("Velocity: age of the newest record"),
                    x_title=_("Days since the newest record"),
                    y_title=_("Table"),
                    labels=tables,
                ),
                width="stretch",
                key="dq_freshness",
            )
        else:
            st.info(_("No dated records yet, so freshness cannot be measured."))

    facts = _facts(scores)
    with st.expander(_("Figures behind the scores"), icon=":material/table_chart:"):
        st.dataframe(facts, hide_index=True, width="stretch")
        download_buttons(facts, "data_quality_scores", key="dq_scores")

    _drill_down(ctx, now, assessment)
