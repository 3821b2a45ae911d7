"""Churn: label rule, point-in-time features without leakage, models, evaluation tables, costs, model store."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from analytics import churn, overview, store
from analytics.filters import Filters
from tests.conftest import ROOT, requires_shared_data

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_churn import synthetic_store  # noqa: E402

CUTOFF = dt.date(2026, 6, 1)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def add_customer(con, customer_id, segment="SME", signup=dt.date(2025, 1, 1), **extra):
    con.execute(
        "INSERT INTO customers (customer_id, segment, customer_type, country, acquisition_channel, signup_date) VALUES (?, ?, ?, ?, ?, ?)",
        [
            customer_id,
            segment,
            extra.get("customer_type", "B2B"),
            extra.get("country", "DE"),
            extra.get("channel", "email"),
            signup,
        ],
    )


def add_event(con, customer_id, when, event="site_visit", stage="interest", channel="website"):
    n = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
    con.execute(
        "INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage, channel) VALUES (?, ?, ?, ?, ?, ?)",
        [f"I{n + 1}", customer_id, when, event, stage, channel],
    )


def add_order(con, order_id, customer_id, when, amount, quantity=1.0):
    con.execute(
        "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, quantity, unit_price, amount) VALUES (?, 1, ?, ?, ?, ?, ?)",
        [order_id, customer_id, when, quantity, amount / quantity, amount],
    )


@pytest.fixture
def timelines(mem_con):
    """Five hand-made customers around the cutoff 2026-06-01 with a 30-day horizon (see the label test)."""
    for cid in "ABCDE":
        add_customer(mem_con, cid)
    add_event(mem_con, "A", at(dt.date(2026, 5, 20)))
    add_event(mem_con, "A", at(dt.date(2026, 6, 10)))
    add_order(mem_con, "O1", "B", at(dt.date(2026, 5, 25)), 80.0)
    add_event(mem_con, "C", at(dt.date(2026, 3, 1)))
    add_event(mem_con, "D", at(dt.date(2026, 5, 31), 23))
    add_event(mem_con, "D", at(dt.date(2026, 7, 1), 0))
    add_event(mem_con, "E", at(dt.date(2026, 6, 5)))
    add_event(mem_con, "E", at(dt.date(2026, 8, 1)))
    return mem_con


def test_label_rule_on_hand_made_timelines(timelines):
    """A: back within the horizon -> 0; B: silent after the cutoff -> 1; C: inactive before the
    lookback -> not scored; D: next activity exactly at cutoff + 30 days (outside [c, c+30)) -> 1;
    E: no history before the cutoff -> not scored."""
    y = churn.labels(timelines.cursor(), Filters(), cutoff=CUTOFF, horizon_days=30)
    assert y.to_dict() == {"A": 0, "B": 1, "D": 1}
    longer = churn.labels(timelines.cursor(), Filters(), cutoff=CUTOFF, horizon_days=30, lookback_days=120)
    assert longer.to_dict() == {"A": 0, "B": 1, "C": 1, "D": 1}


def test_label_refuses_a_horizon_past_the_data(timelines):
    with pytest.raises(churn.ChurnDataError, match="horizon_after_data"):
        churn.labels(timelines.cursor(), Filters(), cutoff=dt.date(2026, 7, 15), horizon_days=30)


def test_features_hand_worked(mem_con):
    add_customer(mem_con, "A", signup=dt.date(2026, 1, 1))
    add_event(mem_con, "A", at(dt.date(2026, 5, 22)), event="service_contact", stage="service", channel="call centre")
    add_event(mem_con, "A", at(dt.date(2026, 4, 1)), event="complaint", stage="service", channel="email")
    add_event(mem_con, "A", at(dt.date(2026, 2, 10)))
    add_order(mem_con, "O1", "A", at(dt.date(2026, 3, 2)), 100.0)
    add_order(mem_con, "O2", "A", at(dt.date(2026, 5, 2)), 50.0)
    add_order(mem_con, "O3", "A", at(dt.date(2026, 5, 12)), -20.0, quantity=-1)
    row = churn.features(mem_con.cursor(), Filters(), cutoff=CUTOFF).loc["A"]
    assert row["recency_days"] == pytest.approx(9.5)  # 2026-05-22 12:00 -> 2026-06-01 00:00
    assert row["tenure_days"] == 151  # 2026-01-01 -> 2026-06-01
    assert row["frequency"] == 2 and row["monetary"] == 130.0 and row["average_order_value"] == 65.0
    assert row["returns"] == 1 and row["returned_value"] == 20.0
    assert row["orders_last_90d"] == 1  # 2026-05-02 (2026-03-02 is 91 days back)
    assert row["events_last_30d"] == 3  # service contact, order O2 and the return O3
    assert (
        row["events_prev_90d"] == 3
    )  # [cutoff-120, cutoff-30): complaint 04-01, order 03-02, visit 02-10 (111 days back)
    assert row["activity_trend"] == pytest.approx(3 / 30 - 3 / 90)
    assert row["interactions"] == 3 and row["service_contacts"] == 1 and row["complaints"] == 1
    assert row["ch_call_centre"] == 1 and row["ch_email"] == 1 and row["ch_website"] == 1 and row["ch_store"] == 0
    assert row["st_service"] == 2 and row["st_interest"] == 1
    assert row["segment"] == "SME" and row["industry"] == churn.MISSING


def test_features_ignore_everything_after_the_cutoff_demo(demo_con):
    """Leakage test: delete, change and add post-cutoff orders and interactions; features stay identical."""
    cur = demo_con.cursor()
    _, last = churn.activity_span(cur)
    cutoff = last - dt.timedelta(days=200)
    before = churn.features(cur, Filters(), cutoff=cutoff, lookback_days=120)
    cut = at(cutoff, 0)

    def tamper(c):
        c.execute("UPDATE orders SET amount = amount * 10, quantity = -quantity WHERE ordered_at >= ?", [cut])
        c.execute("DELETE FROM interactions WHERE occurred_at >= ? AND stage = 'service'", [cut])
        c.execute(
            "UPDATE interactions SET channel = 'store', stage = 'loyalty', event = 'complaint' WHERE occurred_at >= ?",
            [cut],
        )
        c.execute(
            "INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage, channel) "
            "SELECT 'X' || customer_id, customer_id, ?::TIMESTAMP, 'purchase', 'purchase', 'email' FROM customers",
            [cut],
        )

    store.run_write(demo_con, tamper)
    after = churn.features(demo_con.cursor(), Filters(), cutoff=cutoff, lookback_days=120)
    assert len(before) > 50
    pd.testing.assert_frame_equal(before, after)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ABC"), st.integers(0, 200), st.sampled_from(["order", "service_contact", "site_visit"])
        ),
        max_size=12,
    )
)
def test_features_do_not_change_whatever_happens_after_the_cutoff(timelines, late_events):
    """Property: any events at or after the cutoff leave the features as of the cutoff unchanged."""
    con = store.connect(":memory:")
    for cid in "ABCDE":
        add_customer(con, cid)
    src = timelines.execute(
        "SELECT customer_id, occurred_at, event, stage, channel FROM interactions WHERE occurred_at < ?",
        [at(CUTOFF, 0)],
    ).fetchall()
    for cid, when, event, stage, channel in src:
        add_event(con, cid, when, event, stage, channel)
    add_order(con, "O1", "B", at(dt.date(2026, 5, 25)), 80.0)
    before = churn.features(con.cursor(), Filters(), cutoff=CUTOFF)
    for i, (cid, minutes, kind) in enumerate(late_events):
        when = at(CUTOFF, 0) + dt.timedelta(hours=minutes)
        if kind == "order":
            add_order(con, f"L{i}", cid, when, 10.0 + i)
        else:
            add_event(con, cid, when, event=kind, stage="service" if kind == "service_contact" else "interest")
    pd.testing.assert_frame_equal(before, churn.features(con.cursor(), Filters(), cutoff=CUTOFF))
    con.close()


def test_filters_restrict_features_and_labels(timelines):
    timelines.execute("UPDATE customers SET segment = 'Enterprise' WHERE customer_id = 'B'")
    y = churn.labels(timelines.cursor(), Filters(segments=("Enterprise",)), cutoff=CUTOFF, horizon_days=30)
    assert list(y.index) == ["B"]
    X = churn.features(timelines.cursor(), Filters(segments=("Enterprise",)), cutoff=CUTOFF)
    assert list(X.index) == ["B"]


# --- gaps, horizon, churn rates ------------------------------------------------------------------


def test_purchase_gaps_and_suggested_horizon(mem_con):
    add_customer(mem_con, "A")
    add_customer(mem_con, "B")
    for i, day in enumerate([dt.date(2026, 1, 1), dt.date(2026, 1, 11), dt.date(2026, 1, 11), dt.date(2026, 1, 31)]):
        add_order(mem_con, f"A{i}", "A", at(day), 10.0)
    add_order(mem_con, "B1", "B", at(dt.date(2026, 2, 1)), 10.0)
    gaps = churn.purchase_gaps(mem_con.cursor(), Filters())
    assert sorted(gaps.tolist()) == [10.0, 20.0]
    assert churn.suggest_horizon(pd.Series(np.arange(1, 101))) == 91  # 90th percentile of 1..100 is 90.1
    assert churn.suggest_horizon(pd.Series(np.arange(1, 101)), quantile=0.95) == 96  # 95.05
    assert churn.suggest_horizon(pd.Series([], dtype=float)) == 90
    table = churn.gap_table(pd.Series([1.0, 3.0, 8.0, 20.0]), bin_days=7)
    assert table["purchases"].tolist() == [2, 1, 1]
    assert table["cumulative_share"].iloc[-1] == 1.0


def test_churn_rate_hand_worked(mem_con):
    """June 2026, horizon 30: A, B, C active at 1 June; B's last activity 20 May and C's 5 May stop -> lost
    when the last activity is more than 30 days before 1 July; A comes back. D is active only from June."""
    for cid in "ABCD":
        add_customer(mem_con, cid, segment="Enterprise" if cid in "AB" else "SME")
    add_event(mem_con, "A", at(dt.date(2026, 5, 15)))
    add_event(mem_con, "A", at(dt.date(2026, 6, 20)))
    add_event(mem_con, "B", at(dt.date(2026, 5, 20)))
    add_event(mem_con, "C", at(dt.date(2026, 5, 5)))
    add_event(mem_con, "C", at(dt.date(2026, 6, 2)))
    add_event(mem_con, "D", at(dt.date(2026, 6, 3)))
    f = Filters(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))
    monthly = churn.churn_rate_by_month(mem_con.cursor(), f, inactive_days=30)
    assert monthly.to_dict("records") == [
        {"month": dt.date(2026, 6, 1), "active_at_start": 3, "lost": 1, "churn_rate": 1 / 3}
    ]
    by_segment = churn.churn_rate_by_segment(mem_con.cursor(), f, inactive_days=30).set_index("segment")
    assert by_segment.loc["Enterprise", "churn_rate"] == 0.5 and by_segment.loc["SME", "churn_rate"] == 0.0


def test_monthly_churn_rate_matches_the_overview_tile(demo_con):
    cur = demo_con.cursor()
    _, last = churn.activity_span(cur)
    start = (last.replace(day=1) - dt.timedelta(days=200)).replace(day=1)
    f = Filters(start=start, end=last)
    monthly = churn.churn_rate_by_month(cur, f, inactive_days=90)
    for _, row in monthly.head(4).iterrows():
        month_end = (row["month"] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        tile = overview.kpi_values(cur, Filters(start=row["month"], end=min(month_end, last)), inactive_days=90)[
            "churn_rate"
        ]
        assert row["churn_rate"] == pytest.approx(tile)


def test_month_windows_skip_a_stub_first_month():
    windows = churn.month_windows(dt.date(2025, 10, 31), dt.date(2026, 1, 15))
    assert windows == [
        (dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 15)),
    ]
    assert churn.month_windows(dt.date(2026, 1, 5), dt.date(2026, 1, 20)) == [
        (dt.date(2026, 1, 5), dt.date(2026, 1, 20))
    ]


# --- metrics and evaluation tables ----------------------------------------------------------------

Y = [0, 0, 1, 1]
P = [0.1, 0.4, 0.35, 0.8]


def test_scores_against_hand_worked_values():
    """ROC AUC 3 of 4 pairs ordered = 0.75; AP = (1/2)(1) + (1/2)(2/3) = 0.8333; Brier (0.01 + 0.16 + 0.4225 + 0.04)/4."""
    s = churn.scores(Y, P)
    assert s["roc_auc"] == pytest.approx(0.75)
    assert s["pr_auc"] == pytest.approx(5 / 6)
    assert s["brier"] == pytest.approx(0.158125)
    assert s["base_rate"] == 0.5


def test_curve_tables_end_points():
    roc = churn.roc_table(Y, P)
    assert (
        roc.iloc[0][["false_positive_rate", "true_positive_rate"]].tolist(),
        roc.iloc[-1][["false_positive_rate", "true_positive_rate"]].tolist(),
    ) == (
        [0.0, 0.0],
        [1.0, 1.0],
    )
    pr = churn.pr_table(Y, P)
    assert pr["recall"].iloc[0] == 1.0 and pr["precision"].iloc[-1] == 1.0


def test_lift_table_hand_worked():
    y = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    p = np.linspace(0.9, 0.0, 10)
    table = churn.lift_table(y, p, groups=5)
    assert table["churners"].tolist() == [2, 0, 1, 0, 0]
    assert table["lift"].iloc[0] == pytest.approx(1.0 / 0.3)
    assert table["cumulative_gain"].tolist() == pytest.approx([2 / 3, 2 / 3, 1, 1, 1])
    assert table["cumulative_customers_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_calibration_table_bins_by_predicted_probability():
    table = churn.calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.8])
    assert table["observed"].tolist() == [0.0, 1.0]


def test_profit_curve_and_threshold_hand_worked():
    """Cost 10, save 50 %, value 100: contacting a churner gains 50 - 10 = 40, a stayer costs 10."""
    y, p = [1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1]
    curve = churn.profit_curve(y, p, offer_cost=10, save_rate=0.5, value=100, thresholds=[0, 0.3, 0.5, 0.85, 1])
    assert curve["net_benefit"].tolist() == [60.0, 70.0, 30.0, 40.0, 0.0]
    assert curve["contacted"].tolist() == [4, 3, 2, 1, 0]
    assert churn.best_threshold(curve) == 0.3
    assert churn.break_even_probability(offer_cost=10, save_rate=0.5, value=100) == pytest.approx(0.2)
    assert churn.confusion(y, p, threshold=0.5) == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    per_customer = churn.profit_curve(y, p, offer_cost=10, save_rate=0.5, value=[100, 0, 20, 0], thresholds=[0])
    assert per_customer["net_benefit"].tolist() == [50 + 10 - 40]


# --- training -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic():
    """Train and validation sets of a 2,500-customer synthetic store (benchmark generator)."""
    con = store.connect(":memory:")
    synthetic_store(con, customers=2500)
    cur = con.cursor()
    _, last = churn.activity_span(cur)
    train_cut, valid_cut = churn.default_cutoffs(last, 90)
    data = {
        "train": churn.dataset(cur, Filters(), cutoff=train_cut, horizon_days=90),
        "valid": churn.dataset(cur, Filters(), cutoff=valid_cut, horizon_days=90),
        "con": con,
        "train_cut": train_cut,
        "valid_cut": valid_cut,
    }
    yield data
    con.close()


@pytest.fixture(scope="module")
def trained(synthetic):
    X, y = synthetic["train"]
    steps = []
    models = {
        kind: churn.train(X, y, model=kind, validation=synthetic["valid"], progress=lambda f, s: steps.append((f, s)))
        for kind in churn.MODELS
    }
    models["steps"] = steps
    return models


def test_both_models_are_calibrated_pipelines_with_metrics(trained, synthetic):
    X_valid, y_valid = synthetic["valid"]
    for kind in churn.MODELS:
        model = trained[kind]
        pipeline = churn._pipeline_of(model.estimator)
        assert isinstance(pipeline, Pipeline) and isinstance(pipeline.named_steps["prepare"], ColumnTransformer)
        proba = model.predict_proba(X_valid)
        assert proba.shape == (len(X_valid), 2) and np.allclose(proba.sum(axis=1), 1)
        assert {"roc_auc", "pr_auc", "brier"} <= set(model.metrics)
        assert model.metrics["validation"] == "out_of_time"
        assert model.metrics["roc_auc"] > 0.6
        assert model.metrics["roc_auc"] == pytest.approx(
            churn.scores(y_valid, model.churn_probability(X_valid))["roc_auc"]
        )
    hgb = churn._pipeline_of(trained["gradient_boosting"].estimator).named_steps["model"]
    assert hgb.is_categorical_ is not None and hgb.is_categorical_.sum() == len(churn.CATEGORICAL)
    coefficients = trained["logistic"].coefficients()
    assert {"feature", "source", "category", "coefficient", "odds_ratio"} <= set(coefficients.columns)
    # Every encoded column names the input column it comes from, so the page can use the plain names
    # of the permutation chart: numeric columns have no category, one-hot columns their value.
    assert set(coefficients["source"]) <= set(trained["logistic"].feature_names)
    numeric = coefficients[coefficients["source"].isin(trained["logistic"].numeric)]
    assert numeric["category"].isna().all() and (numeric["feature"] == numeric["source"]).all()
    encoded = coefficients[coefficients["source"].isin(churn.CATEGORICAL)]
    assert not encoded.empty
    assert (encoded["source"] + "_" + encoded["category"] == encoded["feature"]).all()
    fractions = [f for f, _ in trained["steps"]]
    assert fractions == sorted(fractions) or fractions.count(1.0) == 2
    assert trained["steps"][-1] == (1.0, "done")


def test_cross_validation_and_holdout_options(synthetic):
    X, y = synthetic["train"]
    cv = churn.train(X, y, model="logistic", cv=3)
    assert cv.metrics["validation"] == "3-fold" and cv.metrics["n"] == len(X)
    held = churn.train(X, y, model="logistic")
    assert held.metrics["validation"] == "holdout" and held.metrics["n"] == pytest.approx(0.25 * len(X), abs=1)


def test_bad_training_input_gives_clear_errors():
    X = pd.DataFrame({"a": np.arange(100.0), "segment": ["x"] * 100})
    with pytest.raises(churn.ChurnDataError, match="single_class"):
        churn.train(X, pd.Series(np.zeros(100, int)))
    with pytest.raises(churn.ChurnDataError, match="too_few_customers"):
        churn.train(X.head(30), pd.Series([0, 1] * 15))
    with pytest.raises(churn.ChurnDataError, match="too_few_customers"):
        churn.train(X, pd.Series([1] * 5 + [0] * 95))


def test_a_cutoff_without_history_yields_no_customers_and_no_run(timelines):
    X, y = churn.dataset(timelines.cursor(), Filters(), cutoff=dt.date(2025, 1, 1), horizon_days=30)
    assert X.empty and y.empty
    with pytest.raises(churn.ChurnDataError):
        churn.train(X, y)
    assert timelines.execute("SELECT count(*) FROM model_runs").fetchone()[0] == 0


def test_importance_ranks_a_planted_signal_first():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"signal": rng.normal(size=600), "noise": rng.normal(size=600), "segment": rng.choice(["a", "b"], 600)}
    )
    y = pd.Series((X["signal"] + 0.3 * rng.normal(size=600) > 0.5).astype(int))
    model = churn.train(X, y, model="logistic")
    table = churn.importance_table(model, X, y, repeats=3)
    assert table["feature"].iloc[0] == "signal"
    assert table.set_index("feature").loc["signal", "importance"] > 0.2
    assert abs(table.set_index("feature").loc["noise", "importance"]) < 0.05


def test_telco_sample_reaches_the_published_auc():
    """IBM Telco: 5-fold cross-validated logistic regression ROC AUC about 0.84 (published range 0.83-0.86)."""
    path = requires_shared_data("WA_Fn-UseC_-Telco-Customer-Churn.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    X, y = churn.features_from_table(table, label="Churn", id_column="customerID")
    assert X["TotalCharges"].dtype == float and X["TotalCharges"].isna().sum() == 11
    assert X["tenure"].dtype == float and X["Contract"].dtype == object
    model = churn.train(X, y, model="logistic", cv=5)
    assert 0.83 <= model.metrics["roc_auc"] <= 0.86
    assert model.metrics["base_rate"] == pytest.approx(1869 / 7043)


# --- risk list, what-if, store ---------------------------------------------------------------------


def test_risk_list_ranks_by_probability_times_value(trained, synthetic):
    X, _ = synthetic["valid"]
    value = pd.Series(np.linspace(0, 500, len(X)), index=X.index)
    risk = churn.risk_list(trained["logistic"], X, value, drivers_for=20)
    assert np.allclose(risk["value_at_risk"], risk["probability"] * risk["clv"])
    assert risk["value_at_risk"].is_monotonic_decreasing
    assert (risk["drivers"].head(20) != "").any()
    assert (risk["drivers"].iloc[20:] == "").all()


def test_what_if_changes_only_what_is_asked(trained, synthetic):
    X, _ = synthetic["valid"]
    row = X.iloc[[0]]
    before, same = churn.what_if(trained["logistic"], row, {})
    assert before == pytest.approx(same)
    _, other = churn.what_if(trained["logistic"], row, {"recency_days": 0.0, "events_last_30d": 40.0})
    assert other != pytest.approx(before)
    with pytest.raises(KeyError):
        churn.what_if(trained["logistic"], row, {"shoe_size": 42})


def _awkward_rows(X: pd.DataFrame) -> pd.DataFrame:
    """A small scoring frame with what real data brings: unseen and missing categories, missing numbers, shuffled rows."""
    frame = X.sample(frac=1.0, random_state=3).head(300).copy()
    frame.iloc[:5, frame.columns.get_loc("country")] = "Atlantis"
    frame.iloc[5:10, frame.columns.get_loc("segment")] = None
    frame.iloc[10:15, frame.columns.get_loc("recency_days")] = np.nan
    frame.iloc[15:20, frame.columns.get_loc("acquisition_channel")] = np.nan
    return frame


def test_fast_scoring_gives_the_plain_pipeline_probabilities(trained, synthetic, monkeypatch):
    frame = _awkward_rows(synthetic["valid"][0])
    monkeypatch.setattr(churn, "SCORE_CHUNK", 64)  # several blocks and a short last one
    for kind in churn.MODELS:
        model = trained[kind]
        fast = churn._fast_predict_proba(model.estimator, frame, model.numeric, model.categorical)
        assert fast is not None, "the fast path must cover the models train() builds"
        plain = model.plain_predict_proba(frame)
        np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-9)
        np.testing.assert_allclose(model.predict_proba(frame), plain, rtol=0, atol=1e-9)
        # text held as pandas categories or strings scores the same as plain object columns
        as_category = frame.astype({c: "category" for c in model.categorical})
        np.testing.assert_allclose(model.predict_proba(as_category), plain, rtol=0, atol=1e-9)
        one = frame.head(1)
        np.testing.assert_allclose(model.predict_proba(one), model.plain_predict_proba(one), rtol=0, atol=1e-9)


def test_fast_scoring_covers_frozen_and_ensemble_calibration(synthetic, monkeypatch):
    X, y = synthetic["train"]
    frame = _awkward_rows(synthetic["valid"][0])
    monkeypatch.setattr(churn, "CALIBRATION_SPLIT_FROM", 500)  # the large-data path: one fit + FrozenEstimator
    for kind in churn.MODELS:
        model = churn.train(X, y, model=kind, holdout=0.25)
        assert type(model.estimator.calibrated_classifiers_[0].estimator).__name__ == "FrozenEstimator"
        np.testing.assert_allclose(model.predict_proba(frame), model.plain_predict_proba(frame), rtol=0, atol=1e-9)
    # an ensemble of k calibrated pipelines (CalibratedClassifierCV(ensemble=True)) is averaged like sklearn does
    from sklearn.calibration import CalibratedClassifierCV

    numeric, categorical = churn._split_columns(X)
    ensemble = CalibratedClassifierCV(churn.build_pipeline("logistic", numeric, categorical), cv=3, ensemble=True)
    ensemble.fit(churn._prepare(X, numeric, categorical), y)
    model = churn.ChurnModel(ensemble, "logistic", numeric, categorical)
    assert len(ensemble.calibrated_classifiers_) == 3
    np.testing.assert_allclose(model.predict_proba(frame), model.plain_predict_proba(frame), rtol=0, atol=1e-9)


def test_fast_scoring_on_an_uploaded_table_without_categories_in_common():
    rng = np.random.default_rng(5)
    n = 400
    table = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, n).astype(str),
            "contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
            "paperless": rng.choice([True, False], n),
            "charges": np.round(rng.uniform(20, 120, n), 2).astype(str),
        }
    )
    table.loc[:9, "charges"] = " "
    table["Churn"] = np.where(rng.uniform(size=n) < 0.3 + 0.3 * (table["contract"] == "Month-to-month"), "Yes", "No")
    X, y = churn.features_from_table(table, label="Churn")
    for kind in churn.MODELS:
        model = churn.train(X, y, model=kind, cv=3)
        np.testing.assert_allclose(model.predict_proba(X), model.plain_predict_proba(X), rtol=0, atol=1e-9)
    numbers_only = X[["tenure", "charges"]]
    model = churn.train(numbers_only, y, model="logistic", cv=3)
    np.testing.assert_allclose(
        model.predict_proba(numbers_only), model.plain_predict_proba(numbers_only), rtol=0, atol=1e-9
    )


def test_model_store_round_trip(trained, synthetic, mem_con):
    X, _ = synthetic["valid"]
    ids = {}
    for kind in churn.MODELS:
        ids[kind] = churn.save_run(
            mem_con,
            trained[kind],
            cutoff=synthetic["train_cut"],
            horizon_days=90,
            extra_params={"validation_cutoff": synthetic["valid_cut"]},
        )
        loaded, info = churn.load_run(mem_con.cursor(), ids[kind])
        assert np.array_equal(loaded.predict_proba(X), trained[kind].predict_proba(X))
        assert info["horizon_days"] == 90 and info["params"]["validation_cutoff"] == synthetic["valid_cut"].isoformat()
        assert len(info["params"]["data_checksum"]) == 64
    runs = churn.list_runs(mem_con.cursor())
    assert set(runs["run_id"]) == set(ids.values())
    import sklearn

    assert (runs["sklearn_version"] == sklearn.__version__).all()
    assert runs.set_index("run_id").loc[ids["logistic"], "roc_auc"] == pytest.approx(
        trained["logistic"].metrics["roc_auc"]
    )
    assert mem_con.execute("SELECT count(*) FROM audit_log WHERE action = 'churn_model_saved'").fetchone()[0] == 2


def leaky(x):
    return x


def test_untrusted_model_files_are_refused(mem_con):
    """A file with a type outside TRUSTED_TYPES (here a plain function) is never loaded."""
    rogue = Pipeline([("f", FunctionTransformer(leaky))]).fit(np.zeros((2, 1)))
    data = sio.dumps(rogue)
    assert any("leaky" in t for t in sio.get_untrusted_types(data=data))
    with pytest.raises(churn.UntrustedModelError, match="leaky"):
        churn.load_model(data)
    mem_con.execute(
        "INSERT INTO model_runs VALUES ('Rbad', now(), 'logistic', DATE '2026-01-01', 30, '{}', '{}', '1.9.1', ?)",
        [data],
    )
    with pytest.raises(churn.UntrustedModelError):
        churn.load_run(mem_con.cursor(), "Rbad")
    with pytest.raises(churn.UntrustedModelError):
        churn.load_model(b"not a model at all")


def test_scores_and_segment_are_saved(trained, synthetic, mem_con):
    X, _ = synthetic["valid"]
    risk = churn.risk_list(trained["logistic"], X.head(30), pd.Series(100.0, index=X.index), drivers_for=5)
    assert churn.save_scores(mem_con, "R1", risk) == 30
    assert churn.save_scores(mem_con, "R1", risk.head(10)) == 10
    assert mem_con.execute("SELECT count(*) FROM churn_scores WHERE run_id = 'R1'").fetchone()[0] == 10
    churn.save_as_segment(mem_con, "Churn risk", list(risk["customer_id"].head(5)))
    ids = mem_con.execute("SELECT customer_ids FROM saved_segments WHERE name = 'Churn risk'").fetchone()[0]
    assert ids == list(risk["customer_id"].head(5))


def test_features_from_table_types():
    table = pd.DataFrame(
        {"id": ["a", "b", "c"], "charges": ["1.5", " ", "3"], "plan": ["x", "y", None], "Churn": ["Yes", "No", "No"]}
    )
    X, y = churn.features_from_table(table, label="Churn", id_column="id")
    assert X["charges"].tolist()[0] == 1.5 and np.isnan(X["charges"].tolist()[1])
    assert X["plan"].tolist() == ["x", "y", churn.MISSING]
    assert y.tolist() == [1, 0, 0]
    with pytest.raises(churn.ChurnDataError):
        churn.features_from_table(table, label="Left")


def test_value_for_risk_uses_bgnbd_and_gamma_gamma(demo_con):
    cur = demo_con.cursor()
    _, last = churn.activity_span(cur)
    value = churn.value_for_risk(cur, Filters(), as_of=last)
    assert len(value) > 50 and np.isfinite(value).all() and (value >= 0).all()


def test_read_labelled_table_handles_semicolons_latin1_and_guesses_the_label():
    import io

    data = "Kundennummer;Umsatz;Tarif;Abgewandert\nK1;1,5;Basis;Ja\nK2;;Premium;Nein\n".encode("latin-1")
    table = churn.read_labelled_table(io.BytesIO(data), name="kunden.csv")
    assert list(table.columns) == ["Kundennummer", "Umsatz", "Tarif", "Abgewandert"]
    assert table["Umsatz"].tolist() == ["1,5", ""]
    assert churn.guess_label_column(["id", "Tenure", "Churn"]) == "Churn"
    assert churn.guess_label_column(["id", "x"]) is None
    X, y = churn.features_from_table(table, label="Abgewandert", id_column="Kundennummer", positive=("Ja",))
    assert y.tolist() == [1, 0]
    with pytest.raises(churn.ChurnDataError, match="unreadable_table"):
        churn.read_labelled_table(io.BytesIO(b"\x00\x01"), name="x.xlsx")


@pytest.mark.parametrize(
    ("offset_days", "length_days", "segments", "horizon"),
    [(None, 364, (), 103), (40, 160, ("SME",), 30), (0, None, (), 45)],
)
def test_one_scan_churn_rates_equal_the_per_window_queries(demo_con, offset_days, length_days, segments, horizon):
    """The page's single-scan churn_rates gives exactly the tables of the two reference queries."""
    cur = demo_con.cursor()
    first, last = churn.activity_span(cur)
    if offset_days is None:
        start, end = max(first, last - dt.timedelta(days=length_days)), last
    else:
        start = first + dt.timedelta(days=offset_days)
        end = last if length_days is None else start + dt.timedelta(days=length_days)
    f = Filters(start=start, end=end, segments=segments)
    monthly, by_segment = churn.churn_rates(cur, f, inactive_days=horizon)
    pd.testing.assert_frame_equal(
        churn.churn_rate_by_month(cur, f, inactive_days=horizon).reset_index(drop=True), monthly, check_dtype=False
    )
    pd.testing.assert_frame_equal(
        churn.churn_rate_by_segment(cur, f, inactive_days=horizon).reset_index(drop=True), by_segment, check_dtype=False
    )
