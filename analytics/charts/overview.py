"""Figures of the Overview page."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import apply_layout, nice_ticks

#: At most this many month ticks; longer periods label every second, third, ... month.
MAX_MONTH_TICKS = 12


def month_axis(months: pd.Series) -> dict:
    """Month starts -> x-axis settings: a 'Oct 2026' label under each bar (every k-th for long periods), half a month of margin.

    Without them a single month left plotly to autorange on one bar's width: sub-millisecond
    ticks and one bar across the whole plot.
    """
    starts = sorted(pd.to_datetime(pd.Series(months)))
    step = max(1, math.ceil(len(starts) / MAX_MONTH_TICKS))
    middles, _ = month_positions(pd.Series(starts))
    end = (starts[-1] + pd.offsets.MonthBegin(1)).to_pydatetime()
    return {
        "type": "date",
        "tickmode": "array",
        "tickvals": middles[::step],
        "ticktext": [start.strftime("%b %Y") for start in starts[::step]],
        "range": [starts[0].to_pydatetime() - dt.timedelta(days=15), end + dt.timedelta(days=15)],
    }


DAY_MS = 86_400_000
#: Share of its month a bar covers (the rest is the gap between bars).
BAR_SHARE = 0.8


def month_positions(months: pd.Series) -> tuple[list[dt.datetime], list[float]]:
    """Month starts -> (the middle of each month, a bar width of 80 % of that month in milliseconds).

    Explicit widths: plotly derives a bar's width from the spacing of the bars, and a single month
    has none (its bar vanished or filled the plot).
    """
    middles, widths = [], []
    for month in pd.to_datetime(pd.Series(months)):
        days = month.days_in_month
        middles.append((month + pd.Timedelta(days=days / 2)).to_pydatetime())
        widths.append(BAR_SHARE * days * DAY_MS)
    return middles, widths


def revenue_by_month(monthly: pd.DataFrame) -> go.Figure:
    """monthly (month, revenue, active_customers) -> bars of revenue with a line of active customers.

    Each bar and point sits in the middle of its calendar month; a bar is 80 % of its month wide.
    """
    middles, widths = month_positions(monthly["month"])
    fig = go.Figure()
    fig.add_bar(
        x=middles,
        y=monthly["revenue"],
        width=widths,
        name="Revenue (€)",
        marker_color="#2563eb",
        hovertemplate="%{x|%b %Y}: €%{y:,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=middles,
        y=monthly["active_customers"],
        name="Ordering customers",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#f59e0b"},
        hovertemplate="%{x|%b %Y}: %{y:,d} customers<extra></extra>",
    )
    apply_layout(fig, title="Revenue and ordering customers by month", x_title="Month", y_title="Revenue (€)")
    fig.update_layout(
        xaxis=month_axis(monthly["month"]),
        yaxis={"rangemode": "tozero", "tickformat": ",.0f"},
        yaxis2={
            "title": "Customers",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickformat": ",d",
            **round_axis(monthly["active_customers"].max() if len(monthly) else 0, integer=True),
        },
    )
    return fig


def round_axis(max_value: float, *, integer: bool = False) -> dict:
    """Largest value a secondary axis shows -> its settings: round ticks from zero and a range that covers them.

    Without a step of its own plotly synchronises an overlaying axis with the primary one, which
    gave ticks like 39, 79, 118.
    """
    ticks = nice_ticks(float(max_value) if pd.notna(max_value) else 0.0, integer=integer)
    # A little room above the top tick, so a point on it is not cut in half by the plot's edge.
    return {"tickmode": "linear", "tick0": 0, "dtick": ticks[1] - ticks[0], "range": [0, ticks[-1] * 1.04]}
