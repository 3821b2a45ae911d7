"""Churn: label, point-in-time features, training, evaluation, costs, scoring and the model store.

Definitions (the Churn page shows them):

- activity: any order line or interaction of a customer;
- label at a cutoff ``c`` with horizon ``N`` days: a customer *active at the cutoff* (activity in
  the ``lookback_days`` before ``c``, default ``N``) has churned when they have no activity in
  ``[c, c + N)``. ``N`` is suggested from the distribution of gaps between purchase days;
- features at a cutoff use only rows strictly before ``c`` (one SQL statement, :func:`features`);
- churn rate of a period: customers lost in the period divided by customers active at its start
  (the glossary of PRODUCT.md and the Overview tile): active at the start = last activity within
  ``N`` days before it; lost = at the period end the last activity is more than ``N`` days ago.

Models are scikit-learn ``Pipeline`` objects (``ColumnTransformer`` + estimator) inside a
``CalibratedClassifierCV``; they are stored with ``skops.io`` and loaded only when every type in
the file is on :data:`TRUSTED_TYPES`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import sklearn
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from analytics import schema, store
from analytics.filters import Filters, customer_scope

MODELS = ("logistic", "gradient_boosting")
CATEGORICAL = ["segment", "customer_type", "country", "acquisition_channel", "industry"]
MISSING = "(missing)"
#: From this many training rows, calibration uses one held-out split instead of 3-fold cross-fitting.
CALIBRATION_SPLIT_FROM = 20_000
#: Native threads (OpenMP, BLAS) per training or scoring call. One thread leaves the other core to
#: other users' pages, and on a busy 2-core machine it measured 10x faster than two threads
#: spinning against each other (benchmarks/bench_churn.py).
THREADS = 1
#: Rows per scoring block. The encoded block (rows x ~45 float columns, ~7 MB) stays in the CPU
#: cache while every boosting tree walks it; one pass of each tree over a 1 M-row matrix does not.
SCORE_CHUNK = 20_000

Progress = Callable[[float, str], None]


class ChurnDataError(ValueError):
    """The data cannot support the requested churn analysis (message in business words)."""


class UntrustedModelError(ValueError):
    """A stored model file holds types outside :data:`TRUSTED_TYPES`; it was not loaded."""


def _ts(day: dt.date | dt.datetime) -> dt.datetime:
    return day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time.min)


def _named_scope(filters: Filters, alias: str = "customer_id") -> tuple[str, dict]:
    sql, params = customer_scope(filters, alias=alias)
    named = {}
    for i, value in enumerate(params):
        sql = sql.replace("?", f"$scope{i}", 1)
        named[f"scope{i}"] = value
    return sql, named


def _slug(value: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in value.lower()).strip("_")


CHANNEL_FEATURES = {f"ch_{_slug(c)}": c for c in schema.CHANNELS}
STAGE_FEATURES = {f"st_{_slug(s)}": s for s in schema.STAGES}
NUMERIC = [
    "recency_days",
    "tenure_days",
    "frequency",
    "monetary",
    "average_order_value",
    "orders_last_90d",
    "events_last_30d",
    "events_prev_90d",
    "activity_trend",
    "interactions",
    "service_contacts",
    "complaints",
    "returns",
    "returned_value",
    "employees",
    *CHANNEL_FEATURES,
    *STAGE_FEATURES,
]

# --- data span, gaps, churn rates ----------------------------------------------------------


def activity_span(cur: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """Store -> (first, last) day with any order or interaction; (None, None) when empty."""
    row = cur.execute(
        """
        SELECT min(t)::DATE, max(t)::DATE FROM (
            SELECT ordered_at AS t FROM orders UNION ALL SELECT occurred_at FROM interactions)
        """
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def purchase_gaps(cur: duckdb.DuckDBPyConnection, filters: Filters, *, before: dt.date | None = None) -> pd.Series:
    """Store -> Series of gaps in days between consecutive purchase days of the same customer (before ``before``)."""
    scope, params = _named_scope(filters)
    params["before"] = _ts(before) if before else dt.datetime(9999, 1, 1)
    frame = cur.execute(
        f"""
        WITH days AS (
            SELECT DISTINCT customer_id, ordered_at::DATE AS day FROM orders
            WHERE ordered_at < $before AND amount > 0 AND {scope}
        )
        SELECT date_diff('day', lag(day) OVER (PARTITION BY customer_id ORDER BY day), day) AS gap
        FROM days QUALIFY gap IS NOT NULL
        """,
        params,
    ).df()
    return frame["gap"].astype(float).rename("gap_days")


def suggest_horizon(gaps: pd.Series, *, quantile: float = 0.9, minimum: int = 14) -> int:
    """Gaps in days -> suggested churn horizon N: the ``quantile`` of the gaps, rounded up (at least ``minimum``)."""
    values = pd.Series(gaps, dtype=float).dropna()
    if values.empty:
        return 90
    return max(minimum, int(np.ceil(values.quantile(quantile))))


def gap_table(gaps: pd.Series, *, bin_days: int = 7) -> pd.DataFrame:
    """Gaps in days -> histogram rows: from_day, to_day, purchases, cumulative_share (the gap chart's data)."""
    values = pd.Series(gaps, dtype=float).dropna()
    if values.empty:
        return pd.DataFrame(columns=["from_day", "to_day", "purchases", "cumulative_share"])
    edges = np.arange(0, values.max() + bin_days + 1, bin_days)
    counts, edges = np.histogram(values, bins=edges)
    return pd.DataFrame(
        {
            "from_day": edges[:-1].astype(int),
            "to_day": edges[1:].astype(int),
            "purchases": counts,
            "cumulative_share": np.cumsum(counts) / counts.sum(),
        }
    )


_RATE_SQL = """
WITH scope AS (SELECT customer_id, segment FROM customers WHERE {scope}),
activity AS (
    SELECT customer_id, ordered_at AS t FROM orders WHERE customer_id IN (SELECT customer_id FROM scope)
    UNION ALL
    SELECT customer_id, occurred_at FROM interactions WHERE customer_id IN (SELECT customer_id FROM scope)
),
windows AS (
    SELECT w.start_ts, w.end_excl FROM (SELECT unnest($starts) AS start_ts, unnest($ends) AS end_excl) w
),
last_before AS (
    SELECT w.start_ts, w.end_excl, a.customer_id,
           max(a.t) FILTER (WHERE a.t < w.start_ts) AS last_start,
           max(a.t) FILTER (WHERE a.t < w.end_excl) AS last_end
    FROM windows w JOIN activity a ON a.t < w.end_excl
    GROUP BY ALL
)
SELECT l.start_ts::DATE AS period_start, {group_col} AS grp,
       count(*) FILTER (WHERE l.last_start >= l.start_ts - to_days($n)) AS active_at_start,
       count(*) FILTER (WHERE l.last_start >= l.start_ts - to_days($n) AND l.last_end < l.end_excl - to_days($n)) AS lost
FROM last_before l JOIN scope s USING (customer_id)
GROUP BY ALL ORDER BY 1, 2
"""


def _rates(cur, filters, windows, inactive_days, by_segment):
    scope, params = _named_scope(filters)
    params.update(
        {
            "starts": [_ts(s) for s, _ in windows],
            "ends": [_ts(e + dt.timedelta(days=1)) for _, e in windows],
            "n": int(inactive_days),
        }
    )
    sql = _RATE_SQL.format(scope=scope, group_col="coalesce(s.segment, '(none)')" if by_segment else "'all'")
    frame = cur.execute(sql, params).df()
    frame["churn_rate"] = frame["lost"] / frame["active_at_start"].where(frame["active_at_start"] > 0)
    return frame


def month_windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Period [start, end] -> the calendar months starting in it (the last one cut at ``end``).

    A period that starts mid-month begins with the next full month, so no month is a stub;
    a period shorter than that gives the one window [start, end].
    """
    first = start if start.day == 1 else (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    windows = []
    while first <= end:
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        windows.append((first, min(end, nxt - dt.timedelta(days=1))))
        first = nxt
    return windows or [(start, end)]


def _window_counts(cur, filters, windows, inactive_days) -> pd.DataFrame:
    """Store, filters, windows [(start, end)] -> one row per (window index, segment): active_at_start, lost.

    A customer is active at a boundary b when they have any order or interaction in
    [b - N days, b); active at the window start and not active at its end (the day after) = lost.
    One pass over the activity from the first boundary - N on, one bit per distinct boundary
    (same numbers as ``_rates``).
    """
    scope, params = _named_scope(filters)
    starts = [_ts(s) for s, _ in windows]
    ends = [_ts(e + dt.timedelta(days=1)) for _, e in windows]
    bounds = sorted(set(starts) | set(ends))
    gap = dt.timedelta(days=int(inactive_days))
    for k, b in enumerate(bounds):
        params[f"b{k}"] = b
        params[f"lo{k}"] = b - gap
    params["lo"], params["hi"] = bounds[0] - gap, bounds[-1]
    # One bit per boundary: bit k is set when the customer has activity in [b_k - N, b_k).
    mask = " | ".join(f"(CASE WHEN t >= $lo{k} AND t < $b{k} THEN {1 << k} ELSE 0 END)" for k in range(len(bounds)))
    index = {b: k for k, b in enumerate(bounds)}
    counts = ",\n".join(
        f"count(*) FILTER (WHERE mask & {1 << index[s]} > 0) AS active_{w}, "
        f"count(*) FILTER (WHERE mask & {1 << index[s]} > 0 AND mask & {1 << index[e]} = 0) AS lost_{w}"
        for w, (s, e) in enumerate(zip(starts, ends, strict=True))
    )
    sql = f"""
    WITH scope AS (SELECT customer_id, segment FROM customers WHERE {scope}),
    activity AS (
        SELECT customer_id, ordered_at AS t FROM orders
        WHERE ordered_at >= $lo AND ordered_at < $hi
        UNION ALL
        SELECT customer_id, occurred_at FROM interactions
        WHERE occurred_at >= $lo AND occurred_at < $hi
    ),
    flags AS (SELECT customer_id, bit_or({mask}::BIGINT) AS mask FROM activity GROUP BY customer_id)
    SELECT coalesce(s.segment, '(none)') AS segment, {counts}
    FROM flags JOIN scope s USING (customer_id) GROUP BY ALL ORDER BY 1
    """
    wide = cur.execute(sql, params).df()
    # As in ``_rates``, a segment is listed (with zero counts) when one of its customers was active
    # at any time before the end: look further back only for segments the recent scan did not see.
    scope_params = {k: v for k, v in params.items() if k.startswith("scope")}
    segments = cur.execute(
        f"SELECT DISTINCT coalesce(segment, '(none)') FROM customers WHERE {scope}", scope_params
    ).fetchall()
    missing = sorted({row[0] for row in segments} - set(wide["segment"]))
    older = pd.DataFrame()
    if missing:
        older = cur.execute(
            f"""
            SELECT DISTINCT coalesce(segment, '(none)') AS segment FROM customers
            WHERE {scope} AND coalesce(segment, '(none)') IN (SELECT unnest($missing::VARCHAR[]))
              AND (customer_id IN (SELECT customer_id FROM orders WHERE ordered_at < $lo)
                   OR customer_id IN (SELECT customer_id FROM interactions WHERE occurred_at < $lo))
            """,
            {"missing": missing, "lo": params["lo"], **scope_params},
        ).df()
    if len(older):
        wide = pd.concat([wide, older], ignore_index=True).fillna(0).sort_values("segment", ignore_index=True)
    rows = [
        pd.DataFrame(
            {"window": w, "segment": wide["segment"], "active_at_start": wide[f"active_{w}"], "lost": wide[f"lost_{w}"]}
        )
        for w in range(len(windows))
    ]
    return pd.concat(rows, ignore_index=True)


def churn_rates(cur, filters: Filters, *, inactive_days: int = 90) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Store and filters (with start, end) -> (churn_rate_by_month, churn_rate_by_segment) from one scan."""
    months = month_windows(filters.start, filters.end)
    windows = [*months, (filters.start, filters.end)]
    # A BIGINT mask holds 62 boundaries: long periods are counted 30 windows (<= 60 boundaries) at a time.
    frame = pd.concat(
        [
            _window_counts(cur, filters, windows[i : i + 30], inactive_days).assign(
                window=lambda t, i=i: t["window"] + i
            )
            for i in range(0, len(windows), 30)
        ],
        ignore_index=True,
    )
    whole = frame[frame["window"] == len(months)].copy()
    monthly = frame[frame["window"] < len(months)].groupby("window")[["active_at_start", "lost"]].sum()
    monthly = monthly.reindex(range(len(months)), fill_value=0)
    monthly.insert(0, "month", [s for s, _ in months])
    for table in (monthly, whole):
        table["churn_rate"] = table["lost"] / table["active_at_start"].where(table["active_at_start"] > 0)
    by_segment = whole[["segment", "active_at_start", "lost", "churn_rate"]].reset_index(drop=True)
    return monthly.reset_index(drop=True)[["month", "active_at_start", "lost", "churn_rate"]], by_segment


def churn_rate_by_month(cur: duckdb.DuckDBPyConnection, filters: Filters, *, inactive_days: int = 90) -> pd.DataFrame:
    """Store and filters (with start, end) -> one row per month: month, active_at_start, lost, churn_rate."""
    windows = month_windows(filters.start, filters.end)
    frame = _rates(cur, filters, windows, inactive_days, by_segment=False)
    months = pd.DataFrame({"period_start": [s for s, _ in windows]})
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    out = months.merge(frame.drop(columns="grp"), on="period_start", how="left").fillna(
        {"active_at_start": 0, "lost": 0}
    )
    return out.rename(columns={"period_start": "month"})[["month", "active_at_start", "lost", "churn_rate"]]


def churn_rate_by_segment(cur: duckdb.DuckDBPyConnection, filters: Filters, *, inactive_days: int = 90) -> pd.DataFrame:
    """Store and filters (with start, end) -> one row per segment over the whole period: segment, active_at_start, lost, churn_rate."""
    frame = _rates(cur, filters, [(filters.start, filters.end)], inactive_days, by_segment=True)
    return frame.rename(columns={"grp": "segment"})[["segment", "active_at_start", "lost", "churn_rate"]]


# --- point-in-time features and labels -----------------------------------------------------


def _features_sql(scope: str) -> str:
    channel_cols = ",\n".join(f'count(*) FILTER (WHERE channel = $c_{name}) AS "{name}"' for name in CHANNEL_FEATURES)
    stage_cols = ",\n".join(f'count(*) FILTER (WHERE stage = $s_{name}) AS "{name}"' for name in STAGE_FEATURES)
    zero_fill = ", ".join(f'coalesce(i."{n}", 0) AS "{n}"' for n in (*CHANNEL_FEATURES, *STAGE_FEATURES))
    return f"""
WITH scope AS (
    SELECT customer_id, segment, customer_type, country, acquisition_channel, industry, employees, signup_date
    FROM customers WHERE {scope}
),
ev AS (
    SELECT customer_id, occurred_at AS t, channel, stage, event FROM interactions
    WHERE occurred_at < $cutoff AND customer_id IN (SELECT customer_id FROM scope)
),
od AS (
    SELECT customer_id, order_id, ordered_at AS t, quantity, amount FROM orders
    WHERE ordered_at < $cutoff AND customer_id IN (SELECT customer_id FROM scope)
),
act AS (SELECT customer_id, t FROM ev UNION ALL SELECT customer_id, t FROM od),
a AS (
    SELECT customer_id, max(t) AS last_t, min(t) AS first_t,
           count(*) FILTER (WHERE t >= $cutoff - to_days(30)) AS events_last_30d,
           count(*) FILTER (WHERE t >= $cutoff - to_days(120) AND t < $cutoff - to_days(30)) AS events_prev_90d
    FROM act GROUP BY customer_id
),
o AS (
    SELECT customer_id,
           count(DISTINCT order_id) FILTER (WHERE amount > 0) AS frequency,
           sum(amount) AS monetary,
           count(DISTINCT order_id) FILTER (WHERE amount > 0 AND t >= $cutoff - to_days(90)) AS orders_last_90d,
           count(*) FILTER (WHERE quantity < 0) AS returns,
           coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS returned_value
    FROM od GROUP BY customer_id
),
i AS (
    SELECT customer_id, count(*) AS interactions,
           count(*) FILTER (WHERE event = 'service_contact') AS service_contacts,
           count(*) FILTER (WHERE event = 'complaint') AS complaints,
           {channel_cols},
           {stage_cols}
    FROM ev GROUP BY customer_id
)
SELECT s.customer_id,
       date_diff('second', a.last_t, $cutoff) / 86400.0 AS recency_days,
       date_diff('second', least(coalesce(s.signup_date::TIMESTAMP, a.first_t), a.first_t), $cutoff) / 86400.0
           AS tenure_days,
       coalesce(o.frequency, 0) AS frequency,
       coalesce(o.monetary, 0) AS monetary,
       coalesce(o.monetary / nullif(o.frequency, 0), 0) AS average_order_value,
       coalesce(o.orders_last_90d, 0) AS orders_last_90d,
       a.events_last_30d, a.events_prev_90d,
       a.events_last_30d / 30.0 - a.events_prev_90d / 90.0 AS activity_trend,
       coalesce(i.interactions, 0) AS interactions,
       coalesce(i.service_contacts, 0) AS service_contacts,
       coalesce(i.complaints, 0) AS complaints,
       coalesce(o.returns, 0) AS returns,
       coalesce(o.returned_value, 0) AS returned_value,
       s.employees::DOUBLE AS employees,
       {zero_fill},
       s.segment, s.customer_type, s.country, s.acquisition_channel, s.industry
FROM scope s JOIN a USING (customer_id)
LEFT JOIN o USING (customer_id) LEFT JOIN i USING (customer_id)
WHERE a.last_t >= $cutoff - to_days($lookback)
ORDER BY s.customer_id
"""


def features(
    cur: duckdb.DuckDBPyConnection, filters: Filters, *, cutoff: dt.date, lookback_days: int | None = None
) -> pd.DataFrame:
    """Store as of ``cutoff`` -> one row per customer active before it (index customer_id), NUMERIC + CATEGORICAL columns.

    Only orders and interactions strictly before ``cutoff`` are read, so nothing after it can
    leak in. ``lookback_days`` keeps customers whose last activity lies within that many days
    before the cutoff (``None``: everybody with any earlier activity).
    """
    scope, params = _named_scope(filters, alias="customer_id")
    params["cutoff"] = _ts(cutoff)
    params["lookback"] = int(lookback_days) if lookback_days is not None else 365_000
    params.update({f"c_{k}": v for k, v in CHANNEL_FEATURES.items()})
    params.update({f"s_{k}": v for k, v in STAGE_FEATURES.items()})
    frame = cur.execute(_features_sql(scope), params).df().set_index("customer_id")
    for column in NUMERIC:
        frame[column] = frame[column].astype(float)
    for column in CATEGORICAL:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), MISSING)
    return frame[NUMERIC + CATEGORICAL]


