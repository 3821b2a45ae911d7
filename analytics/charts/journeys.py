"""Figures of the Journeys page, each with a plain-data twin (``*_data``) that tests call on its own.

The figure builders take the twin's output; every text a user reads (titles, axis labels, hover
words) is passed in by the page so it can be translated.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import journeys
from analytics.charts.theme import PALETTE, apply_layout

# --- one funnel_customers() result, shared by the funnel table and time to convert -----------------
# These read the per-customer progress that analytics.journeys.funnel_customers() returns, so the page
# counts the events once per funnel definition. They aggregate exactly as funnel() and
# time_to_convert() do over the same progress (counts of "furthest step >= k", timings from the
# previous step of the counted attempt, zero-second conversions left out of median and mean).


def _step_micros(customers: pd.DataFrame, step: int) -> np.ndarray:
    """Epoch microseconds of each customer's step ``step`` (int64; meaningless where the step is NaT)."""
    return customers[f"step_{step}_at"].to_numpy(dtype="datetime64[us]").astype(np.int64)


def funnel_from_customers(customers: pd.DataFrame, steps: list[str], *, order: str = "ordered") -> pd.DataFrame:
    """funnel_customers() output and its steps -> the table funnel() returns for the same funnel (one row per step)."""
    n = len(steps)
    reached = customers["furthest_step"].to_numpy()
    counts = [int((reached >= k).sum()) for k in range(1, n + 1)]
    rows = []
    for k in range(1, n + 1):
        count, first = counts[k - 1], counts[0]
        previous = counts[k - 2] if k > 1 else first
        median = mean = float("nan")
        if k > 1:
            done = reached >= k
            delta = _step_micros(customers, k)[done] - _step_micros(customers, k - 1)[done]
            delta = delta[delta > 0]
            if delta.size:
                median, mean = float(np.median(delta)) / 1e6, float(delta.mean()) / 1e6
        rows.append(
            {
                "step": k,
                # As funnel(): an any-order funnel's rows are "k of n" steps, not named steps.
                "name": steps[k - 1] if order != "unordered" else f"{k} of {n}",
                "customers": count,
                "conversion_from_start": count / first if first else float("nan"),
                "conversion_from_previous": count / previous if previous else float("nan"),
                "median_seconds": median,
                "mean_seconds": mean,
            }
        )
    return pd.DataFrame(rows, columns=list(journeys.FUNNEL_COLUMNS))


def conversion_seconds(customers: pd.DataFrame, from_step: int, to_step: int) -> np.ndarray:
    """funnel_customers() output, two steps -> seconds from ``from_step`` to ``to_step`` of every customer who
    reached ``to_step`` (the input of analytics.journeys.conversion_time_bins, as time_to_convert() uses)."""
    if not 1 <= from_step < to_step or f"step_{to_step}_at" not in customers.columns:
        raise journeys.FunnelInputError("Time to convert runs from one step to a later one.")
    done = customers["furthest_step"].to_numpy() >= to_step
    delta = _step_micros(customers, to_step)[done] - _step_micros(customers, from_step)[done]
    return delta / 1e6


# --- funnel -------------------------------------------------------------------------------------


def funnel_data(funnel: pd.DataFrame) -> pd.DataFrame:
    """funnel() output -> step, name, customers, pct_first, pct_previous, dropped (customers lost before the step)."""
    data = funnel[["step", "name", "customers"]].copy()
    data["pct_first"] = funnel["conversion_from_start"].to_numpy()
    data["pct_previous"] = funnel["conversion_from_previous"].to_numpy()
    previous = data["customers"].shift(1)
    data["dropped"] = (previous - data["customers"]).fillna(0).astype(int)
    return data


