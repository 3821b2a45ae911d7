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


_KPI_SQL = """
WITH scope AS (
    SELECT customer_id, signup_date FROM customers WHERE {scope}
),
activity AS (
    SELECT customer_id, ordered_at AS t FROM orders WHERE customer_id IN (SELECT customer_id FROM scope)
    UNION ALL
    SELECT customer_id, occurred_at AS t FROM interactions WHERE customer_id IN (SELECT customer_id FROM scope)
),
last_before_start AS (
    SELECT customer_id, max(t) AS last_t FROM activity WHERE t < $start GROUP BY customer_id
),
last_by_end AS (
    SELECT customer_id, max(t) AS last_t FROM activity WHERE t < $end_excl GROUP BY customer_id
),
at_start AS (
    SELECT customer_id FROM last_before_start WHERE last_t >= $start - to_days($inactive)
),
lost AS (
    SELECT a.customer_id FROM at_start a JOIN last_by_end l USING (customer_id)
    WHERE l.last_t < $end_excl - to_days($inactive)
),
value_by_end AS (
    SELECT customer_id, sum(amount) AS value FROM orders
    WHERE customer_id IN (SELECT customer_id FROM scope) AND ordered_at < $end_excl
    GROUP BY customer_id
),
aware AS (
    SELECT customer_id, min(occurred_at) AS first_aware FROM interactions
    WHERE stage = 'awareness' AND occurred_at >= $start AND occurred_at < $end_excl
      AND customer_id IN (SELECT customer_id FROM scope)
    GROUP BY customer_id
),
converted AS (
    SELECT DISTINCT a.customer_id FROM aware a JOIN interactions i
      ON i.customer_id = a.customer_id AND i.stage = 'purchase'
     AND i.occurred_at >= a.first_aware AND i.occurred_at < $end_excl
)
SELECT
    (SELECT count(*) FROM scope WHERE signup_date IS NULL OR signup_date < $end_excl::DATE) AS customers,
    (SELECT count(DISTINCT customer_id) FROM activity WHERE t >= $start AND t < $end_excl) AS active_customers,
    (SELECT coalesce(sum(amount), 0) FROM orders
        WHERE ordered_at >= $start AND ordered_at < $end_excl
          AND customer_id IN (SELECT customer_id FROM scope)) AS revenue,
    (SELECT count(*) FROM lost)::DOUBLE / nullif((SELECT count(*) FROM at_start), 0) AS churn_rate,
    (SELECT avg(value) FROM value_by_end) AS average_clv,
    (SELECT count(*) FROM converted)::DOUBLE / nullif((SELECT count(*) FROM aware), 0) AS conversion_rate
"""


def kpi_values(cur: duckdb.DuckDBPyConnection, filters: Filters, *, inactive_days: int = 90) -> dict[str, float | None]:
    """Filters (with start and end) -> {kpi name: value} for that period; None where undefined."""
    if filters.start is None or filters.end is None:
        raise ValueError("filters need a start and an end date")
    scope_sql, scope_params = customer_scope(filters)
    # The scope condition uses positional parameters; inline them as named ones.
    named = {f"p{i}": v for i, v in enumerate(scope_params)}
    for i in range(len(scope_params)):
        scope_sql = scope_sql.replace("?", f"$p{i}", 1)
    params = {
        "start": dt.datetime.combine(filters.start, dt.time.min),
        "end_excl": dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min),
        "inactive": inactive_days,
        **named,
    }
    row = cur.execute(_KPI_SQL.format(scope=scope_sql), params).fetchone()
    values = dict(zip(KPI_NAMES, row, strict=True))
    return {k: (None if v is None else float(v)) for k, v in values.items()}


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
    now = kpi_values(cur, filters, inactive_days=inactive_days)
    before = kpi_values(cur, filters.previous(), inactive_days=inactive_days)
    trend_rows = []
    for start, end in month_windows(filters.end, trend_months):
        window = Filters(
            start=start,
            end=end,
            segments=filters.segments,
            countries=filters.countries,
            channels=filters.channels,
            saved_segment=filters.saved_segment,
        )
        trend_rows.append(kpi_values(cur, window, inactive_days=inactive_days))
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
