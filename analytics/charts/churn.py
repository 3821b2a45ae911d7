"""Figures of the Churn and value page; each draws one table from ``analytics.churn`` or ``analytics.clv``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import PALETTE, apply_layout, nice_ticks

BLUE, AMBER, GREEN, RED, GREY = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], PALETTE[7]

#: Legend of the churn figures: one horizontal row (wrapping as needed) at the bottom of the figure,
#: under the x-axis title. The shared theme puts it top right, where it collided with the left-aligned
#: title once the model names grew long. Placed in container coordinates, plotly reserves the
#: legend's own height below the plot, so neither the axis title nor the title can overlap it.
LEGEND_BELOW = {
    "orientation": "h",
    "xref": "container",
    "x": 0.01,
    "xanchor": "left",
    "yref": "container",
    "y": 0.01,
    "yanchor": "bottom",
    "title": {"text": ""},
}


def legend_below(fig: go.Figure) -> go.Figure:
    """Move the legend of ``fig`` under the x-axis title (see :data:`LEGEND_BELOW`); returns the same figure."""
    fig.update_layout(legend=LEGEND_BELOW)
    return fig


def gap_histogram(gaps: pd.DataFrame, *, horizon_days: int) -> go.Figure:
    """gap_table (from_day, to_day, purchases, cumulative_share) -> bars of gaps with the chosen horizon marked."""
    fig = go.Figure()
    fig.add_bar(
        x=gaps["from_day"],
        y=gaps["purchases"],
        name="Repeat purchases",
        marker_color=BLUE,
        offset=0,
        width=gaps["to_day"] - gaps["from_day"],
    )
    fig.add_scatter(
        x=gaps["to_day"],
        y=gaps["cumulative_share"] * 100,
        name="Cumulative share (%)",
        yaxis="y2",
        mode="lines",
        line={"color": AMBER},
    )
    fig.add_vline(
        x=horizon_days,
        line_dash="dash",
        line_color=RED,
        annotation_text=f"horizon {horizon_days} days",
        annotation_position="top right",
    )
    apply_layout(
        fig, title="Days between two purchases of the same customer", x_title="Gap (days)", y_title="Repeat purchases"
    )
    legend_below(fig)
    fig.update_layout(
        yaxis2={
            "title": "Cumulative share (%)",
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "showgrid": False,
            # A step of its own: synchronised with the bars' axis plotly labelled it 15.8, 31.6, ...
            "tickmode": "linear",
            "tick0": 0,
            "dtick": nice_ticks(100)[1],
        }
    )
    return fig


def churn_by_month(monthly: pd.DataFrame) -> go.Figure:
    """churn_rate_by_month (month, active_at_start, lost, churn_rate) -> line of the monthly churn rate in %."""
    fig = go.Figure()
    fig.add_scatter(
        x=monthly["month"], y=monthly["churn_rate"] * 100, mode="lines+markers", name="Churn rate", line={"color": RED}
    )
    apply_layout(fig, title="Churn rate by month", x_title="Month", y_title="Churn rate (%)")
    fig.update_yaxes(rangemode="tozero")
    return fig


def churn_by_segment(segments: pd.DataFrame) -> go.Figure:
    """churn_rate_by_segment (segment, active_at_start, lost, churn_rate) -> bars of the churn rate in % per segment."""
    fig = go.Figure()
    fig.add_bar(
        x=segments["segment"],
        y=segments["churn_rate"] * 100,
        marker_color=BLUE,
        text=[f"{v:.1f}%" for v in segments["churn_rate"].fillna(0) * 100],
        textposition="outside",
        name="Churn rate",
    )
    apply_layout(fig, title="Churn rate over the period by segment", x_title="Segment", y_title="Churn rate (%)")
    return fig


def roc(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """{model: roc_table} -> ROC curves with the diagonal of a random guess."""
    fig = go.Figure()
    for i, (name, table) in enumerate(curves.items()):
        fig.add_scatter(
            x=table["false_positive_rate"],
            y=table["true_positive_rate"],
            mode="lines",
            name=name,
            line={"color": PALETTE[i]},
        )
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Random guess", line={"color": GREY, "dash": "dot"})
    apply_layout(fig, title="ROC curve (validation)", x_title="False positive rate", y_title="True positive rate")
    legend_below(fig)
    return fig


def precision_recall(curves: dict[str, pd.DataFrame], *, base_rate: float) -> go.Figure:
    """{model: pr_table} and the churn rate -> precision-recall curves with the no-skill line at the churn rate."""
    fig = go.Figure()
    for i, (name, table) in enumerate(curves.items()):
        fig.add_scatter(x=table["recall"], y=table["precision"], mode="lines", name=name, line={"color": PALETTE[i]})
    fig.add_scatter(
        x=[0, 1],
        y=[base_rate, base_rate],
        mode="lines",
        name="No skill (churn rate)",
        line={"color": GREY, "dash": "dot"},
    )
    apply_layout(fig, title="Precision and recall (validation)", x_title="Recall", y_title="Precision")
    legend_below(fig)
    fig.update_yaxes(range=[0, 1.02])
    return fig


def calibration(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """{model: calibration_table} -> observed vs predicted churn rate per bin, with the perfect diagonal."""
    fig = go.Figure()
    for i, (name, table) in enumerate(curves.items()):
        fig.add_scatter(
            x=table["mean_predicted"] * 100,
            y=table["observed"] * 100,
            mode="lines+markers",
            name=name,
            line={"color": PALETTE[i]},
        )
    fig.add_scatter(
        x=[0, 100], y=[0, 100], mode="lines", name="Perfectly calibrated", line={"color": GREY, "dash": "dot"}
    )
    apply_layout(
        fig,
        title="Calibration: predicted vs observed churn",
        x_title="Predicted churn probability (%)",
        y_title="Observed churn rate (%)",
    )
    legend_below(fig)
    return fig


def gains(tables: dict[str, pd.DataFrame]) -> go.Figure:
    """{model: lift_table} -> cumulative gains by decile, with the line of random contact."""
    fig = go.Figure()
    for i, (name, table) in enumerate(tables.items()):
        fig.add_scatter(
            x=[0, *(table["cumulative_customers_share"] * 100)],
            y=[0, *(table["cumulative_gain"] * 100)],
            mode="lines+markers",
            name=name,
            line={"color": PALETTE[i]},
        )
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="Random contact", line={"color": GREY, "dash": "dot"})
    apply_layout(
        fig,
        title="Cumulative gains",
        x_title="Customers contacted, highest risk first (%)",
        y_title="Churners reached (%)",
    )
    legend_below(fig)
    return fig


def lift(tables: dict[str, pd.DataFrame]) -> go.Figure:
    """{model: lift_table} -> lift per decile (1 = highest risk) as grouped bars."""
    fig = go.Figure()
    for i, (name, table) in enumerate(tables.items()):
        fig.add_bar(x=table["decile"], y=table["lift"], name=name, marker_color=PALETTE[i])
    fig.add_hline(y=1, line_dash="dot", line_color=GREY)
    apply_layout(
        fig, title="Lift by decile", x_title="Decile (1 = highest risk)", y_title="Lift (× average churn rate)"
    )
    legend_below(fig)
    fig.update_layout(barmode="group")
    return fig


def importance(table: pd.DataFrame, *, top: int = 15) -> go.Figure:
    """importance_table (feature, importance, std) -> horizontal bars of the ``top`` features."""
    head = table.head(top).iloc[::-1]
    fig = go.Figure()
    fig.add_bar(
        x=head["importance"],
        y=head["feature"],
        orientation="h",
        marker_color=BLUE,
        error_x={"type": "data", "array": head["std"]},
    )
    apply_layout(
        fig, title="Permutation importance (validation)", x_title="Drop in ROC AUC when shuffled", y_title="Feature"
    )
    fig.update_layout(height=max(350, 26 * len(head) + 120))
    return fig


RAISES_RISK = "Raises churn risk"
LOWERS_RISK = "Lowers churn risk"


def coefficients(table: pd.DataFrame, *, top: int = 15) -> go.Figure:
    """coefficients (label, coefficient) -> horizontal bars, largest |coefficient| on top; red raises churn risk, green lowers it.

    ``label`` is the readable feature name the page gives each encoded column (the names of the
    permutation-importance chart). The two colours are two traces, so the legend names them.
    """
    head = table.head(top).iloc[::-1]
    raises = head["coefficient"] > 0
    fig = go.Figure()
    for name, rows, colour in ((RAISES_RISK, head[raises], RED), (LOWERS_RISK, head[~raises], GREEN)):
        fig.add_bar(x=rows["coefficient"], y=rows["label"], orientation="h", marker_color=colour, name=name)
    apply_layout(
        fig,
        title="Logistic regression coefficients",
        x_title="Coefficient (log-odds per standard deviation)",
        y_title="Feature",
    )
    legend_below(fig)
    # One bar per row: the two traces never share a feature, so they must not be offset as groups.
    fig.update_layout(height=max(350, 26 * len(head) + 150), barmode="relative")
    fig.update_yaxes(categoryorder="array", categoryarray=list(head["label"]))
    return fig


def profit(curve: pd.DataFrame, *, best: float) -> go.Figure:
    """profit_curve (threshold, net_benefit, contacted) -> expected net benefit per threshold, best one marked."""
    fig = go.Figure()
    fig.add_scatter(
        x=curve["threshold"] * 100, y=curve["net_benefit"], mode="lines", name="Net benefit", line={"color": BLUE}
    )
    fig.add_vline(x=best * 100, line_dash="dash", line_color=GREEN, annotation_text=f"best {best * 100:.0f}%")
    fig.add_hline(y=0, line_color=GREY, line_dash="dot")
    apply_layout(
        fig,
        title="Expected net benefit of contacting customers above a threshold",
        x_title="Churn probability threshold (%)",
        y_title="Net benefit (€)",
    )
    return fig


def run_comparison(runs: pd.DataFrame) -> go.Figure:
    """list_runs rows with a readable ``label`` (run_id, label, roc_auc, pr_auc) -> grouped bars of ROC AUC and PR AUC per run.

    The axis shows the labels; the run id is in the hover text only.
    """
    fig = go.Figure()
    for name, column, colour in (("ROC AUC", "roc_auc", BLUE), ("PR AUC", "pr_auc", AMBER)):
        fig.add_bar(
            x=runs["label"],
            y=runs[column],
            name=name,
            marker_color=colour,
            customdata=runs["run_id"],
            hovertemplate="%{x}<br>" + name + " %{y:.3f}<br>run %{customdata}<extra></extra>",
        )
    apply_layout(fig, title="Stored runs compared", x_title="Run (model · training date)", y_title="Score (0–1)")
    legend_below(fig)
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1])
    return fig


def clv_histogram_binned(
    table: pd.DataFrame,
    *,
    cap: float,
    cap_quantile: float | None = None,
    title: str = "Historical value per customer",
) -> go.Figure:
    """value_histogram rows (from_value, to_value, customers) -> bars of customers per value bin.

    With ``cap_quantile`` the x-axis title says that the top tail is counted at ``cap`` in the last bar.
    """
    x_title = "Value (€)"
    if cap_quantile is not None:
        x_title = f"Value (€; the top {100 - cap_quantile * 100:.0f}% counted at {cap:,.0f})"
    fig = go.Figure()
    fig.add_bar(
        x=table["from_value"],
        y=table["customers"],
        offset=0,
        width=table["to_value"] - table["from_value"],
        marker_color=BLUE,
        name="Customers",
    )
    apply_layout(fig, title=title, x_title=x_title, y_title="Customers")
    return fig


def clv_by_segment(table: pd.DataFrame) -> go.Figure:
    """Rows segment, historical, predicted (mean € per customer) -> grouped bars per segment."""
    fig = go.Figure()
    fig.add_bar(x=table["segment"], y=table["historical"], name="Historical value", marker_color=BLUE)
    fig.add_bar(x=table["segment"], y=table["predicted"], name="Predicted next 12 months", marker_color=GREEN)
    apply_layout(fig, title="Average customer value by segment", x_title="Segment", y_title="Value per customer (€)")
    legend_below(fig)
    fig.update_layout(barmode="group")
    return fig


def alive_heatmap(matrix: pd.DataFrame, *, unit: str = "weeks") -> go.Figure:
    """alive_matrix (rows frequency, columns recency) -> heatmap of P(alive) in %."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy() * 100,
            x=list(matrix.columns),
            y=list(matrix.index),
            colorscale="Blues",
            zmin=0,
            zmax=100,
            colorbar={"title": "P(alive) %"},
        )
    )
    apply_layout(
        fig,
        title="Probability a customer is still active",
        x_title=f"Age at last purchase ({unit})",
        y_title="Repeat purchases",
    )
    return fig


def holdout(table: pd.DataFrame) -> go.Figure:
    """conditional_expectation_table (frequency, actual, expected) -> actual vs expected purchases in the holdout."""
    labels = [f"{f}+" if i == len(table) - 1 else str(f) for i, f in enumerate(table["frequency"])]
    fig = go.Figure()
    fig.add_scatter(x=labels, y=table["actual"], mode="lines+markers", name="Actual", line={"color": BLUE})
    fig.add_scatter(
        x=labels,
        y=table["expected"],
        mode="lines+markers",
        name="BG/NBD expected",
        line={"color": AMBER, "dash": "dash"},
    )
    apply_layout(
        fig,
        title="Purchases in the holdout period: actual vs expected",
        x_title="Repeat purchases in the calibration period",
        y_title="Purchases per customer",
    )
    legend_below(fig)
    return fig