def funnel_figure(
    data: pd.DataFrame,
    *,
    title: str,
    of_first: str = "of first",
    of_previous: str = "of previous",
    customers: str = "customers",
    numbered: bool = True,
) -> go.Figure:
    """funnel_data output -> plotly funnel with the count, "% of first" and "% of previous" on each bar.

    Bars are labelled "<step>. <name>"; ``numbered=False`` shows the names alone (a funnel in any order
    names its steps "2 of 5" already).
    """
    labels = [f"{s}. {n}" if numbered else str(n) for s, n in zip(data["step"], data["name"], strict=True)]
    text = [
        f"{c:,} · {pf:.1%} {of_first} · {pp:.1%} {of_previous}"
        for c, pf, pp in zip(
            data["customers"], data["pct_first"].fillna(0), data["pct_previous"].fillna(0), strict=True
        )
    ]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=data["customers"],
            text=text,
            textinfo="text",
            # Inside a bar wide enough for it, beside a narrow one (never shrunk to an unreadable size).
            textposition="auto",
            constraintext="none",
            insidetextfont={"color": "white"},
            outsidetextfont={"color": "#262730"},
            marker={"color": PALETTE[0]},
            hovertemplate="%{y}<br>%{x:,} " + customers + "<extra></extra>",
        )
    )
    apply_layout(fig, title=title)
    fig.update_layout(margin={"l": 160})
    return fig


def breakdown_data(breakdown: pd.DataFrame, *, order: list[str] | None = None) -> pd.DataFrame:
    """funnel_breakdown() output -> one row per value: value, entered, converted, conversion, p_adjusted,
    significant, direction ("higher"/"lower" than the rest when significant, else "").

    Rows run from the bottom bar of the chart to the top: by conversion, lowest first; with ``order``
    (values with an order of their own, such as size classes) the first of ``order`` comes last, so
    it is drawn on top, and values outside ``order`` come first.
    """
    if breakdown.empty:
        return pd.DataFrame(
            columns=["value", "entered", "converted", "conversion", "p_adjusted", "significant", "direction"]
        )
    rows = breakdown.drop_duplicates("value")[
        ["value", "entered", "converted", "conversion", "z", "p_adjusted", "significant"]
    ]
    rows = rows.copy()
    rows["direction"] = np.where(rows["significant"], np.where(rows["z"] > 0, "higher", "lower"), "")
    rows = rows.drop(columns="z")
    if order is not None:
        rank = {value: i for i, value in enumerate(order)}
        rows["_rank"] = rows["value"].map(lambda v: rank.get(v, len(order)))
        return rows.sort_values("_rank", ascending=False, kind="stable").drop(columns="_rank").reset_index(drop=True)
    return rows.sort_values("conversion", ascending=True).reset_index(drop=True)


