"""Figures of the Kano survey: stacked category bars, better-worse diagram, continuous Kano plot, comparison.

Each figure has a plain-data twin (``*_data``) that returns the DataFrame it draws. Texts the
reader sees come in through ``text`` (the page passes them translated); the defaults are English.
"""

from __future__ import annotations

import re
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


#: Size of the plot area (pixels) the labels are laid out for. A narrow layout: on a wider screen
#: the points spread further apart while labels keep their size, so the labels stay clear.
LABEL_AREA_PX = (800.0, 500.0)
LABEL_FONT_SIZE = 12
#: Width of one character relative to the font size (a generous estimate for a sans-serif font).
CHAR_WIDTH = 0.56
LABEL_GAP_PX = 4.0
#: Directions a label may take from its point, the preferred first: above, below, right, left, diagonals.
_DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
#: Extra distance (pixels) between a bubble's edge and its label; beyond the first a leader line joins them.
_RINGS = (0.0, 18.0, 36.0, 56.0, 80.0)


def _label_box(cx: float, cy: float, width: float, height: float) -> tuple[float, float, float, float]:
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def _box_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Area two boxes (x0, y0, x1, y1) share; 0 when they only touch or are apart."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _circle_overlap(box: tuple[float, float, float, float], cx: float, cy: float, radius: float) -> float:
    """How far a circle reaches into a box (pixels); 0 when they are apart."""
    nearest_x = min(max(cx, box[0]), box[2])
    nearest_y = min(max(cy, box[1]), box[3])
    return max(0.0, radius - float(np.hypot(cx - nearest_x, cy - nearest_y)))


def _segment_hits(
    start: tuple[float, float],
    end: tuple[float, float],
    boxes: list[tuple[float, float, float, float]],
    circles: list[tuple[float, float, float]],
) -> int:
    """How many of the sampled points of a leader line fall inside a box or a circle."""
    hits = 0
    for step in np.linspace(0.0, 1.0, 24):
        sx, sy = start[0] + step * (end[0] - start[0]), start[1] + step * (end[1] - start[1])
        hits += sum(b[0] < sx < b[2] and b[1] < sy < b[3] for b in boxes)
        hits += sum(np.hypot(sx - cx, sy - cy) < r for cx, cy, r in circles)
    return hits


def label_layout(
    x: pd.Series,
    y: pd.Series,
    labels: pd.Series,
    *,
    sizes: pd.Series | np.ndarray | None = None,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    obstacles: list[tuple[float, float, float, float]] | None = None,
    font_size: float = LABEL_FONT_SIZE,
    area_px: tuple[float, float] = LABEL_AREA_PX,
) -> pd.DataFrame:
    """Points with labels -> one row per point: label, x, y, dx, dy (label centre from the point, pixels, y up),
    width, height (label box, pixels), radius (bubble, pixels), leader (True when the label sits away from its
    bubble and needs a line).

    Greedy and deterministic, in the pixels of a plot of ``area_px``: the points with the most close
    neighbours choose first, each taking the first place (above, below, right, left, diagonals; then
    the same a step further out) whose label box touches no bubble, no label placed before, no
    ``obstacles`` box (pixels, x0, y0, x1, y1 from the bottom left) and stays inside the plot. When no
    place is free the one with the least overlap wins. ``sizes`` are marker diameters in pixels
    (default 14). Empty labels are not placed (their bubbles still are obstacles).
    """
    width_px, height_px = area_px
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    texts = ["" if t is None else str(t) for t in labels]
    diameters = np.full(len(xs), 14.0) if sizes is None else np.asarray(sizes, dtype=float)
    px = (xs - x_range[0]) / (x_range[1] - x_range[0]) * width_px
    py = (ys - y_range[0]) / (y_range[1] - y_range[0]) * height_px
    radii = diameters / 2 + 1  # the outline is one pixel wide
    fixed = list(obstacles or [])
    placed: dict[int, tuple[float, float, float, float]] = {}
    leaders: list[tuple[tuple[float, float], tuple[float, float]]] = []
    rows: dict[int, dict] = {}
    crowd = [int(np.sum(np.hypot(px - px[i], py - py[i]) < 90)) for i in range(len(xs))]
    for i in sorted(range(len(xs)), key=lambda k: (-crowd[k], -py[k], px[k])):
        text = texts[i]
        if not text:
            continue
        shown = re.sub(r"<[^>]+>", "", text)
        width, height = CHAR_WIDTH * font_size * len(shown) * (1.1 if "<b>" in text else 1.0) + 6, 1.35 * font_size + 2
        best: tuple[float, float, float, float] | None = None
        for ring in _RINGS:
            for ux, uy in _DIRECTIONS:
                reach = radii[i] + LABEL_GAP_PX + ring
                diagonal = 0.75 if ux and uy else 1.0
                dx = ux * (reach * diagonal + width / 2)
                dy = uy * (reach * diagonal + height / 2)
                box = _label_box(px[i] + dx, py[i] + dy, width, height)
                outside = (
                    max(0.0, -box[0]) + max(0.0, box[2] - width_px) + max(0.0, -box[1]) + max(0.0, box[3] - height_px)
                )
                cost = 50 * outside
                cost += sum(_box_overlap(box, other) for other in placed.values())
                cost += sum(_box_overlap(box, other) for other in fixed)
                cost += sum(30 * _circle_overlap(box, px[k], py[k], radii[k]) for k in range(len(xs)))
                # Labels stay off earlier leader lines, and a leader line crosses no other bubble or label.
                cost += sum(20 * _segment_hits(a, b, [box], []) for a, b in leaders)
                if ring:
                    others = [(px[k], py[k], radii[k]) for k in range(len(xs)) if k != i]
                    cost += 20 * _segment_hits((px[i], py[i]), (px[i] + dx, py[i] + dy), list(placed.values()), others)
                if best is None or cost < best[0]:
                    best = (cost, dx, dy, ring)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _, dx, dy, ring = best
        placed[i] = _label_box(px[i] + dx, py[i] + dy, width, height)
        if ring:
            leaders.append(((px[i], py[i]), (px[i] + dx, py[i] + dy)))
        rows[i] = {"dx": dx, "dy": dy, "width": width, "height": height, "radius": radii[i], "leader": ring > 0}
    return pd.DataFrame(
        [{"label": texts[i], "x": xs[i], "y": ys[i], **rows[i]} for i in range(len(xs)) if i in rows],
        columns=["label", "x", "y", "dx", "dy", "width", "height", "radius", "leader"],
    )


