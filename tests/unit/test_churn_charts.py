"""Churn figures and their readable labels: legends clear of titles, runs named by model and date, coefficient colours keyed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics import churn
from analytics.charts import churn as charts

NAMES = {"logistic": "Logistic regression", "gradient_boosting": "Gradient boosting"}


def curve_tables():
    roc = pd.DataFrame(
        {"false_positive_rate": [0, 0.5, 1], "true_positive_rate": [0, 0.8, 1], "threshold": [1, 0.5, 0]}
    )
    pr = pd.DataFrame({"recall": [0, 0.5, 1], "precision": [1, 0.6, 0.2], "threshold": [1, 0.5, 0]})
    cal = pd.DataFrame({"mean_predicted": [0.1, 0.5], "observed": [0.12, 0.45], "customers": [10, 10]})
    lift = pd.DataFrame({"decile": [1, 2], "cumulative_customers_share": [0.5, 1.0], "cumulative_gain": [0.8, 1.0]})
    return roc, pr, cal, lift


def four_model_charts():
    roc, pr, cal, lift = curve_tables()
    names = ("Logistic regression · 20 Dec 2025", "Gradient boosting · 20 Dec 2025")
    return {
        "roc": charts.roc(dict.fromkeys(names, roc)),
        "precision_recall": charts.precision_recall(dict.fromkeys(names, pr), base_rate=0.2),
        "calibration": charts.calibration(dict.fromkeys(names, cal)),
        "gains": charts.gains(dict.fromkeys(names, lift)),
    }


@pytest.mark.parametrize("name", ["roc", "precision_recall", "calibration", "gains"])
def test_model_chart_legends_sit_below_the_plot_not_beside_the_title(name):
    """Regression guard: the shared theme's legend (top right, y=1.02) ran into the chart titles."""
    fig = four_model_charts()[name]
    legend = fig.layout.legend
    assert legend.orientation == "h"
    # At the bottom edge of the figure, measured on the whole figure: below the x-axis title.
    assert legend.yref == "container" and legend.yanchor == "bottom" and legend.y < 0.05
    assert legend.xanchor == "left"
    assert fig.layout.title.text  # the title is still there, at the top
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def runs_frame():
    return pd.DataFrame(
        {
            "run_id": ["Ra", "Rb", "Rc", "Rd", "Re"],
            "model": ["gradient_boosting", "logistic", "logistic", "gradient_boosting", "gradient_boosting"],
            "created_at": pd.to_datetime(
                [
                    "2025-12-20 14:05:10",
                    "2025-12-20 14:05:11",
                    "2025-11-02 09:00:00",
                    "2025-11-02 08:00:00",
                    "2025-11-02 08:00:30",
                ]
            ),
            "roc_auc": [0.81, 0.78, 0.7, 0.72, 0.73],
            "pr_auc": [0.5, 0.45, 0.4, 0.41, 0.42],
        }
    )


def test_run_labels_name_model_and_date_and_disambiguate_only_where_needed():
    labels = churn.run_labels(runs_frame(), names=NAMES)
    assert list(labels) == [
        "Gradient boosting · 20 Dec 2025",
        "Logistic regression · 20 Dec 2025",
        "Logistic regression · 02 Nov 2025",
        # Two gradient boosting runs in the same minute: the time does not tell them apart, the id does.
        "Gradient boosting · 02 Nov 2025 · 08:00 · Rd",
        "Gradient boosting · 02 Nov 2025 · 08:00 · Re",
    ]
    assert labels.is_unique


def test_run_labels_add_the_time_when_the_day_alone_clashes():
    runs = runs_frame().iloc[[3, 4]].assign(created_at=pd.to_datetime(["2025-11-02 08:00:00", "2025-11-02 16:45:00"]))
    labels = churn.run_labels(runs, names=NAMES, format_date=lambda d: d.isoformat())
    assert list(labels) == ["Gradient boosting · 2025-11-02 · 08:00", "Gradient boosting · 2025-11-02 · 16:45"]


