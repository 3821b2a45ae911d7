"""The Overview KPI query against the earlier one it replaced, kept below as the reference.

The earlier query reduced activity to one row per customer and date bucket and then computed one
CASE aggregate per KPI and window per customer (about 50 on the Overview); the current one reduces
each customer to a few bit masks. Both must give the same numbers for any store, window and filter.
Amounts are multiples of a quarter, so every sum is exact and the comparison can be exact.
"""

from __future__ import annotations

import datetime as dt

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import overview
from analytics.filters import Filters

DAY0 = dt.datetime(2026, 1, 1)


def _reference_windows_sql(bounds: list[tuple[int, int]], boundaries: int) -> str:
    """The earlier query (until November 2026), unchanged: one CASE aggregate per window and KPI."""
    bucket = " + ".join(f"CAST(t >= $b{k} AS INTEGER)" for k in range(1, boundaries + 1))
    aggregates: dict[str, str] = {}

    def agg(expression: str) -> str:
        return aggregates.setdefault(expression, f"a{len(aggregates)}")

    per_window: list[str] = []
    for i, (lo, hi) in enumerate(bounds):
        inside = f"bucket > {int(lo)} AND bucket <= {int(hi)}"
        up_to_start, up_to_end = f"bucket <= {int(lo)}", f"bucket <= {int(hi)}"
        active = agg(f"bool_or({inside})")
        last_start = agg(f"max(CASE WHEN {up_to_start} THEN last_t END)")
        last_end = agg(f"max(CASE WHEN {up_to_end} THEN last_t END)")
        revenue = agg(f"sum(CASE WHEN {inside} THEN revenue END)")
        value = agg(f"sum(CASE WHEN {up_to_end} THEN revenue END)")
        aware = agg(f"min(CASE WHEN {inside} THEN first_aware END)")
        purchase = agg(f"max(CASE WHEN {up_to_end} THEN last_purchase END)")
        s, e = f"$s{i}", f"$e{i}"
        at_start = f"{last_start} >= {s} - to_days($inactive)"
        per_window.append(
            f"""SELECT {i} AS w,
                (SELECT count(*) FROM scope WHERE signup_date IS NULL OR signup_date < CAST({e} AS DATE)) AS customers,
                count(*) FILTER (WHERE {active}) AS active_customers,
                coalesce(sum({revenue}), 0) AS revenue,
                count(*) FILTER (WHERE {at_start} AND {last_end} < {e} - to_days($inactive))::DOUBLE
                    / nullif(count(*) FILTER (WHERE {at_start}), 0) AS churn_rate,
                avg({value}) AS average_clv,
                count(*) FILTER (WHERE {aware} IS NOT NULL AND {purchase} >= {aware})::DOUBLE
                    / nullif(count(*) FILTER (WHERE {aware} IS NOT NULL), 0) AS conversion_rate
            FROM per_customer"""
        )
    per_customer = [f"{expression} AS {alias}" for expression, alias in aggregates.items()]
    return f"""
WITH {overview._buckets_ctes(bucket)},
per_customer AS MATERIALIZED (
    SELECT customer_id, {", ".join(per_customer)} FROM buckets GROUP BY customer_id
)
{" UNION ALL ".join(per_window)}
ORDER BY w
"""


def _reference_kpi_series(cur, filters: Filters, windows, *, inactive_days: int = 90):
    """The earlier ``kpi_series``, running :func:`_reference_windows_sql`."""
    if not windows:
        return []
    named, bounds, boundaries, formats = overview._window_parameters(filters, windows, inactive_days)
    sql = _reference_windows_sql(bounds, boundaries).format(**formats)
    out = []
    for row in cur.execute(sql, named).fetchall():
        values = dict(zip(overview.KPI_NAMES, row[1:], strict=True))
        out.append({k: (None if v is None else float(v)) for k, v in values.items()})
    return out


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("customers", "orders", "interactions", "saved_segments"):
        con.execute(f"DELETE FROM {table}")


