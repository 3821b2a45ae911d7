"""Data quality along the four Vs (PRODUCT.md "Data — import and quality"), one score per table.

Every figure comes from aggregate SQL in DuckDB (a handful of scans per table); no table is pulled
into pandas, so the profile stays fast on tens of millions of rows. Only the drill-down returns
rows, and never more than ``limit``. Each check is counted the cheapest exact way (see
:func:`_check_counts`); the result is the same as testing every check on every row in one pass.

Scores (each 0..100, higher is better; ``None`` where a V does not apply):

- **volume** = 100 × months that received rows / calendar months from the oldest to the newest
  record (a month without new rows is a gap in the feed). Records dated after ``now`` are left out.
  A table without a time column (or without a dated record up to ``now``) scores 100 when it
  holds rows; an empty table scores 0.
- **velocity** (freshness) = 100 while the newest record is at most ``fresh_days`` (default 7) old,
  0 once it is ``stale_days`` (default 90) old or older, linear in between:
  ``100 × clip((stale_days − age_days) / (stale_days − fresh_days), 0, 1)``. An empty table scores
  0; a table without a time column (Kano answers, requirements) has no velocity (``None``).
- **variety** (completeness) = 100 × filled applicable cells / applicable cells, ``import_id`` not
  counted; a cell is filled when it is not NULL. A cell applies unless :data:`APPLICABILITY` says
  otherwise: ``customers.industry`` and ``employees`` apply to B2B customers only, ``birth_year`` to
  B2C customers only, and optional columns (``interactions.properties``, ``kano_responses.customer_id``,
  ``requirements.kano_feature``) are not counted at all. A row without a (valid) customer type has
  none of the three type-specific cells (its missing type already counts as an empty cell), and a
  value in a cell that does not apply counts neither way. Empty cells by design therefore cost
  nothing, while a column nobody fills and a row that holds little more than its key both lower
  the score: 4 B2B customers with their 12 applicable columns filled and 4 B2C customers with
  their 11 score 100; 2 more customers with only their id (type unknown: 10 applicable cells each,
  1 filled) bring it to 100 × (48 + 44 + 2) / (48 + 44 + 20) = 100 × 94 / 112 = 83.9. It is 0 for
  an empty table. Sources and channels are reported beside it but not scored: few sources or
  channels are a fact about the business, not an error.
- **veracity** = 100 × (1 − rows with at least one issue / rows); ``None`` for an empty table.
  The issues are the checks of :func:`checks` (missing required values, duplicate keys, invalid
  values, future dates, negative prices, outlying amounts, unknown customers).
- **overall** = weighted mean of the available V scores with :data:`WEIGHTS` (volume 0.2,
  velocity 0.2, variety 0.2, veracity 0.4); when a V is ``None`` the others are re-weighted to sum
  to 1.

Outliers follow Tukey's "far out" fence (Tukey 1977, *Exploratory Data Analysis*): an order-line
amount above Q3 + 3 × IQR of the amounts in the same currency, quartiles by linear interpolation
(``quantile_cont``, Hyndman & Fan 1996 type 7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analytics import schema

#: The canonical tables the quality profile covers, in the order a user loads them.
QUALITY_TABLES: tuple[str, ...] = schema.IMPORTABLE

#: The V scores, in display order.
VS: tuple[str, ...] = ("volume", "velocity", "variety", "veracity")

#: Weights of the V scores in the overall score (they sum to 1).
WEIGHTS: dict[str, float] = {"volume": 0.2, "velocity": 0.2, "variety": 0.2, "veracity": 0.4}


@dataclass(frozen=True)
class Applicability:
    """Where a column's cells count for variety.

    ``condition`` is SQL over the row's own columns (unqualified names), fixed in this module and
    never built from user input; a cell applies where it is true (NULL counts as false). ``None``
    means the column is optional by design and never counted. ``reason`` says why, for readers.
    """

    condition: str | None
    reason: str


#: (table, column) -> where the column applies, for variety; columns not listed apply to every row.
#: A rule never names a required or key column: those apply everywhere.
APPLICABILITY: dict[tuple[str, str], Applicability] = {
    ("customers", "industry"): Applicability("customer_type = 'B2B'", "a company's sector: B2B customers only"),
    ("customers", "employees"): Applicability("customer_type = 'B2B'", "a company's size: B2B customers only"),
    ("customers", "birth_year"): Applicability("customer_type = 'B2C'", "a person's birth year: B2C customers only"),
    ("interactions", "properties"): Applicability(
        None, "free-form details that only some events carry (purchases, reviews, service contacts)"
    ),
    ("kano_responses", "customer_id"): Applicability(
        None, "survey respondents need not be (known) customers; answers may be anonymous"
    ),
    ("requirements", "kano_feature"): Applicability(
        None, "named only where a requirement matches a Kano feature (not every requirement does)"
    ),
}


#: Columns of the long growth table (:func:`growth`, :attr:`Assessment.growth`).
GROWTH_COLUMNS: tuple[str, ...] = ("table", "month", "rows_added", "cumulative_rows")

#: Columns of :func:`null_counts` (and, after ``table``, of :attr:`Assessment.nulls`).
NULL_COLUMNS: tuple[str, ...] = ("column", "required", "nulls", "share")

#: Column that names the channel of a row, per table (checked against ``schema.CHANNELS``).
CHANNEL_COLUMNS: dict[str, str] = {
    "customers": "acquisition_channel",
    "interactions": "channel",
    "orders": "channel",
}

#: Largest gap between ``amount`` and ``quantity × unit_price`` still taken as rounding (one cent).
AMOUNT_TOLERANCE = 0.01

#: Multiple of the interquartile range above Q3 beyond which an amount counts as an outlier.
OUTLIER_IQR_FACTOR = 3.0

CUSTOMER_TYPES: tuple[str, ...] = ("B2B", "B2C")
MOSCOW_VALUES: tuple[str, ...] = (
    "must",
    "should",
    "could",
    "won't",
    "won’t",
    "wont",
    "must have",
    "should have",
    "could have",
    "won't have",
    "won’t have",
)
KANO_CODES: tuple[str, ...] = ("1", "2", "3", "4", "5", "1.0", "2.0", "3.0", "4.0", "5.0")
#: Answer texts (lower case, English and German) a Kano import may carry instead of codes.
KANO_TEXTS: tuple[str, ...] = (
    "like",
    "like it",
    "i like it",
    "i like it that way",
    "expect",
    "expect it",
    "i expect it",
    "must-be",
    "it must be that way",
    "neutral",
    "i am neutral",
    "i don't care",
    "tolerate",
    "tolerate it",
    "can tolerate it",
    "i can tolerate it",
    "i can live with it",
    "live with",
    "dislike",
    "dislike it",
    "i dislike it",
    "i dislike it that way",
    "gefällt mir",
    "das würde mich sehr freuen",
    "setze ich voraus",
    "das setze ich voraus",
    "erwarte ich",
    "ist mir egal",
    "egal",
    "kann ich in kauf nehmen",
    "nehme ich in kauf",
    "könnte ich hinnehmen",
    "stört mich",
    "das würde mich sehr stören",
    "gefällt mir nicht",
    "mag ich nicht",
)

#: Columns (besides import_id) that are not profiled as part of the table's content.
_BOOKKEEPING = ("import_id",)


@dataclass(frozen=True)
class Check:
    """One veracity check: a SQL condition over a row (alias ``t``) and the value that explains it.

    ``condition`` and ``detail`` may use ``d.dup_n`` (rows sharing the key), ``r.ref_id`` (the
    matching customer) and ``f.upper_fence`` (the outlier fence); ``needs`` says which of these
    helper relations the query has to join. ``group_by`` names the columns a condition reads when
    it reads nothing else (codes checked against a list): such a check is counted over the
    distinct values of those columns, weighted by their rows, instead of row by row.
    """

    name: str
    condition: str
    detail: str
    needs: frozenset[str] = frozenset()
    group_by: tuple[str, ...] = ()


# --- helpers ---------------------------------------------------------------------------------


def _table(name: str) -> schema.Table:
    if name not in QUALITY_TABLES:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(QUALITY_TABLES)}")
    return schema.TABLES[name]


def _q(identifier: str) -> str:
    """Double-quote an identifier taken from ``schema`` (never from user input)."""
    return '"' + identifier.replace('"', '""') + '"'


def _literals(values: tuple[str, ...]) -> str:
    """A SQL IN-list of constants from this module or ``schema`` (quotes escaped).

    Inlined rather than bound so the predicate stays plain, portable SQL that DuckDB turns into a
    hash lookup; the values are fixed vocabulary, never user input.
    """
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _content_columns(table: schema.Table) -> list[schema.Column]:
    return [c for c in table.columns if c.name not in _BOOKKEEPING]


def _time_column(table: schema.Table) -> str | None:
    return table.time_column


def _months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + (last.month - first.month) + 1


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now().replace(microsecond=0)


def _fetch_df(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


# --- checks ----------------------------------------------------------------------------------


def checks(table: str) -> dict[str, Check]:
    """Table name -> the veracity checks that apply to it, by check name, in display order.

    - ``missing_required``: a required column (``schema``) is NULL or blank text;
    - ``duplicate_key``: the row's key (``schema``, all parts present) occurs on more than one row
      (every row of such a group counts);
    - ``invalid_channel``: channel (customers: acquisition channel) not in ``schema.CHANNELS``;
    - ``invalid_stage`` (interactions): stage not in ``schema.STAGES``;
    - ``invalid_customer_type`` (customers): neither 'B2B' nor 'B2C';
    - ``out_of_range``: customers: birth year before 1900 or after ``now``'s year, negative
      employees; requirements: negative effort, urgency / importance / risk outside 1..5;
    - ``amount_mismatch`` (orders): amount differs from quantity × unit_price by more than one cent;
    - ``negative_price`` (orders): unit price below 0 (a negative quantity is a return, no error);
    - ``outlier_amount`` (orders): amount above Q3 + 3 × IQR of its currency;
    - ``invalid_answer`` (Kano): functional or dysfunctional answer neither a code 1..5 nor a
      known English or German answer text (:data:`KANO_TEXTS`);
    - ``invalid_moscow`` (requirements): priority not must / should / could / won't;
    - ``future_date``: time column (requirements: ``updated_at``) after ``now``;
    - ``unknown_customer``: customer id present but not in ``customers``.
    """
    spec = _table(table)
    found: dict[str, Check] = {}

    required = [c for c in spec.columns if c.required]
    if required:
        parts = []
        names = []
        for c in required:
            col = f"t.{_q(c.name)}"
            parts.append(f"{col} IS NULL" + (f" OR trim({col}) = ''" if c.type == "VARCHAR" else ""))
            names.append(
                f"CASE WHEN {col} IS NULL"
                + (f" OR trim({col}) = ''" if c.type == "VARCHAR" else "")
                + f" THEN '{c.name}' END"
            )
        found["missing_required"] = Check(
            "missing_required",
            " OR ".join(f"({p})" for p in parts),
            f"concat_ws(', ', {', '.join(names)})",
        )

    if spec.key:
        found["duplicate_key"] = Check(
            "duplicate_key", "d.dup_n IS NOT NULL", "CAST(d.dup_n AS VARCHAR)", frozenset({"dup"})
        )

    channel = CHANNEL_COLUMNS.get(table)
    if channel:
        col = f"t.{_q(channel)}"
        found["invalid_channel"] = Check(
            "invalid_channel",
            f"{col} IS NOT NULL AND {col} NOT IN ({_literals(schema.CHANNELS)})",
            col,
            group_by=(channel,),
        )

    if table == "interactions":
        found["invalid_stage"] = Check(
            "invalid_stage",
            f"t.stage IS NOT NULL AND t.stage NOT IN ({_literals(schema.STAGES)})",
            "t.stage",
            group_by=("stage",),
        )

    if table == "customers":
        found["invalid_customer_type"] = Check(
            "invalid_customer_type",
            f"t.customer_type IS NOT NULL AND t.customer_type NOT IN ({_literals(CUSTOMER_TYPES)})",
            "t.customer_type",
            group_by=("customer_type",),
        )
        found["out_of_range"] = Check(
            "out_of_range",
            "t.birth_year < 1900 OR t.birth_year > year(CAST($now AS TIMESTAMP)) OR t.employees < 0",
            "concat_ws(', ', CASE WHEN t.birth_year < 1900 OR t.birth_year > year(CAST($now AS TIMESTAMP))"
            " THEN 'birth_year=' || CAST(t.birth_year AS VARCHAR) END,"
            " CASE WHEN t.employees < 0 THEN 'employees=' || CAST(t.employees AS VARCHAR) END)",
        )

    if table == "orders":
        found["amount_mismatch"] = Check(
            "amount_mismatch",
            f"abs(t.amount - t.quantity * t.unit_price) > {AMOUNT_TOLERANCE} + 1e-9",
            "CAST(round(t.quantity * t.unit_price, 2) AS VARCHAR)",
        )
        found["negative_price"] = Check("negative_price", "t.unit_price < 0", "CAST(t.unit_price AS VARCHAR)")
        found["outlier_amount"] = Check(
            "outlier_amount",
            "t.amount > f.upper_fence",
            "CAST(round(f.upper_fence, 2) AS VARCHAR)",
            frozenset({"fence"}),
        )

    if table == "kano_responses":
        valid = "trim({c}) IN ({codes}) OR lower(trim({c})) IN ({texts})"
        conds = []
        for c in ("functional", "dysfunctional"):
            col = f"t.{c}"
            conds.append(
                f"({col} IS NOT NULL AND NOT ({valid.format(c=col, codes=_literals(KANO_CODES), texts=_literals(KANO_TEXTS))}))"
            )
        found["invalid_answer"] = Check(
            "invalid_answer",
            " OR ".join(conds),
            "concat_ws(' / ', t.functional, t.dysfunctional)",
            group_by=("functional", "dysfunctional"),
        )

    if table == "requirements":
        found["invalid_moscow"] = Check(
            "invalid_moscow",
            f"t.moscow IS NOT NULL AND lower(trim(t.moscow)) NOT IN ({_literals(MOSCOW_VALUES)})",
            "t.moscow",
            group_by=("moscow",),
        )
        scales = ("urgency", "importance", "risk")
        found["out_of_range"] = Check(
            "out_of_range",
            "t.effort < 0 OR " + " OR ".join(f"t.{s} < 1 OR t.{s} > 5" for s in scales),
            "concat_ws(', ', CASE WHEN t.effort < 0 THEN 'effort=' || CAST(t.effort AS VARCHAR) END, "
            + ", ".join(f"CASE WHEN t.{s} < 1 OR t.{s} > 5 THEN '{s}=' || CAST(t.{s} AS VARCHAR) END" for s in scales)
            + ")",
        )

    time_col = _time_column(spec) or ("updated_at" if table == "requirements" else None)
    if time_col:
        col = f"t.{_q(time_col)}"
        found["future_date"] = Check(
            "future_date", f"CAST({col} AS TIMESTAMP) > CAST($now AS TIMESTAMP)", f"CAST({col} AS VARCHAR)"
        )

    if spec.customer_column and table != "customers":
        col = f"t.{_q(spec.customer_column)}"
        found["unknown_customer"] = Check(
            "unknown_customer", f"{col} IS NOT NULL AND r.ref_id IS NULL", col, frozenset({"ref"})
        )
    return found


def _from_clause(spec: schema.Table, needs: set[str]) -> tuple[str, str]:
    """(WITH prefix, FROM clause) joining the helper relations the given checks need."""
    ctes: list[str] = []
    joins = [f"{_q(spec.name)} t"]
    if "dup" in needs and spec.key:
        keys = ", ".join(_q(k) for k in spec.key)
        not_null = " AND ".join(f"{_q(k)} IS NOT NULL" for k in spec.key)
        ctes.append(
            f"dup AS (SELECT {keys}, count(*) AS dup_n FROM {_q(spec.name)} WHERE {not_null}"
            f" GROUP BY {keys} HAVING count(*) > 1)"
        )
        on = " AND ".join(f"t.{_q(k)} = d.{_q(k)}" for k in spec.key)
        joins.append(f"LEFT JOIN dup d ON {on}")
    if "ref" in needs and spec.customer_column:
        ctes.append("ref AS (SELECT DISTINCT customer_id AS ref_id FROM customers WHERE customer_id IS NOT NULL)")
        joins.append(f"LEFT JOIN ref r ON t.{_q(spec.customer_column)} = r.ref_id")
    if "fence" in needs:
        # One fence per currency: amounts in different currencies are not comparable.
        ctes.append(
            "quartiles AS (SELECT currency, quantile_cont(amount, 0.25) AS q1, quantile_cont(amount, 0.75) AS q3"
            f" FROM {_q(spec.name)} GROUP BY currency),"
            f" fence AS (SELECT currency, q3 + {OUTLIER_IQR_FACTOR} * (q3 - q1) AS upper_fence FROM quartiles)"
        )
        joins.append("LEFT JOIN fence f ON t.currency IS NOT DISTINCT FROM f.currency")
    prefix = ("WITH " + ", ".join(ctes) + " ") if ctes else ""
    return prefix, " ".join(joins)


def _bool(condition: str) -> str:
    return f"coalesce(({condition}), FALSE)"


def _now_params(sql: str, now: dt.datetime) -> dict | list:
    return {"now": now} if "$now" in sql else []


def _row_checks(found: dict[str, Check]) -> dict[str, Check]:
    """The checks that read only the row itself, row by row (no helper relation, no code list)."""
    return {n: c for n, c in found.items() if not c.needs and not c.group_by}


def _row_check_selects(spec: schema.Table, found: dict[str, Check], names: list[str]) -> list[str]:
    """Scalar subqueries, aliased ``check_<name>``, counting the rows failing each named row-by-row
    check. A condition in ``WHERE`` (rather than ``count(*) FILTER``) reaches the scan, so a range
    test such as a future date is answered from the row groups' min/max.
    """
    return [f"(SELECT count(*) FROM {_q(spec.name)} t WHERE {found[n].condition}) AS {_q('check_' + n)}" for n in names]


def _proven_clean(con: duckdb.DuckDBPyConnection, spec: schema.Table, found: dict[str, Check]) -> dict[str, int]:
    """Row checks that no row can fail, proven without reading the rows: ``{name: 0}``.

    ``missing_required`` needs a required value that is NULL or blank. A blank text (``trim``
    strips spaces, including Unicode ones such as U+00A0) is empty or starts with a space or a
    non-ASCII character, so it is below ``'!'`` or at least ``chr(128)``. DuckDB answers
    ``count(column)`` of a column without NULLs and such a range test from the column statistics
    and row-group min/max, so this costs next to nothing; when either finds a row, the check is
    counted row by row as before.
    """
    if "missing_required" not in found:
        return {}
    table = _q(spec.name)
    required = [c for c in spec.columns if c.required]
    parts = [f"(SELECT count(*) - count({_q(c.name)}) FROM {table})" for c in required]
    parts += [
        f"(SELECT count(*) FROM {table} WHERE {_q(c.name)} < '!' OR {_q(c.name)} >= chr(128))"
        for c in required
        if c.type == "VARCHAR"
    ]
    if any(con.execute(f"SELECT {', '.join(parts)}").fetchone()):
        return {}
    return {"missing_required": 0}


def _row_check_counts(
    con: duckdb.DuckDBPyConnection, spec: schema.Table, found: dict[str, Check], now: dt.datetime
) -> dict[str, int]:
    """Rows failing each row-by-row check: those proven clean, the others in one scan."""
    counts = _proven_clean(con, spec, found)
    names = [n for n in _row_checks(found) if n not in counts]
    if names:
        sql = f"SELECT {', '.join(_row_check_selects(spec, found, names))}"
        counts.update(zip(names, con.execute(sql, _now_params(sql, now)).fetchone(), strict=True))
    return counts


def _grouped_counts(con: duckdb.DuckDBPyConnection, spec: schema.Table, found: dict[str, Check]) -> dict[str, int]:
    """Rows failing each code-list check, counted over the distinct values of the columns read."""
    grouped = {n: c for n, c in found.items() if c.group_by and not c.needs}
    if not grouped:
        return {}
    columns = list(dict.fromkeys(col for c in grouped.values() for col in c.group_by))
    keys = ", ".join(_q(col) for col in columns)
    sums = ", ".join(f"coalesce(sum(t.n) FILTER (WHERE {_bool(c.condition)}), 0)" for c in grouped.values())
    row = con.execute(
        f"SELECT {sums} FROM (SELECT {keys}, count(*) AS n FROM {_q(spec.name)} GROUP BY {keys}) t"
    ).fetchone()
    return {n: int(v) for n, v in zip(grouped, row, strict=True)}


def _duplicate_rows(con: duckdb.DuckDBPyConnection, spec: schema.Table) -> int:
    """Rows whose key (all parts present) occurs on more than one row: the sizes of the repeated
    keys' groups, summed (no join back to the rows).
    """
    keys = ", ".join(_q(k) for k in spec.key)
    not_null = " AND ".join(f"{_q(k)} IS NOT NULL" for k in spec.key)
    row = con.execute(
        f"SELECT coalesce(sum(dup_n), 0) FROM (SELECT count(*) AS dup_n FROM {_q(spec.name)} WHERE {not_null}"
        f" GROUP BY {keys} HAVING count(*) > 1)"
    ).fetchone()
    return int(row[0])


def _unknown_customer_counts(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> dict[str, int]:
    """Table names -> rows whose customer id is present but not among the customers, for each of
    them that has the check: one anti-join over all of them, so the customers' ids are hashed once.
    """
    names = [t for t in tables if "unknown_customer" in checks(t)]
    if not names:
        return {}
    rows = " UNION ALL ".join(
        f"SELECT {i} AS src, {_q(schema.TABLES[t].customer_column)} AS customer_id FROM {_q(t)}"
        for i, t in enumerate(names)
    )
    found = dict(
        con.execute(
            f"SELECT src, count(*) FROM ({rows}) u WHERE customer_id IS NOT NULL"
            " AND NOT (customer_id IN (SELECT customer_id FROM customers WHERE customer_id IS NOT NULL)) GROUP BY src"
        ).fetchall()
    )
    return {t: int(found.get(i, 0)) for i, t in enumerate(names)}


def _check_counts(
    con: duckdb.DuckDBPyConnection,
    spec: schema.Table,
    found: dict[str, Check],
    now: dt.datetime,
    row_counts: dict[str, int] | None = None,
    unknown_customers: int | None = None,
) -> dict[str, int]:
    """Check name -> rows failing it, plus ``"any"`` (rows failing at least one check).

    Each check is counted the cheapest exact way: the row-by-row checks proven clean from column
    statistics or counted in ``WHERE`` subqueries (or taken from ``row_counts`` when the caller
    already counted them), code lists over distinct values, duplicates by the sizes of repeated
    keys, unknown customers by an anti-join (or taken from ``unknown_customers``). Rows with at
    least one issue are the union of the failing rows; checks that no row fails cannot add to it,
    so when at most one check fails anywhere that check's count is the answer, and otherwise the
    rows are counted once over the failing checks only (the helper relations of the others are
    not built).
    """
    if row_counts is None:
        row_counts = _row_check_counts(con, spec, found, now)
    counts: dict[str, int] = {n: int(row_counts[n]) for n in _row_checks(found)}
    counts.update(_grouped_counts(con, spec, found))
    for name, c in found.items():
        if name in counts:
            continue
        if c.needs == frozenset({"dup"}):
            counts[name] = _duplicate_rows(con, spec)
        elif c.needs == frozenset({"ref"}):
            if unknown_customers is None:
                unknown_customers = _unknown_customer_counts(con, (spec.name,))[spec.name]
            counts[name] = unknown_customers
        else:
            prefix, source = _from_clause(spec, set(c.needs))
            sql = f"{prefix}SELECT count(*) FILTER (WHERE {_bool(c.condition)}) FROM {source}"
            counts[name] = int(con.execute(sql, _now_params(sql, now)).fetchone()[0])
    counts = {name: counts[name] for name in found}
    failing = [name for name, n in counts.items() if n > 0]
    if len(failing) <= 1:
        counts["any"] = counts[failing[0]] if failing else 0
    else:
        needs: set[str] = set().union(*(found[n].needs for n in failing))
        prefix, source = _from_clause(spec, needs)
        any_issue = " OR ".join(_bool(found[n].condition) for n in failing)
        sql = f"{prefix}SELECT count(*) FILTER (WHERE {any_issue}) FROM {source}"
        counts["any"] = int(con.execute(sql, _now_params(sql, now)).fetchone()[0])
    return counts


def _counts_frame(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"check": list(counts), "rows": [int(v) for v in counts.values()]})


def issue_counts(con: duckdb.DuckDBPyConnection, table: str, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Table name -> one row per check with ``check`` and ``rows`` (rows failing it), plus a final
    row ``check="any"`` counting rows with at least one issue.

    The counts are those of one pass that tests every check on every row (each row of the table
    once, the helper relations joined); see :func:`_check_counts` for how they are reached faster.
    """
    spec = _table(table)
    return _counts_frame(_check_counts(con, spec, checks(table), _now(now)))


