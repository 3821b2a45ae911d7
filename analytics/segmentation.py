"""Customer segments: RFM, ABC, clustering, personas, lifecycle stages and saved segments.

RFM (recency, frequency, monetary value; Hughes 1994, "Strategic Database Marketing") over order
lines ``customer_id, ordered_at, amount[, order_id]``:

- a *purchase line* is a line with ``amount > 0``; lines without a customer, a date or an amount
  are left out (and counted);
- ``recency_days``: whole days from the customer's last purchase line to ``as_of`` (NULL when the
  customer has no purchase line, e.g. only a refund);
- ``frequency``: distinct orders with at least one purchase line (``order_id``; without that
  column every distinct timestamp of a customer is one order);
- ``monetary``: net sum of all the customer's amounts (returns and credits subtract).

Scores are quintiles 1..5 as SQL ``ntile(5)`` assigns them, so every score holds a fifth of the customers
(sizes differ by at most one). Ties are broken deterministically, which means equal values can get
neighbouring scores: R orders by recency (older first; customers without a purchase first), then
frequency, monetary and customer id; F by frequency, then monetary and customer id; M by monetary,
then frequency and customer id. The later position gets the higher score, so of two customers who
are equal in everything the one with the larger customer id scores higher. With fewer than five
customers the scores are 1..n.

The segment map is an ordered list of rules (score ranges for R, F and M); the first rule that
matches names the segment, a customer no rule matches is "Other". :func:`check_segment_map` finds
rules that can never fire and score cells no rule covers; the default map has neither.

ABC (Pareto analysis): customers ranked by revenue (ties by customer id, or input order for
:func:`abc`); class A is the smallest group of top customers whose revenue reaches the first
cut-off of total revenue (the customer who crosses the cut-off belongs to A), B the next group up
to the second cut-off, C the rest. Customers with zero or negative revenue are always C.

Clustering: k-means (Lloyd; scikit-learn) or a Gaussian mixture on log-scaled (``log1p``) and
standardised features; k is chosen by silhouette (Rousseeuw 1987), Davies–Bouldin (Davies &
Bouldin 1979) and the elbow of the inertia curve (the point furthest from the chord, as in
"Kneedle", Satopää et al. 2011), evaluated on a sample.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics import schema, store
from analytics.filters import Filters, customer_scope, period_condition

__all__ = [
    "SegmentRule",
    "DEFAULT_SEGMENT_MAP",
    "SEGMENT_MAP_SETTING",
    "OTHER_SEGMENT",
    "assign_segment",
    "check_segment_map",
    "map_to_frame",
    "map_from_frame",
    "load_segment_map",
    "save_segment_map",
    "rfm",
    "rfm_scores",
    "order_checks",
    "segment_summary",
    "abc",
    "abc_scores",
    "abc_table",
    "abc_summary",
    "pareto_curve",
    "FEATURES",
    "customer_features",
    "prepare_features",
    "cluster_diagnostics",
    "KSuggestion",
    "suggest_k",
    "fit_clusters",
    "pca_projection",
    "cluster_profiles",
    "cluster_traits",
    "persona_name",
    "personas",
    "LifecycleRules",
    "LIFECYCLE_STAGES",
    "LIFECYCLE_SETTING",
    "load_lifecycle_rules",
    "save_lifecycle_rules",
    "LifecycleSpans",
    "lifecycle_spans",
    "lifecycle_stages",
    "lifecycle_counts",
    "lifecycle_counts_from_spans",
    "lifecycle_flows",
    "lifecycle_flows_from_spans",
    "save_segment",
    "saved_segments",
    "saved_segment_members",
    "delete_saved_segment",
]

OTHER_SEGMENT = "Other"
SEGMENT_MAP_SETTING = "segments.rfm_map"
LIFECYCLE_SETTING = "segments.lifecycle_rules"


# --- helpers -------------------------------------------------------------------------------


def _named(sql: str, params: list, prefix: str) -> tuple[str, dict]:
    """Turn the positional ``?`` parameters of a filter condition into named ``$prefix_i`` ones."""
    named = {}
    for i, value in enumerate(params):
        sql = sql.replace("?", f"${prefix}_{i}", 1)
        named[f"{prefix}_{i}"] = value
    return sql, named


def _as_date(value) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _next_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min)


# --- RFM segment map -----------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRule:
    """One row of the ordered segment map: inclusive score ranges for R, F and M, and an action."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int] = (1, 5)
    action: str = ""

    def matches(self, r: int, f: int, m: int) -> bool:
        return self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1] and self.m[0] <= m <= self.m[1]


#: The default map. Order matters: the first matching rule wins. Every rule wins at least one of
#: the 125 score cells and every cell is covered (tests check both).
DEFAULT_SEGMENT_MAP: tuple[SegmentRule, ...] = (
    SegmentRule(
        "Champions",
        (4, 5),
        (4, 5),
        (4, 5),
        "Thank them first: early access, a personal contact and a say in new products. Ask for reviews and referrals.",
    ),
    SegmentRule(
        "Can't lose them",
        (1, 1),
        (4, 5),
        (4, 5),
        "Former top customers gone quiet: call them personally, find out what went wrong and make a tailored offer.",
    ),
    SegmentRule(
        "Loyal customers",
        (3, 5),
        (4, 5),
        (1, 5),
        "Keep them close with a loyalty programme, useful content and offers that raise the basket (upsell).",
    ),
    SegmentRule(
        "At risk",
        (1, 2),
        (3, 5),
        (1, 5),
        "They used to buy often but not lately: send a reminder with a reason to come back and ask for feedback.",
    ),
    SegmentRule(
        "New customers",
        (5, 5),
        (1, 1),
        (1, 5),
        "Welcome them: onboarding, help with the first use and a low-threshold second offer.",
    ),
    SegmentRule(
        "Potential loyalist",
        (4, 5),
        (2, 3),
        (1, 5),
        "Recent and repeat buyers: invite them into the loyalty programme and recommend matching products.",
    ),
    SegmentRule(
        "Promising",
        (4, 4),
        (1, 1),
        (1, 5),
        "Bought once not long ago: build awareness of the range and give a reason for a second order.",
    ),
    SegmentRule(
        "Need attention",
        (3, 3),
        (2, 3),
        (1, 5),
        "Average customers drifting: time-limited, personalised offers based on what they bought before.",
    ),
    SegmentRule(
        "About to sleep",
        (3, 3),
        (1, 1),
        (1, 5),
        "One purchase a while ago: share popular products and a small incentive before they forget us.",
    ),
    SegmentRule(
        "Hibernating",
        (2, 2),
        (1, 2),
        (1, 5),
        "Rare buyers, long ago: include them in low-cost campaigns only; do not spend much.",
    ),
    SegmentRule(
        "Lost",
        (1, 1),
        (1, 2),
        (1, 5),
        "Gone for a long time: one reactivation attempt, otherwise leave them out of paid campaigns.",
    ),
)

_SCORE_CELLS = [(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)]


def assign_segment(r: int, f: int, m: int, rules: Sequence[SegmentRule] = DEFAULT_SEGMENT_MAP) -> str:
    """Scores (r, f, m) -> name of the first matching rule, or ``OTHER_SEGMENT``."""
    for rule in rules:
        if rule.matches(r, f, m):
            return rule.name
    return OTHER_SEGMENT


@dataclass(frozen=True)
class MapCheck:
    """Result of :func:`check_segment_map`: problems per kind (empty lists when the map is sound)."""

    errors: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    uncovered: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.errors or self.unreachable or self.uncovered)


def check_segment_map(rules: Sequence[SegmentRule]) -> MapCheck:
    """Rules -> :class:`MapCheck` with invalid ranges, rules that never win a cell, and uncovered cells."""
    errors: list[str] = []
    names = [rule.name for rule in rules]
    for rule in rules:
        if not rule.name or not rule.name.strip():
            errors.append("empty_name")
        for lo, hi in (rule.r, rule.f, rule.m):
            if not (1 <= lo <= hi <= 5):
                errors.append(f"bad_range:{rule.name}")
                break
    for name, count in Counter(names).items():
        if count > 1:
            errors.append(f"duplicate:{name}")
    winners = Counter(assign_segment(r, f, m, rules) for r, f, m in _SCORE_CELLS)
    unreachable = [rule.name for rule in rules if winners.get(rule.name, 0) == 0]
    uncovered = [cell for cell in _SCORE_CELLS if assign_segment(*cell, rules) == OTHER_SEGMENT]
    return MapCheck(errors=errors, unreachable=unreachable, uncovered=uncovered)