# Instants near the edges that matter: midnights (window starts and ends, and those minus any whole
# number of inactive days), a second either side, and noon. Events draw their times from a small
# pool, so that ties (a purchase at the instant of an awareness) are common.
instants = st.builds(
    lambda day, second: DAY0 + dt.timedelta(days=day, seconds=second),
    st.integers(-35, 75),
    st.sampled_from([0, 0, 1, -1, 43_200]),
)
customer_ids = st.sampled_from(["a", "b", "c", "d", "e", "f"])
windows = st.lists(
    st.builds(
        lambda start, length: (
            (DAY0 + dt.timedelta(days=start)).date(),
            (DAY0 + dt.timedelta(days=start + length)).date(),
        ),
        st.integers(-10, 60),
        st.integers(0, 40),
    ),
    min_size=1,
    max_size=6,
)
# Indexes into the pool of instants; -1 stands for a missing time.
moments = st.integers(-1, 9)


@st.composite
def stores(draw):
    pool = draw(st.lists(instants, min_size=1, max_size=10))

    def at(index: int) -> dt.datetime | None:
        return None if index < 0 else pool[index % len(pool)]

    return {
        "customers": draw(
            st.lists(
                st.tuples(
                    st.sampled_from("XY"),
                    st.sampled_from(["DE", "FR"]),
                    st.one_of(st.none(), st.integers(-60, 80)),
                ),
                min_size=6,
                max_size=6,
            )
        ),
        "orders": [
            (cid, at(index), quarters)
            for cid, index, quarters in draw(
                st.lists(st.tuples(customer_ids, moments, st.one_of(st.none(), st.integers(-400, 4000))), max_size=25)
            )
        ],
        "interactions": [
            (cid, at(index), stage)
            for cid, index, stage in draw(
                st.lists(
                    st.tuples(
                        customer_ids, moments, st.sampled_from(["awareness", "purchase", "interest", "loyalty", None])
                    ),
                    max_size=40,
                )
            )
        ],
    }


filter_choices = st.sampled_from(
    [{}, {"segments": ("X",)}, {"countries": ("FR",)}, {"segments": ("Y",), "countries": ("DE", "FR")}]
)


def _fill(con: duckdb.DuckDBPyConnection, store: dict) -> None:
    _clear(con)
    con.executemany(
        "INSERT INTO customers (customer_id, segment, country, signup_date) VALUES (?, ?, ?, ?)",
        [
            (cid, segment, country, None if day is None else (DAY0 + dt.timedelta(days=day)).date())
            for cid, (segment, country, day) in zip("abcdef", store["customers"], strict=True)
        ],
    )
    if store["orders"]:
        con.executemany(
            "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount) VALUES (?, 1, ?, ?, ?)",
            [
                (f"o{i}", cid, when, None if quarters is None else quarters / 4)
                for i, (cid, when, quarters) in enumerate(store["orders"])
            ],
        )
    if store["interactions"]:
        con.executemany(
            "INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage) VALUES (?, ?, ?, 'e', ?)",
            [(f"i{i}", cid, when, stage) for i, (cid, when, stage) in enumerate(store["interactions"])],
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(store=stores(), chosen=windows, inactive=st.sampled_from([1, 2, 7, 30, 90]), scope=filter_choices)
def test_kpi_series_equals_the_reference_query(mem_con, store, chosen, inactive, scope):
    """Property: for any small store, windows, inactivity limit and customer filter, the same numbers."""
    _fill(mem_con, store)
    cur = mem_con.cursor()
    filters = Filters(**scope)
    got = overview.kpi_series(cur, filters, chosen, inactive_days=inactive)
    assert got == _reference_kpi_series(cur, filters, chosen, inactive_days=inactive)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    store=stores(),
    start=st.integers(-10, 60),
    length=st.integers(0, 50),
    trend=st.integers(1, 4),
    scope=filter_choices,
)
def test_kpis_with_previous_period_and_trend_equal_the_reference(mem_con, store, start, length, trend, scope):
    """Property: the Overview's windows (period, the one before, trend months) as the reference gives them."""
    _fill(mem_con, store)
    cur = mem_con.cursor()
    first = (DAY0 + dt.timedelta(days=start)).date()
    filters = Filters(start=first, end=first + dt.timedelta(days=length), **scope)
    previous = filters.previous()
    chosen = [(filters.start, filters.end), (previous.start, previous.end)]
    chosen += overview.month_windows(filters.end, trend)
    expected = _reference_kpi_series(cur, filters, chosen)
    tiles = overview.kpis(cur, filters, trend_months=trend)
    for tile in tiles:
        assert tile.value == expected[0][tile.name]
        assert tile.previous == expected[1][tile.name]
        assert tile.trend == [row[tile.name] for row in expected[2:]]