def offending_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    check: str,
    *,
    now: dt.datetime | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Table name and check name -> the rows failing the check: ``reason`` (the check name),
    ``detail`` (the value that fails, as text), then the table's columns; at most ``limit`` rows,
    ordered by the table's key.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection or cursor on the store.
    table : str
        One of :data:`QUALITY_TABLES`.
    check : str
        A check name from :func:`checks` for that table.
    now : datetime, default=None
        Reference time for ``future_date`` and ``out_of_range`` (default: the current local time).
    limit : int, default=500
        Largest number of rows returned.

    Returns
    -------
    pandas.DataFrame
        Columns ``reason``, ``detail`` and the table's columns; empty (with those columns) when no
        row fails.

    Raises
    ------
    ValueError
        For an unknown table or a check that does not apply to the table.
    """
    spec = _table(table)
    found = checks(table)
    if check not in found:
        raise ValueError(f"check {check!r} does not apply to {table}; expected one of {', '.join(found)}")
    if limit < 0:
        raise ValueError("limit must be zero or positive")
    c = found[check]
    prefix, source = _from_clause(spec, set(c.needs))
    columns = ", ".join(f"t.{_q(name)}" for name in spec.column_names)
    order = ", ".join(f"t.{_q(k)}" for k in spec.key) or "1"
    sql = (
        f"{prefix}SELECT $check AS reason, {c.detail} AS detail, {columns} FROM {source}"
        f" WHERE {_bool(c.condition)} ORDER BY {order} NULLS FIRST LIMIT $limit"
    )
    params: dict = {"check": check, "limit": int(limit)}
    if "$now" in sql:
        params["now"] = _now(now)
    return _fetch_df(con, sql, params)


# --- the four Vs -----------------------------------------------------------------------------


def null_counts(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """Table name -> one row per column with ``column``, ``required``, ``nulls`` and ``share``
    (nulls / rows; NaN for an empty table). One scan of the table.
    """
    spec = _table(table)
    cols = _content_columns(spec)
    selects = ["count(*)"] + [f"count({_q(c.name)})" for c in cols]
    row = con.execute(f"SELECT {', '.join(selects)} FROM {_q(spec.name)}").fetchone()
    return _null_frame(cols, int(row[0]), [int(v) for v in row[1:]])


def _null_frame(cols: list[schema.Column], total: int, filled: list[int]) -> pd.DataFrame:
    """Rows and values per column -> the frame of :func:`null_counts`."""
    nulls = [total - v for v in filled]
    return pd.DataFrame(
        {
            "column": [c.name for c in cols],
            "required": [c.required for c in cols],
            "nulls": nulls,
            "share": [n / total if total else float("nan") for n in nulls],
        }
    )


def monthly_growth(con: duckdb.DuckDBPyConnection, table: str, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Table name -> one row per calendar month from the oldest to the newest record with ``month``
    (first day, date), ``rows_added`` (0 for a gap) and ``cumulative_rows``; records dated after
    ``now`` are left out. Empty for a table without a time column or without dated rows.
    """
    spec = _table(table)
    time_col = _time_column(spec)
    empty = pd.DataFrame({"month": pd.Series(dtype="object"), "rows_added": [], "cumulative_rows": []})
    if not time_col:
        return empty
    col = _q(time_col)
    frame = _fetch_df(
        con,
        f"SELECT CAST(date_trunc('month', CAST({col} AS TIMESTAMP)) AS DATE) AS month, count(*) AS rows_added"
        f" FROM {_q(spec.name)} WHERE {col} IS NOT NULL AND CAST({col} AS TIMESTAMP) <= CAST($now AS TIMESTAMP)"
        " GROUP BY 1 ORDER BY 1",
        {"now": _now(now)},
    )
    if frame.empty:
        return empty
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    first, last = frame["month"].iloc[0], frame["month"].iloc[-1]
    months = [
        dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(_months_between(first, last))
    ]
    added = dict(zip(frame["month"], frame["rows_added"], strict=True))
    rows = [int(added.get(m, 0)) for m in months]
    out = pd.DataFrame({"month": months, "rows_added": rows})
    out["cumulative_rows"] = out["rows_added"].cumsum()
    return out