def test_run_comparison_labels_the_axis_by_run_label_and_keeps_the_id_for_the_tooltip():
    runs = runs_frame().head(2)
    runs = runs.assign(label=churn.run_labels(runs, names=NAMES))
    fig = charts.run_comparison(runs)
    roc_bars, pr_bars = fig.data
    assert list(roc_bars.x) == ["Gradient boosting · 20 Dec 2025", "Logistic regression · 20 Dec 2025"]
    assert list(roc_bars.y) == [0.81, 0.78] and list(pr_bars.y) == [0.5, 0.45]
    assert not any("Ra" in x or "Rb" in x for x in roc_bars.x)
    assert list(roc_bars.customdata) == ["Ra", "Rb"] and "%{customdata}" in roc_bars.hovertemplate
    assert fig.layout.legend.yref == "container"


def test_split_encoded_feature_maps_one_hot_columns_to_their_input_column():
    numeric, categorical = ["recency_days", "customer_score"], ["customer", "customer_type", "industry"]
    assert churn.split_encoded_feature("recency_days", numeric, categorical) == ("recency_days", None)
    assert churn.split_encoded_feature("industry_retail", numeric, categorical) == ("industry", "retail")
    # The longest matching column wins: customer_type_B2B is customer_type = B2B, not customer = type_B2B.
    assert churn.split_encoded_feature("customer_type_B2B", numeric, categorical) == ("customer_type", "B2B")
    assert churn.split_encoded_feature("customer_x", numeric, categorical) == ("customer", "x")
    assert churn.split_encoded_feature("industry_infrequent_sklearn", numeric, categorical) == (
        "industry",
        churn.INFREQUENT,
    )


def test_coefficient_chart_uses_the_given_labels_and_keys_its_two_colours():
    table = pd.DataFrame(
        {
            "feature": ["events_prev_90d", "industry_retail", "ch_website"],
            "label": ["activities in the 90 days before", "industry: retail", "contacts via website"],
            "coefficient": [-1.5, 0.75, -0.25],
        }
    )
    fig = charts.coefficients(table)
    raises, lowers = fig.data
    assert (raises.name, raises.marker.color) == ("Raises churn risk", charts.RED)
    assert (lowers.name, lowers.marker.color) == ("Lowers churn risk", charts.GREEN)
    assert list(raises.y) == ["industry: retail"] and list(raises.x) == [0.75]
    assert list(lowers.y) == ["contacts via website", "activities in the 90 days before"]
    assert list(lowers.x) == [-0.25, -1.5]
    # Largest |coefficient| on top: plotly draws the first category at the bottom.
    assert list(fig.layout.yaxis.categoryarray) == [
        "contacts via website",
        "industry: retail",
        "activities in the 90 days before",
    ]
    assert fig.layout.barmode == "relative"
    assert fig.layout.showlegend is not False and fig.layout.legend.yref == "container"
    assert not any("_" in y for trace in fig.data for y in trace.y)


def test_gap_histogram_and_lift_keep_their_legends_clear_of_the_title_too():
    gaps = pd.DataFrame({"from_day": [0, 7], "to_day": [7, 14], "purchases": [3, 1], "cumulative_share": [0.75, 1.0]})
    lift = pd.DataFrame({"decile": [1, 2], "lift": [2.0, 0.5]})
    for fig in (charts.gap_histogram(gaps, horizon_days=10), charts.lift({"A": lift, "B": lift})):
        assert fig.layout.legend.yref == "container" and fig.layout.legend.y < 0.05


def test_run_labels_keep_the_index_of_the_runs():
    runs = runs_frame().set_axis([10, 11, 12, 13, 14])
    labels = churn.run_labels(runs, names=NAMES)
    assert list(labels.index) == [10, 11, 12, 13, 14]
    assert labels[12] == f"Logistic regression · {dt.date(2025, 11, 2).strftime('%d %b %Y')}"


def test_gap_histogram_share_axis_has_round_ticks():
    """Guards the review nit: the cumulative-share axis read 15.8, 31.6, ... (synchronised to the bars' axis)."""
    gaps = pd.DataFrame({"from_day": [0, 7], "to_day": [7, 14], "purchases": [379, 1], "cumulative_share": [0.75, 1.0]})
    axis = charts.gap_histogram(gaps, horizon_days=10).layout.yaxis2
    assert axis.tickmode == "linear" and axis.tick0 == 0 and axis.dtick == 20
    assert list(axis.range) == [0, 100]
