"""CLV: summaries, BG/NBD and Gamma-Gamma against hand-worked values and the published CDNOW estimates."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import clv
from analytics.filters import Filters
from tests.conftest import FIXTURES, requires_shared_data

# Fader, Hardie & Lee (2005), Marketing Science 24(2), section 4 / lifetimes docs.
BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# Fader & Hardie (2013) "The Gamma-Gamma model of monetary value"; CLVTools correctness test.
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


def read_fwf_cdnow(path) -> pd.DataFrame:
    frame = pd.read_fwf(path, header=None, names=["master_id", "ID", "date", "cds", "value"], dtype={"date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow_summary) -> dict:
    return clv.fit_bgnbd(cdnow_summary)


def three_significant(value: float) -> float:
    return float(f"{value:.3g}")


def test_bgnbd_reproduces_the_published_cdnow_estimates_to_three_significant_figures(cdnow_bgnbd):
    for name, published in BGNBD_PUBLISHED.items():
        assert three_significant(cdnow_bgnbd[name]) == three_significant(published), name
    assert cdnow_bgnbd["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert cdnow_bgnbd["n"] == 2357


def test_conditional_expectation_of_the_papers_example_customer(cdnow_bgnbd):
    """FHL 2005: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks."""
    assert clv.expected_purchases(cdnow_bgnbd, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.001)


def test_no_history_conditional_expectation_equals_the_population_expectation(cdnow_bgnbd):
    for t in (1.0, 39.0, 78.0):
        assert clv.expected_purchases(cdnow_bgnbd, t, 0, 0, 0) == pytest.approx(
            clv.expected_purchases_population(cdnow_bgnbd, t)
        )


def test_probability_alive_hand_worked():
    """P(alive) = 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) = 1 / (1 + 1/2 * (3/2)^2) = 1/2.125."""
    params = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 2.0}
    assert clv.probability_alive(params, 1, 1, 2) == pytest.approx(1 / 2.125)
    assert clv.probability_alive(params, 0, 0, 5) == 1.0


def test_bgnbd_log_likelihood_hand_worked():
    """One customer, x = 0, T = 1, r = alpha = a = b = 1: L = Gamma(1) 1^1 / (Gamma(1) 2^1) = 0.5."""
    summary = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [1.0]})
    assert clv.bgnbd_log_likelihood({"r": 1, "alpha": 1, "a": 1, "b": 1}, summary) == pytest.approx(math.log(0.5))


def test_expected_purchases_hand_worked_single_purchase_customer():
    """x = 0 term: (a+b-1)/(a-1) * (1 - (alpha+T)/(alpha+T+t))^r * 2F1(r, b; a+b-1; t/(alpha+T+t)).

    r = 1, alpha = 1, a = 2, b = 1, T = 1, t = 2: 2F1(1, 1; 2; z) = -ln(1-z)/z with z = 1/2,
    so E = 2 * (1 - 1/2 * 2 ln 2) = 2 - 2 ln 2.
    """
    params = {"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 1.0}
    assert clv.expected_purchases(params, 2.0, 0, 0, 1.0) == pytest.approx(2 - 2 * math.log(2))


def test_summary_from_transactions_reproduces_the_cdnow_summary():
    transactions = pd.read_csv(FIXTURES / "cdnow_transactions_first40.csv", parse_dates=["date"])
    summary = clv.summary_from_transactions(
        transactions, end="1997-09-30", customer_col="ID", datetime_col="date", value_col="value"
    )
    expected = pd.read_csv(FIXTURES / "cdnow_customers_summary.csv").set_index("ID").loc[summary.index]
    assert (summary["frequency"] == expected["frequency"]).all()
    assert np.allclose(summary["recency"].round(2), expected["recency"])
    assert np.allclose(summary["T"].round(2), expected["T"])
    spend = pd.read_csv(FIXTURES / "cdnow_repeat_spend.csv").set_index("ID").loc[summary.index]
    assert np.allclose(summary["monetary_value"], spend["monetary_value"], atol=1e-4)


def test_summary_hand_worked_same_day_purchases_merge():
    """Purchases on day 0 (two), 7 and 21; end day 28: 2 repeat days, recency 3 weeks, T 4 weeks, spend (5 + 7) / 2."""
    tx = pd.DataFrame(
        {
            "customer_id": ["A"] * 4,
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-22"]),
            "value": [10.0, 2.0, 5.0, 7.0],
        }
    )
    out = clv.summary_from_transactions(tx, end="2024-01-29", value_col="value")
    assert out.loc["A"].to_dict() == {"frequency": 2, "recency": 3.0, "T": 4.0, "monetary_value": 6.0}


def test_gamma_gamma_reproduces_the_published_cdnow_estimates():
    spend = pd.read_csv(FIXTURES / "cdnow_repeat_spend.csv")
    params = clv.fit_gamma_gamma(spend)
    assert params["p"] == pytest.approx(GG_PUBLISHED["p"], abs=0.01)
    assert params["q"] == pytest.approx(GG_PUBLISHED["q"], abs=0.01)
    assert params["v"] == pytest.approx(GG_PUBLISHED["v"], abs=0.02)
    assert params["log_likelihood"] == pytest.approx(-4055.92, abs=0.01)
    assert params["n"] == 946


def test_spend_and_frequency_are_nearly_independent_on_cdnow():
    """Fader, Hardie & Lee (2005, JMR) report a correlation of 0.11 between spend and frequency."""
    check = clv.spend_independence(pd.read_csv(FIXTURES / "cdnow_repeat_spend.csv"))
    assert check["pearson"] == pytest.approx(0.11, abs=0.005)
    assert check["ok"]


def test_independence_check_flags_spend_that_grows_with_frequency():
    summary = pd.DataFrame({"frequency": [1, 2, 3, 4, 5, 6], "monetary_value": [10, 20, 30, 40, 50, 60.0]})
    assert not clv.spend_independence(summary)["ok"]


def test_expected_average_spend_hand_worked():
    """p (v + x m) / (p x + q - 1) = 6.25 * (15.44 + 40) / (12.5 + 2.74) = 22.7362..."""
    params = {"p": 6.25, "q": 3.74, "v": 15.44}
    assert clv.expected_average_spend(params, 2, 20.0) == pytest.approx(6.25 * 55.44 / 15.24)
    assert clv.expected_average_spend(params, 0, 0.0) == pytest.approx(6.25 * 15.44 / 2.74)


def test_heavy_tailed_spend_without_a_mean_falls_back_to_the_observed_mean():
    params = {"p": 1.5, "q": 0.9, "v": 100.0}
    assert np.isnan(clv.expected_average_spend(params, 0, 0.0))
    summary = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 3.0], "T": [5.0, 5.0], "monetary_value": [0.0, 40.0]})
    bg = {"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 2.0}
    out = clv.predict_clv(summary, bg, params, horizon=10)
    assert out.loc[0, "expected_spend"] == pytest.approx(40.0)


def test_predicted_clv_is_purchases_times_spend_times_margin(cdnow_summary, cdnow_bgnbd):
    spend = pd.read_csv(FIXTURES / "cdnow_repeat_spend.csv")
    summary = cdnow_summary.assign(monetary_value=spend["monetary_value"])
    gg = clv.fit_gamma_gamma(summary)
    out = clv.predict_clv(summary, cdnow_bgnbd, gg, horizon=39, margin=0.3)
    assert np.allclose(out["clv"], out["expected_purchases"] * out["expected_spend"] * 0.3)
    assert out["p_alive"].between(0, 1).all()


def test_alive_matrix_falls_with_age_at_last_purchase_for_repeat_buyers(cdnow_bgnbd):
    matrix = clv.alive_matrix(cdnow_bgnbd, T=39, max_frequency=5, steps=5)
    assert matrix.shape == (6, 5)
    assert (matrix.loc[0] == 1).all()
    assert (np.diff(matrix.loc[3].to_numpy()) > 0).all()


def test_fit_refuses_bad_input():
    with pytest.raises(ValueError):
        clv.fit_bgnbd(pd.DataFrame({"frequency": [1], "recency": [5.0], "T": [2.0]}))
    with pytest.raises(ValueError):
        clv.fit_bgnbd(pd.DataFrame({"frequency": [], "recency": [], "T": []}))
    with pytest.raises(ValueError):
        clv.fit_gamma_gamma(pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}))


def test_shared_cdnow_files_give_the_same_fit():
    summary = pd.read_csv(requires_shared_data("cdnow_customers_summary.csv"))
    fitted = clv.fit_bgnbd(summary)
    for name, published in BGNBD_PUBLISHED.items():
        assert three_significant(fitted[name]) == three_significant(published)
    transactions = read_fwf_cdnow(requires_shared_data("CDNOW_sample.txt"))
    rebuilt = clv.summary_from_transactions(
        transactions, end="1997-09-30", customer_col="ID", datetime_col="date", value_col="value"
    )
    assert (rebuilt.loc[summary["ID"], "frequency"].to_numpy() == summary["frequency"].to_numpy()).all()
    gg = clv.fit_gamma_gamma(rebuilt)
    assert (round(gg["p"], 2), round(gg["q"], 2), round(gg["v"], 2)) == (6.25, 3.74, 15.44)


# --- the fast likelihoods are the straightforward ones ---------------------------------------------


def reference_fit_bgnbd(summary: pd.DataFrame) -> dict:
    """The straightforward fit: np.unique for the distinct customers, the row-wise likelihood terms."""
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)

    def row_wise_terms(params):
        return clv._bgnbd_ll_terms(params, rows[:, 0], rows[:, 1], rows[:, 2])

    return clv._fit_bgnbd_terms(summary, row_wise_terms, counts)


def reference_fit_gamma_gamma(summary: pd.DataFrame) -> dict:
    """The straightforward Gamma-Gamma fit with the row-wise likelihood terms."""
    used = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    x, m = used["frequency"].to_numpy(float), used["monetary_value"].to_numpy(float)

    def row_wise_terms(params):
        return clv._gg_terms(params, x, m)

    return clv._fit_gamma_gamma_terms(row_wise_terms, len(x), float(np.mean(m)))


def simulated_summary(customers: int, seed: int) -> pd.DataFrame:
    """A BG/NBD-like summary in weeks from whole days (as the store gives), with a spend per purchase."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 400, customers) / 7
    frequency = np.minimum(rng.poisson(rng.gamma(0.5, 2.0, customers)), 30)
    recency = np.where(frequency > 0, np.floor(rng.uniform(0, 1, customers) * T * 7) / 7, 0.0)
    spend = np.where(frequency > 0, np.round(rng.gamma(4.0, 10.0, customers), 2), 0.0)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": T, "monetary_value": spend})


