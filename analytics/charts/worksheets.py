"""Figures of the Worksheets page: proximity radar and maps, trends, orientation bars, buying-centre map.

Every builder takes the plain frame from ``analytics.worksheets`` and the labels to show (the page
passes translated text), and returns a ``go.Figure``.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import PALETTE, apply_layout


def plain(text: object) -> str:
    """Text a user typed -> the same text for a plotly label (plotly renders some HTML tags; escape them)."""
    return html.escape("" if text is None else str(text), quote=False)


LEVEL_COLOURS = {"A": PALETTE[0], "B": PALETTE[1], "C": PALETTE[2], "D": PALETTE[3]}


#: Scale of a level score as the worksheet shows it (typographic minus signs), and its font size (px).
SCALE_TEXT = ["\u2212\u2212", "\u2212", "0", "+", "++"]
RADAR_TICK_FONT_SIZE = 14
#: The first level sits at the top (90°); the others follow clockwise.
RADAR_ROTATION = 90


def radial_axis_angle(levels: int, *, rotation: float = RADAR_ROTATION) -> float:
    """Number of levels -> the direction (degrees, counter-clockwise from east) of the scale line.

    Halfway between the first two levels, clockwise: the scale labels (−− .. ++) sit in the gap
    between two spokes instead of on a level's spoke next to its name.
    """
    return (rotation - 180 / max(levels, 1)) % 360


def proximity_radar(
    profiles: dict[str, pd.DataFrame],
    *,
    level_names: dict[str, str],
    title: str = "Proximity profile per level",
) -> go.Figure:
    """{trace name: level_profile()} -> radar of the level scores (-2..2), one closed line per trace."""
    fig = go.Figure()
    for i, (name, profile) in enumerate(profiles.items()):
        labels = [level_names.get(level, level) for level in profile["level"]]
        scores = [None if pd.isna(v) else round(float(v), 2) for v in profile["score"]]
        fig.add_scatterpolar(
            r=[*scores, scores[0]],
            theta=[*labels, labels[0]],
            name=plain(name),
            fill="toself" if len(profiles) == 1 else None,
            line={"color": PALETTE[i % len(PALETTE)], "width": 3},
            marker={"size": 9},
            connectgaps=True,
        )
    apply_layout(fig, title=title)
    levels = max((len(p) for p in profiles.values()), default=4)
    fig.update_layout(
        polar={
            "radialaxis": {
                "range": [-2, 2],
                "tickvals": [-2, -1, 0, 1, 2],
                "ticktext": SCALE_TEXT,
                "tickfont": {"size": RADAR_TICK_FONT_SIZE, "color": "#1e293b"},
                "angle": radial_axis_angle(levels),
                # Plotly turns the labels with the scale line; the same angle back sets them upright.
                "tickangle": radial_axis_angle(levels),
                "linecolor": "#94a3b8",
            },
            "angularaxis": {"tickfont": {"size": 15}, "rotation": RADAR_ROTATION, "direction": "clockwise"},
            "domain": {"x": [0.12, 0.88], "y": [0.05, 0.95]},
        },
        showlegend=len(profiles) > 1,
        height=430,
        margin={"l": 110, "r": 110, "t": 70, "b": 40},
    )
    return fig


QUADRANTS = {
    "stable_valuable": (1, 1),
    "unstable_valuable": (1, -1),
    "stable_low_value": (-1, 1),
    "unstable_low_value": (-1, -1),
}


def relationship_map(
    positions: pd.DataFrame,
    *,
    quadrant_labels: dict[str, str],
    title: str = "Stability and economic value",
    x_title: str = "Economic value (mean of subject and organisational level, −2..2)",
    y_title: str = "Stability (mean of personal and power level, −2..2)",
) -> go.Figure:
    """positions (name, economic_value, stability) -> 2×2 map with one labelled point per relationship."""
    fig = go.Figure()
    for key, (qx, qy) in QUADRANTS.items():
        fig.add_annotation(
            x=qx * 1.35,
            y=qy * 1.8,
            text=quadrant_labels.get(key, key),
            showarrow=False,
            font={"size": 13, "color": "#475569"},
        )
    data = positions.dropna(subset=["economic_value", "stability"])
    fig.add_scatter(
        x=data["economic_value"],
        y=data["stability"],
        mode="markers+text",
        text=[plain(n) for n in data["name"]],
        textposition="top center",
        marker={"size": 18, "color": PALETTE[0], "line": {"width": 2, "color": "white"}},
        hovertemplate="%{text}<br>%{x:.2f} / %{y:.2f}<extra></extra>",
        showlegend=False,
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_xaxes(range=[-2.2, 2.2], zeroline=True, zerolinewidth=2, zerolinecolor="#94a3b8")
    fig.update_yaxes(range=[-2.2, 2.2], zeroline=True, zerolinewidth=2, zerolinecolor="#94a3b8")
    fig.update_layout(height=460)
    return fig


def connection_scale(
    positions: pd.DataFrame,
    *,
    left_label: str = "happily and voluntarily connected",
    right_label: str = "committed",
    title: str = "Voluntary bond or commitment",
    x_title: str = "Lean: (power − mean of personal and subject level) / 4",
) -> go.Figure:
    """positions (name, lean in -1..1) -> one horizontal axis from happily connected (-1) to committed (+1)."""
    data = positions.dropna(subset=["lean"])
    fig = go.Figure()
    fig.add_shape(type="line", x0=-1, x1=1, y0=0, y1=0, line={"color": "#94a3b8", "width": 4})
    fig.add_scatter(
        x=data["lean"],
        y=[0] * len(data),
        mode="markers+text",
        text=[plain(n) for n in data["name"]],
        textposition="top center",
        marker={"size": 20, "color": PALETTE[1], "line": {"width": 2, "color": "white"}},
        hovertemplate="%{text}: %{x:.2f}<extra></extra>",
        showlegend=False,
    )
    fig.add_annotation(
        x=-1, y=-0.6, text=left_label, showarrow=False, xanchor="left", font={"size": 14, "color": PALETTE[2]}
    )
    fig.add_annotation(
        x=1, y=-0.6, text=right_label, showarrow=False, xanchor="right", font={"size": 14, "color": PALETTE[3]}
    )
    apply_layout(fig, title=title, x_title=x_title)
    fig.update_xaxes(range=[-1.1, 1.1], tickvals=[-1, -0.5, 0, 0.5, 1])
    fig.update_yaxes(visible=False, range=[-1, 1])
    fig.update_layout(height=240)
    return fig


def level_trend(
    over_time: pd.DataFrame,
    *,
    level_names: dict[str, str],
    title: str = "Level scores over time",
    x_title: str = "Date",
    y_title: str = "Score (−2..2)",
) -> go.Figure:
    """profile_over_time() (date, level, score) -> one line per level."""
    fig = go.Figure()
    for level, part in over_time.groupby("level", sort=True):
        fig.add_scatter(
            x=part["date"],
            y=part["score"],
            name=level_names.get(level, level),
            mode="lines+markers",
            line={"color": LEVEL_COLOURS.get(level), "width": 3},
            connectgaps=True,
        )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_yaxes(range=[-2.2, 2.2])
    return fig


def orientation_bars(
    scores: pd.DataFrame,
    *,
    title: str = "Customer orientation per area",
    x_title: str = "Statements ticked (%)",
) -> go.Figure:
    """orientation_scores() (title, score 0..1, ticked, statements) -> horizontal bars in percent."""
    fig = go.Figure()
    fig.add_bar(
        y=scores["title"],
        x=scores["score"] * 100,
        orientation="h",
        marker_color=PALETTE[2],
        text=[f"{t} / {n}" for t, n in zip(scores["ticked"], scores["statements"], strict=True)],
        textposition="auto",
        hovertemplate="%{y}: %{x:.0f} %<extra></extra>",
    )
    apply_layout(fig, title=title, x_title=x_title)
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=300)
    return fig


def buying_centre_map(
    people: pd.DataFrame,
    *,
    role_names: dict[str, str],
    title: str = "Buying centre: influence and attitude",
    x_title: str = "Attitude towards us (−2 opposed .. +2 champion)",
    y_title: str = "Influence on the decision (1 low .. 3 high)",
) -> go.Figure:
    """buying_centre() (name, role, influence_value, attitude_value) -> scatter, one colour per role."""
    data = people.dropna(subset=["influence_value", "attitude_value"])
    fig = go.Figure()
    for i, (role, part) in enumerate(data.groupby(data["role"].fillna("none"), sort=False)):
        fig.add_scatter(
            x=part["attitude_value"],
            y=part["influence_value"],
            mode="markers+text",
            text=[plain(n) for n in part["name"]],
            textposition="top center",
            name=role_names.get(role, role),
            marker={"size": 20, "color": PALETTE[i % len(PALETTE)], "line": {"width": 2, "color": "white"}},
        )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_xaxes(range=[-2.5, 2.5], tickvals=[-2, -1, 0, 1, 2], zeroline=True, zerolinecolor="#94a3b8")
    fig.update_yaxes(range=[0.5, 3.5], tickvals=[1, 2, 3])
    fig.update_layout(height=420)
    return fig


def moscow_bars(
    counts: pd.DataFrame,
    *,
    class_names: dict[str, str],
    title: str = "Requirements per MoSCoW class",
    y_title: str = "Requirements",
) -> go.Figure:
    """moscow_counts() (moscow, requirements) -> one bar per class."""
    colours = {
        "must": PALETTE[3],
        "should": PALETTE[1],
        "could": PALETTE[0],
        "won't": PALETTE[7],
        "unsorted": "#cbd5e1",
    }
    fig = go.Figure()
    fig.add_bar(
        x=[class_names.get(c, c) for c in counts["moscow"]],
        y=counts["requirements"],
        marker_color=[colours.get(c, PALETTE[0]) for c in counts["moscow"]],
        text=counts["requirements"],
        textposition="auto",
    )
    apply_layout(fig, title=title, x_title=None, y_title=y_title)
    fig.update_layout(height=320)
    return fig