def _conditional_rules(spec: schema.Table) -> dict[str, Applicability]:
    """Column name -> its :data:`APPLICABILITY` rule, for the table's columns that apply under a condition."""
    return {
        c.name: rule
        for c in _content_columns(spec)
        if (rule := APPLICABILITY.get((spec.name, c.name))) is not None and rule.condition is not None
    }


def _applicable_selects(spec: schema.Table) -> list[str]:
    """Aggregates for variety, added to the scan of :func:`_stats`: per conditional column its
    filled applicable cells (``a_<column>``), and per distinct condition the rows it holds for
    (``applies_<i>``, numbered in order of first use).
    """
    rules = _conditional_rules(spec)
    selects = [
        f"count({_q(name)}) FILTER (WHERE {rule.condition}) AS {_q('a_' + name)}" for name, rule in rules.items()
    ]
    conditions = list(dict.fromkeys(rule.condition for rule in rules.values()))
    selects += [f"count(*) FILTER (WHERE {cond}) AS applies_{i}" for i, cond in enumerate(conditions)]
    return selects


def _variety_cells(spec: schema.Table, stats: dict) -> tuple[int, int]:
    """Figures of :func:`_stats` -> (filled applicable cells, applicable cells) over the content columns."""
    rows = int(stats["rows"])
    rules = _conditional_rules(spec)
    conditions = list(dict.fromkeys(rule.condition for rule in rules.values()))
    filled = applicable = 0
    for c in _content_columns(spec):
        rule = APPLICABILITY.get((spec.name, c.name))
        if rule is None:
            filled += int(stats["n_" + c.name])
            applicable += rows
        elif rule.condition is not None:
            filled += int(stats["a_" + c.name])
            applicable += int(stats[f"applies_{conditions.index(rule.condition)}"])
    return filled, applicable


