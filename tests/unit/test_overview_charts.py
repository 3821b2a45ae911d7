"""The Overview figure draws exactly the numbers of its data twin, with titles and units."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.charts.overview import revenue_by_month


def test_revenue_chart_plots_its_table_with_labelled_axes():
    monthly = pd.DataFrame(
        {
            "month": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)],
            "revenue": [100.0, 50.0],
            "orders": [1, 1],
            "active_customers": [1, 2],
        }
    )
    fig = revenue_by_month(monthly)
    bars, line = fig.data
    assert list(bars.y) == [100.0, 50.0]
    assert list(line.y) == [1, 2]
    assert fig.layout.title.text == "Revenue and ordering customers by month"
    assert fig.layout.xaxis.title.text == "Month"
    assert fig.layout.yaxis.title.text == "Revenue (€)"
    assert fig.layout.yaxis2.title.text == "Customers"


def month_table(months):
    return pd.DataFrame(
        {
            "month": months,
            "revenue": [100.0] * len(months),
            "orders": [1] * len(months),
            "active_customers": [1] * len(months),
        }
    )


def test_a_single_month_gets_month_ticks_and_a_month_wide_bar():
    """Regression guard: a period inside one month showed sub-millisecond ticks and one bar across the plot."""
    fig = revenue_by_month(month_table([dt.date(2026, 10, 1)]))
    axis = fig.layout.xaxis
    assert axis.type == "date" and list(axis.ticktext) == ["Oct 2026"]
    assert [pd.Timestamp(v) for v in axis.tickvals] == [pd.Timestamp("2026-10-16 12:00")]
    # Half a month of margin either side of October: the bar takes about half the plot, not all of it.
    assert [pd.Timestamp(v) for v in axis.range] == [pd.Timestamp("2026-09-16"), pd.Timestamp("2026-11-16")]
    bars, line = fig.data
    # October has 31 days: bar and point in its middle (15.5 days in), the bar 80 % of 31 days wide.
    assert [pd.Timestamp(x) for x in bars.x] == [pd.Timestamp("2026-10-16 12:00")]
    assert [pd.Timestamp(x) for x in line.x] == [pd.Timestamp("2026-10-16 12:00")]
    assert list(bars.width) == [0.8 * 31 * 86_400_000]
    assert list(bars.y) == [100.0]


def test_long_periods_label_every_second_month_at_most_twelve_ticks():
    months = [dt.date(2025 + (m // 12), m % 12 + 1, 1) for m in range(24)]  # Jan 2025 .. Dec 2026
    axis = revenue_by_month(month_table(months)).layout.xaxis
    assert list(axis.ticktext) == [f"{m} {y}" for y in (2025, 2026) for m in ("Jan", "Mar", "May", "Jul", "Sep", "Nov")]
    assert [pd.Timestamp(v) for v in axis.range] == [pd.Timestamp("2024-12-17"), pd.Timestamp("2027-01-16")]


def test_customer_axis_has_round_ticks_not_ones_synchronised_to_revenue():
    """Guards the review nit: the right axis read 39, 79, 118 (plotly synchronised it to the revenue axis)."""
    table = month_table([dt.date(2026, m, 1) for m in (1, 2, 3)]).assign(active_customers=[39, 79, 118])
    axis = revenue_by_month(table).layout.yaxis2
    assert axis.tickmode == "linear" and axis.tick0 == 0
    assert axis.dtick == 25  # 1, 2, 2.5 or 5 × 10^k
    low, high = axis.range
    assert low == 0 and high >= 125 >= 118  # the top tick and the largest value are on the axis


def test_customer_axis_of_few_customers_steps_in_whole_customers():
    axis = revenue_by_month(month_table([dt.date(2026, 1, 1)]).assign(active_customers=[3])).layout.yaxis2
    assert axis.dtick == 1 and axis.range[1] >= 3