def breakdown_figure(
    data: pd.DataFrame,
    *,
    title: str,
    x_title: str,
    marker_text: str = "significant",
    of_text: str = "of",
    overall_text: str = "all customers",
) -> go.Figure:
    """breakdown_data output -> horizontal bars of overall conversion per value, labelled "rate of entered";
    significant values marked ★ and a dashed line at the conversion of all customers together.

    The chart grows with the number of values so every bar keeps a readable label.
    """
    colours = [PALETTE[1] if s else PALETTE[7] for s in data["significant"]]
    labels = [f"{v} ★" if s else str(v) for v, s in zip(data["value"], data["significant"], strict=True)]
    fig = go.Figure(
        go.Bar(
            x=data["conversion"],
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[
                f"{c:.1%} {of_text} {n:,}" if pd.notna(c) else "–"
                for c, n in zip(data["conversion"], data["entered"], strict=True)
            ],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    apply_layout(fig, title=f"{title} (★ {marker_text})", x_title=x_title)
    entered = data["entered"].sum()
    if entered:
        overall = data["converted"].sum() / entered
        fig.add_vline(
            x=overall,
            line={"dash": "dash", "color": "#475569", "width": 1},
            annotation={"text": f"{overall_text}: {overall:.1%}", "font": {"size": 11}},
            annotation_position="top",
        )
    top = float(data["conversion"].fillna(0).max()) if len(data) else 0.0
    fig.update_xaxes(tickformat=".0%", range=[0, max(top, 0.01) * 1.3])
    fig.update_layout(height=max(320, 140 + 28 * len(data)), uniformtext={"minsize": 10, "mode": "show"})
    return fig


# --- time to convert ------------------------------------------------------------------------------


def time_to_convert_data(bins: pd.DataFrame, *, unit_seconds: float = 3600.0) -> pd.DataFrame:
    """time_to_convert() bins -> bin_start, bin_end, bin_mid (in the chosen unit), customers."""
    data = pd.DataFrame(
        {
            "bin_start": bins["bin_start_seconds"] / unit_seconds,
            "bin_end": bins["bin_end_seconds"] / unit_seconds,
            "customers": bins["customers"],
        }
    )
    data["bin_mid"] = (data["bin_start"] + data["bin_end"]) / 2
    return data


def time_to_convert_figure(
    data: pd.DataFrame,
    summary: dict[str, float],
    *,
    title: str,
    x_title: str,
    y_title: str,
    unit_seconds: float = 3600.0,
    marker_names: dict[str, str] | None = None,
) -> go.Figure:
    """time_to_convert_data output and summary -> histogram with lines at the median and the 25/75/90th percentiles."""
    names = marker_names or {
        "median": "median",
        "p25": "25th percentile",
        "p75": "75th percentile",
        "p90": "90th percentile",
    }
    fig = go.Figure(
        go.Bar(
            x=data["bin_mid"],
            y=data["customers"],
            width=(data["bin_end"] - data["bin_start"]) * 0.95,
            marker_color=PALETTE[0],
            hovertemplate="%{x:.1f}: %{y:,}<extra></extra>",
            showlegend=False,
        )
    )
    styles = {
        "median": ("solid", PALETTE[3]),
        "p25": ("dot", PALETTE[7]),
        "p75": ("dot", PALETTE[7]),
        "p90": ("dash", PALETTE[1]),
    }
    # Vertical lines with a label on top, set in one layout update (add_vline validates each one anew).
    # Each label on its own height, to the right of its line, so close percentiles never print over each other.
    shapes, labels = [], []
    for row, (key, (dash, colour)) in enumerate(styles.items()):
        value = summary.get(key)
        if value is None or np.isnan(value):
            continue
        x = value / unit_seconds
        shapes.append(
            {
                "type": "line",
                "x0": x,
                "x1": x,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
                "line": {"dash": dash, "color": colour},
            }
        )
        labels.append(
            {
                "x": x,
                "xref": "x",
                "y": 1 - 0.09 * row,
                "yref": "y domain",
                "text": names[key],
                "showarrow": False,
                "yanchor": "bottom",
                "xanchor": "left",
                "xshift": 3,
                "bgcolor": "rgba(255,255,255,0.8)",
                "font": {"color": colour},
            }
        )
    fig.update_layout(shapes=shapes, annotations=labels)
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    # From zero: one narrow bin alone would otherwise zoom the axis to ticks like 1.92435.
    fig.update_xaxes(rangemode="tozero")
    return fig


# --- over time ------------------------------------------------------------------------------------


PERIOD_LENGTHS = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}


def trend_data(
    trend: pd.DataFrame,
    *,
    unit_seconds: float = 86400.0,
    period: str = "week",
    first_day: dt.date | None = None,
    data_end: dt.datetime | None = None,
    window_seconds: float | None = None,
) -> pd.DataFrame:
    """conversion_trend() output -> period, entered, converted, conversion_rate, median_time (in the unit)
    and complete.

    ``complete`` is False for a period that starts before ``first_day`` (only part of it was chosen), or
    whose last possible entry plus the conversion window reaches past ``data_end`` (its customers may
    still convert, so its rate is not final yet).
    """
    data = trend[["period", "entered", "converted", "conversion_rate"]].copy()
    data["median_time"] = trend["median_seconds"] / unit_seconds
    starts = pd.to_datetime(data["period"])
    complete = pd.Series(True, index=data.index)
    if first_day is not None:
        complete &= starts >= pd.Timestamp(first_day)
    if data_end is not None and window_seconds is not None:
        last_entry_end = starts + PERIOD_LENGTHS[period]
        complete &= last_entry_end + pd.Timedelta(seconds=window_seconds) <= pd.Timestamp(data_end)
    data["complete"] = complete.to_numpy(dtype=bool)
    return data


def trend_figure(data: pd.DataFrame, *, title: str, x_title: str, rate_title: str, entered_title: str) -> go.Figure:
    """trend_data output -> customers entering per entry period (bars, left axis) and conversion rate (line, right).

    Periods that are not complete are drawn hatched, their rate as an open marker.
    """
    complete = data["complete"] if "complete" in data else pd.Series(True, index=data.index)
    x = _period_axis_values(data)
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=data["entered"],
        name=entered_title,
        marker={"color": "#cbd5e1", "pattern": {"shape": ["" if c else "/" for c in complete], "fgcolor": "#64748b"}},
    )
    fig.add_scatter(
        x=x,
        y=data["conversion_rate"],
        name=rate_title,
        mode="lines+markers",
        line={"color": PALETTE[0]},
        marker={"symbol": ["circle" if c else "circle-open" for c in complete], "size": 8},
        yaxis="y2",
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=entered_title)
    top = float(data["conversion_rate"].fillna(0).max()) if len(data) else 0.0
    fig.update_layout(
        yaxis={"rangemode": "tozero", "showgrid": False},
        yaxis2={
            "title": rate_title,
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%" if top >= 0.1 else ".1%",  # small rates: one decimal, or the ticks repeat
            "range": [0, max(top, 0.01) * 1.15],
            "nticks": 6,
        },
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0},
        margin={"b": 90},
    )
    if len(data) == 1:  # one period: a category axis instead of a time axis zoomed to a fraction of a second
        fig.update_xaxes(type="category")
    return fig