numbers = st.sampled_from([0.0, 1.0, 1.5, 2.0, 1 / 7, 2 / 7, 10.0, 38.86])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), numbers, numbers), min_size=1, max_size=60))
def test_distinct_rows_are_numpys_unique_rows_and_counts(rows):
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    expected_rows, expected_counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    got_rows, got_counts = clv._distinct_rows(x, t_x, T)
    assert got_rows.tobytes() == expected_rows.tobytes() and got_counts.tolist() == expected_counts.tolist()


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 6), numbers, numbers), min_size=1, max_size=40),
    params=st.tuples(*[st.floats(1e-3, 50.0)] * 4),
    spend=st.lists(st.floats(0.01, 500.0), min_size=40, max_size=40),
    gg=st.tuples(*[st.floats(1e-2, 200.0)] * 3),
)
def test_grouped_likelihood_terms_equal_the_row_terms_bit_for_bit(rows, params, spend, gg):
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    expected = clv._bgnbd_ll_terms(params, x, t_x, T)
    assert clv._BGNBDTerms(x, t_x, T)(params).tobytes() == expected.tobytes()
    repeat = np.maximum(x, 1.0)
    m = np.array(spend[: len(x)])
    assert clv._GammaGammaTerms(repeat, m)(gg).tobytes() == clv._gg_terms(gg, repeat, m).tobytes()


