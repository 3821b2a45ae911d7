"""Overview KPIs: customers, active customers, revenue, churn rate, average CLV, funnel conversion.

Definitions (the Overview page shows them as help texts):

- customers: customers in scope who signed up on or before the period end (or have no sign-up date);
- active customers: customers in scope with at least one order line or interaction in the period;
- revenue: sum of order-line amounts in the period (returns are negative lines, so this is net);
- churn rate: customers lost in the period divided by customers active at its start. A customer is
  active at the start when their last activity before the start lies within ``inactive_days``
  (default 90); they are lost when, at the period end, their last activity is more than
  ``inactive_days`` ago;
- average CLV (historical): net revenue per customer from their first order up to the period end,
  averaged over customers in scope with at least one order by then;
- funnel conversion: of the customers with an ``awareness`` interaction in the period, the share
  with a ``purchase`` interaction at or after their first awareness in the period, by its end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.filters import Filters, customer_scope

KPI_NAMES = ("customers", "active_customers", "revenue", "churn_rate", "average_clv", "conversion_rate")


@dataclass(frozen=True)
class Kpi:
    """One KPI tile: value now, value in the previous period, and a short trend (oldest first)."""

    name: str
    value: float | None
    previous: float | None
    trend: list[float | None]

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def filter_options(cur: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Values the sidebar offers: segments, countries, channels, saved segments, and the data's date span."""

    def distinct(column: str) -> list[str]:
        rows = cur.execute(f"SELECT DISTINCT {column} FROM customers WHERE {column} IS NOT NULL ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    span = cur.execute(
        """
        SELECT min(t)::DATE, max(t)::DATE FROM (
            SELECT min(ordered_at) AS t FROM orders UNION ALL SELECT max(ordered_at) FROM orders
            UNION ALL SELECT min(occurred_at) FROM interactions UNION ALL SELECT max(occurred_at) FROM interactions
        ) WHERE t IS NOT NULL
        """
    ).fetchone()
    saved = [r[0] for r in cur.execute("SELECT name FROM saved_segments ORDER BY name").fetchall()]
    return {
        "segments": distinct("segment"),
        "countries": distinct("country"),
        "channels": distinct("acquisition_channel"),
        "saved_segments": saved,
        "period": [span[0], span[1]] if span and span[0] is not None else [],
    }