def labels(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    cutoff: dt.date,
    horizon_days: int,
    lookback_days: int | None = None,
) -> pd.Series:
    """Store -> Series churned (1/0) per customer active at ``cutoff`` (activity in the lookback before it).

    Churned: no order or interaction in [cutoff, cutoff + horizon_days). ``lookback_days``
    defaults to ``horizon_days``. Raises :class:`ChurnDataError` when the horizon runs past the data.
    """
    _, last = activity_span(cur)
    if last is None:
        raise ChurnDataError("no_activity")
    if cutoff + dt.timedelta(days=horizon_days) > last + dt.timedelta(days=1):
        raise ChurnDataError("horizon_after_data")
    scope, params = _named_scope(filters, alias="customer_id")
    params.update(
        {
            "cutoff": _ts(cutoff),
            "horizon_end": _ts(cutoff + dt.timedelta(days=horizon_days)),
            "lookback": int(lookback_days if lookback_days is not None else horizon_days),
        }
    )
    frame = cur.execute(
        f"""
        WITH activity AS (
            SELECT customer_id, ordered_at AS t FROM orders WHERE {scope}
            UNION ALL SELECT customer_id, occurred_at FROM interactions WHERE {scope}
        )
        SELECT customer_id,
               CASE WHEN count(*) FILTER (WHERE t >= $cutoff AND t < $horizon_end) = 0 THEN 1 ELSE 0 END AS churned
        FROM activity WHERE t < $horizon_end
        GROUP BY customer_id
        HAVING max(t) FILTER (WHERE t < $cutoff) >= $cutoff - to_days($lookback)
        ORDER BY customer_id
        """,
        params,
    ).df()
    return frame.set_index("customer_id")["churned"].astype(int)


