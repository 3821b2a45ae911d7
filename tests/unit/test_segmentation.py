"""RFM, ABC, clustering, personas, lifecycle and saved segments against hand-worked answers.

The Online Retail fixture (tests/fixtures/online_retail_small.csv) is cut from the UCI Machine
Learning Repository data set "Online Retail" (Chen, Sain & Guo 2012, Journal of Database
Marketing & Customer Strategy Management 19(3):197-208), licensed CC BY 4.0: every line of the
first 40 customers in file order that have at most 60 lines each (38 cancellation lines among
them), plus the first 25 lines without a customer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import segmentation as seg
from analytics import store
from analytics.filters import Filters, customer_scope
from tests.conftest import FIXTURES, requires_shared_data

AS_OF = dt.date(2026, 1, 31)


def lines(rows):
    """(customer, order, 'YYYY-MM-DD', amount) tuples -> order lines frame."""
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "ordered_at", "amount"]).assign(
        ordered_at=lambda d: pd.to_datetime(d["ordered_at"])
    )


# Five customers worked by hand (see test_rfm_hand_worked for the expected scores):
HAND = lines(
    [
        ("A", "O1", "2026-01-30", 60.0),
        ("A", "O1", "2026-01-30", 40.0),
        ("A", "O2", "2026-01-10", 50.0),
        ("B", "O3", "2025-12-01", 500.0),
        ("C", "O4", "2026-01-31", 20.0),
        ("C", "O5", "2026-01-20", 30.0),
        ("C", "O6", "2026-01-05", 10.0),
        ("D", "O7", "2025-06-30", 10.0),
        ("E", "O8", "2026-01-15", 200.0),
        ("E", "O9", "2026-01-16", -200.0),
    ]
)


# --- RFM -----------------------------------------------------------------------------------


def test_rfm_hand_worked():
    """Recency A 1, B 61, C 0, D 215, E 16 days; E's return is no purchase but cancels its spend.

    With five customers each rank is its own quintile. F ties (B, D, E have one order) are broken
    by monetary: E 0 < D 10 < B 500.
    """
    result = seg.rfm(HAND, as_of=AS_OF).set_index("customer_id")
    assert list(result.columns) == ["recency_days", "frequency", "monetary", "r", "f", "m", "segment"]
    assert result["recency_days"].tolist() == [1, 61, 0, 215, 16]
    assert result["frequency"].tolist() == [2, 1, 3, 1, 1]
    assert result["monetary"].tolist() == [150.0, 500.0, 60.0, 10.0, 0.0]
    assert result["r"].tolist() == [4, 2, 5, 1, 3]
    assert result["f"].tolist() == [4, 3, 5, 2, 1]
    assert result["m"].tolist() == [4, 5, 3, 2, 1]
    assert result["segment"].tolist() == ["Champions", "At risk", "Loyal customers", "Lost", "About to sleep"]


def test_rfm_without_order_id_counts_distinct_timestamps():
    frame = HAND.drop(columns=["order_id"])
    result = seg.rfm(frame, as_of=AS_OF).set_index("customer_id")
    # A's two lines at the same time are one order; E's refund is no purchase.
    assert result["frequency"].tolist() == [2, 1, 3, 1, 1]


def test_ties_at_a_quintile_border_are_broken_by_customer_id():
    """Six customers, recency 10, 10, 20, 20, 30, 30: ntile(5) makes groups of 2, 1, 1, 1, 1.

    Oldest first: c5, c6 (30 days) -> 1; c3 -> 2 and c4 -> 3 although both have 20 days; c1 -> 4, c2 -> 5.
    """
    days = {"c1": 10, "c2": 10, "c3": 20, "c4": 20, "c5": 30, "c6": 30}
    frame = lines([(c, f"o{c}", (AS_OF - dt.timedelta(days=d)).isoformat(), 10.0) for c, d in days.items()])
    result = seg.rfm(frame, as_of=AS_OF).set_index("customer_id")
    assert result["r"].to_dict() == {"c1": 4, "c2": 5, "c3": 2, "c4": 3, "c5": 1, "c6": 1}


def test_all_customers_equal_get_scores_by_customer_id():
    """Ten identical customers: ntile(5) puts two per score in id order; (1,1,1) is Lost, (5,5,5) Champions."""
    frame = lines([(f"c{i:02d}", f"o{i}", "2026-01-01", 100.0) for i in range(1, 11)])
    result = seg.rfm(frame, as_of=AS_OF)
    expected = [(i + 1) // 2 for i in range(1, 11)]
    assert result["r"].tolist() == expected
    assert result["f"].tolist() == expected
    assert result["m"].tolist() == expected
    assert result["segment"].tolist() == ["Lost"] * 2 + ["Hibernating"] * 2 + ["Need attention"] * 2 + ["Champions"] * 4


def test_a_single_customer_scores_one_everywhere():
    result = seg.rfm(lines([("solo", "o1", "2026-01-31", 99.0)]), as_of=AS_OF)
    assert result[["recency_days", "frequency", "monetary", "r", "f", "m"]].iloc[0].tolist() == [0, 1, 99.0, 1, 1, 1]
    assert result["segment"].iloc[0] == "Lost"


def test_zero_and_negative_amounts():
    """A zero line and a refund-only customer have no purchase: frequency 0, no recency, lowest scores."""
    frame = lines(
        [
            ("buyer", "o1", "2026-01-20", 80.0),
            ("zero", "o2", "2026-01-25", 0.0),
            ("refund", "o3", "2026-01-26", -30.0),
        ]
    )
    result = seg.rfm(frame, as_of=AS_OF).set_index("customer_id")
    assert result.loc["zero", "frequency"] == 0 and pd.isna(result.loc["zero", "recency_days"])
    assert result.loc["refund", "monetary"] == -30.0
    # R: customers without purchase first (refund before zero on the monetary tie-break), then the buyer.
    assert result["r"].to_dict() == {"buyer": 3, "refund": 1, "zero": 2}
    assert result["m"].to_dict() == {"buyer": 3, "refund": 1, "zero": 2}


def test_missing_amounts_are_dropped_and_counted():
    frame = HAND.copy()
    frame.loc[0, "amount"] = None
    result = seg.rfm(frame, as_of=AS_OF)
    assert result.attrs["dropped_lines"] == 1
    assert result.set_index("customer_id").loc["A", "monetary"] == 90.0


def test_future_lines_raise_or_are_dropped():
    frame = pd.concat([HAND, lines([("A", "O99", "2026-02-05", 10.0)])])
    with pytest.raises(ValueError, match="after the reference date"):
        seg.rfm(frame, as_of=AS_OF)
    result = seg.rfm(frame, as_of=AS_OF, future="drop")
    assert result.attrs["future_lines"] == 1
    assert result.set_index("customer_id").loc["A", "frequency"] == 2


def test_bad_input_gives_clear_errors_or_empty_results():
    with pytest.raises(ValueError, match="amount"):
        seg.rfm(HAND.drop(columns=["amount"]), as_of=AS_OF)
    empty = seg.rfm(HAND.iloc[0:0], as_of=AS_OF)
    assert empty.empty and list(empty.columns) == seg.RFM_COLUMNS
    with pytest.raises(ValueError):
        seg.rfm(HAND, as_of=AS_OF, future="maybe")


def test_quintiles_are_balanced_for_any_data():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in rng.integers(0, 97, 600)],
            "order_id": [f"o{i}" for i in range(600)],
            "ordered_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 390, 600), unit="D"),
            "amount": rng.choice([5.0, 10.0, 10.0, 20.0], 600),
        }
    )
    result = seg.rfm(frame, as_of=dt.date(2026, 1, 31))
    for column in ("r", "f", "m"):
        sizes = result[column].value_counts()
        assert set(sizes.index) == {1, 2, 3, 4, 5}
        assert sizes.max() - sizes.min() <= 1


def _reference_rfm(frame: pd.DataFrame, rules=seg.DEFAULT_SEGMENT_MAP) -> pd.DataFrame:
    """The scores as the SQL window functions of ``_rfm_sql`` define them (the reference for the fast path)."""
    import duckdb

    sql, params = seg._rfm_sql("SELECT customer_id, order_id AS order_key, ordered_at, amount FROM rfm_input", rules)
    con = duckdb.connect()
    try:
        con.register("rfm_input", frame)
        return seg._typed_rfm(con.execute(sql, {**params, "as_of": AS_OF}).df())
    finally:
        con.close()


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 40),  # customer
            st.integers(0, 60),  # order
            st.integers(0, 400),  # days before the reference date
            st.sampled_from([-10.0, 0.0, 0.1, 5.0, 10.0, 10.0, 20.0, 33.33]),
        ),
        min_size=1,
        max_size=200,
    ),
    custom_map=st.booleans(),
)
def test_fast_scores_equal_the_sql_window_functions(rows, custom_map):
    """NumPy ranking (``_score_rfm``) = SQL ntile(5) with the documented tie-breaks, for any data and map."""
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{c:02d}" for c, *_ in rows],
            "order_id": [f"o{o}" for _, o, *_ in rows],
            "ordered_at": [pd.Timestamp(AS_OF) - pd.Timedelta(days=d) for _, _, d, _ in rows],
            "amount": [a for *_, a in rows],
        }
    )
    rules = (
        [seg.SegmentRule("Top", (4, 5), (3, 5), (2, 5)), seg.SegmentRule("Low", (1, 2), (1, 2), (1, 5))]
        if custom_map
        else seg.DEFAULT_SEGMENT_MAP
    )
    pd.testing.assert_frame_equal(seg.rfm(frame, as_of=AS_OF, segment_map=rules), _reference_rfm(frame, rules))


def test_ntile_matches_sql_for_small_and_uneven_sizes():
    """SQL ntile(5): the first n % 5 tiles hold one row more; fewer than five rows get tiles 1..n."""
    assert seg._ntile(np.arange(7)).tolist() == [1, 1, 2, 2, 3, 4, 5]
    assert seg._ntile(np.arange(3)).tolist() == [1, 2, 3]
    assert seg._ntile(np.array([2, 0, 1])).tolist() == [2, 3, 1]
    assert seg._ntile(np.arange(0)).tolist() == []


# --- segment map ---------------------------------------------------------------------------

NAMES = [
    "Champions",
    "Loyal customers",
    "Potential loyalist",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
]


def test_default_map_has_the_eleven_segments_every_one_reachable_and_every_cell_covered():
    assert sorted(r.name for r in seg.DEFAULT_SEGMENT_MAP) == sorted(NAMES)
    check = seg.check_segment_map(seg.DEFAULT_SEGMENT_MAP)
    assert check.ok, check
    assert all(rule.action for rule in seg.DEFAULT_SEGMENT_MAP)


def all_score_cells_data() -> tuple[pd.DataFrame, dict[str, tuple[int, int, int]]]:
    """125 customers whose scores are exactly every (r, f, m) cell: 25 customers share each value.

    Customer (a, b, c): last purchase 100 - 20a days ago, b + 1 orders, total spend 1000 (c + 1).
    """
    rows = []
    expected = {}
    for a in range(5):
        for b in range(5):
            for c in range(5):
                customer = f"k{a}{b}{c}"
                expected[customer] = (a + 1, b + 1, c + 1)
                for j in range(b + 1):
                    day = AS_OF - dt.timedelta(days=100 - 20 * a + j)
                    rows.append((customer, f"{customer}-{j}", day.isoformat(), 1000.0 * (c + 1) / (b + 1)))
    return lines(rows), expected


def test_every_segment_actually_occurs_in_scored_data():
    frame, expected = all_score_cells_data()
    result = seg.rfm(frame, as_of=AS_OF).set_index("customer_id")
    assert {c: (r.r, r.f, r.m) for c, r in result.iterrows()} == expected
    assert set(result["segment"]) == set(NAMES)
    for customer, cell in expected.items():
        assert result.loc[customer, "segment"] == seg.assign_segment(*cell)


def test_check_finds_rules_that_never_fire_and_uncovered_cells():
    # A broad rule first swallows the narrower one after it (a classic published-map mistake).
    rules = [
        seg.SegmentRule("Potential loyalist", (3, 5), (1, 3)),
        seg.SegmentRule("New customers", (4, 5), (1, 1)),
    ]
    check = seg.check_segment_map(rules)
    assert check.unreachable == ["New customers"]
    assert len(check.uncovered) == 125 - 3 * 3 * 5
    bad = seg.check_segment_map([seg.SegmentRule("x", (0, 5), (1, 5)), seg.SegmentRule("x", (1, 5), (1, 5))])
    assert "bad_range:x" in bad.errors and "duplicate:x" in bad.errors


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5))
def test_default_map_names_every_cell(r, f, m):
    assert seg.assign_segment(r, f, m) in NAMES


def test_map_is_stored_as_json_and_round_trips(mem_con):
    assert seg.load_segment_map(mem_con) == list(seg.DEFAULT_SEGMENT_MAP)
    edited = seg.map_to_frame(seg.DEFAULT_SEGMENT_MAP)
    edited.loc[0, "segment"] = "Top"
    check = seg.save_segment_map(mem_con, seg.map_from_frame(edited))
    assert check.ok
    stored = json.loads(store.get_setting(mem_con, seg.SEGMENT_MAP_SETTING))
    assert stored[0]["name"] == "Top" and stored[0]["r"] == [4, 5]
    assert seg.load_segment_map(mem_con)[0].name == "Top"
    # An invalid map is not stored; None restores the default.
    bad = seg.save_segment_map(mem_con, [seg.SegmentRule("x", (3, 2), (1, 5))])
    assert bad.errors and seg.load_segment_map(mem_con)[0].name == "Top"
    seg.save_segment_map(mem_con, None)
    assert seg.load_segment_map(mem_con) == list(seg.DEFAULT_SEGMENT_MAP)
    store.set_setting(mem_con, seg.SEGMENT_MAP_SETTING, "not json")
    assert seg.load_segment_map(mem_con) == list(seg.DEFAULT_SEGMENT_MAP)


def test_map_from_frame_rejects_missing_scores():
    frame = seg.map_to_frame(seg.DEFAULT_SEGMENT_MAP)
    frame.loc[1, "r_min"] = None
    with pytest.raises(ValueError):
        seg.map_from_frame(frame)


def test_custom_map_assigns_other_to_uncovered_cells():
    rules = [seg.SegmentRule("Recent", (4, 5), (1, 5))]
    result = seg.rfm(HAND, as_of=AS_OF, segment_map=rules).set_index("customer_id")
    assert result["segment"].to_dict() == {"A": "Recent", "B": "Other", "C": "Recent", "D": "Other", "E": "Other"}


def test_segment_summary_hand_worked():
    scores = seg.rfm(HAND, as_of=AS_OF)
    summary = seg.segment_summary(scores).set_index("segment")
    assert list(summary.index) == [r.name for r in seg.DEFAULT_SEGMENT_MAP]
    # Positive revenue: 150 + 500 + 60 + 10 + 0 = 720.
    assert summary.loc["Champions", "customers"] == 1
    assert summary.loc["Champions", "customer_share"] == pytest.approx(0.2)
    assert summary.loc["Champions", "revenue_share"] == pytest.approx(150 / 720)
    assert summary.loc["At risk", "avg_monetary"] == 500.0
    assert summary.loc["About to sleep", "avg_recency_days"] == 16.0
    assert summary.loc["New customers", "customers"] == 0
    assert summary["customers"].sum() == 5
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


# --- ABC -----------------------------------------------------------------------------------


def test_abc_hand_worked_with_ties_at_the_cut_offs():
    """Shares before each customer: 0, .5, .8, .9, .95 -> A, A, B, B, C (a share *at* a cut-off is past it)."""
    values = pd.Series([50.0, 30.0, 10.0, 5.0, 5.0], index=list("abcde"))
    assert seg.abc(values).tolist() == ["A", "A", "B", "B", "C"]


def test_abc_the_customer_crossing_a_cut_off_joins_the_higher_class():
    assert seg.abc(pd.Series([70.0, 20.0, 10.0])).tolist() == ["A", "A", "B"]


def test_abc_single_customer_all_equal_and_non_positive():
    assert seg.abc(pd.Series([100.0])).tolist() == ["A"]
    equal = seg.abc(pd.Series([10.0] * 10))
    assert equal.value_counts().to_dict() == {"A": 8, "B": 2}
    assert seg.abc(pd.Series([100.0, 0.0, -20.0, None])).tolist() == ["A", "C", "C", "C"]
    assert seg.abc(pd.Series([0.0, 0.0])).tolist() == ["C", "C"]


def test_abc_keeps_index_and_input_order_for_ties():
    values = pd.Series([5.0, 50.0, 5.0, 30.0, 10.0], index=["d", "a", "e", "b", "c"])
    assert seg.abc(values).to_dict() == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C"}


def test_abc_cut_offs_are_adjustable_and_checked():
    values = pd.Series([50.0, 30.0, 10.0, 5.0, 5.0])
    assert seg.abc(values, cutoffs=(0.5, 0.9)).tolist() == ["A", "B", "B", "C", "C"]
    for bad in [(0.9, 0.8), (0.0, 0.5), (0.5, 1.2), (0.8,)]:
        with pytest.raises(ValueError):
            seg.abc(values, cutoffs=bad)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 50), min_size=1, max_size=40), st.sampled_from([(0.8, 0.95), (0.5, 0.9), (0.7, 1.0)]))
def test_abc_classes_reach_their_cut_offs_with_the_fewest_customers(values, cutoffs):
    series = pd.Series(values, dtype=float)
    classes = seg.abc(series, cutoffs=cutoffs)
    total = series.clip(lower=0).sum()
    if total <= 0:
        assert set(classes) <= {"C"}
        return
    ordered = series.sort_values(ascending=False, kind="mergesort")
    a_share = ordered[classes[ordered.index] == "A"].sum() / total
    ab_share = ordered[classes[ordered.index] != "C"].clip(lower=0).sum() / total
    assert a_share >= cutoffs[0] - 1e-9
    assert ab_share >= cutoffs[1] - 1e-9
    # Ranked order never goes back from C to A.
    ranks = classes[ordered.index].map({"A": 0, "B": 1, "C": 2}).tolist()
    assert ranks == sorted(ranks)


def test_abc_summary_and_pareto_curve_hand_worked():
    frame = pd.DataFrame({"customer_id": list("abcde"), "revenue": [50.0, 30.0, 10.0, 5.0, 5.0]})
    frame["abc_class"] = seg.abc(frame["revenue"])
    summary = seg.abc_summary(frame).set_index("abc_class")
    assert summary["customers"].tolist() == [2, 2, 1]
    assert summary["customer_share"].tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert summary["revenue_share"].tolist() == pytest.approx([0.8, 0.15, 0.05])
    curve = seg.pareto_curve(frame)
    assert curve.iloc[0][["customer_share", "revenue_share"]].tolist() == [0.0, 0.0]
    assert curve["revenue_share"].tolist() == pytest.approx([0, 0.5, 0.8, 0.9, 0.95, 1.0])
    assert curve["customer_share"].iloc[-1] == 1.0


# --- the store: filters, SQL and pandas agree -----------------------------------------------


def fill_store(con, order_rows, customers=None):
    """Insert customers (id, country, type, segment, signup) and order lines into a store."""
    cur = con.cursor()
    ids = sorted({r[0] for r in order_rows})
    customers = customers or {c: ("DE", "B2C", "Value consumer", "2024-01-01") for c in ids}
    for c, (country, ctype, segment, signup) in customers.items():
        cur.execute(
            "INSERT INTO customers (customer_id, country, customer_type, segment, signup_date) VALUES (?, ?, ?, ?, ?)",
            [c, country, ctype, segment, signup],
        )
    for i, (customer, order, day, amount) in enumerate(order_rows):
        cur.execute(
            "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount, quantity) VALUES (?, ?, ?, ?, ?, ?)",
            [order, i, customer, day, amount, 1 if amount is None or amount >= 0 else -1],
        )


def test_store_rfm_matches_the_dataframe_function_and_respects_filters(mem_con):
    rows = list(HAND.assign(ordered_at=HAND["ordered_at"].dt.strftime("%Y-%m-%d")).itertuples(index=False, name=None))
    customers = {c: ("DE" if c in "ABC" else "AT", "B2C", "Value consumer", "2024-01-01") for c in "ABCDE"}
    fill_store(mem_con, rows, customers)
    cur = mem_con.cursor()
    everything = Filters(start=dt.date(2025, 1, 1), end=AS_OF)
    from_store = seg.rfm_scores(cur, everything)
    pd.testing.assert_frame_equal(from_store, seg.rfm(HAND, as_of=AS_OF), check_like=True, check_dtype=False)
    german = seg.rfm_scores(cur, Filters(start=dt.date(2025, 1, 1), end=AS_OF, countries=("DE",)))
    assert german["customer_id"].tolist() == ["A", "B", "C"]
    january = seg.rfm_scores(cur, Filters(start=dt.date(2026, 1, 1), end=AS_OF))
    assert "B" not in set(january["customer_id"]) and "D" not in set(january["customer_id"])
    # Recency is counted to the reference date.
    later = seg.rfm_scores(cur, everything, as_of=dt.date(2026, 2, 10)).set_index("customer_id")
    assert later.loc["C", "recency_days"] == 10


def test_store_rfm_is_identical_across_runs(mem_con):
    """Parallel float sums differ in the last bits from run to run; DECIMAL sums keep scores and ties stable."""
    mem_con.execute(
        """
        INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount)
        SELECT 'o' || (i // 2), i % 2, 'c' || (i // 2 % 5000), TIMESTAMP '2025-06-01' + to_days((i % 200)::INTEGER),
               0.1 * (1 + i % 7)
        FROM range(400000) t(i)
        """
    )
    cur = mem_con.cursor()
    runs = [seg.rfm_scores(cur, Filters(), as_of=AS_OF) for _ in range(3)]
    assert all(run.equals(runs[0]) for run in runs[1:])


def test_store_abc_matches_the_series_function(mem_con):
    rng = np.random.default_rng(5)
    rows = [(f"c{i:03d}", f"o{i}", "2026-01-10", float(rng.choice([0, 5, 10, 10, 40, 100]))) for i in range(60)]
    fill_store(mem_con, rows)
    table = seg.abc_scores(mem_con.cursor(), Filters(start=dt.date(2026, 1, 1), end=AS_OF), cutoffs=(0.7, 0.9))
    by_id = table.sort_values("customer_id").set_index("customer_id")
    expected = seg.abc(by_id["revenue"], cutoffs=(0.7, 0.9))
    assert (by_id["abc_class"] == expected).all()
    assert table["rank"].tolist() == list(range(1, 61))
    # The same ranking from the RFM table's monetary value (what the page and the benchmark use).
    scores = seg.rfm_scores(mem_con.cursor(), Filters(start=dt.date(2026, 1, 1), end=AS_OF))
    ranked = seg.abc_table(
        scores[["customer_id", "monetary"]].rename(columns={"monetary": "revenue"}), cutoffs=(0.7, 0.9)
    )
    pd.testing.assert_frame_equal(ranked, table, check_dtype=False)


def test_order_checks_count_missing_amounts_and_future_lines(mem_con):
    fill_store(
        mem_con, [("a", "o1", "2026-01-10", 10.0), ("a", "o2", "2026-01-11", None), ("b", "o3", "2026-01-20", 5.0)]
    )
    cur = mem_con.cursor()
    checks = seg.order_checks(cur, Filters(start=dt.date(2026, 1, 1), end=AS_OF), as_of=dt.date(2026, 1, 15))
    assert checks == {
        "lines": 3,
        "usable": 1,
        "missing_amount": 1,
        "missing_customer": 0,
        "after_as_of": 1,
        "customers": 1,
    }
    empty = seg.order_checks(cur, Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31)))
    assert empty["usable"] == 0
    assert seg.rfm_scores(cur, Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))).empty


# --- clustering ----------------------------------------------------------------------------


def test_prepare_features_logs_and_standardises():
    e = np.e
    frame = pd.DataFrame(
        {
            "frequency": [0.0, e - 1, e**2 - 1],
            "digital_share": [0.2, None, 0.6],
            "service_contacts": [3.0, 3.0, 3.0],
            "recency_days": [10.0, None, 0.0],
        }
    )
    X = seg.prepare_features(frame, ["frequency", "digital_share", "service_contacts", "recency_days"])
    assert X[:, 0] == pytest.approx([-1.2247449, 0.0, 1.2247449])
    assert X[:, 1] == pytest.approx([-1.2247449, 0.0, 1.2247449])  # the gap takes the mean 0.4
    assert X[:, 2].tolist() == [0.0, 0.0, 0.0]  # a constant column carries no information
    assert X[1, 3] == X[0, 3]  # no purchase -> the largest recency
    with pytest.raises(ValueError):
        seg.prepare_features(frame, [])
    with pytest.raises(ValueError):
        seg.prepare_features(frame, ["nope"])


def blobs(n_per: int = 120, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [8, 0], [0, 8]])
    X = np.vstack([rng.normal(c, 0.5, size=(n_per, 2)) for c in centres])
    return X, np.repeat([0, 1, 2], n_per)


def test_three_clear_blobs_give_k_3_by_all_criteria_and_are_recovered():
    X, truth = blobs()
    diagnostics = seg.cluster_diagnostics(X, seed=0)
    assert diagnostics["k"].tolist() == list(range(2, 11))
    suggestion = seg.suggest_k(diagnostics)
    assert suggestion.k == 3 and set(suggestion.criteria) == {"silhouette", "davies_bouldin", "elbow"}
    labels = seg.fit_clusters(X, 3, seed=0)
    assert pd.crosstab(labels, truth).max(axis=1).sum() == len(X)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_clustering_is_deterministic_with_a_seed(method):
    X = np.random.default_rng(9).normal(size=(400, 4))
    first = seg.fit_clusters(X, 4, method=method, seed=11)
    again = seg.fit_clusters(X, 4, method=method, seed=11)
    assert (first == again).all()
    d1 = seg.cluster_diagnostics(X, method=method, seed=11, k_values=range(2, 5))
    d2 = seg.cluster_diagnostics(X, method=method, seed=11, k_values=range(2, 5))
    pd.testing.assert_frame_equal(d1, d2)
    sizes = np.bincount(first)
    assert list(sizes) == sorted(sizes, reverse=True)  # cluster 0 is the largest


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
@pytest.mark.parametrize(
    ("n", "sample_size", "silhouette_size"), [(3000, 2000, 500), (300, 5000, 2000), (40, None, 10)]
)
def test_diagnostics_give_scikit_learns_scores_on_the_sample(method, n, sample_size, silhouette_size):
    """One distance matrix shared by every k gives exactly what silhouette_score computes per k.

    The reference is the straightforward way: fit on the sample, then scikit-learn's
    silhouette_score with sample_size and random_state, and davies_bouldin_score.
    """
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    X = np.random.default_rng(n).normal(size=(n, 3))
    X[: n // 3] += 4
    seed = 7
    diagnostics = seg.cluster_diagnostics(
        X, method=method, seed=seed, sample_size=sample_size, silhouette_size=silhouette_size, k_values=range(2, 6)
    )
    sample = X[seg._sample_rows(len(X), sample_size, seed)]
    for row in diagnostics.itertuples():
        labels = seg._model(method, row.k, seed, len(sample)).fit_predict(sample)
        size = min(silhouette_size, len(sample))
        assert row.silhouette == silhouette_score(sample, labels, sample_size=size, random_state=seed)
        assert row.davies_bouldin == davies_bouldin_score(sample, labels)
        assert row.inertia == pytest.approx(seg._inertia(sample, labels))
    assert diagnostics["k"].tolist() == [2, 3, 4, 5]


def test_large_inputs_use_minibatch_and_stay_deterministic():
    X = np.random.default_rng(2).normal(size=(200_500, 2))
    first = seg.fit_clusters(X, 3, seed=4, fit_sample=20_000)
    assert (first == seg.fit_clusters(X, 3, seed=4, fit_sample=20_000)).all()
    assert set(np.unique(first)) == {0, 1, 2}


def test_suggest_k_votes_and_elbow_hand_worked():
    diagnostics = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "inertia": [100.0, 40.0, 30.0, 25.0],
            "silhouette": [0.5, 0.4, 0.6, 0.3],
            "davies_bouldin": [1.0, 0.8, 0.9, 1.2],
        }
    )
    # Elbow: x = 0, 1/3, 2/3, 1; y = 1, .2, .067, 0; 1 - x - y is largest at k = 3. Davies-Bouldin also 3.
    suggestion = seg.suggest_k(diagnostics)
    assert (suggestion.k, suggestion.criteria, suggestion.silhouette_k, suggestion.elbow_k) == (
        3,
        ("davies_bouldin", "elbow"),
        4,
        3,
    )
    split = diagnostics.assign(davies_bouldin=[1.0, 1.1, 1.2, 0.5])
    assert seg.suggest_k(split).k == 4  # no two agree -> the silhouette's choice
    with pytest.raises(ValueError):
        seg.suggest_k(diagnostics.iloc[0:0])


def test_too_few_distinct_customers_leave_no_k():
    X = np.zeros((30, 3))
    assert seg.cluster_diagnostics(X).empty


def test_profiles_traits_and_projection_hand_worked():
    features = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "recency_days": [10.0, 20.0, 300.0, 310.0],
            "frequency": [5.0, 7.0, 1.0, 1.0],
            "monetary": [100.0, 300.0, 10.0, -10.0],
            "tenure_days": [400.0, 400.0, 400.0, 400.0],
            "digital_share": [0.5, 0.5, 0.5, 0.5],
            "service_contacts": [0.0, 0.0, 0.0, 0.0],
        }
    )
    labels = np.array([0, 0, 1, 1])
    profiles = seg.cluster_profiles(features, labels).set_index("cluster")
    assert profiles.loc[0, "recency_days"] == 15.0 and profiles.loc[1, "monetary"] == 0.0
    assert profiles["share"].tolist() == [0.5, 0.5]
    assert profiles["revenue_share"].tolist() == pytest.approx([400 / 410, 10 / 410])
    traits = seg.cluster_traits(profiles.reset_index(), top=2)
    # Equal distance on every varying feature: ties go alphabetically (frequency, monetary).
    assert traits[0] == [("frequency", "high"), ("monetary", "high")]
    assert traits[1] == [("frequency", "low"), ("monetary", "low")]
    X = seg.prepare_features(features)
    projection = seg.pca_projection(X, labels)
    assert list(projection.columns) == ["pc1", "pc2", "cluster"] and len(projection) == 4
    first, second = projection.attrs["explained_variance"]
    assert first > 0.9 and first >= second and first + second <= 1.0 + 1e-9


# --- personas ------------------------------------------------------------------------------


def test_persona_names_are_stable_and_distinct():
    assert seg.persona_name("Champions") == seg.persona_name("Champions")
    taken = []
    for group in [r.name for r in seg.DEFAULT_SEGMENT_MAP]:
        taken.append(seg.persona_name(group, taken=taken))
    assert len(set(taken)) == len(taken)


def test_personas_hand_worked(mem_con):
    fill_store(
        mem_con,
        [("p1", "o1", "2026-01-10", 100.0), ("p1", "o2", "2026-01-12", 300.0), ("p2", "o3", "2026-01-15", 50.0)],
        {"p1": ("DE", "B2C", "Premium consumer", "2025-01-31"), "p2": ("AT", "B2B", "SME", "2025-12-31")},
    )
    cur = mem_con.cursor()
    cur.execute("UPDATE customers SET birth_year = 1980 WHERE customer_id = 'p1'")
    cur.execute("UPDATE customers SET employees = 40 WHERE customer_id = 'p2'")
    touches = [
        ("p1", "2026-01-05", "awareness", "search"),
        ("p1", "2026-01-06", "purchase", "online shop"),
        ("p1", "2026-01-07", "loyalty", "email"),
        ("p1", "2026-01-08", "service", "email"),
        ("p2", "2026-01-09", "consideration", "store"),
    ]
    for i, (c, day, stage, channel) in enumerate(touches):
        cur.execute(
            "INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage, channel) VALUES (?, ?, ?, 'x', ?, ?)",
            [f"i{i}", c, day, stage, channel],
        )
    groups = pd.DataFrame({"customer_id": ["p1", "p2"], "group": ["g", "g"]})
    table = seg.personas(cur, Filters(start=dt.date(2026, 1, 1), end=AS_OF), groups)
    row = table.iloc[0]
    assert row["customers"] == 2 and row["share"] == 1.0
    assert row["channels"] == ["email", "online shop"]  # email 2 touches; ties by name
    assert row["median_age"] == 46.0 and row["median_employees"] == 40.0
    assert row["median_monetary"] == 225.0  # median of 400 and 50
    assert row["median_order_value"] == pytest.approx(125.0)  # median of 400 / 2 and 50 / 1
    assert row["median_orders"] == 1.5
    assert row["b2b_share"] == 0.5
    assert row["median_tenure_days"] == pytest.approx((365 + 31) / 2)  # 365 and 31 days
    assert row["service_contacts"] == 0.5
    assert row["digital_share"] == pytest.approx(0.5)  # p1 all digital, p2 none
    assert row["stage"] in ("loyalty", "consideration")  # furthest stage per customer, then the mode
    assert row["persona"] == seg.persona_name("g")
    assert seg.personas(cur, Filters(), groups.iloc[0:0]).empty


def test_persona_spend_orders_and_order_value_are_all_medians(mem_con):
    """Guards the review's finding: a card showed a median spend beside a mean order count and value."""
    fill_store(
        mem_con,
        [
            ("p1", "o1", "2026-01-10", 100.0),
            ("p1", "o2", "2026-01-12", 300.0),  # p1: 400 in 2 orders, 200 per order
            ("p2", "o3", "2026-01-15", 50.0),  # p2: 50 in 1 order, 50 per order
            ("p3", "o4", "2026-01-16", 30.0),
            ("p3", "o5", "2026-01-17", 30.0),
            ("p3", "o6", "2026-01-18", 30.0),  # p3: 90 in 3 orders, 30 per order
        ],
    )
    groups = pd.DataFrame({"customer_id": ["p1", "p2", "p3"], "group": ["g", "g", "g"]})
    row = seg.personas(mem_con.cursor(), Filters(start=dt.date(2026, 1, 1), end=AS_OF), groups).iloc[0]
    # Medians of 400, 50, 90; of 2, 1, 3 orders; of 200, 50, 30 per order. (The means would be
    # 180, 2 and 540 / 6 = 90.)
    assert row["median_monetary"] == 90.0
    assert row["median_orders"] == 2.0
    assert row["median_order_value"] == 50.0
    assert "avg_orders" not in row.index and "avg_order_value" not in row.index


# --- lifecycle -----------------------------------------------------------------------------


def lifecycle_store(con):
    """X buys in Jan and twice in Feb; Y once in Oct 2025; Z first in mid-March (see the test)."""
    fill_store(
        con,
        [
            ("X", "x1", "2026-01-10", 10.0),
            ("X", "x2", "2026-02-05", 10.0),
            ("X", "x3", "2026-02-20", 10.0),
            ("Y", "y1", "2025-10-15", 10.0),
            ("Z", "z1", "2026-03-15", 10.0),
        ],
    )


PERIOD = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))


