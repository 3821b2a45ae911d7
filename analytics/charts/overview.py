"""Figures of the Overview page."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import apply_layout


def revenue_by_month(monthly: pd.DataFrame) -> go.Figure:
    """monthly (month, revenue, active_customers) -> bars of revenue with a line of active customers."""
    fig = go.Figure()
    fig.add_bar(x=monthly["month"], y=monthly["revenue"], name="Revenue (€)", marker_color="#2563eb")
    fig.add_scatter(
        x=monthly["month"],
        y=monthly["active_customers"],
        name="Ordering customers",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#f59e0b"},
    )
    apply_layout(fig, title="Revenue and ordering customers by month", x_title="Month", y_title="Revenue (€)")
    fig.update_layout(
        yaxis={"rangemode": "tozero", "tickformat": ",.0f"},
        yaxis2={
            "title": "Customers",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
            "tickformat": ",d",
        },
    )
    return fig
