"""Shared look of every figure: titles, axis labels, readable colours."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

#: Qualitative palette of ten hues (Tailwind 500/600 tones, blue first; index 7 is the neutral slate grey).
#: Charts never rely on colour alone: values are written on bars and lines carry their names.
PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#d946ef", "#64748b", "#84cc16", "#f97316"]

# Looked up once: naming the template by its string makes plotly resolve and copy it for every figure.
_TEMPLATE = pio.templates["plotly_white"]


def apply_layout(fig: go.Figure, *, title: str, x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    """Set title, axis titles and the house style; returns the same figure."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        template=_TEMPLATE,
        colorway=PALETTE,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        font={"size": 13},
    )
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig
