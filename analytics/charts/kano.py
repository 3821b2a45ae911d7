"""Figures of the Kano survey: stacked category bars, better-worse diagram, continuous Kano plot, comparison.

Each figure has a plain-data twin (``*_data``) that returns the DataFrame it draws. Texts the
reader sees come in through ``text`` (the page passes them translated); the defaults are English.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import PALETTE, apply_layout
from analytics.kano import CATEGORIES

#: One readable colour per category (must-be red, one-dimensional blue, attractive green, ...).
CATEGORY_COLOURS: dict[str, str] = {
    "A": "#10b981",
    "O": "#2563eb",
    "M": "#ef4444",
    "I": "#94a3b8",
    "R": "#f59e0b",
    "Q": "#8b5cf6",
}
MIXED_COLOUR = "#0f172a"

TEXT: dict[str, str] = {
    "A": "Attractive",
    "O": "One-dimensional",
    "M": "Must-be",
    "I": "Indifferent",
    "R": "Reverse",
    "Q": "Questionable",
    "bars_title": "Kano categories per feature",
    "bars_x": "Share of answers (%)",
    "bars_y": "Feature",
    "bw_title": "Better-worse diagram (bubble size: importance)",
    "bw_x": "Dissatisfaction if absent |worse| (0-1)",
    "bw_y": "Satisfaction if present, better (0-1)",
    "cont_title": "Continuous Kano plot (mean score ± standard deviation)",
    "cont_x": "Dysfunctional score (-2 to 4)",
    "cont_y": "Functional score (-2 to 4)",
    "cmp_title": "Better-worse comparison",
    "moved": "moved category",
}

#: Quadrant of the better-worse diagram: (|worse| >= 0.5, better >= 0.5) -> category.
QUADRANTS: dict[tuple[bool, bool], str] = {
    (False, True): "A",
    (True, True): "O",
    (True, False): "M",
    (False, False): "I",
}


def _text(text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT, **(text or {})}


def colour_of(category: str | None) -> str:
    """Category -> its colour; mixed or missing categories -> a dark neutral."""
    return CATEGORY_COLOURS.get(str(category), MIXED_COLOUR)


# --- stacked category bars -------------------------------------------------------------------------


def category_bars_data(summary: pd.DataFrame) -> pd.DataFrame:
    """Summary (feature, A..Q, n) -> long rows feature, category, count, share (share of n; 0 when n = 0)."""
    rows = []
    for record in summary.itertuples(index=False):
        n = int(record.n)
        for c in CATEGORIES:
            count = int(getattr(record, c))
            rows.append({"feature": record.feature, "category": c, "count": count, "share": count / n if n else 0.0})
    return pd.DataFrame(rows, columns=["feature", "category", "count", "share"])


def category_bars(summary: pd.DataFrame, *, text: Mapping[str, str] | None = None) -> go.Figure:
    """Summary -> horizontal bars, one per feature, stacked by category share (A, O, M, I, R, Q)."""
    t = _text(text)
    data = category_bars_data(summary)
    fig = go.Figure()
    for c in CATEGORIES:
        part = data[data["category"] == c]
        fig.add_bar(
            y=part["feature"],
            x=part["share"] * 100,
            orientation="h",
            name=f"{c} {t[c]}",
            marker_color=CATEGORY_COLOURS[c],
            customdata=part["count"],
            hovertemplate="%{y}<br>" + f"{t[c]}: " + "%{x:.1f}% (%{customdata})<extra></extra>",
        )
    apply_layout(fig, title=t["bars_title"], x_title=t["bars_x"], y_title=t["bars_y"])
    fig.update_layout(barmode="stack", height=max(320, 34 * len(summary) + 140), legend={"traceorder": "normal"})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 100])
    return fig


# --- better-worse diagram --------------------------------------------------------------------------------


def better_worse_data(summary: pd.DataFrame) -> pd.DataFrame:
    """Summary (feature, better, worse[, importance, category, n]) -> feature, x = |worse|, y = better, size, category, quadrant.

    Features with undefined coefficients (NaN) are left out. ``size`` is the mean importance, or
    n when no importance was asked. ``quadrant``: A (x < 0.5, y >= 0.5), O (both >= 0.5),
    M (x >= 0.5, y < 0.5), I (both < 0.5).
    """
    frame = summary.dropna(subset=["better", "worse"])
    size = (
        frame["importance"] if "importance" in frame.columns and frame["importance"].notna().any() else frame.get("n")
    )
    out = pd.DataFrame(
        {
            "feature": frame["feature"].to_numpy(),
            "x": frame["worse"].abs().to_numpy(dtype=float),
            "y": frame["better"].to_numpy(dtype=float),
            "size": pd.to_numeric(size, errors="coerce").to_numpy(dtype=float) if size is not None else np.nan,
            "category": frame["category"].to_numpy() if "category" in frame.columns else None,
        }
    )
    out["quadrant"] = [QUADRANTS[(bool(x >= 0.5), bool(y >= 0.5))] for x, y in zip(out["x"], out["y"], strict=True)]
    return out


def _bubble_sizes(size: pd.Series) -> np.ndarray:
    values = pd.to_numeric(size, errors="coerce").to_numpy(dtype=float)
    if np.all(np.isnan(values)):
        return np.full(len(values), 18.0)
    low, high = np.nanmin(values), np.nanmax(values)
    if high == low:
        return np.full(len(values), 24.0)
    return np.where(np.isnan(values), 14.0, 12 + 30 * (values - low) / (high - low))


_LABEL_SPOTS = (
    ("top center", 0.0, 1.0),
    ("bottom center", 0.0, -1.0),
    ("middle right", 1.6, 0.0),
    ("middle left", -1.6, 0.0),
    ("top right", 1.2, 1.0),
    ("bottom left", -1.2, -1.0),
    ("top left", -1.2, 1.0),
    ("bottom right", 1.2, -1.0),
)


def label_positions(x: pd.Series, y: pd.Series, *, span: float) -> list[str]:
    """Point coordinates -> a plotly ``textposition`` per point that keeps labels of close points apart.

    Greedy: points from the top down each take the first spot (above, below, right, left, ...)
    whose label centre is not within a label's size of a label already placed.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    height, width = 0.045 * span, 0.09 * span
    placed: list[tuple[float, float]] = []
    chosen = ["top center"] * len(xs)
    for i in sorted(range(len(xs)), key=lambda k: -ys[k]):
        for name, dx, dy in _LABEL_SPOTS:
            cx, cy = xs[i] + dx * width * 0.6, ys[i] + dy * height
            if all(abs(cx - px) > width or abs(cy - py) > height for px, py in placed):
                chosen[i] = name
                placed.append((cx, cy))
                break
        else:
            placed.append((xs[i], ys[i] + height))
    return chosen