def _stats(
    con: duckdb.DuckDBPyConnection, spec: schema.Table, now: dt.datetime, *, row_checks: tuple[str, ...] = ()
) -> dict:
    """One scan: rows, filled columns, applicable and filled applicable cells (variety), imports,
    channels used and the velocity figures; also the rows failing each of the named row-by-row
    checks (keys ``check_<name>``).
    """
    cols = _content_columns(spec)
    selects = ['count(*) AS "rows"']
    selects += [f"count({_q(c.name)}) AS {_q('n_' + c.name)}" for c in cols]
    selects += _applicable_selects(spec)
    selects.append("count(DISTINCT import_id) AS imports")
    selects.append("count(*) - count(import_id) AS rows_without_import")
    channel = CHANNEL_COLUMNS.get(spec.name)
    if channel:
        selects.append(
            f"count(DISTINCT {_q(channel)}) FILTER (WHERE {_q(channel)} IN ({_literals(schema.CHANNELS)}))"
            " AS channels_used"
        )
    time_col = _time_column(spec)
    if time_col:
        t = f"CAST({_q(time_col)} AS TIMESTAMP)"
        now_sql = "CAST($now AS TIMESTAMP)"
        # Subqueries with WHERE: the time range reaches the scan (row groups skipped by min/max).
        table = _q(spec.name)
        selects.append(f"(SELECT max({t}) FROM {table} WHERE {t} <= {now_sql}) AS newest")
        for days in (30, 90):
            selects.append(
                f"(SELECT count(*) FROM {table} WHERE {t} > {now_sql} - INTERVAL {days} DAY AND {t} <= {now_sql})"
                f" AS last_{days}"
            )
    if row_checks:
        selects += _row_check_selects(spec, checks(spec.name), list(row_checks))
    sql = f"SELECT {', '.join(selects)} FROM {_q(spec.name)} t"
    cursor = con.execute(sql, _now_params(sql, now))
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def _files(con: duckdb.DuckDBPyConnection, spec: schema.Table) -> int:
    row = con.execute(
        f"SELECT count(DISTINCT file_name) FROM imports WHERE import_id IN"
        f" (SELECT DISTINCT import_id FROM {_q(spec.name)} WHERE import_id IS NOT NULL)"
    ).fetchone()
    return int(row[0])