def test_lifecycle_stages_hand_worked(mem_con):
    """Default rules (new 1 month, active 90 days, lost after 180, loyal 3 orders in 12 months).

    X: Jan new; Feb-Apr loyal (3 orders; 8, 39, 69 days); May 100 and Jun 130 days -> at risk.
    Y: 108, 136, 167 days -> at risk Jan-Mar; 197+ -> lost from Apr.
    Z: Mar new; Apr 46, May 77 days -> active; Jun 107 -> at risk.
    """
    lifecycle_store(mem_con)
    stages = seg.lifecycle_stages(mem_con.cursor(), PERIOD)
    table = stages.pivot(index="customer_id", columns="month", values="stage")
    assert table.loc["X"].tolist() == ["new", "loyal", "loyal", "loyal", "at risk", "at risk"]
    assert table.loc["Y"].tolist() == ["at risk", "at risk", "at risk", "lost", "lost", "lost"]
    assert table.loc["Z"].dropna().tolist() == ["new", "active", "active", "at risk"]
    april = seg.lifecycle_stages(mem_con.cursor(), PERIOD, month=dt.date(2026, 4, 15))
    assert april[["customer_id", "stage"]].values.tolist() == [["X", "loyal"], ["Y", "lost"], ["Z", "active"]]


def test_lifecycle_carries_purchases_from_before_the_loyalty_window(mem_con):
    """Guards the month grid that starts with the period's first loyalty window, not at the first order.

    Rules: active 90 days, lost after 180, loyal 2 orders in 2 months (the grid starts one month
    before the period). P bought in Jan and Feb 2025, then in Apr 2026; Q only in Jan 2025.
    Period Apr-May 2026: P is loyal in Apr only if the old orders are not counted (they are not:
    1 order in Mar-Apr), so 'active'; Q's last purchase is 15 months old -> 'lost', never 'new'.
    """
    fill_store(
        mem_con,
        [("P", "p1", "2025-01-10", 10.0), ("P", "p2", "2025-02-10", 10.0), ("P", "p3", "2026-04-05", 10.0),
         ("Q", "q1", "2025-01-20", 10.0)],
    )  # fmt: skip
    rules = seg.LifecycleRules(new_months=1, active_days=90, lost_days=180, loyal_orders=2, loyal_months=2)
    period = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 5, 31))
    stages = seg.lifecycle_stages(mem_con.cursor(), period, rules=rules)
    table = stages.pivot(index="customer_id", columns="month", values="stage")
    assert table.loc["P"].tolist() == ["active", "active"]
    assert table.loc["Q"].tolist() == ["lost", "lost"]
    # Without the April order P is 'lost': its last purchase (Feb 2025) lies before the grid.
    before = Filters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
    march = seg.lifecycle_stages(mem_con.cursor(), before, rules=rules, as_of=dt.date(2026, 3, 31))
    assert march.set_index("customer_id")["stage"].to_dict() == {"P": "lost", "Q": "lost"}
    flows = seg.lifecycle_flows(
        mem_con.cursor(), period, rules=rules, from_month=dt.date(2026, 3, 1), to_month=dt.date(2026, 4, 1)
    )
    assert flows.values.tolist() == [["lost", "active", 1], ["lost", "lost", 1]]