def _quadrant_guides(fig: go.Figure, t: Mapping[str, str], *, at: float, low: float, high: float) -> None:
    fig.add_shape(type="line", x0=at, x1=at, y0=low, y1=high, line={"dash": "dash", "color": "#64748b"})
    fig.add_shape(type="line", x0=low, x1=high, y0=at, y1=at, line={"dash": "dash", "color": "#64748b"})
    pad = (high - low) * 0.03
    for (right, top), category in QUADRANTS.items():
        fig.add_annotation(
            x=high - pad if right else low + pad,
            y=high - pad if top else low + pad,
            text=f"<b>{t[category]}</b>",
            showarrow=False,
            xanchor="right" if right else "left",
            yanchor="top" if top else "bottom",
            font={"color": CATEGORY_COLOURS[category], "size": 14},
        )


def better_worse(summary: pd.DataFrame, *, text: Mapping[str, str] | None = None) -> go.Figure:
    """Summary -> better-worse diagram: x = |worse|, y = better, guides at 0.5, labelled quadrants, bubble = importance."""
    t = _text(text)
    data = better_worse_data(summary)
    fig = go.Figure()
    fig.add_scatter(
        x=data["x"],
        y=data["y"],
        mode="markers+text",
        text=data["feature"],
        textposition=label_positions(data["x"], data["y"], span=1.0),
        textfont={"size": 12, "color": "#0f172a"},
        marker={
            "size": _bubble_sizes(data["size"]),
            "color": [colour_of(c) for c in data["category"]],
            "opacity": 0.75,
            "line": {"width": 1, "color": "#0f172a"},
        },
        customdata=np.stack([data["size"].to_numpy(), data["category"].astype(str).to_numpy()], axis=1)
        if len(data)
        else None,
        hovertemplate="%{text}<br>better %{y:.2f}, |worse| %{x:.2f}<br>%{customdata[1]}, size %{customdata[0]:.1f}<extra></extra>",
        showlegend=False,
    )
    _quadrant_guides(fig, t, at=0.5, low=0.0, high=1.0)
    apply_layout(fig, title=t["bw_title"], x_title=t["bw_x"], y_title=t["bw_y"])
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(height=620)
    return fig


# --- continuous Kano plot -----------------------------------------------------------------------------------


def continuous_data(summary: pd.DataFrame, *, weighted: bool = False) -> pd.DataFrame:
    """Summary -> feature, x = mean dysfunctional score, y = mean functional score, x_error, y_error (sd), size, category.

    ``weighted`` takes the importance-weighted means instead (spread stays the plain sd).
    Features without a score are left out.
    """
    x_col, y_col = (
        ("weighted_dysfunctional", "weighted_functional") if weighted else ("mean_dysfunctional", "mean_functional")
    )
    frame = summary.dropna(subset=[x_col, y_col])
    return pd.DataFrame(
        {
            "feature": frame["feature"].to_numpy(),
            "x": frame[x_col].to_numpy(dtype=float),
            "y": frame[y_col].to_numpy(dtype=float),
            "x_error": frame["sd_dysfunctional"].fillna(0).to_numpy(dtype=float),
            "y_error": frame["sd_functional"].fillna(0).to_numpy(dtype=float),
            "size": pd.to_numeric(frame.get("importance"), errors="coerce").to_numpy(dtype=float)
            if "importance" in frame.columns
            else np.full(len(frame), np.nan),
            "category": frame["category"].to_numpy() if "category" in frame.columns else None,
        }
    )