@pytest.mark.parametrize("data", ["cdnow", "simulated"])
def test_fits_equal_the_straightforward_fits_exactly(data, cdnow_summary):
    if data == "cdnow":
        spend = pd.read_csv(FIXTURES / "cdnow_repeat_spend.csv")
        summary = cdnow_summary.assign(monetary_value=spend["monetary_value"])
    else:
        summary = simulated_summary(20_000, seed=3)
    assert clv.fit_bgnbd(summary) == reference_fit_bgnbd(summary)
    assert clv.fit_gamma_gamma(summary) == reference_fit_gamma_gamma(summary)


# --- store-backed functions on a hand-made store ------------------------------------------------


def add_orders(con, rows):
    """rows: (order_id, customer_id, day, amount)."""
    for order_id, customer, day, amount in rows:
        con.execute(
            "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, quantity, unit_price, amount) VALUES (?, 1, ?, ?, 1, ?, ?)",
            [order_id, customer, dt.datetime.combine(day, dt.time(12)), amount, amount],
        )


def value_store(con):
    """A and B (SME): A buys on days 0, 14 (two orders) and 28; B on day 7 and after the end (day 70).
    C (Enterprise) buys once on day 21; D (no segment) has a refund only. Returns the end day (day 35)."""
    con.execute(
        "INSERT INTO customers (customer_id, segment) VALUES ('A', 'SME'), ('B', 'SME'), ('C', 'Enterprise'), ('D', NULL)"
    )
    d0 = dt.date(2026, 1, 5)
    add_orders(
        con,
        [
            ("O1", "A", d0, 100.0),
            ("O2", "A", d0 + dt.timedelta(days=14), 40.0),
            ("O3", "A", d0 + dt.timedelta(days=14), 20.0),
            ("O4", "A", d0 + dt.timedelta(days=28), 30.0),
            ("O5", "B", d0 + dt.timedelta(days=7), 50.0),
            ("O6", "B", d0 + dt.timedelta(days=70), 999.0),
            ("O7", "C", d0 + dt.timedelta(days=21), 80.0),
            ("O8", "D", d0 + dt.timedelta(days=3), -15.0),
        ],
    )
    return d0 + dt.timedelta(days=35)