def dataset(
    cur: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    cutoff: dt.date,
    horizon_days: int,
    lookback_days: int | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Store -> (features as of cutoff, churn label) for the customers active at the cutoff, aligned by customer_id."""
    y = labels(cur, filters, cutoff=cutoff, horizon_days=horizon_days, lookback_days=lookback_days)
    lookback = lookback_days if lookback_days is not None else horizon_days
    X = features(cur, filters, cutoff=cutoff, lookback_days=lookback)
    X = X.loc[X.index.intersection(y.index)]
    return X, y.loc[X.index]


def default_cutoffs(last_day: dt.date, horizon_days: int) -> tuple[dt.date, dt.date]:
    """Last data day and horizon -> (training cutoff, validation cutoff): the latest labelable cutoff and one horizon before it."""
    validation = last_day + dt.timedelta(days=1) - dt.timedelta(days=horizon_days)
    return validation - dt.timedelta(days=horizon_days), validation


def features_from_table(
    table: pd.DataFrame, *, label: str, id_column: str | None = None, positive: Sequence = ("Yes", "yes", "1", 1, True)
) -> tuple[pd.DataFrame, pd.Series]:
    """A customer table with a known churn column -> (features with numbers as float and text as categories, 0/1 label).

    For uploaded data that is not ours (e.g. the IBM Telco sample): text columns that hold numbers
    (blank cells allowed) become numbers, other text columns categories; ``id_column`` becomes
    the index and is not a feature.
    """
    if label not in table.columns:
        raise ChurnDataError("no_label_column")
    frame = table.copy()
    if id_column:
        frame = frame.set_index(id_column)
    y = frame.pop(label).astype(str).str.strip().isin([str(v) for v in positive]).astype(int)
    for column in frame.columns:
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            as_text = series.astype(str).str.strip()
            numbers = pd.to_numeric(as_text.replace("", np.nan), errors="coerce")
            if numbers.notna().sum() >= 0.95 * (as_text != "").sum() and (as_text != "").sum() > 0:
                frame[column] = numbers.astype(float)
            else:
                frame[column] = series.astype(object).where(series.notna(), MISSING).astype(str).astype(object)
        else:
            frame[column] = series.astype(float)
    return frame, y


def read_labelled_table(source, *, name: str = "") -> pd.DataFrame:
    """CSV (any delimiter, UTF-8 or Latin-1) or Excel file with one row per customer -> DataFrame of text cells.

    Cells stay text (blank = empty string) so :func:`features_from_table` decides the types.
    Raises :class:`ChurnDataError` ("unreadable_table") for anything else.
    """
    try:
        if str(name).lower().endswith((".xlsx", ".xls")):
            return pd.read_excel(source, dtype=str).fillna("")
        raw = source.read() if hasattr(source, "read") else open(source, "rb").read()  # noqa: SIM115
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        import io

        return pd.read_csv(io.StringIO(text), sep=None, engine="python", dtype=str, keep_default_na=False)
    except ChurnDataError:
        raise
    except Exception as exc:
        raise ChurnDataError("unreadable_table") from exc


def guess_label_column(columns: Sequence[str]) -> str | None:
    """Column names -> the one that most likely holds the churn label ("churn", "churned", "exited", "left", ...)."""
    for candidate in ("churn", "churned", "exited", "attrition", "left", "lost", "abgewandert", "kündigung"):
        for column in columns:
            if str(column).strip().lower() == candidate:
                return column
    return None


# --- models --------------------------------------------------------------------------------


def _split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [
        c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in frame.columns if c not in numeric]
    return numeric, categorical


def _prepare(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    columns = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in numeric}
    for column in categorical:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            values = values.astype(str).where(values.notna())
        columns[column] = values.astype(object).fillna(MISSING).to_numpy(object)
    return pd.DataFrame(columns, index=frame.index)


def build_pipeline(model: str, numeric: list[str], categorical: list[str], *, random_state: int = 0) -> Pipeline:
    """Model name and column lists -> unfitted Pipeline(ColumnTransformer, estimator), classes weighted.

    ``logistic``: median imputation + scaling and one-hot encoding, then LogisticRegression;
    ``gradient_boosting``: ordinal codes passed as native categoricals to HistGradientBoostingClassifier.
    """
    if model == "logistic":
        prep = ColumnTransformer(
            [
                ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False), categorical),
            ],
            verbose_feature_names_out=False,
        )
        estimator = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    elif model == "gradient_boosting":
        prep = ColumnTransformer(
            [
                ("num", "passthrough", numeric),
                (
                    "cat",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
                    ),
                    categorical,
                ),
            ],
            verbose_feature_names_out=False,
        )
        mask = [False] * len(numeric) + [True] * len(categorical)
        estimator = HistGradientBoostingClassifier(
            learning_rate=0.08,
            max_iter=150,
            max_leaf_nodes=31,
            l2_regularization=1.0,
            categorical_features=mask if categorical else None,
            class_weight="balanced",
            early_stopping=True,
            random_state=random_state,
        )
    else:
        raise ValueError(f"model must be one of {MODELS}")
    return Pipeline([("prepare", prep), ("model", estimator)])


def scores(y: Sequence[int], p: Sequence[float]) -> dict:
    """Labels and probabilities -> dict roc_auc, pr_auc (average precision), brier, base_rate, n."""
    y = np.asarray(y, int)
    p = np.asarray(p, float)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "n": int(len(y)),
    }


@dataclass
class ChurnModel:
    """A trained, calibrated churn pipeline with its columns, metrics and parameters.

    ``predict_proba`` follows scikit-learn: an (n, 2) array, column 1 = P(churn).
    ``validation`` keeps the held-out labels and probabilities for curves (not stored).
    """

    estimator: CalibratedClassifierCV
    kind: str
    numeric: list[str]
    categorical: list[str]
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    validation: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def feature_names(self) -> list[str]:
        return self.numeric + self.categorical

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ChurnDataError("missing_features")
        return _prepare(features, self.numeric, self.categorical)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Features (the training columns) -> (n, 2) array of P(stay), P(churn).

        Same numbers as :meth:`plain_predict_proba` (the calibrated pipeline on the prepared
        frame), computed faster: see :func:`_fast_predict_proba`.
        """
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ChurnDataError("missing_features")
        with threadpool_limits(THREADS):
            fast = _fast_predict_proba(self.estimator, features, self.numeric, self.categorical)
            if fast is not None:
                return fast
            return self.estimator.predict_proba(_prepare(features, self.numeric, self.categorical))

    def plain_predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Features -> (n, 2) array from ``CalibratedClassifierCV.predict_proba`` on the whole prepared frame (the reference)."""
        prepared = self.prepare(features)
        with threadpool_limits(THREADS):
            return self.estimator.predict_proba(prepared)

    def churn_probability(self, features: pd.DataFrame) -> np.ndarray:
        """Features -> 1-D array of P(churn)."""
        return self.predict_proba(features)[:, 1]

    def coefficients(self) -> pd.DataFrame:
        """Logistic model -> feature, source, category, coefficient (per standard deviation / per category), odds_ratio; sorted by |coefficient|.

        ``feature`` is the encoded column (``industry_retail``); ``source`` the input column it comes
        from (``industry``) and ``category`` its value (``retail``; None for numeric columns,
        ``INFREQUENT`` for the one-hot column that pools rare values).
        """
        if self.kind != "logistic":
            raise ValueError("coefficients exist for the logistic model only")
        pipeline = _pipeline_of(self.estimator)
        names = pipeline.named_steps["prepare"].get_feature_names_out()
        coef = pipeline.named_steps["model"].coef_[0]
        sources = [split_encoded_feature(str(n), self.numeric, self.categorical) for n in names]
        frame = pd.DataFrame(
            {
                "feature": names,
                "source": [s for s, _ in sources],
                "category": [c for _, c in sources],
                "coefficient": coef,
                "odds_ratio": np.exp(coef),
            }
        )
        return frame.reindex(frame["coefficient"].abs().sort_values(ascending=False).index).reset_index(drop=True)


#: The value scikit-learn's OneHotEncoder gives the column that pools rare categories.
INFREQUENT = "infrequent_sklearn"


def split_encoded_feature(name: str, numeric: Sequence[str], categorical: Sequence[str]) -> tuple[str, str | None]:
    """Encoded column name -> (input column, category value or None): 'industry_retail' -> ('industry', 'retail').

    Numeric columns keep their name; a one-hot column is matched to the longest categorical
    column name it starts with (so 'customer_type_B2B' is not read as a 'customer' column).
    """
    if name in numeric:
        return name, None
    for column in sorted(categorical, key=len, reverse=True):
        if name.startswith(column + "_"):
            return column, name[len(column) + 1 :]
    return name, None


def _category_combinations(frame: pd.DataFrame, categorical: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Features -> (per row the index of its combination of category values, prepared frame with one row per combination).

    Hash-based ``pd.factorize`` per column, folded into one dense key, so the encoders see only
    the distinct combinations (a few hundred for segment x country x channel) instead of every
    row; encoding is row by row, so gathering the encoded combinations gives the same matrix.
    """
    key = np.zeros(len(frame), np.int64)
    for column in categorical:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        key, _ = pd.factorize(key * max(len(uniques), 1) + codes)
    first = pd.Series(key).drop_duplicates().index.to_numpy()  # first row of combination 0, 1, 2, ...
    return key, _prepare(frame.iloc[first], [], categorical).reset_index(drop=True)


def _fast_predict_proba(
    estimator, features: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> np.ndarray | None:
    """Features -> (n, 2) calibrated probabilities equal to ``estimator.predict_proba(_prepare(features))``; None when the model has another shape.

    For models built by :func:`build_pipeline` inside ``CalibratedClassifierCV`` (with or without
    ``FrozenEstimator``): the text columns are encoded once per distinct combination of values
    (:func:`_category_combinations`) instead of once per row, numeric columns go through the
    fitted numeric transformer, and the rows are scored in blocks of :data:`SCORE_CHUNK` with the
    fitted estimator and calibrators of each calibrated classifier (averaged like
    ``CalibratedClassifierCV.predict_proba``). Every step works row by row, so the numbers are
    those of the plain pipeline.
    """
    parts = []
    for calibrated in getattr(estimator, "calibrated_classifiers_", []):
        inner = calibrated.estimator
        pipeline = inner.estimator if isinstance(inner, FrozenEstimator) else inner
        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
            return None
        prep, final = pipeline.steps[0][1], pipeline.steps[1][1]
        if not isinstance(prep, ColumnTransformer) or getattr(prep, "sparse_output_", True):
            return None
        blocks = []
        for name, transformer, columns in prep.transformers_:
            if (isinstance(transformer, str) and transformer == "drop") or len(columns) == 0:
                continue
            if isinstance(transformer, str) or not isinstance(columns, list):
                return None
            if set(columns) <= set(categorical):
                blocks.append(("cat", transformer, columns, prep.output_indices_[name]))
            elif set(columns) <= set(numeric):
                blocks.append(("num", transformer, columns, prep.output_indices_[name]))
            else:
                return None
        fast = copy.copy(calibrated)
        fast.estimator = final
        width = max((s.stop for *_, s in blocks), default=0)
        parts.append((fast, blocks, width))
    n = len(features)
    if not parts or n == 0:
        return None
    numbers = {c: pd.to_numeric(features[c], errors="coerce").to_numpy(float) for c in numeric}
    if categorical:
        key, combinations = _category_combinations(features, categorical)
    encoded = {}  # (part, block) -> encoded combinations
    for p, (_, blocks, _) in enumerate(parts):
        for b, (kind, transformer, columns, _) in enumerate(blocks):
            if kind == "cat":
                out = transformer.transform(combinations[columns])
                encoded[p, b] = np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=float)
    result = np.zeros((n, len(estimator.classes_)))
    for start in range(0, n, SCORE_CHUNK):
        rows = slice(start, min(n, start + SCORE_CHUNK))
        mean_proba = np.zeros((rows.stop - rows.start, len(estimator.classes_)))
        for p, (fast, blocks, width) in enumerate(parts):
            X = np.empty((rows.stop - rows.start, width))
            for b, (kind, transformer, columns, out) in enumerate(blocks):
                if kind == "cat":
                    X[:, out] = encoded[p, b][key[rows]]
                else:
                    block = pd.DataFrame({c: numbers[c][rows] for c in columns})
                    values = transformer.transform(block)
                    X[:, out] = np.asarray(values.toarray() if hasattr(values, "toarray") else values, dtype=float)
            mean_proba += fast.predict_proba(X)
        mean_proba /= len(parts)
        result[rows] = mean_proba
    return result


def _pipeline_of(estimator: CalibratedClassifierCV) -> Pipeline:
    """The fitted Pipeline inside a calibrated model (unwrapping a FrozenEstimator)."""
    inner = estimator.calibrated_classifiers_[0].estimator
    return getattr(inner, "estimator", inner) if not isinstance(inner, Pipeline) else inner


def _check_training_data(features: pd.DataFrame, label: pd.Series) -> None:
    if len(features) != len(label):
        raise ChurnDataError("length_mismatch")
    counts = pd.Series(np.asarray(label, int)).value_counts()
    if len(counts) < 2:
        raise ChurnDataError("single_class")
    if len(features) < 50 or counts.min() < 10:
        raise ChurnDataError("too_few_customers")


def data_checksum(features: pd.DataFrame, label: pd.Series) -> str:
    """Features and label -> SHA-256 hex of their content (row order and values), for the model store."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(features, index=True).to_numpy().tobytes())
    digest.update(np.asarray(label, np.int64).tobytes())
    return digest.hexdigest()


def train(
    features: pd.DataFrame,
    label: pd.Series,
    *,
    model: str = "logistic",
    validation: tuple[pd.DataFrame, pd.Series] | None = None,
    cv: int | None = None,
    holdout: float = 0.25,
    calibration: str = "auto",
    random_state: int = 0,
    progress: Progress | None = None,
) -> ChurnModel:
    """Features (one row per customer) and 0/1 label -> calibrated :class:`ChurnModel` with metrics.

    Parameters
    ----------
    features : DataFrame
        Numeric columns are used as numbers, every other column as a category.
    label : Series
        1 = churned, 0 = stayed; aligned with ``features``.
    model : {"logistic", "gradient_boosting"}, default="logistic"
    validation : (DataFrame, Series), default=None
        Out-of-time data (a later cutoff). Metrics are computed on it; the model is fitted on all
        of ``features``.
    cv : int, default=None
        Without ``validation``: k-fold cross-validated metrics, then a fit on all data.
    holdout : float, default=0.25
        Without ``validation`` and ``cv``: share held out (stratified) for the metrics.
    calibration : {"auto", "isotonic", "sigmoid"}, default="auto"
        ``CalibratedClassifierCV`` method; auto = isotonic from 1,000 rows, else sigmoid.
    progress : callable(fraction, step), default=None
        Called as training advances (steps "prepare", "fit", "evaluate", "done").

    Raises
    ------
    ChurnDataError
        A single class, fewer than 50 customers or fewer than 10 of a class.
    """
    with threadpool_limits(THREADS):
        return _train(features, label, model, validation, cv, holdout, calibration, random_state, progress)


def _train(features, label, model, validation, cv, holdout, calibration, random_state, progress) -> ChurnModel:
    report = progress or (lambda fraction, step: None)
    _check_training_data(features, label)
    label = pd.Series(np.asarray(label, int), index=features.index)
    numeric, categorical = _split_columns(features)
    report(0.05, "prepare")
    X = _prepare(features, numeric, categorical)
    method = calibration if calibration != "auto" else ("isotonic" if len(X) >= 1000 else "sigmoid")

    def make() -> CalibratedClassifierCV:
        pipeline = build_pipeline(model, numeric, categorical, random_state=random_state)
        return CalibratedClassifierCV(pipeline, method=method, cv=3, ensemble=False)

    def fit(X_fit: pd.DataFrame, y_fit: pd.Series) -> CalibratedClassifierCV:
        # Up to CALIBRATION_SPLIT_FROM rows: 3-fold calibration (4 fits). Above: one fit on 80 %
        # and calibration on the other 20 % of the training cutoff (Niculescu-Mizil & Caruana 2005).
        if len(X_fit) < CALIBRATION_SPLIT_FROM:
            return make().fit(X_fit, y_fit)
        X_a, X_b, y_a, y_b = train_test_split(X_fit, y_fit, test_size=0.2, stratify=y_fit, random_state=random_state)
        pipeline = build_pipeline(model, numeric, categorical, random_state=random_state).fit(X_a, y_a)
        return CalibratedClassifierCV(FrozenEstimator(pipeline), method=method).fit(X_b, y_b)

    validation_kind = "out_of_time"
    fit_X, fit_y = X, label
    if validation is not None:
        _check_training_data(*validation)
        X_val = _prepare(validation[0], numeric, categorical)
        y_val = np.asarray(validation[1], int)
    elif cv:
        validation_kind = f"{int(cv)}-fold"
        report(0.1, "cross-validate")
        folds = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
        p_cv = cross_val_predict(make(), X, label, cv=folds, method="predict_proba")[:, 1]
        X_val, y_val = None, label.to_numpy()
    else:
        validation_kind = "holdout"
        fit_X, X_val, fit_y, y_val = train_test_split(
            X, label, test_size=holdout, stratify=label, random_state=random_state
        )
        y_val = y_val.to_numpy()
    report(0.3, "fit")
    estimator = fit(fit_X, fit_y)
    report(0.8, "evaluate")
    p_val = p_cv if X_val is None else estimator.predict_proba(X_val)[:, 1]
    metrics = scores(y_val, p_val)
    metrics.update(
        {
            "validation": validation_kind,
            "n_train": int(len(fit_X)),
            "train_churn_rate": float(np.mean(fit_y)),
            "calibration": method,
        }
    )
    params = {
        "model": model,
        "numeric": numeric,
        "categorical": categorical,
        "random_state": random_state,
        "data_checksum": data_checksum(features, label),
        "estimator_params": {
            k: v
            for k, v in _pipeline_of(estimator).named_steps["model"].get_params().items()
            if isinstance(v, (int, float, str, bool, type(None)))
        },
    }
    report(1.0, "done")
    return ChurnModel(estimator, model, numeric, categorical, metrics, params, (np.asarray(y_val), np.asarray(p_val)))


# --- evaluation tables (the plain-data twins of the charts) --------------------------------


def roc_table(y, p) -> pd.DataFrame:
    """Labels, probabilities -> ROC curve points: false_positive_rate, true_positive_rate, threshold."""
    fpr, tpr, thr = roc_curve(np.asarray(y, int), np.asarray(p, float), drop_intermediate=True)
    return pd.DataFrame({"false_positive_rate": fpr, "true_positive_rate": tpr, "threshold": thr})


def pr_table(y, p) -> pd.DataFrame:
    """Labels, probabilities -> precision-recall points: recall, precision, threshold (NaN on the last point)."""
    precision, recall, thr = precision_recall_curve(np.asarray(y, int), np.asarray(p, float))
    return pd.DataFrame({"recall": recall, "precision": precision, "threshold": np.append(thr, np.nan)})


def calibration_table(y, p, *, bins: int = 10) -> pd.DataFrame:
    """Labels, probabilities -> per equal-count bin: customers, mean_predicted, observed churn rate."""
    frame = pd.DataFrame({"y": np.asarray(y, int), "p": np.asarray(p, float)}).sort_values("p", kind="stable")
    frame["bin"] = np.arange(len(frame)) * bins // max(len(frame), 1)
    out = frame.groupby("bin").agg(customers=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean"))
    return out.reset_index()


def lift_table(y, p, *, groups: int = 10) -> pd.DataFrame:
    """Labels, probabilities -> per decile (1 = highest risk): customers, churners, churn_rate, lift, cumulative_customers_share, cumulative_gain."""
    frame = pd.DataFrame({"y": np.asarray(y, int), "p": np.asarray(p, float)})
    frame = frame.sort_values("p", ascending=False, kind="stable").reset_index(drop=True)
    frame["decile"] = np.arange(len(frame)) * groups // max(len(frame), 1) + 1
    out = frame.groupby("decile").agg(customers=("y", "size"), churners=("y", "sum")).reset_index()
    base = frame["y"].mean()
    out["churn_rate"] = out["churners"] / out["customers"]
    out["lift"] = out["churn_rate"] / base if base > 0 else np.nan
    out["cumulative_customers_share"] = out["customers"].cumsum() / len(frame)
    out["cumulative_gain"] = out["churners"].cumsum() / frame["y"].sum() if frame["y"].sum() > 0 else np.nan
    return out


def confusion(y, p, *, threshold: float) -> dict:
    """Labels, probabilities, threshold -> counts tp, fp, fn, tn (contact when p >= threshold)."""
    y = np.asarray(y, int)
    flagged = np.asarray(p, float) >= threshold
    return {
        "tp": int(np.sum(flagged & (y == 1))),
        "fp": int(np.sum(flagged & (y == 0))),
        "fn": int(np.sum(~flagged & (y == 1))),
        "tn": int(np.sum(~flagged & (y == 0))),
    }


def profit_curve(
    y, p, *, offer_cost: float, save_rate: float, value, thresholds: Sequence[float] | None = None
) -> pd.DataFrame:
    """Labels, probabilities and costs -> per threshold: contacted, saved_value, cost, net_benefit.

    Contacting everybody with p >= threshold costs ``offer_cost`` each and keeps ``save_rate`` of
    the contacted churners, each worth ``value`` (a number or one value per customer):
    net_benefit = Σ_contacted (y · save_rate · value − offer_cost).
    """
    y = np.asarray(y, int)
    p = np.asarray(p, float)
    values = np.broadcast_to(np.asarray(value, float), p.shape)
    grid = np.asarray(thresholds if thresholds is not None else np.round(np.linspace(0, 1, 101), 2), float)
    gain = y * save_rate * values - offer_cost
    rows = []
    for t in grid:
        chosen = p >= t
        rows.append(
            {
                "threshold": float(t),
                "contacted": int(chosen.sum()),
                "saved_value": float(np.sum(y[chosen] * save_rate * values[chosen])),
                "cost": float(offer_cost * chosen.sum()),
                "net_benefit": float(gain[chosen].sum()),
            }
        )
    return pd.DataFrame(rows)


def best_threshold(curve: pd.DataFrame) -> float:
    """Profit curve -> the threshold with the highest net benefit (the highest such threshold on ties)."""
    top = curve["net_benefit"].max()
    return float(curve.loc[curve["net_benefit"] == top, "threshold"].max())


def break_even_probability(*, offer_cost: float, save_rate: float, value: float) -> float:
    """Costs -> the churn probability above which one contact pays: offer_cost / (save_rate × value), capped at 1."""
    if save_rate <= 0 or value <= 0:
        return 1.0
    return float(min(1.0, offer_cost / (save_rate * value)))


def importance_table(
    model: ChurnModel, features: pd.DataFrame, label, *, repeats: int = 3, max_rows: int = 2000, random_state: int = 0
) -> pd.DataFrame:
    """Held-out features and labels -> feature, importance (mean ROC AUC drop when shuffled), std; sorted.

    Permutation importance (Breiman 2001, as ``sklearn.inspection.permutation_importance``) on the
    raw feature columns; all shuffled copies are scored in one batched prediction.
    """
    y = np.asarray(label, int)
    X = features[model.feature_names].reset_index(drop=True)
    rng = np.random.default_rng(random_state)
    if len(X) > max_rows:
        rows = rng.choice(len(X), max_rows, replace=False)
        X, y = X.iloc[rows].reset_index(drop=True), y[rows]
    baseline = roc_auc_score(y, model.churn_probability(X))
    copies = []
    for column in model.feature_names:
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[rng.permutation(len(X))]
            copies.append(shuffled)
    p = model.churn_probability(pd.concat(copies, ignore_index=True)).reshape(len(model.feature_names), repeats, len(X))
    drops = np.array(
        [[baseline - roc_auc_score(y, p[i, r]) for r in range(repeats)] for i in range(len(model.feature_names))]
    )
    frame = pd.DataFrame({"feature": model.feature_names, "importance": drops.mean(axis=1), "std": drops.std(axis=1)})
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


# --- drivers, risk list, what-if ------------------------------------------------------------


def typical_profile(features: pd.DataFrame) -> pd.Series:
    """Features -> one typical customer: the median of each numeric column, the most frequent category."""
    out = {}
    for column in features.columns:
        series = features[column]
        if pd.api.types.is_numeric_dtype(series):
            out[column] = float(series.median()) if series.notna().any() else np.nan
        else:
            out[column] = series.mode().iloc[0] if series.notna().any() else MISSING
    return pd.Series(out, dtype=object)


def risk_drivers(model: ChurnModel, features: pd.DataFrame, reference: pd.Series, *, top: int = 3) -> pd.Series:
    """Features of some customers -> per customer the ``top`` features whose typical value lowers their risk most.

    For each feature the value is set to the typical customer's (``reference``) and the drop in
    P(churn) measured; the largest drops are the customer's main risk drivers ("feature" names,
    comma separated).
    """
    if features.empty:
        return pd.Series(dtype=object)
    base = model.churn_probability(features)
    copies = []
    for column in model.feature_names:
        changed = features.copy()
        changed[column] = reference[column]
        copies.append(changed)
    changed_p = model.churn_probability(pd.concat(copies)).reshape(len(model.feature_names), len(features))
    drops = {column: base - changed_p[i] for i, column in enumerate(model.feature_names)}
    table = pd.DataFrame(drops, index=features.index)
    names = np.array(table.columns)
    order = np.argsort(-table.to_numpy(), axis=1)[:, :top]
    positive = np.take_along_axis(table.to_numpy(), order, axis=1) > 0.005
    return pd.Series(
        [", ".join(names[o][m]) for o, m in zip(order, positive, strict=True)], index=features.index, name="drivers"
    )


def risk_list(
    model: ChurnModel, features: pd.DataFrame, clv: pd.Series, *, top: int | None = None, drivers_for: int = 200
) -> pd.DataFrame:
    """Features as of today and CLV per customer -> customers ranked by value_at_risk = probability × clv.

    Columns customer_id, segment, probability, clv, value_at_risk, drivers (the top
    ``drivers_for`` rows only).
    """
    if features.empty:
        return pd.DataFrame(columns=["customer_id", "segment", "probability", "clv", "value_at_risk", "drivers"])
    probability = model.churn_probability(features)
    value = clv.reindex(features.index).fillna(0.0).clip(lower=0).to_numpy(float)
    frame = pd.DataFrame(
        {
            "customer_id": features.index,
            "segment": features["segment"].to_numpy() if "segment" in features else None,
            "probability": probability,
            "clv": value,
            "value_at_risk": probability * value,
        }
    )
    frame = frame.sort_values(["value_at_risk", "probability"], ascending=False, kind="stable").reset_index(drop=True)
    if top is not None:
        frame = frame.head(top)
    head = frame.head(drivers_for)["customer_id"]
    drivers = risk_drivers(model, features.loc[head], typical_profile(features))
    frame["drivers"] = frame["customer_id"].map(drivers).fillna("")
    return frame


def what_if(model: ChurnModel, row: pd.DataFrame, changes: dict) -> tuple[float, float]:
    """One customer's features and {column: new value} -> (P(churn) now, P(churn) with the changes)."""
    changed = row.copy()
    for column, value in changes.items():
        if column not in changed.columns:
            raise KeyError(column)
        changed[column] = value
    return float(model.churn_probability(row)[0]), float(model.churn_probability(changed)[0])