def velocity_score(age_days: float | None, *, fresh_days: float = 7, stale_days: float = 90) -> float:
    """Age of the newest record in days -> velocity score 0..100 (100 up to ``fresh_days``, 0 from
    ``stale_days``, linear between); ``None`` (no dated record) -> 0.
    """
    if stale_days <= fresh_days:
        raise ValueError("stale_days must be greater than fresh_days")
    if age_days is None:
        return 0.0
    return 100.0 * min(1.0, max(0.0, (stale_days - age_days) / (stale_days - fresh_days)))


def overall_score(scores: dict[str, float | None], *, weights: dict[str, float] | None = None) -> float | None:
    """V scores by name (``None`` = not applicable) -> weighted mean over the available ones, the
    weights re-normalised to sum to 1; ``None`` when no V applies.
    """
    weights = weights or WEIGHTS
    available = {v: s for v, s in scores.items() if s is not None and weights.get(v, 0) > 0}
    total = sum(weights[v] for v in available)
    if not total:
        return None
    return sum(weights[v] * s for v, s in available.items()) / total


def table_profile(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    now: dt.datetime | None = None,
    fresh_days: float = 7,
    stale_days: float = 90,
) -> dict:
    """Table name -> dict of the four V figures and scores (the keys of :func:`profile`'s columns)."""
    return _table_profile(con, table, now=now, fresh_days=fresh_days, stale_days=stale_days)[0]