def test_store_summary_and_historical_value_hand_worked(mem_con):
    end = value_store(mem_con)
    summary = clv.store_summary(mem_con.cursor(), Filters(), end=end)
    assert summary.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 4.0, 5.0, 45.0]
    assert summary.loc["B", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0.0, 4.0, 0.0]
    history = clv.historical_clv(mem_con.cursor(), Filters(), as_of=end, margin=0.5).set_index("customer_id")
    assert history.loc["A", "revenue"] == 190.0 and history.loc["A", "clv"] == 95.0
    assert history.loc["B", "clv"] == 25.0
    only_b = clv.historical_clv(mem_con.cursor(), Filters(saved_segment=None, segments=("Nope",)), as_of=end)
    assert only_b.empty


def test_conditional_expectation_table_groups_high_frequencies():
    frame = pd.DataFrame(
        {"frequency": [0, 0, 1, 9, 12], "expected": [0.1, 0.3, 1.0, 5.0, 7.0], "actual": [0, 1, 1, 4, 8]}
    )
    table = clv.conditional_expectation_table(frame, cap=7)
    assert table["frequency"].tolist() == [0, 1, 7]
    assert table.loc[0, "expected"] == pytest.approx(0.2)
    assert table.loc[2, "actual"] == pytest.approx(6.0)
    assert table["customers"].tolist() == [2, 1, 2]


def test_value_histogram_counts_every_customer_and_gathers_the_tail_at_the_cap():
    # Values 1..100: the 0.9 quantile (linear interpolation) is 90.1; 10 customers lie above it.
    values = pd.Series(np.arange(1.0, 101.0))
    table, cap = clv.value_histogram(values, bins=10, cap_quantile=0.9)
    assert cap == pytest.approx(90.1)
    assert table["customers"].sum() == 100
    assert table["from_value"].iloc[0] == 1.0 and table["to_value"].iloc[-1] == pytest.approx(90.1)
    widths = table["to_value"] - table["from_value"]
    assert widths.to_numpy() == pytest.approx(np.full(10, 8.91))
    # The last bin [1 + 9 × 8.91, 90.1] = [81.19, 90.1] holds 82..90 (9) and the 10 values above the cap.
    assert table["customers"].iloc[-1] == 19


def test_value_histogram_without_cap_and_on_empty_or_constant_input():
    table, cap = clv.value_histogram(pd.Series([0.0, 10.0, 10.0, 20.0]), bins=2, cap_quantile=None)
    assert cap == 20.0
    assert table["customers"].tolist() == [1, 3]
    empty, cap = clv.value_histogram(pd.Series([], dtype=float))
    assert empty.empty and cap == 0.0
    same, cap = clv.value_histogram(pd.Series([5.0, 5.0, np.nan]), bins=4)
    assert cap == 5.0 and same["customers"].sum() == 2


def test_customer_values_hand_worked(mem_con):
    """History: A 190, B 50 (the later order is after the end), C 80, D a refund only (-15, no
    segment). Summary: A 2 repeat days, recency 4 weeks, T 5, mean repeat spend 45; B no repeats,
    T 4; C T 2; D has no purchase day."""
    end = value_store(mem_con)
    history, summary, names = clv.customer_values(mem_con.cursor(), Filters(), as_of=end)
    assert names == ["Enterprise", "SME"]
    assert history.values.tolist() == [[1, 190.0], [1, 50.0], [0, 80.0], [-1, -15.0]]
    assert summary.values.tolist() == [[1, 2, 4.0, 5.0, 45.0], [1, 0, 0.0, 4.0, 0.0], [0, 0, 0.0, 2.0, 0.0]]
    expected = clv.store_summary(mem_con.cursor(), Filters(), end=end)
    assert summary["frequency"].dtype == expected["frequency"].dtype
    for column in ("frequency", "recency", "T", "monetary_value"):
        assert summary[column].tolist() == expected[column].tolist()
    only_sme = clv.customer_values(mem_con.cursor(), Filters(segments=("SME",)), as_of=end)[0]
    assert only_sme["revenue"].tolist() == [190.0, 50.0]


