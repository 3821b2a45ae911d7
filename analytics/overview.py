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


# Each window needs two boundaries at most and each bucket one bit of a BIGINT mask (bits 0..62).
_MAX_WINDOWS = 31


def _buckets_ctes(bucket: str) -> str:
    """CTEs ``scope`` (customers in scope, with ``{scope}`` left to format) and ``buckets``: one row per
    customer and bucket (``bucket`` is its SQL expression over the activity time ``t``) with the last
    activity, the revenue, the first awareness and the last purchase in it."""
    return f"""scope AS MATERIALIZED (
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
)"""


def _windows_sql(bounds: list[tuple[int, int]], boundaries: int) -> str:
    """One pass over orders and interactions -> one row with every KPI's parts for every window.

    Windows are numbered 0..len(bounds)-1. Their start and end instants are the sorted, distinct
    ``boundaries`` $b1..$bN; window i spans the buckets (lo, hi] = ``bounds[i]``, where bucket k
    (k = number of boundaries at or before t) holds the activity in [b_k, b_k+1). Activity is first
    reduced to one row per customer and bucket (a handful of plain aggregates in one scan), then to
    one row per customer of bit masks with one bit per bucket (bit k set: active in bucket k, ordered
    in it, aware in it, ...) or per window (recent activity at its start and at its end). Every window
    is then a bit test on a few integers, so the per-customer step costs the same seven aggregates
    whatever the number of windows (it had one CASE aggregate per window and KPI, about 50 on the
    Overview, and took half the time). The tests are counted over the distinct combinations of masks
    (some 17,000 for a million customers), not over customers. Sums of money come from per-bucket
    totals, added with ``fsum`` (compensated) so that their order does not matter.

    Churn: the last activity before s is at or after s - inactive exactly when some bucket up to lo
    has its last activity there (and likewise at the end). Conversion: the first awareness in the
    window lies in the lowest window bucket L with an awareness; a purchase at or after it by the end
    is a purchase in a bucket above L up to hi, or one in L at or after L's first awareness.
    """
    bucket = " + ".join(f"CAST(t >= $b{k} AS INTEGER)" for k in range(1, boundaries + 1))
    recent_start = " + ".join(
        f"CASE WHEN bucket <= {int(lo)} AND last_t >= $s{i} - to_days($inactive) THEN {1 << i} ELSE 0 END"
        for i, (lo, _) in enumerate(bounds)
    )
    recent_end = " + ".join(
        f"CASE WHEN bucket <= {int(hi)} AND last_t >= $e{i} - to_days($inactive) THEN {1 << i} ELSE 0 END"
        for i, (_, hi) in enumerate(bounds)
    )
    count = "coalesce(sum(customers) FILTER"
    columns: list[str] = []
    for i, (lo, hi) in enumerate(bounds):
        inside = (1 << (hi + 1)) - (1 << (lo + 1))  # buckets lo+1..hi
        up_to_end = (1 << (hi + 1)) - 1  # buckets 0..hi
        window_bit = 1 << i
        first_aware = f"(aware & {inside}) & -(aware & {inside})"  # the lowest bit only
        columns += [
            f"{count} (WHERE active & {inside} <> 0), 0) AS active_{i}",
            f"{count} (WHERE recent_start & {window_bit} <> 0), 0) AS at_start_{i}",
            f"{count} (WHERE recent_start & {window_bit} <> 0 AND recent_end & {window_bit} = 0), 0) AS lost_{i}",
            f"{count} (WHERE ordered & {up_to_end} <> 0), 0) AS valued_{i}",
            f"{count} (WHERE aware & {inside} <> 0), 0) AS aware_{i}",
            f"{count} (WHERE (converted_within & {first_aware}) <> 0"
            f" OR (purchased & {inside} & -({first_aware}) & ~({first_aware})) <> 0), 0) AS converted_{i}",
        ]
    sums: list[str] = []
    for i, (lo, hi) in enumerate(bounds):
        sums += [
            f"coalesce(sum(revenue) FILTER (WHERE bucket > {int(lo)} AND bucket <= {int(hi)}), 0) AS revenue_{i}",
            f"sum(revenue) FILTER (WHERE bucket <= {int(hi)}) AS value_{i}",
        ]
    customers = [
        f"count(*) FILTER (WHERE signup_date IS NULL OR signup_date < CAST($e{i} AS DATE)) AS customers_{i}"
        for i in range(len(bounds))
    ]
    return f"""
WITH {_buckets_ctes(bucket)},
bits AS (
    SELECT customer_id, bucket, revenue, first_aware, last_purchase,
           CAST(1 AS BIGINT) << bucket AS bit,
           CAST({recent_start} AS BIGINT) AS recent_start,
           CAST({recent_end} AS BIGINT) AS recent_end
    FROM buckets
),
per_customer AS (
    SELECT coalesce(bit_or(bit), 0) AS active,
           coalesce(bit_or(CASE WHEN revenue IS NOT NULL THEN bit ELSE 0 END), 0) AS ordered,
           coalesce(bit_or(CASE WHEN first_aware IS NOT NULL THEN bit ELSE 0 END), 0) AS aware,
           coalesce(bit_or(CASE WHEN last_purchase IS NOT NULL THEN bit ELSE 0 END), 0) AS purchased,
           coalesce(bit_or(CASE WHEN last_purchase >= first_aware THEN bit ELSE 0 END), 0) AS converted_within,
           bit_or(recent_start) AS recent_start,
           bit_or(recent_end) AS recent_end
    FROM bits GROUP BY customer_id
),
combinations AS (
    SELECT active, ordered, aware, purchased, converted_within, recent_start, recent_end, count(*) AS customers
    FROM per_customer GROUP BY ALL
),
per_bucket AS (
    SELECT bucket, fsum(revenue) AS revenue FROM buckets GROUP BY bucket
)
SELECT *
FROM (SELECT {", ".join(customers)} FROM scope)
CROSS JOIN (SELECT {", ".join(columns)} FROM combinations)
CROSS JOIN (SELECT {", ".join(sums)} FROM per_bucket)
"""