def continuous(summary: pd.DataFrame, *, weighted: bool = False, text: Mapping[str, str] | None = None) -> go.Figure:
    """Summary -> continuous Kano plot (DuMouchel): mean scores with standard-deviation error bars, guides at 2."""
    t = _text(text)
    data = continuous_data(summary, weighted=weighted)
    fig = go.Figure()
    fig.add_scatter(
        x=data["x"],
        y=data["y"],
        mode="markers+text",
        text=data["feature"],
        textposition=label_positions(data["x"], data["y"], span=6.0),
        textfont={"size": 12, "color": "#0f172a"},
        error_x={"type": "data", "array": data["x_error"], "color": "rgba(100, 116, 139, 0.35)", "thickness": 1},
        error_y={"type": "data", "array": data["y_error"], "color": "rgba(100, 116, 139, 0.35)", "thickness": 1},
        marker={
            "size": _bubble_sizes(data["size"]),
            "color": [colour_of(c) for c in data["category"]],
            "opacity": 0.8,
            "line": {"width": 1, "color": "#0f172a"},
        },
        hovertemplate="%{text}<br>functional %{y:.2f}, dysfunctional %{x:.2f}<extra></extra>",
        showlegend=False,
    )
    _quadrant_guides(fig, t, at=2.0, low=-2.0, high=4.0)
    apply_layout(fig, title=t["cont_title"], x_title=t["cont_x"], y_title=t["cont_y"])
    fig.update_xaxes(range=[-2, 4], zeroline=True)
    fig.update_yaxes(range=[-2, 4], zeroline=True)
    fig.update_layout(height=620)
    return fig


# --- comparison ------------------------------------------------------------------------------------------------


def comparison_data(comparison: pd.DataFrame) -> pd.DataFrame:
    """``kano.compare`` result -> long rows feature, group, x = |worse|, y = better, category, moved (both groups)."""
    first, second = comparison.attrs.get("groups", ("a", "b"))
    rows = []
    for record in comparison.itertuples(index=False):
        for label, group in (("a", first), ("b", second)):
            better, worse = getattr(record, f"better_{label}"), getattr(record, f"worse_{label}")
            if pd.isna(better) or pd.isna(worse):
                continue
            rows.append(
                {
                    "feature": record.feature,
                    "group": group,
                    "x": abs(float(worse)),
                    "y": float(better),
                    "category": getattr(record, f"category_{label}"),
                    "moved": bool(record.moved),
                }
            )
    return pd.DataFrame(rows, columns=["feature", "group", "x", "y", "category", "moved"])


def comparison(comparison: pd.DataFrame, *, text: Mapping[str, str] | None = None) -> go.Figure:
    """``kano.compare`` result -> better-worse diagram with both groups, a line per feature, moved features highlighted."""
    t = _text(text)
    data = comparison_data(comparison)
    groups = comparison.attrs.get("groups", ("a", "b"))
    fig = go.Figure()
    for _feature, part in data.groupby("feature", sort=False):
        if len(part) == 2:
            moved = bool(part["moved"].iloc[0])
            fig.add_scatter(
                x=part["x"],
                y=part["y"],
                mode="lines",
                line={"color": "#ef4444" if moved else "#cbd5e1", "width": 3 if moved else 1.5},
                hoverinfo="skip",
                showlegend=False,
            )
    symbols = ("circle", "diamond")
    for i, group in enumerate(groups):
        part = data[data["group"] == group]
        labels = [
            f"<b>{f}</b> ({t['moved']})" if m and i == 1 else (f if i == 1 else "")
            for f, m in zip(part["feature"], part["moved"], strict=True)
        ]
        fig.add_scatter(
            x=part["x"],
            y=part["y"],
            mode="markers+text",
            name=str(group),
            text=labels,
            textposition=label_positions(part["x"], part["y"], span=1.0),
            textfont={"size": 12, "color": "#0f172a"},
            marker={"size": 13, "symbol": symbols[i], "color": PALETTE[i], "line": {"width": 1, "color": "#0f172a"}},
            customdata=np.stack([part["feature"].to_numpy(), part["category"].astype(str).to_numpy()], axis=1)
            if len(part)
            else None,
            hovertemplate="%{customdata[0]} ("
            + str(group)
            + "): %{customdata[1]}<br>better %{y:.2f}, |worse| %{x:.2f}<extra></extra>",
        )
    _quadrant_guides(fig, t, at=0.5, low=0.0, high=1.0)
    apply_layout(fig, title=f"{t['cmp_title']}: {groups[0]} / {groups[1]}", x_title=t["bw_x"], y_title=t["bw_y"])
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(height=620)
    return fig