def test_many_windows_use_every_bit_and_more_run_in_batches(mem_con):
    """31 disjoint windows need 62 boundaries (bucket bits up to 62); 40 windows run in two batches."""
    store = {
        "customers": [("X", "DE", None)] * 6,
        "orders": [
            (cid, DAY0 + dt.timedelta(days=d, hours=h), d + h)
            for d in range(0, 130, 3)
            for cid, h in [("a", 1), ("b", 30)]
        ],
        "interactions": [
            (cid, DAY0 + dt.timedelta(days=d, hours=h), stage)
            for d in range(0, 130, 2)
            for cid, h, stage in [
                ("c", 2, "awareness"),
                ("c", 5, "purchase"),
                ("d", 3, "awareness"),
                ("e", 1, "purchase"),
            ]
        ],
    }
    _fill(mem_con, store)
    cur = mem_con.cursor()
    for count in (31, 40):
        chosen = [
            ((DAY0 + dt.timedelta(days=3 * i)).date(), (DAY0 + dt.timedelta(days=3 * i + 1)).date())
            for i in range(count)
        ]
        for inactive in (1, 2, 5):
            got = overview.kpi_series(cur, Filters(), chosen, inactive_days=inactive)
            assert got == _reference_kpi_series(cur, Filters(), chosen, inactive_days=inactive)
            assert len(got) == count


def test_equals_the_reference_on_the_demo_store(demo_con):
    """The 600-customer demo store, the Overview's windows, with and without a customer filter."""
    cur = demo_con.cursor()
    segment = cur.execute("SELECT min(segment) FROM customers").fetchone()[0]
    for scope in ({}, {"segments": (segment,)}):
        filters = Filters(start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31), **scope)
        previous = filters.previous()
        chosen = [(filters.start, filters.end), (previous.start, previous.end), *overview.month_windows(filters.end, 6)]
        got = overview.kpi_series(cur, filters, chosen)
        expected = _reference_kpi_series(cur, filters, chosen)
        for new, old in zip(got, expected, strict=True):
            assert new.keys() == old.keys()
            for name in new:
                if name in ("revenue", "average_clv") and new[name] is not None and old[name] is not None:
                    # Double sums in a different order: equal up to the last bits.
                    assert abs(new[name] - old[name]) <= 1e-12 * max(abs(old[name]), 1.0)
                else:
                    assert new[name] == old[name], name


def test_ties_at_the_edges_count_as_the_definitions_say(mem_con):
    """A purchase at the instant of the first awareness converts; activity exactly ``inactive`` days
    before the start counts as active at the start, and exactly ``inactive`` days before the end as
    not lost."""
    march = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    aware = dt.datetime(2026, 3, 10, 9, 0)
    store = {
        "customers": [("X", "DE", None)] * 6,
        "orders": [],
        "interactions": [
            ("a", aware, "awareness"),
            ("a", aware, "purchase"),
            ("b", dt.datetime(2026, 3, 12), "awareness"),
            ("b", dt.datetime(2026, 3, 11, 23, 59, 59), "purchase"),
            # c: last activity before 1 March exactly 10 days before it; d: 1 second earlier.
            ("c", dt.datetime(2026, 2, 19), "interest"),
            ("d", dt.datetime(2026, 2, 18, 23, 59, 59), "interest"),
            # e: active at the start, last activity exactly 10 days before 1 April (not lost).
            ("e", dt.datetime(2026, 2, 25), "interest"),
            ("e", dt.datetime(2026, 3, 22), "interest"),
        ],
    }
    _fill(mem_con, store)
    cur = mem_con.cursor()
    got = overview.kpi_series(cur, Filters(), [march], inactive_days=10)
    assert got == _reference_kpi_series(cur, Filters(), [march], inactive_days=10)
    assert got[0]["conversion_rate"] == 0.5  # a converts, b bought before becoming aware
    assert got[0]["churn_rate"] == 0.5  # c (at the start) is lost, e is not, d was not active at the start