def test_lifecycle_rules_are_editable_and_checked(mem_con):
    lifecycle_store(mem_con)
    rules = seg.LifecycleRules(active_days=30, lost_days=60, loyal_orders=2, loyal_months=2)
    stages = seg.lifecycle_stages(mem_con.cursor(), PERIOD, rules=rules)
    x = stages[stages["customer_id"] == "X"]["stage"].tolist()
    # Feb: 8 days, 3 orders -> loyal; Mar: 39 days -> at risk; Apr: 69 -> lost.
    assert x == ["new", "loyal", "at risk", "lost", "lost", "lost"]
    assert seg.save_lifecycle_rules(mem_con, seg.LifecycleRules(active_days=100, lost_days=50)) == ["lost_days"]
    assert seg.load_lifecycle_rules(mem_con) == seg.LifecycleRules()
    assert seg.save_lifecycle_rules(mem_con, rules) == []
    assert seg.load_lifecycle_rules(mem_con) == rules
    with pytest.raises(ValueError):
        seg.lifecycle_stages(mem_con.cursor(), PERIOD, rules=seg.LifecycleRules(active_days=0))


def test_lifecycle_counts_and_flows(mem_con):
    lifecycle_store(mem_con)
    cur = mem_con.cursor()
    counts = seg.lifecycle_counts(cur, PERIOD)
    assert len(counts) == 6 * 5  # every stage in every month, zeros included
    march = counts[counts["month"] == pd.Timestamp("2026-03-01")].set_index("stage")["customers"].to_dict()
    assert march == {"new": 1, "active": 0, "loyal": 1, "at risk": 1, "lost": 0}
    flows = seg.lifecycle_flows(cur, PERIOD, from_month=dt.date(2026, 2, 1), to_month=dt.date(2026, 3, 1))
    assert sorted(flows.itertuples(index=False, name=None)) == [
        ("at risk", "at risk", 1),
        ("loyal", "loyal", 1),
        (seg.NOT_YET, "new", 1),
    ]
    assert seg.lifecycle_counts(cur, Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 2, 1))).empty


