"""Figures of the requirements catalogue: MoSCoW effort shares against the must limit, and weighted scores.

Each figure has a plain-data twin (``*_data``) returning the DataFrame it draws; visible texts
come in through ``text`` (English defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.kano import colour_of
from analytics.charts.theme import apply_layout

MOSCOW_COLOURS: dict[str, str] = {"must": "#ef4444", "should": "#f59e0b", "could": "#2563eb", "won't": "#94a3b8"}

NO_KANO_COLOUR = "#cbd5e1"

TEXT: dict[str, str] = {
    "A": "Attractive",
    "O": "One-dimensional",
    "M": "Must-be",
    "I": "Indifferent",
    "R": "Reverse",
    "Q": "Questionable",
    "no_kano": "No Kano category",
    "must": "Must",
    "should": "Should",
    "could": "Could",
    "won't": "Won't",
    "board_title": "Effort by MoSCoW class",
    "board_x": "Share of planned effort (%)",
    "limit": "Limit for musts",
    "score_title": "Weighted score per requirement",
    "score_title_top": "Weighted score per requirement (top {shown} of {total})",
    "score_x": "Score (0-100)",
    "score_y": "Requirement",
}


def _text(text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT, **(text or {})}


def moscow_effort_data(board: pd.DataFrame) -> pd.DataFrame:
    """MoSCoW board (moscow, effort, share_of_effort) -> planned classes with share (%), start (%) of their stacked segment."""
    planned = board.dropna(subset=["share_of_effort"]).reset_index(drop=True)
    share = planned["share_of_effort"] * 100
    return pd.DataFrame(
        {
            "moscow": planned["moscow"],
            "effort": planned["effort"],
            "share": share,
            "start": share.cumsum() - share,
        }
    )


def moscow_effort(board: pd.DataFrame, check: Mapping[str, Any], *, text: Mapping[str, str] | None = None) -> go.Figure:
    """Board and check -> one stacked bar of effort shares with a line at the musts' limit."""
    t = _text(text)
    data = moscow_effort_data(board)
    fig = go.Figure()
    for record in data.itertuples(index=False):
        fig.add_bar(
            x=[record.share],
            y=[""],
            orientation="h",
            name=t.get(record.moscow, record.moscow),
            marker_color=MOSCOW_COLOURS.get(record.moscow, "#64748b"),
            text=[f"{record.share:.0f}%"],
            textposition="inside",
            hovertemplate=f"{t.get(record.moscow, record.moscow)}: " + "%{x:.1f}%<extra></extra>",
        )
    limit = float(check.get("limit", 0.6)) * 100
    fig.add_shape(
        type="line", x0=limit, x1=limit, y0=-0.5, y1=0.5, line={"color": "#0f172a", "width": 3, "dash": "dash"}
    )
    fig.add_annotation(x=limit, y=0.5, text=f"{t['limit']} {limit:.0f}%", showarrow=False, yanchor="bottom")
    apply_layout(fig, title=t["board_title"], x_title=t["board_x"])
    fig.update_layout(barmode="stack", height=240, legend={"traceorder": "normal"})
    fig.update_xaxes(range=[0, 100])
    return fig


#: Longest requirement title a chart label shows; a longer one is cut and ends in "…".
LABEL_WIDTH = 40


def short_label(requirement_id: object, title: object, *, width: int = LABEL_WIDTH) -> str:
    """Requirement id and title -> '<id> <title>', the title cut to ``width`` characters ending in '…' when longer."""
    text = "" if title is None or pd.isna(title) else " ".join(str(title).split())
    if len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return f"{requirement_id} {text}".strip()


def scores_data(scored: pd.DataFrame, *, top: int = 20) -> pd.DataFrame:
    """Scored requirements (requirement_id, title, score[, kano_category]) -> the ``top`` by score, highest first; label.

    ``attrs["total"]`` holds how many requirements have a score, so a chart can say when it shows
    only some of them.
    """
    ranked = scored.dropna(subset=["score"]).sort_values(["score", "requirement_id"], ascending=[False, True])
    frame = ranked.head(top)
    category = frame["kano_category"] if "kano_category" in frame.columns else pd.Series(None, index=frame.index)
    data = pd.DataFrame(
        {
            "requirement_id": frame["requirement_id"].to_numpy(),
            "label": [short_label(i, title) for i, title in zip(frame["requirement_id"], frame["title"], strict=True)],
            "score": frame["score"].to_numpy(dtype=float),
            "kano_category": category.to_numpy(),
        }
    )
    data.attrs["total"] = len(ranked)
    return data


def scores(scored: pd.DataFrame, *, top: int = 20, text: Mapping[str, str] | None = None) -> go.Figure:
    """Scored requirements -> horizontal bars of the weighted score, highest on top, coloured by Kano category.

    Only the ``top`` highest scores are drawn; the title then says so ("top 20 of 25").
    """
    t = _text(text)
    data = scores_data(scored, top=top)
    groups = [None if pd.isna(c) else str(c) for c in data["kano_category"]]
    fig = go.Figure()
    for category in dict.fromkeys(groups):
        part = data[[g == category for g in groups]]
        name = t.get(category, category) if category is not None else t["no_kano"]
        fig.add_bar(
            x=part["score"],
            y=part["label"],
            orientation="h",
            name=name,
            marker_color=colour_of(category) if category is not None else NO_KANO_COLOUR,
            hovertemplate="%{y}: %{x:.1f}<extra></extra>",
        )
    total = int(data.attrs.get("total", len(data)))
    title = t["score_title"] if total <= len(data) else t["score_title_top"].format(shown=len(data), total=total)
    apply_layout(fig, title=title, x_title=t["score_x"], y_title=t["score_y"])
    fig.update_yaxes(categoryorder="array", categoryarray=list(data["label"]), autorange="reversed")
    fig.update_xaxes(range=[0, 100])
    fig.update_layout(height=max(300, 26 * len(data) + 160), barmode="overlay", margin={"t": 95})
    return fig
