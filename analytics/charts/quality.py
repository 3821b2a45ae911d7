"""Figures of the data-quality panel: V scores per table, volume growth, freshness.

Each builder takes the plain data of :mod:`analytics.quality` (its tested twin) and the words to
show, so the UI can hand in translated labels; the English defaults keep the builders usable alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import PALETTE, apply_layout

#: Score colour scale 0..100: ColorBrewer's RdYlBu (Brewer & Harrower), red (poor) through pale
#: yellow to blue (good). It avoids a red–green pair, so it stays readable with the common
#: colour-vision deficiencies, and plotly writes dark or light cell text to suit each colour.
SCORE_SCALE = [
    [0.0, "#a50026"],
    [0.1, "#d73027"],
    [0.2, "#f46d43"],
    [0.3, "#fdae61"],
    [0.4, "#fee090"],
    [0.5, "#ffffbf"],
    [0.6, "#e0f3f8"],
    [0.7, "#abd9e9"],
    [0.8, "#74add1"],
    [0.9, "#4575b4"],
    [1.0, "#313695"],
]


def score_text(value: float | None, *, not_applicable: str = "n/a") -> str:
    """A score as shown: rounded down to a whole number, so only a flawless table shows 100."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return not_applicable
    return str(math.floor(value + 1e-9))


SCORE_COLUMNS = ("volume", "velocity", "variety", "veracity", "overall")


def _label(labels: Mapping[str, str] | None, key: str) -> str:
    return (labels or {}).get(key, key.replace("_", " ").capitalize())


def score_heatmap(
    scores: pd.DataFrame,
    *,
    title: str = "Data quality score by table",
    x_title: str = "Quality dimension",
    y_title: str = "Table",
    colorbar_title: str = "Score (0–100)",
    not_applicable: str = "n/a",
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """scores (table, volume, velocity, variety, veracity, overall) -> heat map of the scores, one
    row per table, with each score written in its cell ('n/a' where a V does not apply).
    """
    columns = [c for c in SCORE_COLUMNS if c in scores.columns]
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for _, row in scores.iterrows():
        values = [None if row[c] is None or pd.isna(row[c]) else float(row[c]) for c in columns]
        z.append(values)
        text.append([score_text(v, not_applicable=not_applicable) for v in values])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_label(labels, c) for c in columns],
            y=[_label(labels, t) for t in scores["table"]],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 14},
            colorscale=SCORE_SCALE,
            zmin=0,
            zmax=100,
            colorbar={"title": {"text": colorbar_title}},
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_yaxes(autorange="reversed")
    return fig


def volume_growth(
    growth: pd.DataFrame,
    *,
    title: str = "Rows added per month",
    x_title: str = "Month",
    y_title: str = "Rows added (log scale)",
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """growth (table, month, rows_added[, cumulative_rows]) -> one line per table of the rows added
    per month, on a log axis so small and large tables share the chart (months with no rows sit on
    the axis floor as gaps).
    """
    fig = go.Figure()
    for i, (table, part) in enumerate(growth.groupby("table", sort=False)):
        fig.add_scatter(
            x=part["month"],
            y=part["rows_added"].where(part["rows_added"] > 0),
            mode="lines+markers",
            name=_label(labels, str(table)),
            line={"color": PALETTE[i % len(PALETTE)]},
            connectgaps=False,
        )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    added = pd.to_numeric(growth["rows_added"], errors="coerce") if "rows_added" in growth else pd.Series(dtype=float)
    added = added[added > 0]
    ticks = log_ticks(float(added.min()), float(added.max())) if len(added) else [1, 10, 100]
    # Every 1, 2 and 5 of each decade, written in full with thousands separators ("2,000", not "2").
    fig.update_yaxes(type="log", tickmode="array", tickvals=ticks, tickformat=",d")
    return fig


def log_ticks(low: float, high: float) -> list[int]:
    """Smallest and largest positive value -> ticks 1, 2, 5 × 10^k from the decade below ``low`` to the tick above ``high``.

    A log axis labelled only at the powers of ten (100, 1,000) left lines between them without a
    nearby tick; 1-2-5 steps put a labelled tick within a factor 2.5 of every value.
    """
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high < low:
        raise ValueError("log_ticks needs 0 < low <= high")
    ticks: list[int] = []
    decade = 10 ** math.floor(math.log10(max(low, 1)))
    while True:
        for multiple in (1, 2, 5):
            ticks.append(multiple * decade)
            if ticks[-1] >= high:
                return ticks
        decade *= 10


def freshness_bars(
    scores: pd.DataFrame,
    *,
    title: str = "Age of the newest record",
    x_title: str = "Days since the newest record",
    y_title: str = "Table",
    labels: Mapping[str, str] | None = None,
    fresh_days: float = 7,
    stale_days: float = 90,
) -> go.Figure:
    """scores (table, freshness_hours) -> horizontal bars of the newest record's age in days, for the
    tables that carry a date, coloured blue (fresh), amber (ageing) or red (stale).
    """
    dated = scores[scores["freshness_hours"].notna()] if "freshness_hours" in scores else scores.iloc[0:0]
    days = [float(h) / 24 for h in dated["freshness_hours"]]
    colours = [PALETTE[0] if d <= fresh_days else PALETTE[3] if d >= stale_days else PALETTE[1] for d in days]
    fig = go.Figure(
        go.Bar(
            x=days,
            y=[_label(labels, t) for t in dated["table"]],
            orientation="h",
            marker_color=colours,
            text=[f"{d:.1f}" if not math.isnan(d) else "" for d in days],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f}<extra></extra>",
        )
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(showlegend=False)
    return fig