def grid_counts(cur, filters, rules, as_of):
    """Counts per month and stage from the reference grid SQL, shaped as lifecycle_counts returns them."""
    sql, params = seg._lifecycle_grid_sql(filters, rules, as_of)
    counts = cur.execute(f"SELECT month, stage, count(*) AS customers FROM ({sql}) GROUP BY ALL", params).df()
    if counts.empty:
        return pd.DataFrame(columns=["month", "stage", "customers"])
    months = sorted(counts["month"].unique())
    full = pd.MultiIndex.from_product([months, seg.LIFECYCLE_STAGES], names=["month", "stage"]).to_frame(index=False)
    out = full.merge(counts, on=["month", "stage"], how="left").fillna({"customers": 0})
    out["customers"] = out["customers"].astype("int64")
    return out


def grid_flows(cur, filters, rules, as_of, from_month, to_month):
    """Flows between two months from the reference grid SQL (a grid that starts at the earlier month)."""
    wide = dataclasses.replace(filters, start=min(from_month, to_month))
    sql, params = seg._lifecycle_grid_sql(wide, rules, as_of)
    return cur.execute(
        f"""
        WITH s AS ({sql})
        SELECT coalesce(a.stage, $not_yet) AS from_stage, b.stage AS to_stage, count(*) AS customers
        FROM (SELECT * FROM s WHERE month = $to_month) b
        LEFT JOIN (SELECT * FROM s WHERE month = $from_month) a USING (customer_id)
        GROUP BY ALL ORDER BY from_stage, to_stage
        """,
        {**params, "not_yet": seg.NOT_YET, "from_month": from_month, "to_month": to_month},
    ).df()