def _table_profile(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    now: dt.datetime | None,
    fresh_days: float,
    stale_days: float,
    unknown_customers: int | None = None,
) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    spec = _table(table)
    now = _now(now)
    found = checks(table)
    clean = _proven_clean(con, spec, found)
    scanned = tuple(n for n in _row_checks(found) if n not in clean)
    stats = _stats(con, spec, now, row_checks=scanned)
    rows = int(stats["rows"])
    cols = _content_columns(spec)
    time_col = _time_column(spec)

    # Volume.
    growth = monthly_growth(con, table, now=now)
    months_spanned = len(growth)
    months_with_rows = int((growth["rows_added"] > 0).sum()) if months_spanned else 0
    if rows == 0:
        volume = 0.0
    elif months_spanned:
        volume = 100.0 * months_with_rows / months_spanned
    else:
        volume = 100.0

    # Velocity.
    newest = stats.get("newest")
    age_hours = (now - newest).total_seconds() / 3600 if newest is not None else None
    velocity = (
        velocity_score(age_hours / 24 if age_hours is not None else None, fresh_days=fresh_days, stale_days=stale_days)
        if time_col
        else None
    )

    # Variety: filled applicable cells over applicable cells, from the counts of the same scan.
    filled_per_column = [int(stats["n_" + c.name]) for c in cols]
    filled = sum(1 for n in filled_per_column if n > 0)
    cells_filled, cells_applicable = _variety_cells(spec, stats)
    variety = 100.0 * cells_filled / cells_applicable if cells_applicable else 0.0

    # Veracity.
    row_counts = {**clean, **{n: stats["check_" + n] for n in scanned}}
    issues = _counts_frame(_check_counts(con, spec, found, now, row_counts, unknown_customers))
    with_issues = int(issues.loc[issues["check"] == "any", "rows"].iloc[0])
    veracity = 100.0 * (1 - with_issues / rows) if rows else None

    scores = {"volume": volume, "velocity": velocity, "variety": variety, "veracity": veracity}
    record = {
        "table": table,
        "rows": rows,
        **scores,
        "overall": overall_score(scores),
        "months_with_rows": months_with_rows,
        "months_spanned": months_spanned,
        "newest": newest,
        "freshness_hours": age_hours,
        "events_per_day_30": stats["last_30"] / 30 if time_col else None,
        "events_per_day_90": stats["last_90"] / 90 if time_col else None,
        "imports": int(stats["imports"]),
        "files": _files(con, spec),
        "rows_without_import": int(stats["rows_without_import"]),
        "channels_used": int(stats["channels_used"]) if "channels_used" in stats else None,
        "channels_known": len(schema.CHANNELS) if "channels_used" in stats else None,
        "columns_filled": filled,
        "columns_total": len(cols),
        "cells_filled": cells_filled,
        "cells_applicable": cells_applicable,
        "rows_with_issues": with_issues,
    }
    nulls = _null_frame(cols, rows, filled_per_column)
    return record, issues, growth, nulls


