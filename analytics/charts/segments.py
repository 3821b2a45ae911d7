"""Figures of the Segments page. Each draws one plain-data twin from ``analytics.segmentation``.

Texts are keyword arguments with English defaults so the page can pass translated ones.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.charts.theme import PALETTE, apply_layout

#: One fixed colour per lifecycle stage (green good, red bad, grey for "not yet").
STAGE_COLOURS = {
    "new": "#0ea5e9",
    "active": "#2563eb",
    "loyal": "#10b981",
    "at risk": "#f59e0b",
    "lost": "#ef4444",
    "not yet a customer": "#94a3b8",
}
CLASS_COLOURS = {"A": "#2563eb", "B": "#f59e0b", "C": "#64748b"}
#: Colours of the default RFM segments: greens for the best, blues for the new, amber for those
#: drifting, reds for those at risk, greys for the gone. Dark enough for white labels.
SEGMENT_COLOURS = {
    "Champions": "#065f46",
    "Loyal customers": "#059669",
    "Potential loyalist": "#0f766e",
    "New customers": "#1d4ed8",
    "Promising": "#0369a1",
    "Need attention": "#b45309",
    "About to sleep": "#92400e",
    "At risk": "#dc2626",
    "Can't lose them": "#991b1b",
    "Hibernating": "#64748b",
    "Lost": "#334155",
    "Other": "#94a3b8",
}


def segment_treemap(
    summary: pd.DataFrame,
    *,
    display_names: dict[str, str] | None = None,
    size_by: str = "customers",
    title: str = "RFM segments",
    hover_customers: str = "Customers",
    hover_revenue: str = "Revenue share",
) -> go.Figure:
    """segment_summary (segment, customers, customer_share, revenue_share) -> treemap sized by customers or revenue share."""
    if size_by not in ("customers", "revenue"):
        raise ValueError("size_by must be 'customers' or 'revenue'")
    column = "customers" if size_by == "customers" else "revenue_share"
    data = summary[summary[column] > 0]
    colours = [SEGMENT_COLOURS.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(data["segment"])]
    share = data["customer_share"] if size_by == "customers" else data["revenue_share"]
    display_names = display_names or {}
    fig = go.Figure(
        go.Treemap(
            labels=[display_names.get(name, name) for name in data["segment"]],
            parents=[""] * len(data),
            values=data[column],
            text=[f"{s:.1%}" for s in share],
            customdata=list(zip(data["customers"], data["revenue_share"], strict=True)),
            texttemplate="<b>%{label}</b><br>%{text}",
            hovertemplate=(
                f"<b>%{{label}}</b><br>{hover_customers}: %{{customdata[0]:,}}"
                f"<br>{hover_revenue}: %{{customdata[1]:.1%}}<extra></extra>"
            ),
            marker={"colors": colours},
            textfont={"color": "#ffffff", "size": 14},
            sort=False,
        )
    )
    apply_layout(fig, title=title)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


#: Font size (px) of the cut-off labels on the Pareto chart.
CUTOFF_FONT_SIZE = 13


def cutoff_label(cut: float) -> dict:
    """A revenue cut-off (0.8) -> annotation settings: '80%' at the left end, just above its dotted line.

    At the left end the label sits over white space: the curve is still low there, so it neither
    covers the curve nor touches the line (a white box and a small upward shift keep them apart).
    """
    return {
        "x": 0,
        "xref": "paper",
        "xanchor": "left",
        "xshift": 4,
        "y": cut * 100,
        "yref": "y",
        "yanchor": "bottom",
        "yshift": 3,
        "text": f"{cut:.0%}",
        "showarrow": False,
        "font": {"size": CUTOFF_FONT_SIZE, "color": "#334155"},
        "bgcolor": "#ffffff",
        "borderpad": 2,
    }


def pareto_chart(
    curve: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    cutoffs: tuple[float, float] = (0.8, 0.95),
    title: str = "Pareto curve of revenue (ABC)",
    x_title: str = "Share of customers, largest first (%)",
    y_title: str = "Cumulative share of revenue (%)",
    class_label: str = "Class {name}: {customers:.1%} of customers",
) -> go.Figure:
    """pareto_curve (customer_share, revenue_share, abc_class) and abc_summary -> curve coloured by class with the cut-offs."""
    fig = go.Figure()
    shares = dict(zip(summary["abc_class"], summary["customer_share"], strict=True))
    for name in ("A", "B", "C"):
        part = curve[curve["abc_class"] == name]
        if part.empty:
            continue
        # Start each class where the previous one ended so the line has no gaps.
        before = curve[curve.index < part.index[0]].tail(1)
        part = pd.concat([before, part])
        fig.add_scatter(
            x=part["customer_share"] * 100,
            y=part["revenue_share"] * 100,
            mode="lines",
            name=class_label.format(name=name, customers=shares.get(name, 0.0)),
            line={"color": CLASS_COLOURS[name], "width": 3},
            fill="tozeroy",
            hovertemplate="%{x:.1f}% → %{y:.1f}%<extra></extra>",
        )
    for cut in cutoffs:
        fig.add_hline(y=cut * 100, line_dash="dot", line_color="#475569")
        fig.add_annotation(**cutoff_label(cut))
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(range=[0, 101])
    return fig


def diagnostics_chart(
    diagnostics: pd.DataFrame,
    *,
    suggested_k: int | None = None,
    title: str = "Choosing the number of clusters",
    x_title: str = "Number of clusters k",
    panel_titles: tuple[str, str, str] = (
        "Elbow: inertia (lower is tighter)",
        "Silhouette (higher is better)",
        "Davies–Bouldin (lower is better)",
    ),
) -> go.Figure:
    """cluster_diagnostics (k, inertia, silhouette, davies_bouldin) -> three panels side by side, suggested k marked."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=panel_titles, horizontal_spacing=0.08)
    for col, (column, colour) in enumerate(
        (("inertia", PALETTE[0]), ("silhouette", PALETTE[2]), ("davies_bouldin", PALETTE[1])), start=1
    ):
        fig.add_scatter(
            x=diagnostics["k"],
            y=diagnostics[column],
            mode="lines+markers",
            line={"color": colour},
            showlegend=False,
            row=1,
            col=col,
        )
        if suggested_k is not None:
            fig.add_vline(x=suggested_k, line_dash="dot", line_color="#475569", row=1, col=col)
    apply_layout(fig, title=title)
    fig.update_xaxes(title_text=x_title, dtick=1)
    fig.update_layout(margin={"l": 50, "r": 20, "t": 80, "b": 50})
    return fig