def _ratio(part: int, whole: int) -> float | None:
    return None if not whole else float(part) / float(whole)


def _window_parameters(
    filters: Filters, windows: list[tuple[dt.date, dt.date]], inactive_days: int
) -> tuple[dict[str, object], list[tuple[int, int]], int, dict[str, str]]:
    """Filters and date windows -> (named parameters, bucket bounds per window, number of boundaries,
    the ``scope`` and ``in_scope`` fragments for the KPI SQL)."""
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
    return named, bounds, len(boundaries), {"scope": scope_sql, "in_scope": in_scope}


def kpi_series(
    cur: duckdb.DuckDBPyConnection, filters: Filters, windows: list[tuple[dt.date, dt.date]], *, inactive_days: int = 90
) -> list[dict[str, float | None]]:
    """Filters (customer scope) and [(start, end)] inclusive date windows -> {kpi: value} per window, in order."""
    if not windows:
        return []
    if any(start > end for start, end in windows):
        raise ValueError("A period cannot end before it starts: choose the earlier date first.")
    if len(windows) > _MAX_WINDOWS:
        head = kpi_series(cur, filters, windows[:_MAX_WINDOWS], inactive_days=inactive_days)
        return head + kpi_series(cur, filters, windows[_MAX_WINDOWS:], inactive_days=inactive_days)
    named, bounds, boundaries, formats = _window_parameters(filters, windows, inactive_days)
    sql = _windows_sql(bounds, boundaries).format(**formats)
    cursor = cur.execute(sql, named)
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone(), strict=True))
    out = []
    for i in range(len(windows)):
        out.append(
            {
                "customers": float(row[f"customers_{i}"]),
                "active_customers": float(row[f"active_{i}"]),
                "revenue": float(row[f"revenue_{i}"]),
                "churn_rate": _ratio(row[f"lost_{i}"], row[f"at_start_{i}"]),
                "average_clv": None if not row[f"valued_{i}"] else float(row[f"value_{i}"]) / row[f"valued_{i}"],
                "conversion_rate": _ratio(row[f"converted_{i}"], row[f"aware_{i}"]),
            }
        )
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