LIFECYCLE_START = dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def lifecycle_con():
    """One store for the property test below; each example replaces the order lines."""
    con = store.connect(":memory:")
    con.execute(
        "INSERT INTO customers (customer_id, segment) SELECT 'c' || i, CASE WHEN i % 2 = 0 THEN 'SME' ELSE 'Value consumer' END FROM range(12) t(i)"
    )
    yield con
    con.close()


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 4),  # customer
            st.one_of(st.none(), st.integers(0, 40)),  # order id: an order may have lines in two months, a line none
            st.integers(0, 500),  # day after 2024-01-01
            st.sampled_from([-5.0, 0.0, 10.0, 10.0, 10.0, 25.0, None]),
        ),
        min_size=10,
        max_size=90,
    ),
    rules=st.builds(
        seg.LifecycleRules,
        new_months=st.integers(1, 4),
        active_days=st.sampled_from([1, 20, 30, 31, 59, 90, 100]),
        lost_days=st.sampled_from([32, 61, 120, 180, 400]),
        loyal_orders=st.integers(1, 3),
        loyal_months=st.integers(1, 14),
    ).filter(lambda r: not r.problems()),
    start=st.integers(0, 520),
    length=st.integers(0, 400),
    only_sme=st.booleans(),
    pick=st.tuples(st.integers(0, 30), st.integers(0, 30)),
)
def test_lifecycle_spans_give_the_stages_of_the_reference_grid(
    lifecycle_con, rows, rules, start, length, only_sme, pick
):
    """Counts, flows and per-customer stages from the spans = the customers × months grid, for any orders and rules.

    Covers orders in two months, lines without an order id (a purchase that adds no order), returns,
    lines without an amount, periods before the first purchase and month ends that are the reference date.
    """
    con = lifecycle_con
    con.execute("DELETE FROM orders")
    for i, (customer, order, day, amount) in enumerate(rows):
        con.execute(
            "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount) VALUES (?, ?, ?, ?, ?)",
            [
                None if order is None else f"o{order}",
                i,
                f"c{customer}",
                dt.datetime.combine(LIFECYCLE_START + dt.timedelta(days=day), dt.time(10)),
                amount,
            ],
        )
    first = LIFECYCLE_START + dt.timedelta(days=start)
    as_of = first + dt.timedelta(days=length)
    filters = Filters(start=first, end=as_of, segments=("SME",) if only_sme else ())
    cur = con.cursor()
    counts = seg.lifecycle_counts(cur, filters, rules=rules, as_of=as_of)
    reference = grid_counts(cur, filters, rules, as_of)
    if reference.empty:
        assert counts.empty
    else:
        pd.testing.assert_frame_equal(counts, reference)
    sql, params = seg._lifecycle_grid_sql(filters, rules, as_of)
    grid = cur.execute(sql + " ORDER BY customer_id, month", params).df()
    pd.testing.assert_frame_equal(seg.lifecycle_stages(cur, filters, rules=rules, as_of=as_of), grid, check_dtype=False)
    months = [seg._add_months(first.replace(day=1), k) for k in range(seg._month_index(first, as_of) + 1)]
    a, b = months[pick[0] % len(months)], months[pick[1] % len(months)]
    one = seg.lifecycle_stages(cur, filters, rules=rules, as_of=as_of, month=b)
    expected = grid[grid["month"] == pd.Timestamp(b)].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, expected, check_dtype=False)
    flows = seg.lifecycle_flows(cur, filters, rules=rules, as_of=as_of, from_month=a, to_month=b)
    pd.testing.assert_frame_equal(flows, grid_flows(cur, filters, rules, as_of, a, b), check_dtype=False)
    # The page's path: one set of spans for the period, flows between any two of its months.
    spans = seg.lifecycle_spans(cur, filters, rules=rules, as_of=as_of)
    pd.testing.assert_frame_equal(
        seg.lifecycle_flows_from_spans(spans, from_month=a, to_month=b), flows, check_dtype=False
    )