def _period_axis_values(data: pd.DataFrame) -> list:
    """Entry periods for the x axis: timestamps, or for a single period its date as text (a category axis
    would otherwise print the full timestamp)."""
    if len(data) == 1:
        return [pd.Timestamp(data["period"].iloc[0]).strftime("%Y-%m-%d")]
    return list(data["period"])


def time_trend_figure(data: pd.DataFrame, *, title: str, x_title: str, y_title: str) -> go.Figure:
    """trend_data output -> median time to convert (first to last step) by entry period, a line; periods
    that are not complete as open markers."""
    complete = data["complete"] if "complete" in data else pd.Series(True, index=data.index)
    fig = go.Figure(
        go.Scatter(
            x=_period_axis_values(data),
            y=data["median_time"],
            mode="lines+markers",
            marker={"symbol": ["circle" if c else "circle-open" for c in complete], "size": 8},
            line={"color": PALETTE[1]},
            connectgaps=False,
            hovertemplate="%{x}: %{y:.1f}<extra></extra>",
        )
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_yaxes(rangemode="tozero")
    if len(data) == 1:  # one period: a category axis instead of a time axis zoomed to a fraction of a second
        fig.update_xaxes(type="category")
    return fig


# --- Sankey -----------------------------------------------------------------------------------------


def sankey_data(links: pd.DataFrame) -> dict[str, list]:
    """paths() links -> {"labels", "source", "target", "value"} index lists for a plotly Sankey."""
    if links.empty:
        return {"labels": [], "source": [], "target": [], "value": []}
    labels, source, target = journeys.sankey_nodes(links)
    return {"labels": labels, "source": source, "target": target, "value": links["customers"].astype(int).tolist()}


def sankey_layout(data: dict[str, list]) -> dict[str, list[float]]:
    """sankey_data output -> {"x", "y"}: each node's column from its position ("3. …" in column 3) and its
    place in the column (nodes in order, "other" and "ended" last), as fractions of the plot.

    Without this plotly pushes every node without outgoing links (each "ended") to the last column.
    """
    labels = data["labels"]
    if not labels:
        return {"x": [], "y": []}
    flow_in = [0.0] * len(labels)
    flow_out = [0.0] * len(labels)
    for s, t, v in zip(data["source"], data["target"], data["value"], strict=True):
        flow_out[s] += v
        flow_in[t] += v
    size = [max(i, o) for i, o in zip(flow_in, flow_out, strict=True)]
    position = [int(label.split(". ", 1)[0]) for label in labels]
    columns = max(position)

    def last(label: str) -> int:
        return 2 if label.endswith(journeys.ENDED) else (1 if label.endswith(journeys.OTHER) else 0)

    x = [0.001 + 0.998 * (p - 1) / max(columns - 1, 1) for p in position]
    y = [0.0] * len(labels)
    for column in set(position):
        members = sorted((i for i, p in enumerate(position) if p == column), key=lambda i: (last(labels[i]), i))
        total = sum(size[i] for i in members) or 1.0
        done = 0.0
        for i in members:
            y[i] = 0.02 + 0.96 * (done + size[i] / 2) / total
            done += size[i]
    return {"x": x, "y": y}


def sankey_colours(labels: list[str]) -> list[str]:
    """Node labels -> colours: one palette colour per event name in order of appearance (the same event has
    the same colour in every column), "ended" grey, "other" light grey."""
    hues = [c for i, c in enumerate(PALETTE) if i != 7]  # index 7 is the neutral grey
    names: dict[str, str] = {}
    colours = []
    for label in labels:
        if label.endswith(journeys.ENDED):
            colours.append("#94a3b8")
        elif label.endswith(journeys.OTHER):
            colours.append("#cbd5e1")
        else:
            name = label.split(". ", 1)[-1]
            colours.append(names.setdefault(name, hues[len(names) % len(hues)]))
    return colours


def sankey_figure(data: dict[str, list], *, title: str) -> go.Figure:
    """sankey_data output -> plotly Sankey, one column per position; "ended" nodes grey, "other" nodes light."""
    place = sankey_layout(data)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": data["labels"],
                "pad": 14,
                "thickness": 14,
                "color": sankey_colours(data["labels"]),
                "x": place["x"],
                "y": place["y"],
            },
            link={"source": data["source"], "target": data["target"], "value": data["value"]},
            textfont={"color": "#0f172a", "size": 12},
        )
    )
    apply_layout(fig, title=title)
    return fig


