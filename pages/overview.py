"""Overview: KPI tiles for the filtered period with change and trend, and revenue by month."""

from __future__ import annotations

import streamlit as st

from analytics import overview
from analytics.charts import overview as overview_charts
from ui.downloads import download_buttons
from ui.frame import cursor, page_setup
from ui.i18n import _, fmt_date, fmt_money, fmt_number, fmt_pct, fmt_signed

ctx = page_setup(_("Overview"))

#: The Overview's fixed churn rule: lost after this many days without any activity. The Churn page
#: learns its own horizon from the purchase gaps, so the tile says which rule it uses.
INACTIVE_DAYS = 90


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_kpis(filters, version: int):
    return overview.kpis(cursor(), filters, inactive_days=INACTIVE_DAYS)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_monthly(filters, version: int):
    return overview.monthly_revenue(cursor(), filters)


TILES = {
    "customers": (
        _("Customers"),
        fmt_number,
        _("Customers in the selection who had signed up by the end of the period."),
    ),
    "active_customers": (
        _("Active customers"),
        fmt_number,
        _("Customers with at least one order or interaction in the period."),
    ),
    "revenue": (_("Revenue"), fmt_money, _("Net revenue of all order lines in the period (returns subtracted).")),
    "churn_rate": (
        _("Churn rate ({days} days inactive)").format(days=INACTIVE_DAYS),
        fmt_pct,
        _(
            "Share of the customers active at the period start who then had no order and no interaction in the "
            "last {days} days before the period end. A fixed rule for a quick look: the Churn and value page "
            "learns its horizon from the gaps between purchases and shows its own rate and model."
        ).format(days=INACTIVE_DAYS),
    ),
    "average_clv": (
        _("Average CLV"),
        fmt_money,
        _(
            "Historical value: net revenue per customer up to the end of the period, averaged over customers who have ordered."
        ),
    ),
    "conversion_rate": (
        _("Funnel conversion"),
        fmt_pct,
        _("Share of customers who entered the journey (awareness) in the period and bought by its end."),
    ),
}
# A rising churn rate is bad news: show its change in red.
INVERSE = {"churn_rate"}

f = ctx.filters
days = (f.end - f.start).days + 1
compared = (
    _("compared with the day before")
    if days == 1
    else _("compared with the {days} days before").format(days=fmt_number(days))
)
st.caption(
    _("Period {start} to {end}, {compared}.").format(start=fmt_date(f.start), end=fmt_date(f.end), compared=compared)
)

kpis = load_kpis(f, ctx.version)
with st.container(horizontal=True):
    for kpi in kpis:
        label, fmt, help_text = TILES[kpi.name]
        if kpi.change is None:
            delta = None
            help_text += " " + _(
                "No comparison: there is no value for the period before (no data, or nobody to count)."
            )
        elif kpi.name in ("churn_rate", "conversion_rate"):
            delta = _("{points} pts").format(points=fmt_signed(kpi.change * 100, lambda v: fmt_number(v, 1)))
        else:
            delta = fmt_signed(kpi.change, fmt)
        # The small line shows the same figure month by month; months without a value are left out.
        trend = [v for v in kpi.trend if v is not None]
        st.metric(
            label,
            fmt(kpi.value),
            delta=delta,
            delta_color="inverse" if kpi.name in INVERSE else "normal",
            help=help_text + " " + _("The line shows the same figure for each of the last six months."),
            border=True,
            chart_data=trend or None,
            chart_type="line",
        )

monthly = load_monthly(f, ctx.version)
if monthly.empty:
    st.info(_("No orders in this period and selection. Widen the period or clear a filter in the sidebar."))
else:
    st.plotly_chart(overview_charts.revenue_by_month(monthly), width="stretch")
    download_buttons(monthly, "revenue_by_month")