def test_customer_values_count_a_customer_once_even_if_the_customer_table_repeats_them(mem_con):
    """A duplicated customer row (possible: the quality panel flags it) must not add a second customer."""
    end = value_store(mem_con)
    before = clv.customer_values(mem_con.cursor(), Filters(), as_of=end)
    cur = mem_con.cursor()
    first = cur.execute("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1").fetchone()[0]
    cur.execute("INSERT INTO customers SELECT * FROM customers WHERE customer_id = ?", [first])
    after = clv.customer_values(mem_con.cursor(), Filters(), as_of=end)
    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])


def test_value_overview_hand_worked_and_too_few_repeat_buyers(mem_con):
    """Four customers: mean (190 + 50 + 80 - 15) / 4 = 76.25, median (50 + 80) / 2 = 65; historical by
    segment Enterprise 80, SME 120 (D has none). One repeat buyer is too few for Gamma-Gamma."""
    end = value_store(mem_con)
    out = clv.value_overview(mem_con.cursor(), Filters(), as_of=end)
    assert (out["customers"], out["mean"], out["median"]) == (4, 76.25, 65.0)
    assert out["histogram"]["customers"].sum() == 4
    assert out["error"] == "fit" and "by_segment" not in out
    empty = clv.value_overview(mem_con.cursor(), Filters(segments=("Nope",)), as_of=end)
    assert empty == {"customers": 0, "bgnbd": None, "gg": None, "error": None}


def test_value_overview_gives_the_numbers_of_the_per_customer_tables(demo_con):
    """The tab's results from customer_values = those from historical_clv and store_summary (the old way).

    Money sums are DuckDB double sums: which thread adds which line first can move their last bit
    from one run to the next (so it did before). The purchase counts and ages are exact, so the
    BG/NBD fit is equal; the spend means may differ in the last bit, and the Gamma-Gamma optimum
    (found to about 1e-8 in log-parameters) by a few parts in ten million.
    """
    cur = demo_con.cursor()
    as_of = cur.execute("SELECT max(ordered_at)::DATE FROM orders").fetchone()[0]
    filters = Filters(start=as_of - dt.timedelta(days=364), end=as_of)
    out = clv.value_overview(cur, filters, as_of=as_of)
    history = clv.historical_clv(cur, filters, as_of=as_of)
    summary = clv.store_summary(cur, filters, end=as_of)
    _history, values_summary, _names = clv.customer_values(cur, filters, as_of=as_of)
    for column in ("frequency", "recency", "T"):
        assert values_summary[column].tolist() == summary[column].tolist()
    assert values_summary["monetary_value"].to_numpy() == pytest.approx(summary["monetary_value"].to_numpy(), rel=1e-12)
    assert out["customers"] == len(history)
    assert out["mean"] == pytest.approx(history["clv"].mean(), rel=1e-12)
    assert out["median"] == pytest.approx(history["clv"].median(), rel=1e-12)
    histogram, cap = clv.value_histogram(history["clv"], cap_quantile=0.99)
    assert out["cap"] == pytest.approx(cap, rel=1e-12)
    assert out["histogram"]["customers"].tolist() == histogram["customers"].tolist()
    bg = clv.fit_bgnbd(summary)
    assert out["bgnbd"] == bg
    gg = clv.fit_gamma_gamma(summary)
    assert out["gg"] == pytest.approx(gg, rel=1e-6)
    predicted = clv.predict_clv(summary, bg, gg, horizon=52.0)
    for column in ("clv", "expected_purchases", "p_alive"):
        assert out["predicted_mean"][column] == pytest.approx(predicted[column].mean(), rel=1e-6)
    by_segment = (
        history.groupby("segment")["clv"]
        .mean()
        .rename("historical")
        .to_frame()
        .join(predicted.join(summary[["segment"]]).groupby("segment")["clv"].mean().rename("predicted"))
        .reset_index()
    )
    pd.testing.assert_frame_equal(out["by_segment"], by_segment, check_dtype=False, rtol=1e-6)
    alive = clv.alive_matrix(bg, T=float(summary["T"].max()), max_frequency=int(min(20, summary["frequency"].max())))
    pd.testing.assert_frame_equal(out["alive"], alive)
    independence = clv.spend_independence(summary)
    assert out["independence"]["spearman"] == pytest.approx(independence["spearman"], abs=1e-6)
    assert out["independence"]["ok"] == independence["ok"]