def value_for_risk(cur: duckdb.DuckDBPyConnection, filters: Filters, *, as_of: dt.date, months: int = 12) -> pd.Series:
    """Store -> per customer the expected spend of the next ``months`` (BG/NBD × Gamma-Gamma, weeks).

    Falls back to the historical spend of the last ``months`` when the models cannot be fitted.
    """
    from analytics import clv

    summary = clv.store_summary(cur, filters, end=as_of, unit_days=7.0)
    horizon = months * 52.0 / 12.0
    try:
        bg = clv.fit_bgnbd(summary)
        gg = clv.fit_gamma_gamma(summary)
        return clv.predict_clv(summary, bg, gg, horizon=horizon)["clv"].rename("clv")
    except ValueError:
        scope, params = _named_scope(filters)
        params.update({"start": _ts(as_of - dt.timedelta(days=30 * months)), "end": _ts(as_of + dt.timedelta(days=1))})
        frame = cur.execute(
            f"""SELECT customer_id, sum(amount) AS clv FROM orders
                WHERE ordered_at >= $start AND ordered_at < $end AND {scope} GROUP BY ALL""",
            params,
        ).df()
        return frame.set_index("customer_id")["clv"].astype(float)


# --- model store ---------------------------------------------------------------------------

#: Every type a stored churn model may contain. ``load_model`` refuses files with any other type.
TRUSTED_TYPES: list[str] = [
    "builtins.slice",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.frozen._frozen.FrozenEstimator",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.utils._bunch.Bunch",
    # HistGradientBoostingClassifier keeps ``partial(check_array, ...)`` in its categorical
    # preprocessor. skops lists any other function a partial wraps as a type of its own, so
    # trusting ``functools.partial`` does not let a foreign function through.
    "functools.partial",
    "sklearn.utils.validation.check_array",
]