def pca_scatter(
    projection: pd.DataFrame,
    *,
    names: dict[int, str] | None = None,
    title: str = "Clusters in two dimensions (PCA)",
    x_title: str = "Component 1 ({share:.0%} of variance)",
    y_title: str = "Component 2 ({share:.0%} of variance)",
) -> go.Figure:
    """pca_projection (pc1, pc2, cluster; attrs explained_variance) -> scatter coloured by cluster."""
    names = names or {}
    fig = go.Figure()
    for i, cluster in enumerate(sorted(projection["cluster"].unique())):
        part = projection[projection["cluster"] == cluster]
        fig.add_scattergl(
            x=part["pc1"],
            y=part["pc2"],
            mode="markers",
            name=names.get(int(cluster), str(cluster)),
            marker={"size": 5, "opacity": 0.6, "color": PALETTE[i % len(PALETTE)]},
        )
    explained = projection.attrs.get("explained_variance", [0.0, 0.0])
    apply_layout(
        fig, title=title, x_title=x_title.format(share=explained[0]), y_title=y_title.format(share=explained[1])
    )
    return fig


def lifecycle_area(
    counts: pd.DataFrame,
    *,
    stage_names: dict[str, str] | None = None,
    title: str = "Customers by lifecycle stage and month",
    x_title: str = "Month",
    y_title: str = "Customers",
) -> go.Figure:
    """lifecycle_counts (month, stage, customers) -> stacked area per stage."""
    stage_names = stage_names or {}
    fig = go.Figure()
    for stage in STAGE_COLOURS:
        part = counts[counts["stage"] == stage]
        if part.empty:
            continue
        fig.add_scatter(
            x=part["month"],
            y=part["customers"],
            name=stage_names.get(stage, stage),
            mode="lines",
            stackgroup="stages",
            line={"color": STAGE_COLOURS[stage], "width": 1},
        )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    return fig


def lifecycle_sankey(
    flows: pd.DataFrame,
    *,
    stage_names: dict[str, str] | None = None,
    title: str = "Flows between stages",
    from_suffix: str = " (before)",
    to_suffix: str = " (after)",
) -> go.Figure:
    """lifecycle_flows (from_stage, to_stage, customers) -> Sankey from the earlier month (left) to the later (right)."""
    stage_names = stage_names or {}
    order = list(STAGE_COLOURS)
    sources = [s for s in sorted(flows["from_stage"].unique(), key=lambda s: order.index(s) if s in order else 99)]
    targets = [s for s in sorted(flows["to_stage"].unique(), key=lambda s: order.index(s) if s in order else 99)]
    labels = [stage_names.get(s, s) + from_suffix for s in sources] + [
        stage_names.get(s, s) + to_suffix for s in targets
    ]
    colours = [stage_colour(s) for s in sources + targets]
    index_from = {s: i for i, s in enumerate(sources)}
    index_to = {s: len(sources) + i for i, s in enumerate(targets)}
    fig = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "color": colours,
                "pad": 14,
                "thickness": 16,
                "line": {"color": "#ffffff", "width": 0.5},
            },
            link={
                "source": [index_from[s] for s in flows["from_stage"]],
                "target": [index_to[t] for t in flows["to_stage"]],
                "value": flows["customers"].tolist(),
                # Each flow takes the colour of the stage it leaves, see-through so crossings stay readable.
                "color": [translucent(stage_colour(s), LINK_OPACITY) for s in flows["from_stage"]],
            },
            textfont={"color": SANKEY_TEXT_COLOUR, "size": 13},
        )
    )
    apply_layout(fig, title=title)
    return fig


#: Opacity of a Sankey flow over its source stage's colour; dark label text for contrast on white.
LINK_OPACITY = 0.4
SANKEY_TEXT_COLOUR = "#0f172a"


def stage_colour(stage: str) -> str:
    """Lifecycle stage -> its colour (slate grey for an unknown stage)."""
    return STAGE_COLOURS.get(stage, "#64748b")


def translucent(colour: str, opacity: float) -> str:
    """'#2563eb', 0.4 -> 'rgba(37, 99, 235, 0.4)'."""
    red, green, blue = (int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red}, {green}, {blue}, {opacity})"