def profile(
    con: duckdb.DuckDBPyConnection,
    *,
    now: dt.datetime | None = None,
    tables: tuple[str, ...] = QUALITY_TABLES,
    fresh_days: float = 7,
    stale_days: float = 90,
) -> pd.DataFrame:
    """Store -> one row per canonical table with its four V scores and the figures behind them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection or cursor on the store.
    now : datetime, default=None
        Reference time for freshness, the 30/90-day rates and future dates (default: now, local).
    tables : tuple of str, default=QUALITY_TABLES
        Tables to profile.
    fresh_days, stale_days : float, default=7, 90
        Ages of the newest record at which velocity is 100 and 0 (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Columns: table, rows, volume, velocity, variety, veracity, overall (scores 0..100 or
        None), months_with_rows, months_spanned, newest, freshness_hours, events_per_day_30,
        events_per_day_90, imports, files, rows_without_import, channels_used, channels_known,
        columns_filled, columns_total, cells_filled, cells_applicable, rows_with_issues
        (``cells_*`` count the cells that apply, see :data:`APPLICABILITY`).
    """
    return assess(con, now=now, tables=tables, fresh_days=fresh_days, stale_days=stale_days).scores


@dataclass(frozen=True)
class Assessment:
    """Everything the quality panel shows, from one pass over the tables.

    ``scores`` is :func:`profile`; ``issues`` has ``table``, ``check``, ``rows`` (as
    :func:`issue_counts`, including ``check="any"``); ``growth`` is :func:`growth`; ``nulls`` has
    ``table`` and the columns of :func:`null_counts`, from the same scan as the scores;
    ``measured_at`` is the reference time the figures were computed for (the ``now`` of
    :func:`assess`).
    """

    scores: pd.DataFrame
    issues: pd.DataFrame
    growth: pd.DataFrame
    nulls: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["table", *NULL_COLUMNS]))
    measured_at: dt.datetime | None = None