_MAP_COLUMNS = ["segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "action"]


def map_to_frame(rules: Sequence[SegmentRule]) -> pd.DataFrame:
    """Rules -> one row per rule in order: segment, r_min, r_max, f_min, f_max, m_min, m_max, action."""
    rows = [[r.name, r.r[0], r.r[1], r.f[0], r.f[1], r.m[0], r.m[1], r.action] for r in rules]
    return pd.DataFrame(rows, columns=_MAP_COLUMNS)


def map_from_frame(frame: pd.DataFrame) -> list[SegmentRule]:
    """A frame shaped like :func:`map_to_frame` -> rules (rows with an empty name are skipped).

    Raises ValueError when a score is missing or not a whole number.
    """
    rules = []
    for row in frame.to_dict("records"):
        name = row.get("segment")
        if name is None or (isinstance(name, float) and math.isnan(name)) or not str(name).strip():
            continue
        try:
            bounds = [int(row[c]) for c in _MAP_COLUMNS[1:7]]
        except (TypeError, ValueError):
            raise ValueError(f"scores missing for segment {name!r}") from None
        if any(float(row[c]) != b for c, b in zip(_MAP_COLUMNS[1:7], bounds, strict=True)):
            raise ValueError(f"scores must be whole numbers for segment {name!r}")
        action = row.get("action")
        action = "" if action is None or (isinstance(action, float) and math.isnan(action)) else str(action)
        rules.append(
            SegmentRule(
                str(name).strip(), (bounds[0], bounds[1]), (bounds[2], bounds[3]), (bounds[4], bounds[5]), action
            )
        )
    return rules


def load_segment_map(con: duckdb.DuckDBPyConnection) -> list[SegmentRule]:
    """Store -> the saved segment map, or the default map when none is saved (or it is unreadable)."""
    text = store.get_setting(con, SEGMENT_MAP_SETTING)
    if not text:
        return list(DEFAULT_SEGMENT_MAP)
    try:
        data = json.loads(text)
        return [SegmentRule(d["name"], tuple(d["r"]), tuple(d["f"]), tuple(d["m"]), d.get("action", "")) for d in data]
    except (ValueError, KeyError, TypeError):
        return list(DEFAULT_SEGMENT_MAP)


def save_segment_map(con: duckdb.DuckDBPyConnection, rules: Sequence[SegmentRule] | None) -> MapCheck:
    """Validate and store the map (``None`` restores the default); returns the check, stores only valid maps.

    Unreachable rules and uncovered cells are reported but allowed (uncovered cells become "Other");
    invalid ranges, empty or duplicate names are not stored.
    """
    rules = list(DEFAULT_SEGMENT_MAP) if rules is None else list(rules)
    check = check_segment_map(rules)
    if check.errors or not rules:
        return check if rules else MapCheck(errors=["empty_map"])
    payload = json.dumps(
        [{"name": r.name, "r": list(r.r), "f": list(r.f), "m": list(r.m), "action": r.action} for r in rules]
    )
    store.set_setting(con, SEGMENT_MAP_SETTING, payload)
    store.run_write(con, lambda cur: store.audit(cur, "segment_map_saved", SEGMENT_MAP_SETTING, f"{len(rules)} rules"))
    return check


def _segment_case(rules: Sequence[SegmentRule]) -> tuple[str, dict]:
    """SQL CASE naming the segment from columns r, f, m; bounds are validated ints, names parameters."""
    parts = []
    params = {}
    for i, rule in enumerate(rules):
        bounds = [int(v) for v in (*rule.r, *rule.f, *rule.m)]
        parts.append(
            f"WHEN r BETWEEN {bounds[0]} AND {bounds[1]} AND f BETWEEN {bounds[2]} AND {bounds[3]} "
            f"AND m BETWEEN {bounds[4]} AND {bounds[5]} THEN $seg_{i}"
        )
        params[f"seg_{i}"] = rule.name
    params["seg_other"] = OTHER_SEGMENT
    return "CASE " + " ".join(parts) + " ELSE $seg_other END", params


# --- RFM -----------------------------------------------------------------------------------

RFM_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment"]


#: CTEs over ``lines(customer_id, order_key, ordered_at, amount)`` -> ``per_customer(customer_id,
#: recency_days, frequency, monetary)``. Uses ``$as_of`` (a DATE). Two GROUP BYs (order, then
#: customer) are cheaper than a distinct count. Amounts are summed as DECIMAL (4 decimal places) so
#: that the sum, and with it the M score and its tie-breaks, does not depend on the order in which
#: parallel threads add the lines.
_PER_CUSTOMER_CTES = """
    per_order AS (
        SELECT customer_id, order_key, sum(amount::DECIMAL(18, 4)) AS amount,
               max(CASE WHEN amount > 0 THEN ordered_at END) AS last_purchase
        FROM lines GROUP BY customer_id, order_key
    ),
    per_customer AS (
        SELECT customer_id,
               date_diff('day', max(last_purchase)::DATE, $as_of::DATE) AS recency_days,
               count(last_purchase) AS frequency,
               sum(amount)::DOUBLE AS monetary
        FROM per_order GROUP BY customer_id
    )
"""


def _per_customer_sql(lines_sql: str) -> str:
    """SQL over a relation ``lines(customer_id, order_key, ordered_at, amount)`` -> customer_id, recency_days, frequency, monetary (by customer_id)."""
    return f"""
    WITH lines AS ({lines_sql}), {_PER_CUSTOMER_CTES}
    SELECT customer_id, recency_days, frequency, monetary FROM per_customer ORDER BY customer_id
    """


def _rfm_sql(lines_sql: str, rules: Sequence[SegmentRule]) -> tuple[str, dict]:
    """SQL over a relation ``lines(customer_id, order_key, ordered_at, amount)`` -> RFM per customer.

    The reference definition of the scores in SQL window functions; :func:`_score_rfm` computes the
    same scores faster from the per-customer values (tests check that both agree).
    """
    case_sql, params = _segment_case(rules)
    sql = f"""
    WITH lines AS ({lines_sql}), {_PER_CUSTOMER_CTES},
    scored AS (
        SELECT *,
            ntile(5) OVER (ORDER BY recency_days DESC NULLS FIRST, frequency, monetary, customer_id) AS r,
            ntile(5) OVER (ORDER BY frequency, monetary, customer_id) AS f,
            ntile(5) OVER (ORDER BY monetary, frequency, customer_id) AS m
        FROM per_customer
    )
    SELECT customer_id, recency_days, frequency, monetary, r, f, m, {case_sql} AS segment
    FROM scored ORDER BY customer_id
    """
    return sql, params


def _ntile(order: np.ndarray, buckets: int = 5) -> np.ndarray:
    """Row positions in ranking order -> SQL ``ntile(buckets)`` of each row (1-based, in row order).

    As in SQL, the first ``n % buckets`` tiles hold one row more; with fewer rows than buckets the
    tiles are 1..n.
    """
    n = len(order)
    buckets = min(buckets, n)
    if n == 0:
        return np.zeros(0, dtype="int64")
    size, large = divmod(n, buckets)
    position = np.arange(n)
    big_rows = large * (size + 1)
    tiles = np.where(position < big_rows, position // (size + 1), large + (position - big_rows) // size) + 1
    out = np.empty(n, dtype="int64")
    out[order] = tiles
    return out


def _score_rfm(per_customer: pd.DataFrame, rules: Sequence[SegmentRule]) -> pd.DataFrame:
    """customer_id, recency_days, frequency, monetary (sorted by customer_id) -> adds r, f, m, segment.

    The same ranking as the window functions of :func:`_rfm_sql` (see the module docstring), done
    with NumPy sorts on numbers: the row position stands for the customer id.
    """
    frame = per_customer.reset_index(drop=True)
    position = np.arange(len(frame))
    recency = pd.to_numeric(frame["recency_days"]).to_numpy(dtype="float64", na_value=np.nan)
    frequency = frame["frequency"].to_numpy(dtype="float64")
    monetary = frame["monetary"].to_numpy(dtype="float64")
    # np.lexsort sorts by the last key first. Recency: older first, customers without a purchase first.
    older_first = np.where(np.isnan(recency), -np.inf, -recency)
    r = _ntile(np.lexsort((position, monetary, frequency, older_first)))
    f = _ntile(np.lexsort((position, monetary, frequency)))
    m = _ntile(np.lexsort((position, frequency, monetary)))
    conditions = [
        (r >= rule.r[0]) & (r <= rule.r[1]) & (f >= rule.f[0]) & (f <= rule.f[1]) & (m >= rule.m[0]) & (m <= rule.m[1])
        for rule in rules
    ]
    names = np.array([rule.name for rule in rules] + [OTHER_SEGMENT], dtype=object)
    # Index of the first matching rule; len(rules) (-> "Other") when none matches.
    first = np.argmax(np.vstack([*conditions, np.ones(len(frame), dtype=bool)]), axis=0)
    return frame.assign(r=r, f=f, m=m, segment=names[first])


def _typed_rfm(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reindex(columns=RFM_COLUMNS)
    frame["customer_id"] = frame["customer_id"].astype(object)
    frame["recency_days"] = frame["recency_days"].astype("Int64")
    frame["frequency"] = frame["frequency"].astype("int64")
    frame["monetary"] = frame["monetary"].astype("float64")
    for c in ("r", "f", "m"):
        frame[c] = frame[c].astype("int64")
    frame["segment"] = frame["segment"].astype(object)
    return frame.reset_index(drop=True)


def rfm(
    orders: pd.DataFrame,
    *,
    as_of,
    segment_map: Sequence[SegmentRule] | None = None,
    future: str = "raise",
) -> pd.DataFrame:
    """Order lines with customer_id, ordered_at, amount[, order_id] -> one row per customer with recency_days, frequency, monetary, r, f, m, segment.

    Parameters
    ----------
    orders : DataFrame
        One row per order line.
    as_of : date-like
        Reference day for recency (inclusive: a purchase on ``as_of`` has recency 0).
    segment_map : sequence of SegmentRule, default=None
        Ordered rules; ``DEFAULT_SEGMENT_MAP`` when None.
    future : {"raise", "drop"}, default="raise"
        What to do with lines dated after ``as_of``: raise ValueError, or leave them out.

    Returns
    -------
    DataFrame
        Sorted by customer_id. ``attrs`` holds ``dropped_lines`` (lines without customer, date or
        amount) and ``future_lines`` (lines after ``as_of`` left out).

    Raises
    ------
    ValueError
        When a required column is missing, or lines lie after ``as_of`` and ``future="raise"``.
    """
    missing = [c for c in ("customer_id", "ordered_at", "amount") if c not in orders.columns]
    if missing:
        raise ValueError(f"order lines lack the column(s): {', '.join(missing)}")
    if future not in ("raise", "drop"):
        raise ValueError("future must be 'raise' or 'drop'")
    as_of_date = _as_date(as_of)
    rules = list(DEFAULT_SEGMENT_MAP if segment_map is None else segment_map)
    lines = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(object),
            "ordered_at": pd.to_datetime(orders["ordered_at"], errors="coerce"),
            "amount": pd.to_numeric(orders["amount"], errors="coerce").astype("float64"),
        }
    )
    if "order_id" in orders.columns:
        lines["order_key"] = orders["order_id"].astype(str)
    else:
        lines["order_key"] = lines["ordered_at"].astype(str)
    valid = lines["customer_id"].notna() & lines["ordered_at"].notna() & lines["amount"].notna()
    dropped = int((~valid).sum())
    lines = lines[valid]
    after = lines["ordered_at"] >= pd.Timestamp(_next_day(as_of_date))
    future_lines = int(after.sum())
    if future_lines and future == "raise":
        raise ValueError(f"{future_lines} order line(s) are dated after the reference date {as_of_date.isoformat()}")
    lines = lines[~after]
    lines["customer_id"] = lines["customer_id"].astype(str)
    if lines.empty:
        result = _typed_rfm(pd.DataFrame(columns=RFM_COLUMNS))
    else:
        sql = _per_customer_sql("SELECT customer_id, order_key, ordered_at, amount FROM rfm_input")
        con = duckdb.connect()
        try:
            con.execute("SET enable_external_access = false")
            con.register("rfm_input", lines)
            result = _typed_rfm(_score_rfm(con.execute(sql, {"as_of": as_of_date}).df(), rules))
        finally:
            con.close()
    result.attrs["dropped_lines"] = dropped
    result.attrs["future_lines"] = future_lines
    return result


def _store_lines_sql(
    filters: Filters, as_of: dt.date, *, alias: str = "o", exclude_returns: bool = False
) -> tuple[str, dict]:
    """Order lines of the store in scope and period, up to ``as_of``, with a customer, date and amount.

    ``exclude_returns`` also leaves out lines with a non-positive quantity or unit price (returns,
    cancellations, write-offs) instead of netting them against the purchases.
    """
    scope_sql, scope_params = customer_scope(filters, alias=f"{alias}.customer_id")
    scope_sql, params = _named(scope_sql, scope_params, "scope")
    period_sql, period_params = period_condition(filters, f"{alias}.ordered_at")
    period_sql, named_period = _named(period_sql, period_params, "period")
    params.update(named_period)
    params["as_of_excl"] = _next_day(as_of)
    returns_sql = (
        f"AND coalesce({alias}.quantity, 1) > 0 AND coalesce({alias}.unit_price, 1) > 0" if exclude_returns else ""
    )
    sql = f"""
        SELECT {alias}.customer_id, {alias}.order_id AS order_key, {alias}.ordered_at, {alias}.amount
        FROM orders {alias}
        WHERE {scope_sql} AND {period_sql} AND {alias}.ordered_at < $as_of_excl
          AND {alias}.customer_id IS NOT NULL AND {alias}.amount IS NOT NULL AND {alias}.ordered_at IS NOT NULL
          {returns_sql}
    """
    return sql, params


def default_as_of(filters: Filters) -> dt.date:
    """The reference day for recency: the period end, or today when the period is open."""
    return filters.end or dt.date.today()


def order_checks(cur: duckdb.DuckDBPyConnection, filters: Filters, *, as_of: dt.date | None = None) -> dict[str, int]:
    """Filters -> counts of order lines in scope and period: lines, usable, missing_amount, missing_customer, after_as_of, customers."""
    as_of = as_of or default_as_of(filters)
    scope_sql, scope_params = customer_scope(filters, alias="customer_id")
    scope_sql, params = _named(scope_sql, scope_params, "scope")
    period_sql, period_params = period_condition(filters, "ordered_at")
    period_sql, named_period = _named(period_sql, period_params, "period")
    params.update(named_period)
    params["as_of_excl"] = _next_day(as_of)
    row = cur.execute(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE amount IS NOT NULL AND customer_id IS NOT NULL AND ordered_at < $as_of_excl),
               count(*) FILTER (WHERE amount IS NULL),
               count(*) FILTER (WHERE customer_id IS NULL),
               count(*) FILTER (WHERE ordered_at >= $as_of_excl),
               count(DISTINCT customer_id) FILTER (WHERE amount IS NOT NULL AND ordered_at < $as_of_excl)
        FROM orders WHERE (customer_id IS NULL OR {scope_sql}) AND {period_sql}
        """,
        params,
    ).fetchone()
    keys = ("lines", "usable", "missing_amount", "missing_customer", "after_as_of", "customers")
    return dict(zip(keys, (int(v or 0) for v in row), strict=True))


def rfm_scores(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    as_of: dt.date | None = None,
    segment_map: Sequence[SegmentRule] | None = None,
    exclude_returns: bool = False,
) -> pd.DataFrame:
    """Store orders in scope and period (up to ``as_of``) -> one row per customer as :func:`rfm` returns.

    ``exclude_returns`` leaves out lines with a non-positive quantity or unit price instead of
    netting them (the Online Retail convention: cancellations are not part of RFM).
    """
    as_of = as_of or default_as_of(filters)
    rules = list(DEFAULT_SEGMENT_MAP if segment_map is None else segment_map)
    lines_sql, params = _store_lines_sql(filters, as_of, exclude_returns=exclude_returns)
    per_customer = cur.execute(_per_customer_sql(lines_sql), {**params, "as_of": as_of}).df()
    return _typed_rfm(_score_rfm(per_customer, rules))


def segment_summary(scores: pd.DataFrame, *, segment_map: Sequence[SegmentRule] | None = None) -> pd.DataFrame:
    """RFM scores (segment, recency_days, frequency, monetary) -> one row per segment in map order.

    Columns: segment, customers, customer_share, revenue, revenue_share (of the positive revenue of
    all scored customers), avg_recency_days, avg_frequency, avg_monetary, action. Segments without
    customers appear with 0 customers; "Other" only when it has customers.
    """
    rules = list(DEFAULT_SEGMENT_MAP if segment_map is None else segment_map)
    order = [r.name for r in rules]
    actions = {r.name: r.action for r in rules}
    total_customers = len(scores)
    positive_total = float(scores["monetary"].clip(lower=0).sum()) if total_customers else 0.0
    grouped = scores.groupby("segment", sort=False)
    rows = []
    names = order + ([OTHER_SEGMENT] if (scores["segment"] == OTHER_SEGMENT).any() else [])
    for name in names:
        part = grouped.get_group(name) if name in grouped.groups else scores.iloc[0:0]
        n = len(part)
        revenue = float(part["monetary"].sum()) if n else 0.0
        positive = float(part["monetary"].clip(lower=0).sum()) if n else 0.0
        rows.append(
            {
                "segment": name,
                "customers": n,
                "customer_share": n / total_customers if total_customers else 0.0,
                "revenue": revenue,
                "revenue_share": positive / positive_total if positive_total > 0 else 0.0,
                "avg_recency_days": float(part["recency_days"].astype("Float64").mean()) if n else math.nan,
                "avg_frequency": float(part["frequency"].mean()) if n else math.nan,
                "avg_monetary": float(part["monetary"].mean()) if n else math.nan,
                "action": actions.get(name, ""),
            }
        )
    frame = pd.DataFrame(rows)
    frame["avg_recency_days"] = frame["avg_recency_days"].astype("float64")
    return frame


# --- ABC -----------------------------------------------------------------------------------


def _check_cutoffs(cutoffs: Sequence[float]) -> tuple[float, float]:
    if len(cutoffs) != 2:
        raise ValueError("cutoffs must be two shares, e.g. (0.8, 0.95)")
    a, b = float(cutoffs[0]), float(cutoffs[1])
    if not (0 < a < b <= 1):
        raise ValueError("cutoffs must satisfy 0 < A < A+B <= 1")
    return a, b


_EPS = 1e-9


def abc(values: pd.Series, *, cutoffs: Sequence[float] = (0.8, 0.95)) -> pd.Series:
    """Revenue per customer (Series) -> Series of "A" / "B" / "C" with the same index.

    Ranked by value (largest first; ties keep the input order). A is the smallest top group whose
    revenue reaches ``cutoffs[0]`` of the positive total, A and B together the smallest reaching
    ``cutoffs[1]``. Missing, zero and negative values are C.
    """
    a, b = _check_cutoffs(cutoffs)
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").fillna(0.0).to_numpy()
    positive = np.clip(numbers, 0.0, None)
    total = positive.sum()
    classes = np.full(len(numbers), "C", dtype=object)
    if total > 0:
        order = np.argsort(-numbers, kind="mergesort")
        before = np.cumsum(positive[order]) - positive[order]
        share_before = before / total
        ranked = np.where(share_before < a - _EPS, "A", np.where(share_before < b - _EPS, "B", "C"))
        ranked = np.where(positive[order] > 0, ranked, "C")
        classes[order] = ranked
    return pd.Series(classes, index=values.index, name="abc_class", dtype=object)


def _abc_sql(revenue_sql: str) -> str:
    """SQL over ``revenue(customer_id, revenue)`` -> customer_id, revenue, rank, cumulative_share, abc_class."""
    return f"""
    WITH revenue AS ({revenue_sql}),
    ranked AS (
        SELECT customer_id, revenue,
               row_number() OVER w AS rank,
               sum(greatest(revenue, 0)) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative,
               sum(greatest(revenue, 0)) OVER () AS total
        FROM revenue
        WINDOW w AS (ORDER BY revenue DESC, customer_id)
    )
    SELECT customer_id, revenue, rank,
           CASE WHEN total > 0 THEN cumulative / total ELSE 0 END AS cumulative_share,
           CASE WHEN revenue <= 0 OR total <= 0 THEN 'C'
                WHEN (cumulative - revenue) / total < $cut_a - {_EPS} THEN 'A'
                WHEN (cumulative - revenue) / total < $cut_b - {_EPS} THEN 'B'
                ELSE 'C' END AS abc_class
    FROM ranked ORDER BY rank
    """


def abc_scores(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    cutoffs: Sequence[float] = (0.8, 0.95),
    as_of: dt.date | None = None,
    exclude_returns: bool = False,
) -> pd.DataFrame:
    """Store orders in scope and period -> one row per customer: customer_id, revenue, rank, cumulative_share, abc_class."""
    a, b = _check_cutoffs(cutoffs)
    as_of = as_of or default_as_of(filters)
    lines_sql, params = _store_lines_sql(filters, as_of, exclude_returns=exclude_returns)
    revenue_sql = (
        f"SELECT customer_id, sum(amount::DECIMAL(18, 4))::DOUBLE AS revenue FROM ({lines_sql}) GROUP BY customer_id"
    )
    frame = cur.execute(_abc_sql(revenue_sql), {**params, "cut_a": a, "cut_b": b}).df()
    frame["rank"] = frame["rank"].astype("int64")
    return frame


def abc_table(revenue: pd.DataFrame, *, cutoffs: Sequence[float] = (0.8, 0.95)) -> pd.DataFrame:
    """customer_id, revenue (e.g. RFM scores' monetary) -> the columns of :func:`abc_scores`, without a second query.

    Ranked by revenue (largest first), ties by customer id, exactly as :func:`abc_scores`.
    """
    frame = revenue[["customer_id", "revenue"]]
    if not frame["customer_id"].is_monotonic_increasing:
        frame = frame.sort_values("customer_id", kind="mergesort")
    # A stable sort on revenue alone keeps equal revenues in customer-id order (and is much faster).
    values = frame["revenue"].to_numpy(dtype="float64")
    ordered = frame.iloc[np.argsort(-values, kind="stable")].reset_index(drop=True)
    positive = ordered["revenue"].clip(lower=0).to_numpy(dtype="float64")
    total = positive.sum()
    ordered["rank"] = np.arange(1, len(ordered) + 1, dtype="int64")
    ordered["cumulative_share"] = np.cumsum(positive) / total if total > 0 else 0.0
    ordered["abc_class"] = abc(ordered["revenue"], cutoffs=cutoffs).to_numpy()
    return ordered


def abc_summary(classes: pd.DataFrame) -> pd.DataFrame:
    """customer rows with abc_class, revenue -> one row per class A, B, C: customers, customer_share, revenue, revenue_share."""
    total_customers = len(classes)
    positive_total = float(classes["revenue"].clip(lower=0).sum()) if total_customers else 0.0
    rows = []
    for name in ("A", "B", "C"):
        part = classes[classes["abc_class"] == name]
        positive = float(part["revenue"].clip(lower=0).sum())
        rows.append(
            {
                "abc_class": name,
                "customers": len(part),
                "customer_share": len(part) / total_customers if total_customers else 0.0,
                "revenue": float(part["revenue"].sum()),
                "revenue_share": positive / positive_total if positive_total > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def pareto_curve(classes: pd.DataFrame, *, max_points: int = 500) -> pd.DataFrame:
    """customer rows with revenue, abc_class -> Lorenz-style curve: customer_share, revenue_share, abc_class.

    Customers sorted by revenue (largest first); starts at (0, 0); thinned to about ``max_points``
    points, always keeping each class's last customer so the class borders stay exact.
    """
    if classes.empty:
        return pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0], "abc_class": ["A"]})
    ordered = classes.sort_values(["revenue", "customer_id"], ascending=[False, True], kind="mergesort")
    positive = ordered["revenue"].clip(lower=0).to_numpy(dtype="float64")
    total = positive.sum()
    n = len(ordered)
    cumulative = np.cumsum(positive) / total if total > 0 else np.zeros(n)
    customer_share = np.arange(1, n + 1) / n
    labels = ordered["abc_class"].to_numpy()
    keep = np.zeros(n, dtype=bool)
    keep[np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))] = True
    keep[np.flatnonzero(labels[:-1] != labels[1:])] = True
    keep[-1] = True
    curve = pd.DataFrame(
        {"customer_share": customer_share[keep], "revenue_share": cumulative[keep], "abc_class": labels[keep]}
    )
    start = pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0], "abc_class": [labels[0]]})
    return pd.concat([start, curve], ignore_index=True)


# --- clustering ----------------------------------------------------------------------------

#: Clustering features: RFM, tenure, channel mix (share of digital touches), service contacts.
FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "digital_share",
    "service_contacts",
)
#: Features taken as log(1 + x) before standardising (skewed counts and money).
LOG_FEATURES = frozenset({"recency_days", "frequency", "monetary", "tenure_days", "service_contacts"})


def customer_features(
    cur: duckdb.DuckDBPyConnection, filters: Filters, *, as_of: dt.date | None = None, exclude_returns: bool = False
) -> pd.DataFrame:
    """Store -> one row per customer with orders in scope and period: customer_id and ``FEATURES``.

    tenure_days: days from sign-up (or the first order ever, when earlier or unknown) to ``as_of``;
    digital_share: share of the customer's interactions in the period on a digital channel (NULL
    without interactions); service_contacts: interactions in the service stage in the period.
    """
    as_of = as_of or default_as_of(filters)
    lines_sql, params = _store_lines_sql(filters, as_of, exclude_returns=exclude_returns)
    period_sql, period_params = period_condition(filters, "i.occurred_at")
    period_sql, named_period = _named(period_sql, period_params, "iperiod")
    # Recency, frequency and monetary value as RFM computes them (without the scores, which cost
    # three window sorts and are not features).
    sql = f"""
    WITH lines AS ({lines_sql}), {_PER_CUSTOMER_CTES},
    rfm AS (SELECT customer_id, recency_days, frequency, monetary FROM per_customer),
    firsts AS (
        SELECT customer_id, min(ordered_at)::DATE AS first_order FROM orders
        WHERE customer_id IN (SELECT customer_id FROM rfm) AND ordered_at < $as_of_excl GROUP BY customer_id
    ),
    touches AS (
        SELECT i.customer_id,
               count(*) FILTER (WHERE i.channel IS NOT NULL) AS with_channel,
               count(*) FILTER (WHERE i.channel IN (SELECT unnest($digital::VARCHAR[]))) AS digital,
               count(*) FILTER (WHERE i.stage = 'service') AS service_contacts
        FROM interactions i
        WHERE i.customer_id IN (SELECT customer_id FROM rfm) AND {period_sql} AND i.occurred_at < $as_of_excl
        GROUP BY i.customer_id
    )
    SELECT r.customer_id, r.recency_days, r.frequency, r.monetary,
           greatest(date_diff('day', least(coalesce(c.signup_date, fo.first_order), coalesce(fo.first_order, c.signup_date)),
                    $as_of::DATE), 0) AS tenure_days,
           t.digital::DOUBLE / nullif(t.with_channel, 0) AS digital_share,
           coalesce(t.service_contacts, 0) AS service_contacts
    FROM rfm r
    LEFT JOIN customers c ON c.customer_id = r.customer_id
    LEFT JOIN firsts fo ON fo.customer_id = r.customer_id
    LEFT JOIN touches t ON t.customer_id = r.customer_id
    ORDER BY r.customer_id
    """
    frame = cur.execute(
        sql,
        {**params, **named_period, "as_of": as_of, "digital": list(schema.DIGITAL_CHANNELS)},
    ).df()
    for column in FEATURES:
        frame[column] = frame[column].astype("float64")
    return frame


def prepare_features(features: pd.DataFrame, columns: Sequence[str] = FEATURES) -> np.ndarray:
    """Feature rows -> (n, len(columns)) array: gaps filled, log1p where skewed, standardised (mean 0, sd 1).

    Gaps: recency without a purchase -> the largest recency; digital_share -> the mean share; other
    counts -> 0. Negative money is clipped to 0 before the log. Constant columns become 0.
    """
    columns = list(columns)
    if not columns:
        raise ValueError("choose at least one feature")
    unknown = [c for c in columns if c not in features.columns]
    if unknown:
        raise ValueError(f"unknown feature(s): {', '.join(unknown)}")
    out = np.empty((len(features), len(columns)), dtype="float64")
    for j, column in enumerate(columns):
        values = features[column].astype("float64")
        if column == "recency_days":
            values = values.fillna(values.max() if values.notna().any() else 0.0)
        elif column == "digital_share":
            values = values.fillna(values.mean() if values.notna().any() else 0.0)
        else:
            values = values.fillna(0.0)
        array = values.to_numpy()
        if column in LOG_FEATURES:
            array = np.log1p(np.clip(array, 0.0, None))
        sd = array.std()
        out[:, j] = (array - array.mean()) / sd if sd > 0 else 0.0
    return out


def _one_thread():
    """Limit BLAS/OpenMP to one thread: on this 2-core host scikit-learn's k-means is ~100x slower with two."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _sample_rows(n: int, size: int | None, seed: int) -> np.ndarray:
    if size is None or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _model(method: str, k: int, seed: int, n: int):
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.mixture import GaussianMixture

    if method == "kmeans":
        if n > 200_000:
            return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096)
        return KMeans(n_clusters=k, random_state=seed, n_init=4)
    if method == "gmm":
        return GaussianMixture(n_components=k, random_state=seed, covariance_type="full", n_init=1)
    raise ValueError("method must be 'kmeans' or 'gmm'")