def test_lifecycle_counts_hand_worked_from_spans(mem_con):
    """The spans of the hand-worked store (see test_lifecycle_stages_hand_worked) and the counts they give.

    Month indexes from Jan 2026 (0) to Jun 2026 (5); reference date 30 Jun; default rules. Each row:
    start, end (next purchase month), new_until, active_until, loyal_until, risk_until.

    - X, Jan row (1 order, last 10 Jan): new in Jan; 10 Jan + 91 days = 11 Apr, so Mar (2) is the
      last month ending within 90 days; 30 Jun - 10 Jan = 171 <= 180 days, at risk to Jun (5); one
      order, never loyal.
    - X, Feb row (2 orders, last 20 Feb): 20 Feb + 91 = 22 May -> active to Apr (3); 130 days on
      30 Jun -> at risk to Jun (5); the third most recent order is January's -> loyal to Jan + 11 (11).
    - Y, Oct 2025 (-3): 15 Oct + 91 = 14 Jan -> active to Dec 2025 (-1); + 181 = 14 Apr -> at risk to Mar (2).
    - Z, Mar (2): 15 Mar + 91 = 14 Jun -> active to May (4); 107 days on 30 Jun -> at risk to Jun (5).
    """
    lifecycle_store(mem_con)
    spans = seg.lifecycle_spans(mem_con.cursor(), PERIOD)
    assert spans.first_month == dt.date(2026, 1, 1) and spans.months == 6
    rows = pd.DataFrame({c: getattr(spans, c) for c in seg._SPAN_COLUMNS})
    never = -(10**6)
    # Sorted by customer key (the row id of a customer's first lines: X, Y, Z as inserted), then start.
    assert rows.drop(columns="customer_key").values.tolist() == [
        [0, 1, 0, 2, never, 5],
        [1, 6, 0, 3, 11, 5],
        [-3, 6, -3, -1, never, 2],
        [2, 6, 2, 4, never, 5],
    ]
    counts = seg.lifecycle_counts_from_spans(spans).pivot(index="month", columns="stage", values="customers")
    # Jan: X new, Y at risk; Feb-Mar: X loyal, Y at risk, (Mar) Z new; Apr: X loyal, Y lost, Z active; ...
    assert counts["new"].tolist() == [1, 0, 1, 0, 0, 0]
    assert counts["loyal"].tolist() == [0, 1, 1, 1, 0, 0]
    assert counts["active"].tolist() == [0, 0, 0, 1, 1, 0]
    assert counts["at risk"].tolist() == [1, 1, 1, 0, 1, 2]
    assert counts["lost"].tolist() == [0, 0, 0, 1, 1, 1]