def _windows_sql(bounds: list[tuple[int, int]], boundaries: int) -> str:
    """One pass over orders and interactions -> one row per window with every KPI.

    Windows are numbered 0..len(bounds)-1. Their start and end instants are the sorted, distinct
    ``boundaries`` $b1..$bN; window i spans the buckets (lo, hi] = ``bounds[i]``, where bucket k
    (k = number of boundaries at or before t) holds the activity in [b_k, b_k+1). Activity is first
    reduced to one row per customer and bucket (a handful of plain aggregates in one scan); every
    window is then a range of bucket numbers. Aggregates "up to bucket k" are shared between the
    windows that need the same k (a trend month ends where the next one starts), so the
    per-customer step computes each one once.
    """
    bucket = " + ".join(f"CAST(t >= $b{k} AS INTEGER)" for k in range(1, boundaries + 1))
    aggregates: dict[str, str] = {}

    def agg(expression: str) -> str:
        return aggregates.setdefault(expression, f"a{len(aggregates)}")

    # f(CASE WHEN c THEN x END) rather than f(x) FILTER (WHERE c): the same result, and cheaper in
    # DuckDB when dozens of them share one GROUP BY.
    per_window: list[str] = []
    for i, (lo, hi) in enumerate(bounds):
        inside = f"bucket > {int(lo)} AND bucket <= {int(hi)}"
        up_to_start, up_to_end = f"bucket <= {int(lo)}", f"bucket <= {int(hi)}"
        active = agg(f"bool_or({inside})")
        last_start = agg(f"max(CASE WHEN {up_to_start} THEN last_t END)")
        last_end = agg(f"max(CASE WHEN {up_to_end} THEN last_t END)")
        revenue = agg(f"sum(CASE WHEN {inside} THEN revenue END)")
        # NULL for a customer without orders up to the end, so avg() leaves them out.
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
WITH scope AS MATERIALIZED (
    SELECT customer_id, signup_date FROM customers WHERE {{scope}}
),
activity AS (
    SELECT customer_id, ordered_at AS t, amount, NULL::VARCHAR AS stage, TRUE AS is_order FROM orders
    WHERE {{in_scope}}
    UNION ALL
    SELECT customer_id, occurred_at AS t, NULL::DOUBLE AS amount, stage, FALSE AS is_order FROM interactions
    WHERE {{in_scope}}
),
buckets AS MATERIALIZED (
    SELECT customer_id, {bucket} AS bucket,
           max(t) AS last_t,
           sum(amount) FILTER (WHERE is_order) AS revenue,
           min(t) FILTER (WHERE stage = 'awareness') AS first_aware,
           max(t) FILTER (WHERE stage = 'purchase') AS last_purchase
    FROM activity GROUP BY ALL
),
per_customer AS MATERIALIZED (
    SELECT customer_id, {", ".join(per_customer)} FROM buckets GROUP BY customer_id
)
{" UNION ALL ".join(per_window)}
ORDER BY w
"""


def kpi_series(
    cur: duckdb.DuckDBPyConnection, filters: Filters, windows: list[tuple[dt.date, dt.date]], *, inactive_days: int = 90
) -> list[dict[str, float | None]]:
    """Filters (customer scope) and [(start, end)] inclusive date windows -> {kpi: value} per window, in order."""
    if not windows:
        return []
    scope_sql, scope_params = customer_scope(filters)
    # The scope condition uses positional parameters; name them so they mix with the window ones.
    named: dict[str, object] = {}
    for i, value in enumerate(scope_params):
        scope_sql = scope_sql.replace("?", f"$p{i}", 1)
        named[f"p{i}"] = value
    instants = [
        (dt.datetime.combine(start, dt.time.min), dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
        for start, end in windows
    ]
    boundaries = sorted({moment for pair in instants for moment in pair})
    position = {moment: k for k, moment in enumerate(boundaries, start=1)}
    for k, moment in enumerate(boundaries, start=1):
        named[f"b{k}"] = moment
    bounds = []
    for i, (start, end_excl) in enumerate(instants):
        named[f"s{i}"], named[f"e{i}"] = start, end_excl
        bounds.append((position[start] - 1, position[end_excl] - 1))
    named["inactive"] = inactive_days
    # Without a customer restriction the semi-join against all customers would only cost time
    # (it triples the query on a million customers): every activity row is in scope.
    in_scope = "customer_id IN (SELECT customer_id FROM scope)" if filters.restricts_customers else "TRUE"
    sql = _windows_sql(bounds, len(boundaries)).format(scope=scope_sql, in_scope=in_scope)
    rows = cur.execute(sql, named).fetchall()
    out = []
    for row in rows:
        values = dict(zip(KPI_NAMES, row[1:], strict=True))
        out.append({k: (None if v is None else float(v)) for k, v in values.items()})
    return out


def kpi_values(cur: duckdb.DuckDBPyConnection, filters: Filters, *, inactive_days: int = 90) -> dict[str, float | None]:
    """Filters (with start and end) -> {kpi name: value} for that period; None where undefined."""
    if filters.start is None or filters.end is None:
        raise ValueError("filters need a start and an end date")
    return kpi_series(cur, filters, [(filters.start, filters.end)], inactive_days=inactive_days)[0]


def month_windows(end: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """The ``months`` calendar months up to and including ``end``'s month (the last one cut at ``end``)."""
    windows = []
    first = end.replace(day=1)
    for _ in range(months):
        last = min(end, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
        windows.append((first, last))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return windows[::-1]


def kpis(
    cur: duckdb.DuckDBPyConnection, filters: Filters, *, inactive_days: int = 90, trend_months: int = 6
) -> list[Kpi]:
    """Filters -> one :class:`Kpi` per name in ``KPI_NAMES``: value, previous period, monthly trend."""
    if filters.start is None or filters.end is None:
        raise ValueError("filters need a start and an end date")
    previous = filters.previous()
    windows = [(filters.start, filters.end), (previous.start, previous.end), *month_windows(filters.end, trend_months)]
    now, before, *trend_rows = kpi_series(cur, filters, windows, inactive_days=inactive_days)
    return [Kpi(name, now[name], before[name], [row[name] for row in trend_rows]) for name in KPI_NAMES]


def monthly_revenue(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Filters -> one row per month of the period: month, revenue, orders, active_customers."""
    scope_sql, scope_params = customer_scope(filters)
    start = dt.datetime.combine(filters.start, dt.time.min)
    end_excl = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min)
    return cur.execute(
        f"""
        SELECT date_trunc('month', ordered_at)::DATE AS month,
               sum(amount) AS revenue,
               count(DISTINCT order_id) AS orders,
               count(DISTINCT customer_id) AS active_customers
        FROM orders
        WHERE ordered_at >= ? AND ordered_at < ? AND {scope_sql}
        GROUP BY ALL ORDER BY month
        """,
        [start, end_excl, *scope_params],
    ).df()