def _inertia(X: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for label in np.unique(labels):
        part = X[labels == label]
        total += float(((part - part.mean(axis=0)) ** 2).sum())
    return total


def cluster_diagnostics(
    X: np.ndarray,
    *,
    k_values: Iterable[int] = range(2, 11),
    method: str = "kmeans",
    seed: int = 0,
    sample_size: int | None = 5000,
    silhouette_size: int = 2000,
) -> pd.DataFrame:
    """Standardised features (n, p) -> one row per k: k, inertia, silhouette, davies_bouldin (on a sample).

    Models are fitted on ``sample_size`` random rows; the silhouette (quadratic in rows) is taken on
    ``silhouette_size`` of them. Inertia is the within-cluster sum of squares of the hard
    assignment (for both methods). k values the sample cannot support (k >= distinct rows) are left out.

    The silhouette rows are those ``silhouette_score(..., sample_size=silhouette_size,
    random_state=seed)`` draws; their distance matrix is computed once and shared by every k (the
    same numbers as scikit-learn computes for each k on its own).
    """
    from sklearn.metrics import davies_bouldin_score, pairwise_distances, silhouette_score
    from sklearn.utils import check_random_state

    rows = _sample_rows(len(X), sample_size, seed)
    sample = X[rows]
    distinct = len(np.unique(sample, axis=0)) if len(sample) else 0
    ks = [int(k) for k in k_values if 2 <= k < distinct]
    result = []
    if not ks:
        return pd.DataFrame(result, columns=["k", "inertia", "silhouette", "davies_bouldin"])
    picked = check_random_state(seed).permutation(len(sample))[: min(silhouette_size, len(sample))]
    with _one_thread():
        distances = pairwise_distances(sample[picked])
        for k in ks:
            labels = _model(method, k, seed, len(sample)).fit_predict(sample)
            if len(np.unique(labels)) < 2:
                continue
            result.append(
                {
                    "k": k,
                    "inertia": _inertia(sample, labels),
                    "silhouette": float(silhouette_score(distances, labels[picked], metric="precomputed")),
                    "davies_bouldin": float(davies_bouldin_score(sample, labels)),
                }
            )
    return pd.DataFrame(result, columns=["k", "inertia", "silhouette", "davies_bouldin"])


@dataclass(frozen=True)
class KSuggestion:
    """Suggested number of clusters and which criteria pick it ("silhouette", "davies_bouldin", "elbow")."""

    k: int
    criteria: tuple[str, ...]
    silhouette_k: int
    davies_bouldin_k: int
    elbow_k: int


def _elbow(k: np.ndarray, inertia: np.ndarray) -> int:
    """k of the point furthest below the chord from the first to the last point (Kneedle)."""
    if len(k) < 3:
        return int(k[0])
    x = (k - k[0]) / (k[-1] - k[0])
    span = inertia[0] - inertia[-1]
    y = (inertia - inertia[-1]) / span if span > 0 else np.zeros_like(inertia)
    # The chord runs from (0, 1) to (1, 0); distance below it is 1 - x - y.
    gap = 1 - x - y
    return int(k[int(np.argmax(gap))])


def suggest_k(diagnostics: pd.DataFrame) -> KSuggestion:
    """Diagnostics (k, inertia, silhouette, davies_bouldin) -> :class:`KSuggestion`.

    Each criterion votes: highest silhouette, lowest Davies–Bouldin, the elbow of inertia. A k with
    two or three votes wins (smallest such k); otherwise the silhouette's choice.
    """
    if diagnostics.empty:
        raise ValueError("no k could be evaluated (too few distinct customers)")
    d = diagnostics.sort_values("k")
    ks = d["k"].to_numpy()
    sil_k = int(ks[int(np.argmax(d["silhouette"].to_numpy()))])
    db_k = int(ks[int(np.argmin(d["davies_bouldin"].to_numpy()))])
    elbow_k = _elbow(ks.astype(float), d["inertia"].to_numpy(dtype=float))
    votes = {"silhouette": sil_k, "davies_bouldin": db_k, "elbow": elbow_k}
    counts = Counter(votes.values())
    agreed = sorted(k for k, c in counts.items() if c >= 2)
    k = agreed[0] if agreed else sil_k
    criteria = tuple(name for name, choice in votes.items() if choice == k)
    return KSuggestion(k=k, criteria=criteria, silhouette_k=sil_k, davies_bouldin_k=db_k, elbow_k=elbow_k)


def fit_clusters(
    X: np.ndarray,
    k: int,
    *,
    method: str = "kmeans",
    seed: int = 0,
    fit_sample: int | None = None,
) -> np.ndarray:
    """Standardised features (n, p) -> cluster label per row (0..k-1), numbered by size (0 largest).

    Large inputs (over 200,000 rows) use MiniBatchKMeans; ``fit_sample`` fits on a random sample and
    then assigns every row. Same input and seed -> same labels.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    rows = _sample_rows(len(X), fit_sample, seed)
    with _one_thread():
        model = _model(method, k, seed, len(rows))
        model.fit(X[rows])
        labels = model.predict(X)
    # Renumber by size (ties by the old label) so cluster 0 is always the largest.
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], c))
    mapping = np.empty(k, dtype=int)
    mapping[order] = np.arange(k)
    return mapping[labels]


def pca_projection(X: np.ndarray, labels: np.ndarray, *, seed: int = 0, max_points: int = 5000) -> pd.DataFrame:
    """Standardised features and labels -> pc1, pc2, cluster for up to ``max_points`` rows.

    ``attrs["explained_variance"]`` holds the two components' shares of the variance.
    """
    from sklearn.decomposition import PCA

    components = min(2, X.shape[1])
    pca = PCA(n_components=components, random_state=seed)
    rows = _sample_rows(len(X), max_points, seed)
    with _one_thread():
        pca.fit(X[_sample_rows(len(X), 100_000, seed)])
        points = pca.transform(X[rows])
    if components == 1:
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
    frame = pd.DataFrame({"pc1": points[:, 0], "pc2": points[:, 1], "cluster": labels[rows]})
    variance = list(pca.explained_variance_ratio_) + [0.0] * (2 - components)
    frame.attrs["explained_variance"] = [float(v) for v in variance]
    return frame


def cluster_profiles(features: pd.DataFrame, labels: np.ndarray, *, columns: Sequence[str] = FEATURES) -> pd.DataFrame:
    """Feature rows and labels -> one row per cluster: cluster, customers, share, revenue_share, mean of each feature."""
    frame = features.assign(cluster=labels)
    positive_total = float(frame["monetary"].clip(lower=0).sum())
    grouped = frame.groupby("cluster")
    profile = grouped[list(columns)].mean()
    profile.insert(0, "customers", grouped.size())
    profile.insert(1, "share", profile["customers"] / len(frame))
    revenue = grouped["monetary"].apply(lambda s: s.clip(lower=0).sum())
    profile.insert(2, "revenue_share", revenue / positive_total if positive_total > 0 else 0.0)
    return profile.reset_index()


def cluster_traits(
    profiles: pd.DataFrame, *, columns: Sequence[str] = FEATURES, top: int = 2
) -> dict[int, list[tuple[str, str]]]:
    """Cluster profiles -> per cluster the ``top`` features furthest from the customer-weighted mean, as (feature, "high"|"low").

    Distance in standard deviations of the cluster means (weighted by size); recency is flipped so
    that "high" always reads as the better value (recent buyers have *high* recency standing).
    """
    weights = profiles["customers"].to_numpy(dtype=float)
    traits: dict[int, list[tuple[str, str]]] = {}
    scores = {}
    for column in columns:
        values = profiles[column].to_numpy(dtype=float)
        mask = ~np.isnan(values)
        if not mask.any():
            continue
        mean = np.average(values[mask], weights=weights[mask])
        sd = math.sqrt(np.average((values[mask] - mean) ** 2, weights=weights[mask]))
        z = (values - mean) / sd if sd > 0 else np.zeros_like(values)
        scores[column] = -z if column == "recency_days" else z
    for i, cluster in enumerate(profiles["cluster"]):
        ranked = sorted(scores, key=lambda c: (-abs(np.nan_to_num(scores[c][i])), c))
        traits[int(cluster)] = [(c, "high" if scores[c][i] >= 0 else "low") for c in ranked[:top]]
    return traits


# --- personas ------------------------------------------------------------------------------

#: First names for personas (a typical customer gets a name, as in persona work).
PERSONA_NAMES = (
    "Klaus", "Anna", "Jonas", "Sophie", "Mehmet", "Lena", "Tobias", "Clara", "Felix", "Marie",
    "Paul", "Hannah", "Lukas", "Emma", "Ben", "Mia", "Noah", "Lea", "Elias", "Greta",
)  # fmt: skip


def persona_name(group: str, *, taken: Iterable[str] = ()) -> str:
    """Group label -> a stable first name for its persona (``taken`` names are skipped while others remain)."""
    taken = set(taken)
    start = zlib.crc32(str(group).encode("utf-8")) % len(PERSONA_NAMES)
    for step in range(len(PERSONA_NAMES)):
        name = PERSONA_NAMES[(start + step) % len(PERSONA_NAMES)]
        if name not in taken:
            return name
    return PERSONA_NAMES[start]


def personas(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    groups: pd.DataFrame,
    *,
    as_of: dt.date | None = None,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """groups (customer_id, group) -> one persona row per group.

    Columns: group, persona, customers, share, customer_type, country, customer_segment (most
    common values), b2b_share, median_age (B2C with birth year), median_employees (B2B),
    median_tenure_days, channels (the two most used interaction channels), stage (the journey
    stage most often reached furthest in the period), median_monetary, median_orders,
    median_order_value, digital_share, service_contacts (per customer). Rows follow ``order`` when
    given.

    Spend, orders and order value are all medians over the group's customers with orders in the
    period (the typical customer, not pulled up by a few big spenders): median_monetary of each
    customer's spend, median_orders of their order counts, median_order_value of their own spend
    per order. Medians of different quantities need not multiply to each other (median orders
    times median order value is not the median spend).
    """
    as_of = as_of or default_as_of(filters)
    period_sql, period_params = period_condition(filters, "i.occurred_at")
    period_sql, params = _named(period_sql, period_params, "period")
    frame = groups[["customer_id", "group"]].astype({"customer_id": str, "group": str})
    columns = [
        "group", "persona", "customers", "share", "customer_type", "country", "customer_segment", "b2b_share",
        "median_age", "median_employees", "median_tenure_days", "channels", "stage", "median_monetary",
        "median_orders", "median_order_value", "digital_share", "service_contacts",
    ]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=columns)
    stage_case = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(schema.STAGES))
    name = f"persona_groups_{id(frame)}"
    cur.register(name, frame)
    try:
        base = cur.execute(
            f"""
            WITH g AS (SELECT customer_id, "group" FROM {name}),
            touches AS (
                SELECT i.customer_id, i.channel, i.stage FROM interactions i
                WHERE i.customer_id IN (SELECT customer_id FROM g) AND {period_sql} AND i.occurred_at < $as_of_excl
            ),
            furthest AS (
                SELECT customer_id, arg_max(stage, CASE stage {stage_case} ELSE -1 END) AS stage
                FROM touches WHERE stage IS NOT NULL GROUP BY customer_id
            ),
            per_customer AS (
                SELECT g.customer_id, g."group", c.customer_type, c.country, c.segment AS customer_segment,
                       CASE WHEN c.birth_year IS NOT NULL THEN year($as_of::DATE) - c.birth_year END AS age,
                       c.employees, f.stage
                FROM g LEFT JOIN customers c ON c.customer_id = g.customer_id
                LEFT JOIN furthest f ON f.customer_id = g.customer_id
            )
            SELECT "group", count(*) AS customers,
                   mode(customer_type) AS customer_type, mode(country) AS country,
                   mode(customer_segment) AS customer_segment,
                   avg(CASE WHEN customer_type = 'B2B' THEN 1.0 WHEN customer_type IS NULL THEN NULL ELSE 0.0 END)
                       AS b2b_share,
                   median(age) AS median_age, median(employees) AS median_employees, mode(stage) AS stage
            FROM per_customer GROUP BY "group"
            """,
            {**params, "as_of": as_of, "as_of_excl": _next_day(as_of)},
        ).df()
        channels = cur.execute(
            f"""
            SELECT g."group", i.channel, count(*) AS touches
            FROM {name} g JOIN interactions i ON i.customer_id = g.customer_id
            WHERE i.channel IS NOT NULL AND {period_sql} AND i.occurred_at < $as_of_excl
            GROUP BY ALL ORDER BY g."group", touches DESC, i.channel
            """,
            {**params, "as_of_excl": _next_day(as_of)},
        ).df()
    finally:
        cur.unregister(name)
    features = customer_features(cur, filters, as_of=as_of).merge(frame, on="customer_id", how="inner")
    frequency = features["frequency"].astype("float64")
    features["order_value"] = features["monetary"].astype("float64") / frequency.where(frequency > 0)
    spend = features.groupby("group").agg(
        median_monetary=("monetary", "median"),
        median_orders=("frequency", "median"),
        median_order_value=("order_value", "median"),
        median_tenure_days=("tenure_days", "median"),
        digital_share=("digital_share", "mean"),
        service_contacts=("service_contacts", "mean"),
    )
    top_channels = channels.groupby("group")["channel"].apply(lambda s: list(s.head(2)))
    result = base.merge(spend, left_on="group", right_index=True, how="left")
    result["channels"] = result["group"].map(top_channels).apply(lambda v: v if isinstance(v, list) else [])
    result["share"] = result["customers"] / result["customers"].sum()
    if order is not None:
        rank = {g: i for i, g in enumerate(order)}
        result = result.assign(_o=result["group"].map(rank).fillna(len(rank))).sort_values(["_o", "group"])
    else:
        result = result.sort_values("customers", ascending=False, kind="mergesort")
    taken: list[str] = []
    names = []
    for group in result["group"]:
        names.append(persona_name(group, taken=taken))
        taken.append(names[-1])
    result["persona"] = names
    return result.reindex(columns=columns).reset_index(drop=True)


# --- lifecycle -----------------------------------------------------------------------------

LIFECYCLE_STAGES: tuple[str, ...] = ("new", "active", "loyal", "at risk", "lost")


@dataclass(frozen=True)
class LifecycleRules:
    """Rules for a customer's stage at the end of each month (only customers with a purchase by then).

    - new: the month is one of the first ``new_months`` months since the first purchase month;
    - loyal: last purchase at most ``active_days`` ago and at least ``loyal_orders`` orders in the
      last ``loyal_months`` months (this month included);
    - active: last purchase at most ``active_days`` ago (and not loyal);
    - at risk: last purchase more than ``active_days`` and at most ``lost_days`` ago;
    - lost: last purchase more than ``lost_days`` ago.
    """

    new_months: int = 1
    active_days: int = 90
    lost_days: int = 180
    loyal_orders: int = 3
    loyal_months: int = 12

    def problems(self) -> list[str]:
        """Names of rules that are out of range (empty when the rules are usable)."""
        out = []
        if not 1 <= self.new_months <= 24:
            out.append("new_months")
        if not 1 <= self.active_days <= 3650:
            out.append("active_days")
        if not self.active_days < self.lost_days <= 3650:
            out.append("lost_days")
        if not 1 <= self.loyal_orders <= 1000:
            out.append("loyal_orders")
        if not 1 <= self.loyal_months <= 120:
            out.append("loyal_months")
        return out


def load_lifecycle_rules(con: duckdb.DuckDBPyConnection) -> LifecycleRules:
    """Store -> saved lifecycle rules, or the defaults."""
    text = store.get_setting(con, LIFECYCLE_SETTING)
    if not text:
        return LifecycleRules()
    try:
        rules = LifecycleRules(
            **{k: int(v) for k, v in json.loads(text).items() if k in LifecycleRules.__dataclass_fields__}
        )
    except (ValueError, TypeError):
        return LifecycleRules()
    return LifecycleRules() if rules.problems() else rules


def save_lifecycle_rules(con: duckdb.DuckDBPyConnection, rules: LifecycleRules) -> list[str]:
    """Store the rules when valid; returns the problems (empty list when saved)."""
    problems = rules.problems()
    if not problems:
        store.set_setting(con, LIFECYCLE_SETTING, json.dumps(asdict(rules)))
        store.run_write(
            con, lambda cur: store.audit(cur, "lifecycle_rules_saved", LIFECYCLE_SETTING, json.dumps(asdict(rules)))
        )
    return problems


def _add_months(month: dt.date, months: int) -> dt.date:
    """First day of a month -> the first day ``months`` months later (earlier when negative)."""
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _lifecycle_grid_sql(filters: Filters, rules: LifecycleRules, as_of: dt.date) -> tuple[str, dict]:
    """SQL -> customer_id, month (first day), stage for every month of the period (up to ``as_of``).

    The reference definition of the stages: a dense grid of every customer and month with window
    functions. It grows with customers × months (about 5 M rows for 1 M customers over a year),
    so the app uses :func:`lifecycle_spans`, which gives the same stages from one row per customer
    and purchase month (tests check that both agree).
    """
    problems = rules.problems()
    if problems:
        raise ValueError(f"invalid lifecycle rules: {', '.join(problems)}")
    scope_sql, scope_params = customer_scope(filters, alias="customer_id")
    scope_sql, params = _named(scope_sql, scope_params, "scope")
    first_month = (filters.start or as_of).replace(day=1)
    last_month = as_of.replace(day=1)
    params.update(
        {
            "first_month": first_month,
            "last_month": last_month,
            "as_of": as_of,
            "as_of_excl": _next_day(as_of),
            "active_days": rules.active_days,
            "lost_days": rules.lost_days,
            "loyal_orders": rules.loyal_orders,
            "new_months": rules.new_months,
        }
    )
    window = int(rules.loyal_months) - 1
    # The month grid starts where the earliest loyalty window of the period starts; the last purchase
    # before the grid is carried in from `before`. (A grid from each customer's first month gives the
    # same stages but grows with the whole order history.)
    params["grid_start"] = _add_months(first_month, -window)
    sql = f"""
    WITH per_month AS (
        SELECT customer_id, date_trunc('month', ordered_at)::DATE AS month,
               count(DISTINCT order_id) AS orders, max(ordered_at)::DATE AS last_day
        FROM orders
        WHERE amount > 0 AND customer_id IS NOT NULL AND ordered_at < $as_of_excl AND {scope_sql}
        GROUP BY ALL
    ),
    firsts AS (SELECT customer_id, min(month) AS first_month FROM per_month GROUP BY customer_id),
    months AS (
        SELECT unnest(generate_series(greatest((SELECT min(first_month) FROM firsts), $grid_start::DATE),
                                      $last_month::DATE, INTERVAL 1 MONTH))::DATE AS month
    ),
    before AS (
        SELECT customer_id, max(last_day) AS last_day FROM per_month WHERE month < $grid_start::DATE GROUP BY customer_id
    ),
    grid AS (
        SELECT f.customer_id, m.month, f.first_month, coalesce(p.orders, 0) AS orders, p.last_day,
               b.last_day AS last_before
        FROM firsts f JOIN months m ON m.month >= f.first_month
        LEFT JOIN per_month p ON p.customer_id = f.customer_id AND p.month = m.month
        LEFT JOIN before b ON b.customer_id = f.customer_id
    ),
    rolled AS (
        SELECT customer_id, month, first_month,
               coalesce(max(last_day) OVER (PARTITION BY customer_id ORDER BY month ROWS UNBOUNDED PRECEDING),
                        last_before) AS last_order,
               sum(orders) OVER (PARTITION BY customer_id ORDER BY month ROWS BETWEEN {window} PRECEDING AND CURRENT ROW)
                   AS window_orders,
               least((month + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE, $as_of::DATE) AS month_end
        FROM grid
    )
    SELECT customer_id, month,
           CASE WHEN date_diff('month', first_month, month) < $new_months THEN 'new'
                WHEN date_diff('day', last_order, month_end) <= $active_days
                    THEN CASE WHEN window_orders >= $loyal_orders THEN 'loyal' ELSE 'active' END
                WHEN date_diff('day', last_order, month_end) <= $lost_days THEN 'at risk'
                ELSE 'lost' END AS stage
    FROM rolled WHERE month >= $first_month
    """
    return sql, params


def _month_index(first_month: dt.date, month: dt.date) -> int:
    """Whole months from ``first_month`` to the month of ``month`` (0 for the same month)."""
    return (month.year - first_month.year) * 12 + month.month - first_month.month


#: Stand-in for "never loyal" in the spans (any month index of interest is larger).
_NEVER = -(10**6)

#: SQL stage of a span row at month index ``k`` (columns as :func:`_lifecycle_spans_sql` returns).
_STAGE_AT_K = """CASE WHEN k <= new_until THEN 'new'
     WHEN k <= active_until THEN CASE WHEN k <= loyal_until THEN 'loyal' ELSE 'active' END
     WHEN k <= risk_until THEN 'at risk' ELSE 'lost' END"""


def _lifecycle_spans_sql(
    filters: Filters, rules: LifecycleRules, as_of: dt.date, first_month: dt.date
) -> tuple[str, dict]:
    """SQL -> one row per customer and purchase month whose stages reach into the months from ``first_month``.

    Months are counted as indexes from ``first_month`` (0) to the month of ``as_of`` (``months - 1``).
    A row holds from its purchase month ``start`` up to the month before the customer's next
    purchase month ``end`` (exclusive; ``months`` for the last purchase). Within it the stage at
    month k is: new while ``k <= new_until``; then, while ``k <= active_until`` (last purchase at
    most ``active_days`` before the month end), loyal while ``k <= loyal_until`` and active after;
    at risk while ``k <= risk_until``; lost afterwards. Why the limits are right:

    - the month end is the last day of the month, or ``as_of`` in the last month, so the days since
      the last purchase grow with k: "at most N days" holds up to one month. For months before the
      last, ``eom(k) <= last_day + N`` holds exactly while k is before the month of
      ``last_day + N + 1``; the last month holds when ``as_of - last_day <= N``.
    - orders in the loyalty window (this month and the ``loyal_months - 1`` before) only fall while
      no new purchase comes: the customer is loyal while the month of their ``loyal_orders``-th most
      recent order (counting back from this row) is inside the window, i.e. up to that month plus
      ``loyal_months - 1``. The ``lag`` over the customer's orders in month order finds it (lines
      without an order id make a purchase month but add no order, as in ``count(DISTINCT order_id)``).

    ``customer_key`` is a number unique to the customer (the row id of one of their order lines).
    """
    problems = rules.problems()
    if problems:
        raise ValueError(f"invalid lifecycle rules: {', '.join(problems)}")
    scope_sql, scope_params = customer_scope(filters, alias="customer_id")
    scope_sql, params = _named(scope_sql, scope_params, "scope")
    months = _month_index(first_month, as_of) + 1
    params.update(
        {
            "first_month": first_month.replace(day=1),
            "months": months,
            "as_of": as_of,
            "as_of_excl": _next_day(as_of),
            "active_days": rules.active_days,
            "lost_days": rules.lost_days,
            "new_months": rules.new_months,
            "loyal_window": int(rules.loyal_months) - 1,
            "never": _NEVER,
        }
    )
    # One order counts once per month it has purchase lines in (as count(DISTINCT order_id) per month).
    lag = int(rules.loyal_orders) - 1

    def until(days: str) -> str:
        # Otherwise last_day + N + 1 <= as_of: that day's month is at most the last month, so the
        # result is at most months - 2 and the last month (ending on as_of) is rightly left out.
        return f"""CASE WHEN date_diff('day', last_day, $as_of::DATE) <= ${days} THEN $months - 1
                ELSE date_diff('month', $first_month::DATE,
                               date_trunc('month', last_day + (${days} + 1)::INTEGER)::DATE) - 1 END"""

    sql = f"""
    WITH per_order AS (
        SELECT customer_id, order_id, date_trunc('month', ordered_at)::DATE AS month,
               max(ordered_at)::DATE AS last_day, min(rowid) AS line
        FROM orders
        WHERE amount > 0 AND customer_id IS NOT NULL AND ordered_at < $as_of_excl AND {scope_sql}
        GROUP BY ALL
    ),
    lagged AS (
        SELECT *, lag(month, {lag}) OVER (PARTITION BY customer_id, order_id IS NULL ORDER BY month) AS loyal_from
        FROM per_order
    ),
    per_month AS (
        SELECT customer_id, month, max(last_day) AS last_day, min(line) AS line,
               max(loyal_from) FILTER (WHERE order_id IS NOT NULL) AS loyal_from
        FROM lagged GROUP BY customer_id, month
    ),
    runs AS (
        SELECT customer_id, first_value(line) OVER w AS customer_key,
               date_diff('month', $first_month::DATE, month) AS start,
               coalesce(date_diff('month', $first_month::DATE, lead(month) OVER w), $months) AS "end",
               date_diff('month', $first_month::DATE, first_value(month) OVER w) + $new_months - 1 AS new_until,
               last_day,
               max(loyal_from) OVER (w ROWS UNBOUNDED PRECEDING) AS loyal_from
        FROM per_month
        WINDOW w AS (PARTITION BY customer_id ORDER BY month)
    )
    SELECT customer_id, customer_key, start, "end", new_until,
           {until("active_days")} AS active_until,
           {until("lost_days")} AS risk_until,
           coalesce(date_diff('month', $first_month::DATE, loyal_from) + $loyal_window, $never) AS loyal_until
    FROM runs WHERE "end" > 0
    """
    return sql, params


@dataclass(frozen=True)
class LifecycleSpans:
    """Lifecycle stages in compact form: one entry per customer and purchase month (see :func:`lifecycle_spans`).

    Month indexes count from ``first_month`` (0) to ``months - 1`` (the month of the reference date).
    Entries are sorted by customer_key, then start.
    """

    first_month: dt.date
    months: int
    customer_key: np.ndarray
    start: np.ndarray
    end: np.ndarray
    new_until: np.ndarray
    active_until: np.ndarray
    loyal_until: np.ndarray
    risk_until: np.ndarray

    def month(self, k: int) -> dt.date:
        return _add_months(self.first_month, k)


_SPAN_COLUMNS = ("customer_key", "start", "end", "new_until", "active_until", "loyal_until", "risk_until")


def lifecycle_spans(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    rules: LifecycleRules = LifecycleRules(),
    as_of: dt.date | None = None,
    first_month: dt.date | None = None,
) -> LifecycleSpans:
    """Store orders -> :class:`LifecycleSpans` for the months from ``first_month`` (default: the period's first) to ``as_of``.

    The stage rules of :class:`LifecycleRules` as limits per customer and purchase month, so that
    the counts per month and the flows between two months are array operations instead of a
    customers × months grid.
    """
    as_of = as_of or default_as_of(filters)
    first = (first_month or filters.start or as_of).replace(day=1)
    sql, params = _lifecycle_spans_sql(filters, rules, as_of, first)  # checks the rules
    months = _month_index(first, as_of) + 1
    if months <= 0:  # the period starts after the reference date
        empty = np.zeros(0, dtype="int64")
        return LifecycleSpans(first, 0, *([empty] * len(_SPAN_COLUMNS)))
    columns = ", ".join(f'"{c}"' for c in _SPAN_COLUMNS)
    data = cur.execute(f"SELECT {columns} FROM ({sql}) ORDER BY customer_key, start", params).fetchnumpy()
    # Month indexes fit in 32 bits (half the memory to cache and copy); the key stays 64-bit.
    arrays = [np.asarray(data[c], dtype="int64" if c == "customer_key" else "int32") for c in _SPAN_COLUMNS]
    return LifecycleSpans(first, months, *arrays)


def _stage_codes(spans: LifecycleSpans, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Spans and a month index -> (customer keys, stage codes as positions in ``LIFECYCLE_STAGES``) at that month."""
    rows = (spans.start <= k) & (k < spans.end)
    codes = np.where(
        k <= spans.new_until[rows],
        0,
        np.where(
            k <= spans.active_until[rows],
            np.where(k <= spans.loyal_until[rows], 2, 1),
            np.where(k <= spans.risk_until[rows], 3, 4),
        ),
    )
    return spans.customer_key[rows], codes


def lifecycle_counts_from_spans(spans: LifecycleSpans) -> pd.DataFrame:
    """:class:`LifecycleSpans` -> one row per month and stage (all five stages, zeros included): month, stage, customers.

    Months before the first customer's first purchase are left out, as no customer has a stage there.
    Each span row adds one customer to a stage for a run of months; the runs are summed with a
    difference array (+1 where a run starts, -1 after it ends).
    """
    months = spans.months
    if months <= 0 or len(spans.start) == 0:
        return pd.DataFrame(columns=["month", "stage", "customers"])
    low = np.maximum(spans.start, 0)
    high = np.minimum(spans.end, months) - 1
    after_new = np.maximum(low, spans.new_until + 1)
    runs = {  # stage -> (first month, last month) of its run in each span row
        "new": (low, np.minimum(high, spans.new_until)),
        "loyal": (after_new, np.minimum(high, np.minimum(spans.active_until, spans.loyal_until))),
        "active": (np.maximum(after_new, spans.loyal_until + 1), np.minimum(high, spans.active_until)),
        "at risk": (np.maximum(after_new, spans.active_until + 1), np.minimum(high, spans.risk_until)),
        "lost": (np.maximum(after_new, spans.risk_until + 1), high),
    }
    table = np.zeros((months, len(LIFECYCLE_STAGES)), dtype="int64")
    for j, stage in enumerate(LIFECYCLE_STAGES):
        first, last = runs[stage]
        used = first <= last
        change = np.bincount(first[used], minlength=months + 1) - np.bincount(last[used] + 1, minlength=months + 1)
        table[:, j] = np.cumsum(change)[:months]
    present = np.flatnonzero(table.sum(axis=1) > 0)
    if len(present) == 0:
        return pd.DataFrame(columns=["month", "stage", "customers"])
    table = table[present[0] :]
    dates = [spans.month(k) for k in range(int(present[0]), months)]
    return pd.DataFrame(
        {
            "month": np.repeat(np.array(dates, dtype="datetime64[us]"), len(LIFECYCLE_STAGES)),
            "stage": list(LIFECYCLE_STAGES) * len(dates),
            "customers": table.reshape(-1),
        }
    )


def lifecycle_stages(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    rules: LifecycleRules = LifecycleRules(),
    as_of: dt.date | None = None,
    month: dt.date | None = None,
) -> pd.DataFrame:
    """Store orders -> one row per customer and month of the period (or of ``month`` only): customer_id, month, stage."""
    as_of = as_of or default_as_of(filters)
    first = (filters.start or as_of).replace(day=1)
    months = _month_index(first, as_of) + 1
    if month is not None:
        only = _month_index(first, month)
        low, high = (only, only + 1) if 0 <= only < months else (0, 0)
    else:
        low, high = 0, max(months, 0)
    sql, params = _lifecycle_spans_sql(filters, rules, as_of, first)
    params.update({"low": low, "high": high})
    return cur.execute(
        f"""
        SELECT customer_id, ($first_month::DATE + to_months(k::INTEGER))::DATE AS month, {_STAGE_AT_K} AS stage
        FROM ({sql}) s, unnest(range(greatest(s.start, $low), least(s."end", $high))) AS t(k)
        ORDER BY customer_id, month
        """,
        params,
    ).df()


def lifecycle_counts(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    rules: LifecycleRules = LifecycleRules(),
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """Store orders -> one row per month and stage (all five stages, zeros included): month, stage, customers."""
    return lifecycle_counts_from_spans(lifecycle_spans(cur, filters, rules=rules, as_of=as_of))


#: Source label of customers who had not bought yet in the earlier month.
NOT_YET = "not yet a customer"


def lifecycle_flows_from_spans(spans: LifecycleSpans, *, from_month: dt.date, to_month: dt.date) -> pd.DataFrame:
    """:class:`LifecycleSpans` and two months -> customers moving between stages: from_stage, to_stage, customers.

    Every customer with a stage in ``to_month`` counts once; their stage in ``from_month`` is
    ``NOT_YET`` when they had not bought by then. Sorted by from_stage, to_stage.
    """
    k_from, k_to = _month_index(spans.first_month, from_month), _month_index(spans.first_month, to_month)
    if min(k_from, k_to) < 0:
        raise ValueError("both months must be on or after the first month of the spans")
    columns = ["from_stage", "to_stage", "customers"]
    if k_to >= spans.months:
        return pd.DataFrame(columns=columns)
    keys_to, stage_to = _stage_codes(spans, k_to)
    stage_from = np.full(len(keys_to), len(LIFECYCLE_STAGES))  # NOT_YET unless found below
    if k_from < spans.months:
        keys_from, codes_from = _stage_codes(spans, k_from)
        if not np.all(keys_from[1:] > keys_from[:-1]):  # spans from lifecycle_spans are sorted already
            order = np.argsort(keys_from, kind="stable")
            keys_from, codes_from = keys_from[order], codes_from[order]
        at = np.searchsorted(keys_from, keys_to)
        found = at < len(keys_from)
        found[found] = keys_from[at[found]] == keys_to[found]
        stage_from[found] = codes_from[at[found]]
    names = [*LIFECYCLE_STAGES, NOT_YET]
    pairs = np.bincount(stage_from * len(names) + stage_to, minlength=len(names) ** 2)
    rows = [(names[i // len(names)], names[i % len(names)], int(n)) for i, n in enumerate(pairs) if n > 0]
    frame = pd.DataFrame(sorted(rows), columns=columns)
    frame["customers"] = frame["customers"].astype("int64")
    return frame


def lifecycle_flows(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    from_month: dt.date,
    to_month: dt.date,
    rules: LifecycleRules = LifecycleRules(),
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """Store orders -> customers moving between stages from one month to another: from_stage, to_stage, customers."""
    as_of = as_of or default_as_of(filters)
    spans = lifecycle_spans(cur, filters, rules=rules, as_of=as_of, first_month=min(from_month, to_month))
    return lifecycle_flows_from_spans(spans, from_month=from_month, to_month=to_month)


# --- saved segments ------------------------------------------------------------------------

MAX_NAME_LENGTH = 80


def save_segment(
    con: duckdb.DuckDBPyConnection,
    name: str,
    customer_ids: Iterable[str],
    *,
    description: str = "",
    replace: bool = False,
) -> int:
    """Store a named list of customer ids (the global "Saved segment" filter); returns the number of customers.

    Raises ValueError on an empty or too long name, an empty list, or an existing name without ``replace``.
    """
    name = (name or "").strip()
    if not name:
        raise ValueError("empty_name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError("name_too_long")
    ids = sorted({str(c) for c in customer_ids if c is not None and not (isinstance(c, float) and math.isnan(c))})
    if not ids:
        raise ValueError("no_customers")

    def work(cur):
        exists = cur.execute("SELECT count(*) FROM saved_segments WHERE name = ?", [name]).fetchone()[0]
        if exists and not replace:
            raise ValueError("name_taken")
        cur.execute("DELETE FROM saved_segments WHERE name = ?", [name])
        cur.execute("INSERT INTO saved_segments VALUES (?, ?, ?, now())", [name, description or "", ids])
        store.audit(cur, "segment_saved", name, f"{len(ids)} customers")
        return len(ids)

    return store.run_write(con, work)


def saved_segments(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Store -> one row per saved segment: name, description, customers, created_at (newest first)."""
    return cur.execute(
        """
        SELECT name, description, len(customer_ids) AS customers, created_at
        FROM saved_segments ORDER BY created_at DESC, name
        """
    ).df()


def saved_segment_members(cur: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """Saved segment name -> its customers: customer_id, customer_type, country, segment (no personal data)."""
    return cur.execute(
        """
        WITH ids AS (SELECT unnest(customer_ids) AS customer_id FROM saved_segments WHERE name = ?)
        SELECT ids.customer_id, c.customer_type, c.country, c.segment
        FROM ids LEFT JOIN customers c USING (customer_id) ORDER BY ids.customer_id
        """,
        [name],
    ).df()


def delete_saved_segment(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Remove a saved segment; returns whether it existed."""

    def work(cur):
        existed = cur.execute("SELECT count(*) FROM saved_segments WHERE name = ?", [name]).fetchone()[0] > 0
        cur.execute("DELETE FROM saved_segments WHERE name = ?", [name])
        if existed:
            store.audit(cur, "segment_deleted", name, "")
        return existed

    return store.run_write(con, work)