def assess(
    con: duckdb.DuckDBPyConnection,
    *,
    now: dt.datetime | None = None,
    tables: tuple[str, ...] = QUALITY_TABLES,
    fresh_days: float = 7,
    stale_days: float = 90,
) -> Assessment:
    """Store -> :class:`Assessment` (scores, issue counts and monthly growth of every table) from the
    same scans, so a panel that shows all three reads each table only once; ``measured_at`` is
    ``now`` (default: the current local time, to the second).
    """
    now = _now(now)
    records, issues, growths, nulls = [], [], [], []
    unknown = _unknown_customer_counts(con, tables)
    for t in tables:
        record, counts, monthly, missing = _table_profile(
            con, t, now=now, fresh_days=fresh_days, stale_days=stale_days, unknown_customers=unknown.get(t)
        )
        records.append(record)
        nulls.append(missing.assign(table=t)[["table", *NULL_COLUMNS]])
        issues.append(counts.assign(table=t)[["table", "check", "rows"]])
        if not monthly.empty:
            growths.append(monthly.assign(table=t)[list(GROWTH_COLUMNS)])
    growth_frame = pd.concat(growths, ignore_index=True) if growths else pd.DataFrame(columns=list(GROWTH_COLUMNS))
    return Assessment(
        pd.DataFrame.from_records(records),
        pd.concat(issues, ignore_index=True),
        growth_frame,
        pd.concat(nulls, ignore_index=True) if nulls else pd.DataFrame(columns=["table", *NULL_COLUMNS]),
        measured_at=now,
    )


def growth(
    con: duckdb.DuckDBPyConnection, *, now: dt.datetime | None = None, tables: tuple[str, ...] = QUALITY_TABLES
) -> pd.DataFrame:
    """Store -> long table of :func:`monthly_growth` for every table with a time column:
    ``table``, ``month``, ``rows_added``, ``cumulative_rows``.
    """
    parts = []
    for t in tables:
        frame = monthly_growth(con, t, now=now)
        if not frame.empty:
            parts.append(frame.assign(table=t)[list(GROWTH_COLUMNS)])
    if not parts:
        return pd.DataFrame(columns=list(GROWTH_COLUMNS))
    return pd.concat(parts, ignore_index=True)


# --- privacy in the drill-down ---------------------------------------------------------------


def mask_email(value: object) -> object:
    """'anna.berg@example.com' -> 'a…@example.com'; text without '@' -> first character + '…';
    None/NaN unchanged.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return text
    local, at, domain = text.partition("@")
    if at and domain:
        return f"{local[:1]}…@{domain}"
    return f"{text[:1]}…"


def mask_text(value: object) -> object:
    """'Anna Berg' -> 'A…'; None/NaN and non-text unchanged."""
    if not isinstance(value, str) or not value.strip():
        return value
    return f"{value.strip()[:1]}…"


def mask_personal(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Rows of ``table`` -> copy with personal text columns masked (e-mail: first character and
    domain; other personal text: first character); other columns and the input unchanged.
    """
    spec = _table(table)
    out = frame.copy()
    for c in spec.columns:
        if not c.personal or c.type != "VARCHAR" or c.name not in out.columns:
            continue
        masker = mask_email if c.name == "email" else mask_text
        out[c.name] = out[c.name].map(masker).astype(object)
    return out