def _add_labels(fig: go.Figure, layout: pd.DataFrame) -> None:
    """Draw ``label_layout`` rows as annotations: next to the bubble, or further out with a thin leader line."""
    for row in layout.itertuples(index=False):
        common = {
            "x": row.x,
            "y": row.y,
            "text": row.label,
            "font": {"size": LABEL_FONT_SIZE, "color": "#0f172a"},
            "bgcolor": "rgba(255, 255, 255, 0.75)",
            "borderpad": 1,
            "name": "point label",
        }
        if row.leader:
            fig.add_annotation(
                **common,
                showarrow=True,
                ax=row.dx,
                ay=-row.dy,
                arrowhead=0,
                arrowwidth=1.2,
                arrowcolor="#475569",
                standoff=row.radius,
            )
        else:
            fig.add_annotation(**common, showarrow=False, xshift=row.dx, yshift=row.dy)


def _quadrant_label_boxes(
    t: Mapping[str, str], *, font_size: float = 14, area_px: tuple[float, float] = LABEL_AREA_PX
) -> list[tuple[float, float, float, float]]:
    """The four quadrant names in the corners -> their boxes in the pixels of ``label_layout``."""
    width_px, height_px = area_px
    boxes = []
    for (right, top), category in QUADRANTS.items():
        width, height = CHAR_WIDTH * font_size * len(t[category]) + 8, 1.4 * font_size
        x0 = width_px * 0.97 - width if right else width_px * 0.03
        y0 = height_px * 0.97 - height if top else height_px * 0.03
        boxes.append((x0, y0, x0 + width, y0 + height))
    return boxes


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
    sizes = _bubble_sizes(data["size"])
    fig.add_scatter(
        x=data["x"],
        y=data["y"],
        mode="markers",
        text=data["feature"],
        marker={
            "size": sizes,
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
    _add_labels(
        fig,
        label_layout(
            data["x"],
            data["y"],
            data["feature"],
            sizes=sizes,
            x_range=(0.0, 1.0),
            y_range=(0.0, 1.0),
            obstacles=_quadrant_label_boxes(t),
        ),
    )
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
    sizes = _bubble_sizes(data["size"])
    fig.add_scatter(
        x=data["x"],
        y=data["y"],
        mode="markers",
        text=data["feature"],
        error_x={"type": "data", "array": data["x_error"], "color": "rgba(100, 116, 139, 0.35)", "thickness": 1},
        error_y={"type": "data", "array": data["y_error"], "color": "rgba(100, 116, 139, 0.35)", "thickness": 1},
        marker={
            "size": sizes,
            "color": [colour_of(c) for c in data["category"]],
            "opacity": 0.8,
            "line": {"width": 1, "color": "#0f172a"},
        },
        hovertemplate="%{text}<br>functional %{y:.2f}, dysfunctional %{x:.2f}<extra></extra>",
        showlegend=False,
    )
    _quadrant_guides(fig, t, at=2.0, low=-2.0, high=4.0)
    _add_labels(
        fig,
        label_layout(
            data["x"],
            data["y"],
            data["feature"],
            sizes=sizes,
            x_range=(-2.0, 4.0),
            y_range=(-2.0, 4.0),
            obstacles=_quadrant_label_boxes(t),
        ),
    )
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
    # The later group carries the labels; every marker of both groups keeps them clear of itself.
    labels = [
        (f"<b>{f}</b> ({t['moved']})" if m else f) if g == groups[1] else ""
        for f, m, g in zip(data["feature"], data["moved"], data["group"], strict=True)
    ]
    for i, group in enumerate(groups):
        part = data[data["group"] == group]
        fig.add_scatter(
            x=part["x"],
            y=part["y"],
            mode="markers",
            name=str(group),
            marker={"size": 13, "symbol": symbols[i], "color": PALETTE[i], "line": {"width": 1, "color": "#0f172a"}},
            customdata=np.stack([part["feature"].to_numpy(), part["category"].astype(str).to_numpy()], axis=1)
            if len(part)
            else None,
            hovertemplate="%{customdata[0]} ("
            + str(group)
            + "): %{customdata[1]}<br>better %{y:.2f}, |worse| %{x:.2f}<extra></extra>",
        )
    _quadrant_guides(fig, t, at=0.5, low=0.0, high=1.0)
    _add_labels(
        fig,
        label_layout(
            data["x"],
            data["y"],
            pd.Series(labels, dtype=object),
            sizes=np.full(len(data), 13.0),
            x_range=(0.0, 1.0),
            y_range=(0.0, 1.0),
            obstacles=_quadrant_label_boxes(t),
        ),
    )
    apply_layout(fig, title=f"{t['cmp_title']}: {groups[0]} / {groups[1]}", x_title=t["bw_x"], y_title=t["bw_y"])
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(height=620)
    return fig