# --- saved segments ------------------------------------------------------------------------


def test_saved_segments_round_trip_and_act_as_the_global_filter(mem_con):
    rows = list(HAND.assign(ordered_at=HAND["ordered_at"].dt.strftime("%Y-%m-%d")).itertuples(index=False, name=None))
    fill_store(mem_con, rows)
    cur = mem_con.cursor()
    assert seg.save_segment(mem_con, " Best ", ["A", "C", "C"], description="top") == 2
    listed = seg.saved_segments(cur)
    assert listed[["name", "description", "customers"]].values.tolist() == [["Best", "top", 2]]
    assert seg.saved_segment_members(cur, "Best")["customer_id"].tolist() == ["A", "C"]
    scoped = Filters(start=dt.date(2025, 1, 1), end=AS_OF, saved_segment="Best")
    assert seg.rfm_scores(cur, scoped)["customer_id"].tolist() == ["A", "C"]
    sql, params = customer_scope(scoped)
    assert cur.execute(f"SELECT count(*) FROM customers WHERE {sql}", params).fetchone()[0] == 2
    with pytest.raises(ValueError, match="name_taken"):
        seg.save_segment(mem_con, "Best", ["B"])
    assert seg.save_segment(mem_con, "Best", ["B"], replace=True) == 1
    for name, ids, code in [("", ["A"], "empty_name"), ("x" * 81, ["A"], "name_too_long"), ("n", [], "no_customers")]:
        with pytest.raises(ValueError, match=code):
            seg.save_segment(mem_con, name, ids)
    assert seg.delete_saved_segment(mem_con, "Best") is True
    assert seg.delete_saved_segment(mem_con, "Best") is False
    actions = [r[0] for r in cur.execute("SELECT action FROM audit_log ORDER BY event_id").fetchall()]
    assert actions.count("segment_saved") == 2 and "segment_deleted" in actions


# --- demo data and the real data set -------------------------------------------------------


def test_demo_store_every_part_runs(demo_con):
    cur = demo_con.cursor()
    span = cur.execute("SELECT max(ordered_at)::DATE FROM orders").fetchone()[0]
    filters = Filters(start=span - dt.timedelta(days=364), end=span)
    scores = seg.rfm_scores(cur, filters)
    assert len(scores) > 50 and scores["segment"].isin(NAMES).all()
    features = seg.customer_features(cur, filters)
    assert features["customer_id"].tolist() == scores["customer_id"].tolist()
    groups = scores[["customer_id", "segment"]].rename(columns={"segment": "group"})
    table = seg.personas(cur, filters, groups, order=NAMES)
    assert table["customers"].sum() == len(scores)
    assert table["persona"].is_unique
    assert not seg.lifecycle_counts(cur, filters).empty


def load_online_retail(con, path):
    """UCI Online Retail through the import; returns the order lines RFM uses (the issue's exclusions)."""
    from analytics import ingest

    report = ingest.load(con, "orders", path, create_missing_customers=True)
    assert report.ok
    lines_frame = (
        con.cursor()
        .execute(
            """
            SELECT customer_id, order_id, ordered_at, amount FROM orders
            WHERE customer_id IS NOT NULL AND NOT starts_with(order_id, 'C')
              AND quantity > 0 AND unit_price > 0
            """
        )
        .df()
    )
    return report, lines_frame


