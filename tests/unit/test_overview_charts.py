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