# --- touchpoints -------------------------------------------------------------------------------------


def heatmap_data(matrix: pd.DataFrame, *, value: str = "interactions") -> pd.DataFrame:
    """touchpoint_matrix() output -> channels × stages table; row labels "<channel> (<kind>)", digital first."""
    pivot = journeys.touchpoint_pivot(matrix, value=value)
    if pivot.empty:
        return pivot
    kinds = matrix.drop_duplicates("channel").set_index("channel")["kind"]
    pivot.index = [f"{c} ({kinds[c]})" for c in pivot.index]
    return pivot


def heatmap_figure(data: pd.DataFrame, *, title: str, x_title: str, y_title: str, value_title: str) -> go.Figure:
    """heatmap_data output -> channel × stage heat map with the counts written in the cells."""
    fig = go.Figure(
        go.Heatmap(
            z=data.to_numpy(),
            x=list(data.columns),
            y=list(data.index),
            colorscale="Blues",
            text=data.to_numpy(),
            texttemplate="%{text:,}",
            colorbar={"title": value_title},
            hovertemplate="%{y} · %{x}: %{z:,}<extra></extra>",
        )
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(360, 28 * len(data.index) + 140))
    return fig


# --- loyalty loop -------------------------------------------------------------------------------------


def purchase_gap_data(gaps: pd.DataFrame, *, bins: int = 20) -> pd.DataFrame:
    """loyalty_loop() gaps -> bin_start, bin_end (days), purchases (equal-width bins of days between purchases)."""
    if gaps.empty:
        return pd.DataFrame(columns=["bin_start", "bin_end", "purchases"])
    counts, edges = np.histogram(gaps["days"].to_numpy(dtype=float), bins=bins)
    return pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "purchases": counts})


def purchase_gap_figure(
    data: pd.DataFrame,
    *,
    title: str,
    x_title: str,
    y_title: str,
    median: float | None = None,
    median_text: str = "median",
) -> go.Figure:
    """purchase_gap_data output -> histogram of the days between a customer's purchases, with a line at the
    median when one is given."""
    fig = go.Figure(
        go.Bar(
            x=(data["bin_start"] + data["bin_end"]) / 2,
            y=data["purchases"],
            width=(data["bin_end"] - data["bin_start"]) * 0.95,
            marker_color=PALETTE[2],
            hovertemplate="%{x:.0f}: %{y:,}<extra></extra>",
        )
    )
    apply_layout(fig, title=title, x_title=x_title, y_title=y_title)
    if median is not None and not pd.isna(median):
        fig.add_vline(
            x=median,
            line={"color": PALETTE[3]},
            annotation={"text": f"{median_text}: {median:.1f}", "font": {"color": PALETTE[3]}},
            annotation_position="top right",
        )
    return fig
