"""Shared look of every figure: titles, axis labels, readable colours."""

from __future__ import annotations

import math

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


#: Round steps for an axis, times a power of ten.
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_ticks(max_value: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Largest value on an axis from zero -> round tick values 0, step, 2 step, ... up to the first tick >= max_value.

    The step is the smallest of 1, 2, 2.5 or 5 × 10^k for which ``count`` steps reach ``max_value``
    (118 -> 0, 25, 50, 75, 100, 125). A secondary axis set to these ticks shows round numbers instead
    of values synchronised to the primary axis (39, 79, 118, ...). ``integer`` keeps the step a whole
    number (for counts: no 2.5 or 0.5). No positive value -> [0, 1].
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if not math.isfinite(max_value) or max_value <= 0:
        return [0.0, 1.0]
    raw = max_value / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    candidates = [m * magnitude for m in NICE_STEPS] + [20 * magnitude]
    if integer:
        candidates = [c for c in candidates if c >= 1 and float(c).is_integer()] or [1.0]
    step = next((c for c in candidates if c * count >= max_value * (1 - 1e-12)), candidates[-1])
    steps = math.ceil(max_value / step - 1e-9)
    return [round(i * step, 12) for i in range(steps + 1)]