def dump_model(estimator) -> bytes:
    """Fitted estimator -> skops bytes (never pickle)."""
    return sio.dumps(estimator)


def load_model(data: bytes):
    """skops bytes -> estimator, only when every type in it is in :data:`TRUSTED_TYPES`.

    Raises :class:`UntrustedModelError` naming the unexpected types otherwise (nothing is loaded).
    """
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged or foreign file
        raise UntrustedModelError("unreadable") from exc
    unexpected = sorted(set(found) - set(TRUSTED_TYPES))
    if unexpected:
        raise UntrustedModelError(", ".join(unexpected))
    return sio.loads(data, trusted=[t for t in found if t in TRUSTED_TYPES])


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def save_run(
    con: duckdb.DuckDBPyConnection,
    model: ChurnModel,
    *,
    cutoff: dt.date,
    horizon_days: int,
    extra_params: dict | None = None,
) -> str:
    """Trained model -> run_id of a new ``model_runs`` row (skops artifact, metrics, params, sklearn version), audited."""
    artifact = dump_model(model.estimator)
    run_id = "R" + uuid.uuid4().hex[:12]
    params = {**model.params, **(extra_params or {})}

    def work(cur):
        cur.execute(
            "INSERT INTO model_runs VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                model.kind,
                cutoff,
                int(horizon_days),
                json.dumps(model.metrics, default=_json_default),
                json.dumps(params, default=_json_default),
                sklearn.__version__,
                artifact,
            ],
        )
        store.audit(cur, "churn_model_saved", run_id, f"{model.kind}, cutoff {cutoff}, horizon {horizon_days} days")

    store.run_write(con, work)
    return run_id