def test_online_retail_fixture_hand_checked(mem_con):
    """Import + exclusions + RFM agree with an independent pandas count on the raw CSV."""
    report, frame = load_online_retail(mem_con, FIXTURES / "online_retail_small.csv")
    as_of = frame["ordered_at"].max().date()
    scores = seg.rfm(frame, as_of=as_of)
    raw = pd.read_csv(FIXTURES / "online_retail_small.csv", dtype={"CustomerID": str, "InvoiceNo": str})
    clean = raw[
        raw["CustomerID"].notna()
        & ~raw["InvoiceNo"].str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
    ]
    assert report.rows_rejected == int(raw["CustomerID"].isna().sum())
    assert len(scores) == clean["CustomerID"].nunique()
    assert scores["monetary"].sum() == pytest.approx((clean["Quantity"] * clean["UnitPrice"]).round(2).sum())
    per = clean.groupby("CustomerID")["InvoiceNo"].nunique()
    assert scores.set_index("customer_id")["frequency"].to_dict() == per.to_dict()
    classes = seg.abc(scores.set_index("customer_id")["monetary"].sort_index())
    assert classes.value_counts()["A"] < len(scores) / 2


@pytest.mark.slow
def test_online_retail_worked_example_figures(tmp_path):
    """The figures of docs/segments_worked_example.md, recomputed from the full file through the import."""
    path = requires_shared_data("online_retail_uci.csv.gz")
    con = store.connect(tmp_path / "retail.duckdb")
    _report, frame = load_online_retail(con, path)
    as_of = dt.date(2011, 12, 9)
    cur = con.cursor()
    scores = seg.rfm_scores(cur, Filters(), as_of=as_of, exclude_returns=True)
    # The store path (SQL over the imported table) and the DataFrame path agree.
    pd.testing.assert_frame_equal(scores, seg.rfm(frame, as_of=as_of), check_dtype=False)
    assert len(scores) == 4338
    assert scores["monetary"].sum() == pytest.approx(8911407.90, abs=0.01)
    assert scores["segment"].value_counts().to_dict() == WORKED_SEGMENTS
    classes = seg.abc_scores(cur, Filters(), as_of=as_of, exclude_returns=True)
    assert classes["abc_class"].value_counts().to_dict() == WORKED_ABC
    features = seg.customer_features(cur, Filters(), as_of=as_of, exclude_returns=True)
    X = seg.prepare_features(features, ["recency_days", "frequency", "monetary", "tenure_days"])
    suggestion = seg.suggest_k(seg.cluster_diagnostics(X, seed=0, sample_size=5000))
    assert (suggestion.k, suggestion.criteria) == (3, ("silhouette", "davies_bouldin"))


WORKED_SEGMENTS = {
    "Champions": 1006,
    "Lost": 686,
    "At risk": 615,
    "Potential loyalist": 465,
    "Loyal customers": 440,
    "Hibernating": 401,
    "Need attention": 400,
    "About to sleep": 149,
    "Promising": 103,
    "New customers": 39,
    "Can't lose them": 34,
}
WORKED_ABC = {"A": 1133, "B": 1469, "C": 1736}


# --- charts draw exactly their plain-data twins --------------------------------------------


def test_charts_draw_their_data_twins():
    from analytics.charts import segments as charts

    summary = seg.segment_summary(seg.rfm(HAND, as_of=AS_OF))
    treemap = charts.segment_treemap(summary, display_names={"Champions": "Champions (de)"})
    shown = summary[summary["customers"] > 0]
    assert list(treemap.data[0].values) == shown["customers"].tolist()
    assert "Champions (de)" in treemap.data[0].labels
    by_revenue = charts.segment_treemap(summary, size_by="revenue")
    assert sum(by_revenue.data[0].values) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        charts.segment_treemap(summary, size_by="nope")

    frame = pd.DataFrame({"customer_id": list("abcde"), "revenue": [50.0, 30.0, 10.0, 5.0, 5.0]})
    frame["abc_class"] = seg.abc(frame["revenue"])
    pareto = charts.pareto_chart(seg.pareto_curve(frame), seg.abc_summary(frame))
    assert [t.name.split(":")[0] for t in pareto.data] == ["Class A", "Class B", "Class C"]
    assert pareto.data[0].y[-1] == pytest.approx(80.0)  # class A ends at 80 % of revenue

    diagnostics = pd.DataFrame(
        {"k": [2, 3], "inertia": [5.0, 3.0], "silhouette": [0.4, 0.5], "davies_bouldin": [1.0, 0.9]}
    )
    figure = charts.diagnostics_chart(diagnostics, suggested_k=3)
    assert [list(t.y) for t in figure.data] == [[5.0, 3.0], [0.4, 0.5], [1.0, 0.9]]

    projection = pd.DataFrame({"pc1": [0.0, 1.0], "pc2": [0.0, 1.0], "cluster": [0, 1]})
    projection.attrs["explained_variance"] = [0.7, 0.2]
    scatter = charts.pca_scatter(projection, names={0: "first", 1: "second"})
    assert [t.name for t in scatter.data] == ["first", "second"]
    assert "70%" in scatter.layout.xaxis.title.text

    counts = pd.DataFrame({"month": ["2026-01-01"] * 2, "stage": ["new", "lost"], "customers": [3, 4]})
    area = charts.lifecycle_area(counts)
    assert [(t.name, list(t.y)) for t in area.data] == [("new", [3]), ("lost", [4])]

    flows = pd.DataFrame({"from_stage": [seg.NOT_YET, "loyal"], "to_stage": ["new", "at risk"], "customers": [2, 5]})
    sankey = charts.lifecycle_sankey(flows)
    assert list(sankey.data[0].link.value) == [2, 5]
    assert len(sankey.data[0].node.label) == 4


def test_pareto_cutoff_labels_are_legible_and_sit_off_their_lines():
    """Guards the review nit: '80%' and '95%' were tiny and drawn on the dotted lines."""
    from analytics.charts import segments as charts

    frame = pd.DataFrame({"customer_id": list("abcde"), "revenue": [50.0, 30.0, 10.0, 5.0, 5.0]})
    frame["abc_class"] = seg.abc(frame["revenue"])
    pareto = charts.pareto_chart(seg.pareto_curve(frame), seg.abc_summary(frame), cutoffs=(0.8, 0.95))
    lines = sorted(s.y0 for s in pareto.layout.shapes)
    labels = sorted(pareto.layout.annotations, key=lambda a: a.y)
    assert lines == [80, 95] and [a.text for a in labels] == ["80%", "95%"]
    for label, line in zip(labels, lines, strict=True):
        assert label.font.size >= 11
        assert label.y == line and label.yanchor == "bottom" and label.yshift >= 2  # above the line, not on it
        assert label.bgcolor == "#ffffff"  # a white box keeps gridlines and the curve out of the text


def test_sankey_links_take_their_source_stage_colour_and_labels_are_dark():
    from analytics.charts import segments as charts

    flows = pd.DataFrame(
        {"from_stage": ["new", "new", "loyal"], "to_stage": ["active", "lost", "at risk"], "customers": [4, 1, 5]}
    )
    sankey = charts.lifecycle_sankey(flows).data[0]
    assert list(sankey.link.color) == [
        "rgba(14, 165, 233, 0.4)",  # new: #0ea5e9, see-through
        "rgba(14, 165, 233, 0.4)",
        "rgba(16, 185, 129, 0.4)",  # loyal: #10b981
    ]
    assert sankey.textfont.color == "#0f172a" and sankey.textfont.size >= 11
    assert charts.translucent("#ef4444", 0.4) == "rgba(239, 68, 68, 0.4)"