def list_runs(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Store -> one row per stored run, newest first: run_id, created_at, model, cutoff, horizon_days, roc_auc, pr_auc, brier, base_rate, validation, sklearn_version."""
    frame = cur.execute(
        "SELECT run_id, created_at, model, cutoff, horizon_days, metrics, params, sklearn_version FROM model_runs ORDER BY created_at DESC"
    ).df()
    metrics = [json.loads(m or "{}") for m in frame["metrics"]]
    params = [json.loads(p or "{}") for p in frame["params"]]
    for key in ("roc_auc", "pr_auc", "brier", "base_rate", "n", "validation"):
        frame[key] = [m.get(key) for m in metrics]
    frame["validation_cutoff"] = [p.get("validation_cutoff") for p in params]
    return frame.drop(columns=["metrics", "params"])


def run_labels(
    runs: pd.DataFrame,
    *,
    names: Mapping[str, str] | None = None,
    format_date: Callable[[dt.date], str] = lambda day: day.strftime("%d %b %Y"),
) -> pd.Series:
    """list_runs rows (run_id, model, created_at) -> one unique readable label per run, same index.

    A label is the model's readable name and the training date ('Gradient boosting · 20 Dec 2025').
    Runs that would share a label get the training time added ('… · 14:05'), and runs trained in
    the same minute their run id as well, so a label always names one run.
    """
    names = names or {}
    trained = pd.to_datetime(runs["created_at"])
    base = [
        f"{names.get(model, model)} · {format_date(when.date())}"
        for model, when in zip(runs["model"], trained, strict=True)
    ]
    labels = pd.Series(base, index=runs.index, dtype=object)
    clash = labels.duplicated(keep=False)
    labels[clash] = labels[clash] + " · " + trained[clash].dt.strftime("%H:%M")
    clash = labels.duplicated(keep=False)
    labels[clash] = labels[clash] + " · " + runs.loc[clash, "run_id"].astype(str)
    return labels


def load_run(cur: duckdb.DuckDBPyConnection, run_id: str) -> tuple[ChurnModel, dict]:
    """Store and run_id -> (ChurnModel, row info cutoff, horizon_days, sklearn_version, params); KeyError when absent."""
    row = cur.execute(
        "SELECT model, cutoff, horizon_days, metrics, params, sklearn_version, artifact FROM model_runs WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        raise KeyError(run_id)
    kind, cutoff, horizon, metrics, params, version, artifact = row
    params = json.loads(params or "{}")
    estimator = load_model(bytes(artifact))
    model = ChurnModel(
        estimator, kind, params.get("numeric", []), params.get("categorical", []), json.loads(metrics or "{}"), params
    )
    info = {"cutoff": cutoff, "horizon_days": horizon, "sklearn_version": version, "params": params}
    return model, info


def save_scores(con: duckdb.DuckDBPyConnection, run_id: str, risk: pd.DataFrame) -> int:
    """Risk list (customer_id, probability, clv, value_at_risk) -> rows written to churn_scores for ``run_id`` (replacing earlier ones)."""
    frame = risk[["customer_id", "probability", "clv", "value_at_risk"]].copy()
    frame.insert(0, "run_id", run_id)

    def work(cur):
        cur.execute("DELETE FROM churn_scores WHERE run_id = ?", [run_id])
        cur.register("scores_frame", frame)
        cur.execute(
            "INSERT INTO churn_scores SELECT run_id, customer_id, probability, clv, value_at_risk, now() FROM scores_frame"
        )
        cur.unregister("scores_frame")
        return len(frame)

    return store.run_write(con, work)


def save_as_segment(
    con: duckdb.DuckDBPyConnection, name: str, customer_ids: Sequence[str], *, description: str = ""
) -> None:
    """Customer ids -> a saved segment ``name`` (replaced when it exists), usable as a global filter."""
    if not name.strip():
        raise ValueError("empty segment name")

    def work(cur):
        cur.execute("DELETE FROM saved_segments WHERE name = ?", [name])
        cur.execute("INSERT INTO saved_segments VALUES (?, ?, ?, now())", [name, description, list(customer_ids)])
        store.audit(cur, "segment_saved", name, f"{len(customer_ids)} customers from the churn risk list")

    store.run_write(con, work)
