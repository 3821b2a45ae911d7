"""Journeys: conversion funnels, paths, the channel × stage touchpoint matrix and moments of truth.

Funnel semantics
----------------
The funnel follows the rules of the leading product-analytics tools (PostHog's funnel engine), so an
analyst who moves from one of them gets the same numbers. Events are one row per customer action
(``customer_id``, ``event``, ``occurred_at``); ``steps`` is the ordered list of event names.

1. **Entry.** A customer enters at a step-1 event. Only events after that step-1 event can advance
   them; a step-2 event before any step-1 event counts for nothing.
2. **Window.** The conversion window is measured from the step-1 event to every later step, in
   absolute time, and the boundary is inclusive: with 14 days, an event exactly 14 days later counts.
3. **Attempts.** Every step-1 event starts a new attempt. An attempt takes, for each step, the earliest
   matching event after the event that filled the step before. A customer is counted at the furthest
   step any attempt reached, so step *k* counts "customers whose furthest step is at least *k*" and the
   counts never rise from step to step.
4. **One event, one step.** Within an attempt an event fills at most one step: a funnel that lists the
   same event twice needs two occurrences of it.
5. **First full conversion.** The attempt that counts for a customer is the one that reached their
   furthest step first (for a converted customer: the first full conversion); when several attempts
   reach it with the same event, the one that started last counts. Its timestamps give the timings,
   and later attempts are ignored.
6. **Same timestamp.** Events of different steps at the same instant are taken in step order, so a
   step-1 and a step-2 event at the same second convert. Exclusion events at the same instant as a step
   event are taken after it.
7. **Order.** ``"ordered"``: other events may happen between the steps. ``"strict"``: any other event
   of the customer between two steps (any event in the input, not only step events) breaks the
   attempt. ``"unordered"``: the steps may happen in any order within the window from the first of
   them; an attempt starts at every step event and row *k* counts customers who did at least *k* of
   the steps.
8. **Exclusions** ``(event, from_step, to_step)`` (1-based). In ordered and strict funnels an exclusion
   event that happens after the attempt reached ``from_step``, before it reached ``to_step`` and inside
   its window spoils the attempt. A customer whose furthest attempt is spoiled drops out of the funnel
   entirely, unless a clean attempt gets them as far. In unordered funnels an exclusion event ends
   every attempt in progress (progress resets): steps done before it still count, later events start
   afresh.
9. **Time to convert** per step is measured from the previous step of the attempt that counted. Mean
   and median leave out zero-second conversions; :func:`time_to_convert` gives the distribution as bins.
10. **Over time.** In :func:`conversion_trend` a customer belongs to the period (day, week or month) of
    the step-1 event of an attempt; a customer with attempts in several periods counts in each, and
    converts in a period when an attempt started there converts.

Options beyond the leading tools: ``step_windows`` gives each step its own window measured from the
previous step (in addition to the overall window; ordered and strict funnels), and
:func:`time_to_convert_trend` shows time to convert by entry period.

Engine
------
The work runs in DuckDB; no Python loop touches events. Two plans, both exact (customers are grouped
and joined by their id itself, so two customers are never mixed):

- **List plan** (ordered funnels without exclusions whose step names all differ: the common case).
  One hash aggregate gathers each customer's step times into one unsorted list per step; every
  step-1 time becomes an attempt, and its step *k* is the smallest step-*k* time at or after its
  step *k-1* (``list_min`` of ``list_filter``), kept inside the window. No sort and no join over the
  events; only attempts that got past step 1 are ranked.
- **Window plan** (a repeated step name, strict and unordered funnels, exclusions). One window pass
  numbers each customer's step events (a running count per step), and each step is then found with
  an equality join on "the next step-*k* event after the previous one". Only step events enter the
  sort, carrying just the id, a packed time-and-step key and the step number.

A customer stuck at step 1 counts with their first step-1 event. Ordered funnels check their step
events inside the main query: an event without a time or a customer stops it (``error``), and the step
names are looked up only when nobody reached the last step (a conversion proves every name exists), so
no separate scan validates the input. Apart from ``error`` (``raise_error`` in Spark), ``arg_min``
(Spark ``min_by``; with a struct key where the packed HUGEINT key does not fit), ``median``
(``percentile_cont``) and the list functions of the list plan (Spark ``collect_list`` and ``filter``)
the SQL is portable; :func:`paths` uses DuckDB list aggregates behind one function (see its note).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics import schema, store
from analytics.filters import Filters, customer_scope, period_condition

ORDERS = ("ordered", "strict", "unordered")
PERIODS = ("day", "week", "month")
FUNNEL_COLUMNS = (
    "step",
    "name",
    "customers",
    "conversion_from_start",
    "conversion_from_previous",
    "median_seconds",
    "mean_seconds",
)
_US = 1_000_000
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Message of the in-query guard against funnel events without a time or a customer (see _run).
_NULL_GUARD = "funnel event without a time or a customer"


class FunnelInputError(ValueError):
    """Bad funnel input, worded for the person who chose it (shown as is on the page)."""


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelSpec:
    """A validated funnel definition (times in microseconds)."""

    steps: tuple[str, ...]
    window_us: int
    order: str
    exclusions: tuple[tuple[str, int, int], ...]
    step_windows_us: tuple[int | None, ...]

    @property
    def n(self) -> int:
        return len(self.steps)


def _micros(value: dt.timedelta) -> int:
    return int(round(value.total_seconds() * _US))


def make_spec(
    steps: Sequence[str],
    *,
    window: dt.timedelta = dt.timedelta(days=14),
    order: str = "ordered",
    exclusions: Sequence[tuple[str, int, int]] = (),
    step_windows: Sequence[dt.timedelta | None] | None = None,
) -> FunnelSpec:
    """Funnel options -> a validated :class:`FunnelSpec`; raises :class:`FunnelInputError` on bad input."""
    steps = tuple(str(s) for s in steps)
    if len(steps) < 2:
        raise FunnelInputError("A funnel needs at least two steps.")
    if any(not s.strip() for s in steps):
        raise FunnelInputError("Every funnel step needs an event name.")
    if not isinstance(window, dt.timedelta):
        raise FunnelInputError("The conversion window must be a duration (for example 14 days).")
    if window <= dt.timedelta(0):
        raise FunnelInputError("The conversion window must be longer than zero.")
    if order not in ORDERS:
        raise FunnelInputError(f"Unknown funnel order {order!r}; choose ordered, strict or unordered.")
    clean_exclusions = []
    for item in exclusions:
        try:
            event, first, last = item
            first, last = int(first), int(last)
        except (TypeError, ValueError):
            raise FunnelInputError("An exclusion is (event, from step, to step).") from None
        if not 1 <= first < last <= len(steps):
            raise FunnelInputError(
                f"The exclusion of {event!r} must run from one step to a later one (steps 1 to {len(steps)})."
            )
        if str(event) in steps:
            raise FunnelInputError(f"{event!r} is a funnel step and cannot also be an exclusion.")
        clean_exclusions.append((str(event), first, last))
    gaps: tuple[int | None, ...] = (None,) * (len(steps) - 1)
    if step_windows is not None and any(w is not None for w in step_windows):
        if order == "unordered":
            raise FunnelInputError("Separate step windows need an ordered or strict funnel.")
        if len(step_windows) != len(steps) - 1:
            raise FunnelInputError("Give one step window per step after the first (or none).")
        for w in step_windows:
            if w is not None and w <= dt.timedelta(0):
                raise FunnelInputError("Every step window must be longer than zero.")
        gaps = tuple(None if w is None else _micros(w) for w in step_windows)
    return FunnelSpec(steps, _micros(window), order, tuple(clean_exclusions), gaps)


def _quote_ident(name: str) -> str:
    parts = name.split(".")
    if not all(_IDENT.match(p) for p in parts):
        raise FunnelInputError(f"{name!r} is not a valid table name.")
    return ".".join(f'"{p}"' for p in parts)


def _open_source(events: Any, con: duckdb.DuckDBPyConnection | None) -> duckdb.DuckDBPyConnection:
    """Events (DataFrame, DuckDB relation or table name) -> a cursor with a view ``ev_src``."""
    if isinstance(events, pd.DataFrame):
        missing = {"customer_id", "event", "occurred_at"} - set(events.columns)
        if missing:
            raise FunnelInputError("The events lack the column(s): " + ", ".join(sorted(missing)) + ".")
        cur = duckdb.connect(":memory:") if con is None else con.cursor()
        cur.register("ev_input", events[["customer_id", "event", "occurred_at"]])
        source = "ev_input"
    elif isinstance(events, duckdb.DuckDBPyRelation):
        cur = duckdb.connect(":memory:") if con is None else con.cursor()
        cur.register("ev_input", events if con is not None else _arrow_table(events))
        source = "ev_input"
    elif isinstance(events, str):
        if con is None:
            raise FunnelInputError("Pass con= together with a table name.")
        cur = con.cursor()
        source = _quote_ident(events)
    else:
        raise FunnelInputError("Events must be a DataFrame, a DuckDB relation or a table name.")
    try:
        cur.execute(
            "CREATE OR REPLACE TEMP VIEW ev_src AS SELECT CAST(customer_id AS VARCHAR) AS cid, "
            "CAST(event AS VARCHAR) AS ev, CAST(occurred_at AS TIMESTAMP) AS occ, "
            f"epoch_us(CAST(occurred_at AS TIMESTAMP)) AS ts FROM {source}"
        )
    except duckdb.Error as exc:
        raise FunnelInputError(f"The events cannot be read: {str(exc).splitlines()[0]}") from None
    return cur


def _arrow_table(relation: duckdb.DuckDBPyRelation):
    """A relation's rows as an Arrow table (to move them to a fresh connection)."""
    result = relation.arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _check_events(cur: duckdb.DuckDBPyConnection, spec: FunnelSpec, *, steps_too: bool = True) -> None:
    """Every step name occurs, and no step or exclusion event lacks a time or a customer."""
    names = sorted(({*spec.steps} if steps_too else set()) | {x[0] for x in spec.exclusions})
    if not names:
        return
    rows = cur.execute(
        "SELECT ev, count(*) FILTER (WHERE ts IS NULL OR cid IS NULL) FROM ev_src "
        "WHERE ev IN (SELECT unnest($names::VARCHAR[])) GROUP BY ev",
        {"names": names},
    ).fetchall()
    _raise_on_bad_events(spec, sum(r[1] for r in rows), {r[0] for r in rows} if steps_too else set(spec.steps))


def _raise_on_bad_events(spec: FunnelSpec, nulls: int, known: set[str]) -> None:
    if nulls:
        raise FunnelInputError(
            f"{nulls} event(s) of this funnel have no time or no customer. "
            "Fill them in or leave them out, then try again."
        )
    unknown = [s for s in dict.fromkeys(spec.steps) if s not in known]
    if unknown:
        raise FunnelInputError("No events named " + ", ".join(repr(u) for u in unknown) + " in the data.")


# --- SQL --------------------------------------------------------------------------------------


def _params(spec: FunnelSpec) -> dict[str, Any]:
    params: dict[str, Any] = {f"s{k}": name for k, name in enumerate(spec.steps, start=1)}
    params["w"] = spec.window_us
    for k, gap in enumerate(spec.step_windows_us, start=2):
        if gap is not None:
            params[f"g{k}"] = gap
    for j, (event, _first, _last) in enumerate(spec.exclusions):
        params[f"x{j}"] = event
    return params


def _min_step_case(spec: FunnelSpec) -> str:
    whens = " ".join(f"WHEN ev = $s{k} THEN {k}" for k in range(1, spec.n + 1))
    return f"CASE {whens} ELSE {spec.n + 1} END"


def _first_steps(spec: FunnelSpec) -> list[int]:
    """For each step (1-based), the first step with the same event name (its events' step number)."""
    return [spec.steps.index(name) + 1 for name in spec.steps]


def _ordered_attempts_sql(spec: FunnelSpec, *, levels: bool = True) -> str:
    """Ordered funnel attempts: one window pass of running counts per step, then one equality join per step.

    Each step event gets its step number ``m`` (the first step of its name, so an event of a name that
    occurs twice serves both steps) and, per counted name, the running count of the customer's events
    of that name up to and including it. An attempt whose step k-1 sits where the running count of
    step-k events is r finds its step k as the step-k event of rank r + 1 (an equality join on the
    customer and the rank, no range join). Only the id, a packed time-and-step key and ``m`` ride
    through the sort, and only step events enter it. An event of the funnel without a time or a
    customer stops the query with ``_NULL_GUARD`` (see :func:`_run`), so no separate scan checks them.

    With ``levels`` (the default) the joins are inner joins that carry only the attempts still going:
    CTE ``L<k>`` holds the attempts that reached step k (cid, t1..tk). Without, they are left joins and
    CTE ``chain`` holds every attempt (cid, t1..tn, NULL after the step it reached), which exclusions
    need. Portable SQL apart from DuckDB's ``error`` (raise_error in Spark).
    """
    n = spec.n
    width = n + 2
    first = _first_steps(spec)
    # The running counts of up to four names share one window aggregate: an event adds 2^(32 i) to a
    # HUGEINT sum for its name's field i (one sort and one aggregate instead of one per name; a
    # customer would need 2^31 events of one name to overflow a field).
    counted = sorted({first[k - 1] for k in range(2, n + 1)})
    packs = [counted[i : i + 4] for i in range(0, len(counted), 4)]
    packed = ", ".join(
        "sum(CASE m "
        + " ".join(f"WHEN {m} THEN CAST(1 AS HUGEINT) << {32 * i}" for i, m in enumerate(pack))
        + f" ELSE CAST(0 AS HUGEINT) END) OVER w AS p{j}"
        for j, pack in enumerate(packs)
    )
    unpacked = ", ".join(
        f"CAST((p{j} >> {32 * i}) & 4294967295 AS BIGINT) AS q{m}"
        for j, pack in enumerate(packs)
        for i, m in enumerate(pack)
    )
    parts = [
        # _min_step_case gives an event of a repeated name the number of its first step.
        f"base AS (SELECT cid, ts, {_min_step_case(spec)} AS m FROM ev_src)",
        f"keyed AS (SELECT cid, CASE WHEN ts IS NULL OR cid IS NULL THEN error('{_NULL_GUARD}') "
        f"ELSE ts * {width} + m END AS k, m FROM base WHERE m <= {n})",
        f"win AS (SELECT cid, k, m, {packed} FROM keyed "
        "WINDOW w AS (PARTITION BY cid ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))",
        f"seq AS (SELECT cid, (k - m) // {width} AS ts, m, {unpacked} FROM win)",
        f"L1 AS (SELECT cid, ts AS t1, q{first[1]} AS n2 FROM seq WHERE m = 1)",
    ]
    join = "JOIN" if levels else "LEFT JOIN"
    for k in range(2, n + 1):
        prev = ", ".join(f"a.t{j}" for j in range(1, k))
        nxt_col = f", q{first[k]} AS nx" if k < n else ""
        nxt = f", s.nx AS n{k + 1}" if k < n else ""
        gap = f" AND s.ts - a.t{k - 1} <= $g{k}" if spec.step_windows_us[k - 2] is not None else ""
        parts.append(
            f"L{k} AS (SELECT a.cid, {prev}, s.ts AS t{k}{nxt} FROM L{k - 1} a {join} "
            f"(SELECT cid, ts, q{first[k - 1]} AS r{nxt_col} FROM seq WHERE m = {first[k - 1]}) s "
            f"ON s.cid = a.cid AND s.r = a.n{k} + 1 AND s.ts <= a.t1 + $w{gap})"
        )
    if not levels:
        parts.append(f"chain AS (SELECT cid, {', '.join(f't{j}' for j in range(1, n + 1))} FROM L{n})")
    return ",\n".join(parts)


def _strict_attempts_sql(spec: FunnelSpec) -> str:
    """Strict funnel attempts: the next events of the customer must be the next steps (window leads)."""
    n = spec.n
    flags = ", ".join(f"(ev = $s{k}) AS f{k}" for k in range(1, n + 1))
    leads = ", ".join(f"lead(f{k}, {k - 1}) OVER w AS g{k}, lead(ts, {k - 1}) OVER w AS u{k}" for k in range(2, n + 1))
    cols = ["cid", "ts AS t1"]
    for k in range(2, n + 1):
        cond = [f"g{j} AND u{j} <= ts + $w" for j in range(2, k + 1)]
        cond += [
            f"u{j} - {'ts' if j == 2 else f'u{j - 1}'} <= $g{j}"
            for j in range(2, k + 1)
            if spec.step_windows_us[j - 2] is not None
        ]
        cols.append(f"CASE WHEN {' AND '.join(cond)} THEN u{k} END AS t{k}")
    return ",\n".join(
        [
            f"base AS (SELECT cid, ts, ev, {_min_step_case(spec)} AS ms, {flags} FROM ev_src)",
            f"seq AS (SELECT cid, ts, f1, {leads} FROM base WINDOW w AS (PARTITION BY cid ORDER BY ts, ms, ev))",
            f"chain AS (SELECT {', '.join(cols)} FROM seq WHERE f1)",
        ]
    )


def _unordered_attempts_sql(spec: FunnelSpec) -> str:
    """Unordered funnel attempts: an attempt per step-event instant, steps counted inside its window."""
    n = spec.n
    multiplicity: dict[str, int] = {}
    for s in spec.steps:
        multiplicity[s] = multiplicity.get(s, 0) + 1
    first_param = {s: spec.steps.index(s) + 1 for s in multiplicity}
    values = ", ".join(f"($s{first_param[s]}, {m})" for s, m in multiplicity.items())
    names = ", ".join(f"$s{k}" for k in range(1, n + 1))
    if spec.exclusions:
        excl = " OR ".join(f"ev = $x{j}" for j in range(len(spec.exclusions)))
        ends = (
            f"ex AS (SELECT cid, ts FROM ev_src WHERE {excl}),\n"
            "starts AS (SELECT s.cid, s.t0, min(x.ts) AS xend FROM (SELECT DISTINCT cid, ts AS t0 FROM base) s "
            "LEFT JOIN ex x ON x.cid = s.cid AND x.ts >= s.t0 AND x.ts <= s.t0 + $w GROUP BY s.cid, s.t0)"
        )
    else:
        ends = "starts AS (SELECT DISTINCT cid, ts AS t0, CAST(NULL AS BIGINT) AS xend FROM base)"
    pivots = ", ".join(f"max(CASE WHEN k = {k} THEN ts END) AS t{k}" for k in range(1, n + 1))
    return ",\n".join(
        [
            f"mult AS (SELECT * FROM (VALUES {values}) v(ev, m))",
            f"base AS (SELECT cid, ts, ev FROM ev_src WHERE ev IN ({names}))",
            ends,
            "hits AS (SELECT s.cid, s.t0, b.ts, b.ev, row_number() OVER (PARTITION BY s.cid, s.t0, b.ev ORDER BY b.ts) "
            "AS r FROM starts s JOIN base b ON b.cid = s.cid AND b.ts >= s.t0 AND b.ts <= s.t0 + $w "
            "AND (s.xend IS NULL OR b.ts <= s.xend))",
            "chosen AS (SELECT h.cid, h.t0, h.ts, row_number() OVER (PARTITION BY h.cid, h.t0 ORDER BY h.ts) AS k "
            "FROM hits h JOIN mult m ON m.ev = h.ev WHERE h.r <= m.m)",
            f"chain AS (SELECT cid, {pivots} FROM chosen GROUP BY cid, t0)",
        ]
    )


def _exclusion_sql(spec: FunnelSpec) -> str:
    """SQL expression: the attempt (row of ``att0``) is spoiled by an exclusion event."""
    if spec.order == "unordered" or not spec.exclusions:
        return "FALSE"
    terms = []
    for j, (_event, first, last) in enumerate(spec.exclusions):
        terms.append(
            f"EXISTS (SELECT 1 FROM ev_src x WHERE x.ev = $x{j} AND x.cid = att0.cid AND x.ts >= att0.t{first} "
            f"AND x.ts <= att0.t1 + $w AND (att0.t{last} IS NULL OR x.ts < att0.t{last}))"
        )
    return "(" + " OR ".join(terms) + ")"


def _pick_sql(spec: FunnelSpec) -> tuple[str, str]:
    """(value, key) struct expressions over attempt rows for ``arg_min``: the attempt that counts.

    Rules 3 and 5: the furthest step, then not spoiled, then the earliest event at that step, then the
    latest start. Two attempts that start at the same instant and tie on all of that go to the earlier
    one (its step times are never later, so the lowest step times pick it), which keeps the answer
    independent of row order.
    """
    n = spec.n
    value = ", ".join(["'reached': reached", "'spoiled': spoiled"] + [f"'t{k}': t{k}" for k in range(1, n + 1)])
    key = ", ".join(
        ["'a': -reached", "'b': spoiled", "'c': t_last", "'d': -t1"] + [f"'e{k}': t{k}" for k in range(2, n)]
    )
    return "{" + value + "}", "{" + key + "}"


def _t_last(spec: FunnelSpec) -> str:
    return "CASE reached " + " ".join(f"WHEN {k} THEN t{k}" for k in range(1, spec.n + 1)) + " END"


def _fast_path(spec: FunnelSpec) -> bool:
    """Ordered funnels without exclusions take the level-by-level plan of :func:`_ordered_progress_sql`."""
    return spec.order == "ordered" and not spec.exclusions


_OFFSET = 2**63  # shifts an epoch-microsecond BIGINT into the non-negative range


def _packed_key(spec: FunnelSpec) -> str | None:
    """The :func:`_pick_sql` order as one HUGEINT for an ordered funnel without exclusions, or None.

    Bits 123-126: n - reached; 59-122: t_last + 2^63; 0-58: t_last - t1 (at most the window). A
    fixed-size key makes ``arg_min`` several times cheaper than a struct key. It needs at most 16
    steps and a window under 2^59 microseconds (18,000 years), and a first step whose event does not
    come back later in the funnel: only then do two attempts that start at the same instant share
    all their steps, so the tie needs no further key.
    """
    if spec.n > 16 or spec.window_us >= 2**59 or spec.steps[0] in spec.steps[1:]:
        return None
    return (
        f"((CAST({spec.n} - reached AS HUGEINT) << 123) + ((CAST(t_last AS HUGEINT) + CAST({_OFFSET} AS HUGEINT)) << 59) "
        "+ (t_last - t1))"
    )


def _list_path(spec: FunnelSpec) -> bool:
    """Ordered funnels without exclusions whose step names all differ take :func:`_ordered_list_progress_sql`."""
    return _fast_path(spec) and len(set(spec.steps)) == spec.n


def _picked_sql(spec: FunnelSpec, source: str, grp_part: str) -> str:
    """SELECT of the attempt that counts per customer [and group] among ``source`` rows
    (cid, [grp,] reached, t1..tn, t_last), as columns cid, [grp,] reached, t1..tn."""
    n = spec.n
    packed = _packed_key(spec)
    if packed is not None:
        # arg_min skips NULL values, which is right here: a step the best attempt did not reach was
        # reached by no attempt of the customer.
        return (
            f"SELECT cid{grp_part}, {n} - CAST(min(key) >> 123 AS INTEGER) AS reached, "
            + ", ".join(f"arg_min(t{k}, key) AS t{k}" for k in range(1, n + 1))
            + f" FROM (SELECT *, {packed} AS key FROM {source}) GROUP BY cid{grp_part}"
        )
    value, key = _pick_sql(spec)
    return (
        f"SELECT cid{grp_part}, best.reached AS reached, "
        + ", ".join(f"best.t{k} AS t{k}" for k in range(1, n + 1))
        + f" FROM (SELECT cid{grp_part}, arg_min({value}, {key}) AS best FROM "
        + f"(SELECT *, FALSE AS spoiled FROM {source}) GROUP BY cid{grp_part})"
    )


def _entered_progress_sql(spec: FunnelSpec, group: str | None) -> str:
    """CTE ``progress`` from ``entered`` (every customer [and group] with a step-1 event) and ``picked``."""
    join_grp = " AND p.grp = e.grp" if group else ""
    return (
        f",\nprogress AS (SELECT e.cid{', e.grp' if group else ''}, coalesce(p.reached, 1) AS reached, "
        + "coalesce(p.t1, e.t1) AS t1, "
        + ", ".join(f"p.t{k} AS t{k}" for k in range(2, spec.n + 1))
        + f" FROM entered e LEFT JOIN picked p ON p.cid = e.cid{join_grp})\n"
    )


def _ordered_list_progress_sql(spec: FunnelSpec, *, group: str | None = None) -> str:
    """CTEs ending in ``progress`` for an ordered funnel without exclusions and with distinct step names.

    One hash aggregate gathers each customer's step times into one list per step (``lists``; no sort:
    the lists stay unordered). Every step-1 time becomes an attempt (``A1``); step k of an attempt is
    the earliest step-k time at or after its step k-1 (``list_min`` over ``list_filter``: with distinct
    names an event at the same instant belongs to a later step, rule 6), kept only inside the window.
    Attempts stuck at step 1 stop at ``A2``; the rest are ranked as in :func:`_ordered_progress_sql`.
    CTE ``entered`` holds each customer [and group] with the time of their first step-1 event.
    """
    n = spec.n
    grp_part = ", grp" if group else ""
    lists = ", ".join(f"list(ts) FILTER (WHERE m = {k}) AS s{k}" for k in range(1, n + 1))
    later = ", ".join(f"s{k}" for k in range(2, n + 1))  # the lists of steps 2..n
    grp = f", {group} AS grp" if group else ""
    parts = [
        f"base AS (SELECT cid, ts, {_min_step_case(spec)} AS m FROM ev_src)",
        f"steps AS (SELECT cid, CASE WHEN ts IS NULL OR cid IS NULL THEN error('{_NULL_GUARD}') ELSE ts END AS ts, m "
        f"FROM base WHERE m <= {n})",
        f"lists AS (SELECT cid, {lists} FROM steps GROUP BY cid HAVING count(*) FILTER (WHERE m = 1) > 0)",
        f"A1 AS (SELECT cid, t1{grp}, {later} FROM (SELECT cid, unnest(s1) AS t1, {later} FROM lists))",
    ]
    if group:
        parts.append("entered AS (SELECT cid, grp, min(t1) AS t1 FROM A1 GROUP BY cid, grp)")
    else:
        parts.append("entered AS (SELECT cid, list_min(s1) AS t1 FROM lists)")
    for k in range(2, n + 1):
        prev = ", ".join(f"t{j}" for j in range(1, k))
        rest = "".join(f", s{j}" for j in range(k + 1, n + 1))
        cond = f"t{k} <= t1 + $w"
        if spec.step_windows_us[k - 2] is not None:
            cond += f" AND t{k} - t{k - 1} <= $g{k}"
        found = f"(SELECT *, list_min(list_filter(s{k}, lambda x: x >= t{k - 1})) AS t{k} FROM A{k - 1})"
        if k == 2:
            # Only attempts that reach step 2 go on (and are ranked); the others count through ``entered``.
            parts.append(f"A2 AS (SELECT cid{grp_part}, t1, t2{rest} FROM {found} WHERE {cond})")
        else:
            parts.append(
                f"A{k} AS (SELECT cid{grp_part}, {prev}, CASE WHEN {cond} THEN t{k} END AS t{k}{rest} FROM {found})"
            )
    reached = "2" + "".join(f" + CAST(t{k} IS NOT NULL AS INTEGER)" for k in range(3, n + 1))
    t_last = "coalesce(" + ", ".join(f"t{k}" for k in range(n, 0, -1)) + ")"
    ts = ", ".join(f"t{k}" for k in range(1, n + 1))
    parts.append(f"att AS (SELECT cid{grp_part}, {reached} AS reached, {ts}, {t_last} AS t_last FROM A{n})")
    parts.append(f"picked AS ({_picked_sql(spec, 'att', grp_part)})")
    return "WITH " + ",\n".join(parts) + _entered_progress_sql(spec, group)


def _ordered_progress_sql(spec: FunnelSpec, *, group: str | None = None) -> str:
    """CTEs ending in ``progress`` for an ordered funnel without exclusions (same columns as :func:`_progress_sql`).

    Also defines ``entered`` (one row per customer [and group] with a step-1 event: cid, [grp,] t1 of
    their first one) and ``picked`` (cid, [grp,] reached, t1..tn: the attempt that counts among those
    that reached step 2 or further). A customer whose furthest step is 1 counts with their first
    step-1 event (rule 5), so only the attempts that got further are ranked; ``progress`` joins the
    two. Step names that all differ take the list plan of :func:`_ordered_list_progress_sql`; a
    repeated name takes the window plan of :func:`_ordered_attempts_sql`.
    """
    if _list_path(spec):
        return _ordered_list_progress_sql(spec, group=group)
    n = spec.n
    grp = f", {group} AS grp" if group else ""
    grp_part = ", grp" if group else ""
    level_rows = " UNION ALL ".join(
        f"SELECT cid, {k} AS reached, "
        + ", ".join(f"t{j}" if j <= k else f"CAST(NULL AS BIGINT) AS t{j}" for j in range(1, n + 1))
        + f" FROM L{k}"
        for k in range(2, n + 1)
    )
    ts = ", ".join(f"t{k}" for k in range(1, n + 1))
    return (
        "WITH "
        + _ordered_attempts_sql(spec)
        + f",\nlv AS ({level_rows})"
        + f",\nentered AS (SELECT cid{grp_part}, min(t1) AS t1 FROM (SELECT cid, t1{grp} FROM L1) GROUP BY cid{grp_part})"
        + f",\natt AS (SELECT cid, reached, {ts}, {_t_last(spec)} AS t_last{grp} FROM lv)"
        + f",\npicked AS ({_picked_sql(spec, 'att', grp_part)})"
        + _entered_progress_sql(spec, group)
    )


def _progress_sql(spec: FunnelSpec, *, group: str | None = None) -> str:
    """CTEs ending in ``progress``: one row per customer (per ``group`` value when given).

    ``progress`` columns: cid, [grp,] reached (furthest step; 0 when excluded), t1..tn (epoch
    microseconds of the counted attempt, NULL after ``reached``).
    """
    if _fast_path(spec):
        return _ordered_progress_sql(spec, group=group)
    n = spec.n
    attempts = {
        "ordered": lambda s: _ordered_attempts_sql(s, levels=False),
        "strict": _strict_attempts_sql,
        "unordered": _unordered_attempts_sql,
    }[spec.order](spec)
    reached = "1" + "".join(f" + CAST(t{k} IS NOT NULL AS INTEGER)" for k in range(2, n + 1))
    ts = ", ".join(f"t{k}" for k in range(1, n + 1))
    grp_col = f", {group} AS grp" if group else ""
    grp_part = ", grp" if group else ""
    value, key = _pick_sql(spec)
    return (
        "WITH "
        + attempts
        + f",\natt0 AS (SELECT cid, {ts}, {reached} AS reached FROM chain)"
        + f",\natt AS (SELECT *, {_exclusion_sql(spec)} AS spoiled, {_t_last(spec)} AS t_last{grp_col} FROM att0)"
        + f",\npicked AS (SELECT cid{grp_part}, arg_min({value}, {key}) AS best FROM att GROUP BY cid{grp_part})"
        + f",\nprogress AS (SELECT cid{grp_part}, CASE WHEN best.spoiled THEN 0 ELSE best.reached END AS reached, "
        + ", ".join(f"CASE WHEN NOT best.spoiled THEN best.t{k} END AS t{k}" for k in range(1, n + 1))
        + " FROM picked)\n"
    )


def _prepare(
    events, steps, window, order, exclusions, step_windows, con
) -> tuple[duckdb.DuckDBPyConnection, FunnelSpec]:
    spec = make_spec(steps, window=window, order=order, exclusions=exclusions, step_windows=step_windows)
    cur = _open_source(events, con)
    # Ordered funnels check their own step events inside the main query (see _run and _confirm_steps),
    # which saves a separate scan of the events; exclusion events are checked here.
    _check_events(cur, spec, steps_too=spec.order != "ordered")
    return cur, spec


def _run(cur: duckdb.DuckDBPyConnection, spec: FunnelSpec, sql: str, fetch):
    """Execute a funnel query and return ``fetch(result)``; a tripped null guard becomes a FunnelInputError."""
    try:
        return fetch(cur.execute(sql, _params(spec)))
    except duckdb.Error as exc:
        if _NULL_GUARD in str(exc):
            _check_events(cur, spec)  # raises with the number of such events
        raise


def _confirm_steps(cur: duckdb.DuckDBPyConnection, spec: FunnelSpec, converted: bool) -> None:
    """After an ordered funnel ran: if nobody reached the last step, make sure every step name exists.

    A customer at the last step used an event of every step name, so only a funnel without
    conversions can hide an unknown step name; it pays for the check, the others do not.
    """
    if spec.order == "ordered" and not converted:
        _check_events(cur, spec)


def _funnel_from_counts(spec: FunnelSpec, row: Sequence[Any]) -> pd.DataFrame:
    n = spec.n
    counts = [int(row[k] or 0) for k in range(n)]
    rows = []
    for k in range(1, n + 1):
        c = counts[k - 1]
        first, prev = counts[0], counts[k - 2] if k > 1 else counts[0]
        median = row[n + 2 * (k - 2)] if k > 1 else None
        mean = row[n + 2 * (k - 2) + 1] if k > 1 else None
        rows.append(
            {
                "step": k,
                "name": spec.steps[k - 1] if spec.order != "unordered" else f"{k} of {n}",
                "customers": c,
                "conversion_from_start": c / first if first else float("nan"),
                "conversion_from_previous": c / prev if prev else float("nan"),
                "median_seconds": float("nan") if median is None else float(median) / _US,
                "mean_seconds": float("nan") if mean is None else float(mean) / _US,
            }
        )
    return pd.DataFrame(rows, columns=list(FUNNEL_COLUMNS))


def _aggregate_select(
    spec: FunnelSpec, *, group: bool = False, source: str = "progress", entered: str | None = None
) -> str:
    """SELECT of the funnel row(s) over ``source``: c1..cn, then median and mean of each step's time.

    ``entered``: an SQL expression to use for c1 instead of counting ``source`` rows.
    """
    n = spec.n
    counts = [f"count(*) FILTER (WHERE reached >= {k}) AS c{k}" for k in range(1, n + 1)]
    if entered is not None:
        counts[0] = f"{entered} AS c1"
    timings = []
    for k in range(2, n + 1):
        delta = f"t{k} - t{k - 1}"
        cond = f"reached >= {k} AND t{k} > t{k - 1}"
        timings.append(f"median({delta}) FILTER (WHERE {cond}) AS med{k}")
        timings.append(f"avg({delta}) FILTER (WHERE {cond}) AS mean{k}")
    head = "grp, " if group else ""
    tail = " GROUP BY grp ORDER BY grp" if group else ""
    return f"SELECT {head}{', '.join(counts + timings)} FROM {source}{tail}"


# --- public funnel API ------------------------------------------------------------------------


def funnel(
    events,
    steps: Sequence[str],
    *,
    window: dt.timedelta = dt.timedelta(days=14),
    order: str = "ordered",
    exclusions: Sequence[tuple[str, int, int]] = (),
    step_windows: Sequence[dt.timedelta | None] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Events (customer_id, event, occurred_at) and step names -> one row per step of the funnel.

    The semantics (entry, window, attempts, exclusions, timings) are those in this module's docstring.

    Parameters
    ----------
    events : pandas.DataFrame, duckdb.DuckDBPyRelation or str
        One row per event with ``customer_id``, ``event``, ``occurred_at``; or a DuckDB relation with
        those columns; or the name of a table or view in ``con``.
    steps : sequence of str
        Event names in funnel order (at least two; a name may repeat).
    window : datetime.timedelta, default=14 days
        Conversion window from the step-1 event, inclusive.
    order : {"ordered", "strict", "unordered"}, default="ordered"
    exclusions : sequence of (event, from_step, to_step), default=()
        1-based steps; the event must not be a funnel step.
    step_windows : sequence of timedelta or None, default=None
        One window per step after the first, measured from the previous step (ordered and strict
        funnels only), on top of ``window``.
    con : duckdb.DuckDBPyConnection, default=None
        Connection that holds the table (required with a table name; optional with a relation).

    Returns
    -------
    pandas.DataFrame
        step (1-based), name, customers, conversion_from_start, conversion_from_previous,
        median_seconds, mean_seconds (time from the previous step; NaN for step 1).

    Raises
    ------
    FunnelInputError
        Fewer than two steps, a window of zero or negative length, an unknown step name, events
        without a time, or a malformed exclusion.
    """
    cur, spec = _prepare(events, steps, window, order, exclusions, step_windows, con)
    if _fast_path(spec):
        # Customers who got no further than step 1 only need counting (``entered``); the aggregates
        # over the later steps read the picked attempts directly.
        sql = _progress_sql(spec) + _aggregate_select(spec, source="picked", entered="(SELECT count(*) FROM entered)")
    else:
        sql = _progress_sql(spec) + _aggregate_select(spec)
    row = _run(cur, spec, sql, lambda result: result.fetchone())
    _confirm_steps(cur, spec, bool(row[spec.n - 1]))
    return _funnel_from_counts(spec, row)


def funnel_customers(
    events,
    steps: Sequence[str],
    *,
    window: dt.timedelta = dt.timedelta(days=14),
    order: str = "ordered",
    exclusions: Sequence[tuple[str, int, int]] = (),
    step_windows: Sequence[dt.timedelta | None] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Events and steps -> one row per entered customer: customer_id, furthest_step, step_1_at..step_n_at.

    ``furthest_step`` is 0 for a customer dropped by an exclusion; the ``step_k_at`` timestamps belong to
    the attempt that counted (NaT after the furthest step). Options as in :func:`funnel`.
    """
    cur, spec = _prepare(events, steps, window, order, exclusions, step_windows, con)
    cols = ", ".join(f"make_timestamp(t{k}) AS step_{k}_at" for k in range(1, spec.n + 1))
    sql = (
        _progress_sql(spec) + f"SELECT cid AS customer_id, reached AS furthest_step, {cols} FROM progress ORDER BY cid"
    )
    frame = _run(cur, spec, sql, lambda result: result.df())
    _confirm_steps(cur, spec, bool((frame["furthest_step"] == spec.n).any()))
    return frame


def dropped_customers(progress: pd.DataFrame, step: int) -> pd.DataFrame:
    """funnel_customers output, step k (2..n) -> customers who reached step k-1 but not step k.

    Rows: customer_id, reached_at (time of their step k-1), sorted by customer.
    """
    if step < 2 or f"step_{step}_at" not in progress.columns:
        raise FunnelInputError("Choose a step after the first to see who dropped out before it.")
    out = progress.loc[progress["furthest_step"] == step - 1, ["customer_id", f"step_{step - 1}_at"]]
    return out.rename(columns={f"step_{step - 1}_at": "reached_at"}).reset_index(drop=True)


def time_to_convert(
    events,
    steps: Sequence[str],
    *,
    from_step: int = 1,
    to_step: int | None = None,
    bins: int = 20,
    window: dt.timedelta = dt.timedelta(days=14),
    order: str = "ordered",
    exclusions: Sequence[tuple[str, int, int]] = (),
    step_windows: Sequence[dt.timedelta | None] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Events and steps -> (histogram bins, summary) of the time from ``from_step`` to ``to_step``.

    Bins: bin_start_seconds, bin_end_seconds, customers (equal-width bins over the non-zero
    conversion times; the last bin includes its right edge). Summary: customers, zero_second
    (left out), median, mean, p25, p75, p90 (seconds). Options as in :func:`funnel`.
    """
    cur, spec = _prepare(events, steps, window, order, exclusions, step_windows, con)
    to_step = spec.n if to_step is None else to_step
    if not 1 <= from_step < to_step <= spec.n:
        raise FunnelInputError("Time to convert runs from one step to a later one.")
    sql = (
        _progress_sql(spec)
        + f"SELECT reached, (t{to_step} - t{from_step}) / 1e6 AS seconds FROM progress WHERE reached >= {to_step}"
    )
    frame = _run(cur, spec, sql, lambda result: result.df())
    _confirm_steps(cur, spec, bool((frame["reached"] == spec.n).any()))
    seconds = frame["seconds"].to_numpy(dtype=float)
    return conversion_time_bins(seconds, bins=bins)


def conversion_time_bins(seconds: np.ndarray, *, bins: int = 20) -> tuple[pd.DataFrame, dict[str, float]]:
    """Conversion times in seconds -> (equal-width bins of the non-zero times, summary statistics)."""
    seconds = np.asarray(seconds, dtype=float)
    positive = seconds[seconds > 0]
    summary = {
        "customers": int(seconds.size),
        "zero_second": int((seconds == 0).sum()),
        "median": float(np.median(positive)) if positive.size else float("nan"),
        "mean": float(positive.mean()) if positive.size else float("nan"),
        "p25": float(np.percentile(positive, 25)) if positive.size else float("nan"),
        "p75": float(np.percentile(positive, 75)) if positive.size else float("nan"),
        "p90": float(np.percentile(positive, 90)) if positive.size else float("nan"),
    }
    if not positive.size:
        return pd.DataFrame(columns=["bin_start_seconds", "bin_end_seconds", "customers"]), summary
    counts, edges = np.histogram(positive, bins=max(1, int(bins)))
    frame = pd.DataFrame({"bin_start_seconds": edges[:-1], "bin_end_seconds": edges[1:], "customers": counts})
    return frame, summary


def _period_expr(period: str, column: str = "t1") -> str:
    if period not in PERIODS:
        raise FunnelInputError("Choose day, week or month as the period.")
    return f"CAST(date_trunc('{period}', make_timestamp({column})) AS DATE)"


def conversion_trend(
    events,
    steps: Sequence[str],
    *,
    period: str = "week",
    window: dt.timedelta = dt.timedelta(days=14),
    order: str = "ordered",
    exclusions: Sequence[tuple[str, int, int]] = (),
    step_windows: Sequence[dt.timedelta | None] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Events and steps -> one row per entry period: period, entered, converted, conversion_rate,
    median_seconds, mean_seconds (first to last step, zero-second conversions left out).

    A customer belongs to the period of an attempt's step-1 event (rule 10); the attempts of each
    (customer, period) are judged as in :func:`funnel`.
    """
    cur, spec = _prepare(events, steps, window, order, exclusions, step_windows, con)
    n = spec.n
    sql = _progress_sql(spec, group=_period_expr(period)) + (
        "SELECT grp AS period, count(*) FILTER (WHERE reached >= 1) AS entered, "
        f"count(*) FILTER (WHERE reached = {n}) AS converted, "
        f"median(t{n} - t1) FILTER (WHERE reached = {n} AND t{n} > t1) / 1e6 AS median_seconds, "
        f"avg(t{n} - t1) FILTER (WHERE reached = {n} AND t{n} > t1) / 1e6 AS mean_seconds "
        "FROM progress GROUP BY grp HAVING count(*) FILTER (WHERE reached >= 1) > 0 ORDER BY grp"
    )
    frame = _run(cur, spec, sql, lambda result: result.df())
    _confirm_steps(cur, spec, bool(frame["converted"].sum()))
    frame["conversion_rate"] = frame["converted"] / frame["entered"]
    return frame[["period", "entered", "converted", "conversion_rate", "median_seconds", "mean_seconds"]]


def time_to_convert_trend(events, steps: Sequence[str], **options) -> pd.DataFrame:
    """Events and steps -> period, converted, median_seconds, mean_seconds (first to last step) per entry period."""
    trend = conversion_trend(events, steps, **options)
    return trend[["period", "converted", "median_seconds", "mean_seconds"]]


# --- breakdown --------------------------------------------------------------------------------


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Successes and trials of two groups -> (z, two-sided p-value) of the pooled two-proportion z-test.

    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)) with the pooled share p = (x1 + x2) / (n1 + n2)
    (Agresti 2013, *Categorical Data Analysis*, 3rd ed., section 3.1; equivalent to Pearson's
    chi-square test of the 2 × 2 table, chi² = z²). NaN when a group is empty or p is 0 or 1.
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan")
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return float("nan"), float("nan")
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """p-values -> Holm-Bonferroni adjusted p-values (Holm 1979), NaN kept as NaN."""
    indexed = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    indexed.sort()
    m = len(indexed)
    adjusted = [float("nan")] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def funnel_breakdown(
    events,
    steps: Sequence[str],
    groups: pd.DataFrame,
    *,
    window: dt.timedelta = dt.timedelta(days=14),
    order: str = "ordered",
    exclusions: Sequence[tuple[str, int, int]] = (),
    step_windows: Sequence[dt.timedelta | None] | None = None,
    alpha: float = 0.05,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Events, steps and groups (customer_id, value) -> one row per (value, step) with the funnel columns
    plus entered, converted, conversion, z, p_value, p_adjusted and significant.

    The test compares each value's overall conversion (last step / first step) with that of all
    other customers (pooled two-proportion z-test, :func:`two_proportion_test`); p-values are Holm
    adjusted over the values, ``significant`` means p_adjusted < ``alpha``. Customers without a group
    value fall under "(none)".
    """
    if not {"customer_id", "value"} <= set(groups.columns):
        raise FunnelInputError("The breakdown needs customer_id and value columns.")
    cur, spec = _prepare(events, steps, window, order, exclusions, step_windows, con)
    cur.register("bd_groups", groups[["customer_id", "value"]])
    n = spec.n
    # One progress row per customer, then the group joined on: the funnel is computed once, not per value.
    sql = (
        _progress_sql(spec)
        + ", grouped AS (SELECT p.*, coalesce(CAST(g.value AS VARCHAR), '(none)') AS grp FROM progress p "
        + "LEFT JOIN (SELECT DISTINCT CAST(customer_id AS VARCHAR) AS cid, value FROM bd_groups) g USING (cid))\n"
    )
    frame = _run(
        cur, spec, sql + _aggregate_select(spec, group=True, source="grouped"), lambda result: result.fetchall()
    )
    _confirm_steps(cur, spec, any(r[n] for r in frame))
    out = []
    totals = [(r[1] or 0, r[n] or 0) for r in frame]
    all_entered = sum(t[0] for t in totals)
    all_converted = sum(t[1] for t in totals)
    stats = []
    for entered, converted in totals:
        stats.append(two_proportion_test(converted, entered, all_converted - converted, all_entered - entered))
    adjusted = holm_adjust([p for _, p in stats])
    for r, (z, p), p_adj in zip(frame, stats, adjusted, strict=True):
        part = _funnel_from_counts(spec, r[1:])
        part.insert(0, "value", r[0])
        part["entered"] = int(r[1] or 0)
        part["converted"] = int(r[n] or 0)
        part["conversion"] = part["converted"] / part["entered"] if r[1] else float("nan")
        part["z"] = z
        part["p_value"] = p
        part["p_adjusted"] = p_adj
        part["significant"] = bool(p_adj < alpha) if not math.isnan(p_adj) else False
        out.append(part)
    if not out:
        return pd.DataFrame(columns=["value", *FUNNEL_COLUMNS, "entered", "converted", "conversion", "z", "p_value"])
    return pd.concat(out, ignore_index=True)


# --- events from the store ------------------------------------------------------------------


def journey_events(
    cur: duckdb.DuckDBPyConnection, filters: Filters, *, level: str = "event"
) -> duckdb.DuckDBPyRelation:
    """Store and filters -> relation (customer_id, event, occurred_at, channel, stage) of interactions.

    ``level="stage"`` puts the journey stage in ``event`` so funnels can run over stages. Only
    interactions in the period and of customers in scope, with a time, are included.
    """
    if level not in ("event", "stage"):
        raise FunnelInputError("Build steps from events or from stages.")
    scope_sql, scope_params = customer_scope(filters)
    period_sql, period_params = period_condition(filters, "occurred_at")
    column = "event" if level == "event" else "stage"
    return cur.sql(
        f"SELECT customer_id, {column} AS event, occurred_at, channel, stage, properties FROM interactions "
        f"WHERE occurred_at IS NOT NULL AND {column} IS NOT NULL AND {period_sql} AND {scope_sql}",
        params=[*period_params, *scope_params],
    )


def step_options(cur: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, list[str]]:
    """Store and filters -> {"event": event names by frequency, "stage": stages in journey order}."""
    rel = journey_events(cur, filters)
    events = [r[0] for r in rel.aggregate("event, count(*) AS n").order("n DESC").fetchall()]
    present = {r[0] for r in rel.aggregate("stage").fetchall()}
    stages = [s for s in schema.STAGES if s in present] + sorted(present - set(schema.STAGES) - {None})
    return {"event": events, "stage": stages}


#: Customer columns a breakdown may use (no personal data).
BREAKDOWN_COLUMNS = tuple(
    c.name
    for c in schema.CUSTOMERS.columns
    if not c.personal and c.name not in ("customer_id", "import_id", "signup_date")
)


# Company size classes of the EU SME definition (Commission Recommendation 2003/361/EC, Annex
# Art. 2): micro under 10, small under 50, medium under 250 employees, large from 250 on.
EMPLOYEE_BANDS: tuple[tuple[int | None, str], ...] = (
    (10, "under 10"),
    (50, "10–49"),
    (250, "50–249"),
    (None, "250 or more"),
)
NUMERIC_BANDS = {"employees": EMPLOYEE_BANDS}


def _band_sql(column: str, bands: Sequence[tuple[int | None, str]]) -> tuple[str, list[str]]:
    """A numeric column and (upper bound, label) bands -> a CASE expression giving each value its label."""
    parts, params = [], []
    for upper, label in bands:
        if upper is None:
            parts.append(f'WHEN "{column}" IS NOT NULL THEN ?')
        else:
            parts.append(f'WHEN "{column}" < {int(upper)} THEN ?')
        params.append(label)
    return "CASE " + " ".join(parts) + " END", params


def customer_groups(cur: duckdb.DuckDBPyConnection, column: str) -> pd.DataFrame:
    """Store and a customer column -> customer_id, value (text) for a funnel breakdown.

    A numeric column is cut into the bands of :data:`NUMERIC_BANDS` (employees: the EU company size
    classes), so a breakdown shows a few groups of readable size instead of one bar per number.
    """
    if column not in BREAKDOWN_COLUMNS:
        raise FunnelInputError(f"{column!r} cannot be used for a breakdown.")
    if column in NUMERIC_BANDS:
        expression, params = _band_sql(column, NUMERIC_BANDS[column])
        return cur.execute(f"SELECT customer_id, {expression} AS value FROM customers", params).df()
    return cur.execute(f'SELECT customer_id, CAST("{column}" AS VARCHAR) AS value FROM customers').df()


def customer_details(cur: duckdb.DuckDBPyConnection, customer_ids: Sequence[str]) -> pd.DataFrame:
    """Customer ids -> customer_id, customer_type, segment, country, acquisition_channel (no personal data)."""
    cur.register("detail_ids", pd.DataFrame({"customer_id": [str(c) for c in customer_ids]}, dtype=object))
    return cur.execute(
        "SELECT c.customer_id, c.customer_type, c.segment, c.country, c.acquisition_channel "
        "FROM customers c JOIN detail_ids d USING (customer_id) ORDER BY c.customer_id"
    ).df()


def save_segment(
    con: duckdb.DuckDBPyConnection, name: str, customer_ids: Sequence[str], *, description: str = ""
) -> int:
    """Name and customer ids -> row in ``saved_segments`` (replaces one of the same name); returns its size."""
    name = name.strip()
    if not name:
        raise FunnelInputError("Give the segment a name.")
    ids = sorted({str(c) for c in customer_ids})
    if not ids:
        raise FunnelInputError("There are no customers to save.")

    def work(cur):
        cur.execute("DELETE FROM saved_segments WHERE name = ?", [name])
        cur.execute("INSERT INTO saved_segments VALUES (?, ?, ?, now())", [name, description, ids])
        store.audit(cur, "save segment", name, f"{len(ids)} customers from the journeys page")

    store.run_write(con, work)
    return len(ids)


# --- paths ------------------------------------------------------------------------------------

OTHER = "other"
ENDED = "ended"
DROPPED = "drop-off"


# The path views' events (cid, ev, et) from the registered ``path_src``, and their most common events.
_PATH_EVENTS = (
    "ev AS (SELECT CAST(customer_id AS VARCHAR) AS cid, CAST(event AS VARCHAR) AS ev, "
    "CAST(occurred_at AS TIMESTAMP) AS et FROM path_src WHERE occurred_at IS NOT NULL)"
)


def _common_events_sql(top_events: int) -> str:
    """CTE ``common``: the ``top_events`` most frequent events of CTE ``after`` (the rest become "other")."""
    return f"common AS (SELECT ev FROM after GROUP BY ev ORDER BY count(*) DESC, ev LIMIT {int(top_events)})"


def _first_events_sql(label: str, n: int, *, alias: str = "") -> str:
    """Aggregate: a customer's first ``n`` labels in time order (ties by event name), as a list.

    DuckDB's top-N ``arg_min(arg, key, n)`` keeps only n values per customer instead of sorting whole
    histories. Together with list slicing in :func:`_top_paths_sql` this is the DuckDB-only syntax of
    the path views; a portable version would number the events with row_number() and pivot.
    """
    return f"arg_min({label}, {{'t': {alias}et, 'e': {alias}ev}}, {int(n)})"


def _top_paths_sql(sequences: str, *, depth: int, top_paths: int) -> str:
    """SELECT over ``sequences`` (one ``seq`` list per customer) -> the ``top_paths`` most frequent paths.

    A path is the first ``depth`` entries; a shorter sequence ends in "ended". Rows: path (list),
    customers, all customers with a path (before the cut to ``top_paths``), most frequent first (ties by
    path text, so the order never depends on the engine).
    """
    return (
        "SELECT path, count(*) AS customers, sum(count(*)) OVER () AS everyone "
        f"FROM (SELECT CASE WHEN len(seq) < {int(depth)} "
        f"THEN list_append(seq, '{ENDED}') ELSE seq[1:{int(depth)}] END AS path FROM ({sequences}) WHERE len(seq) > 0) "
        f"GROUP BY path ORDER BY customers DESC, array_to_string(path, ' → ') LIMIT {int(top_paths)}"
    )


def _paths_sql(top_events: int, depth: int, top_paths: int) -> str:
    label = f"CASE WHEN ev = $start OR ev IN (SELECT ev FROM common) THEN ev ELSE '{OTHER}' END"
    sequences = f"SELECT cid, {_first_events_sql(label, depth)} AS seq FROM after GROUP BY cid"
    return f"""
    WITH {_PATH_EVENTS},
    starts AS (SELECT cid, min(et) AS t0 FROM ev WHERE ev = $start GROUP BY cid),
    after AS (SELECT e.cid, e.ev, e.et FROM ev e JOIN starts s ON s.cid = e.cid AND e.et >= s.t0),
    {_common_events_sql(top_events)}
    {_top_paths_sql(sequences, depth=depth, top_paths=top_paths)}
    """


def _sankey_from_paths(rows: Sequence[tuple[Sequence[str], int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(path, customers, everyone) rows, most frequent first -> (paths, links) frames for the Sankey.

    paths has a ``share`` column: the path's customers over all customers who had a path, so the
    shown paths' shares add up to the part of the customers the Sankey covers.
    """
    paths = pd.DataFrame(
        {
            "path": [" → ".join(p) for p, _, _ in rows],
            "steps": [len(p) for p, _, _ in rows],
            "customers": [int(c) for _, c, _ in rows],
            "share": [int(c) / int(n) for _, c, n in rows],
        },
        columns=["path", "steps", "customers", "share"],
    )
    links: dict[tuple[str, str], int] = {}
    for path, count, _everyone in rows:  # at most ``top_paths`` short paths
        for i in range(len(path) - 1):
            key = (f"{i + 1}. {path[i]}", f"{i + 2}. {path[i + 1]}")
            links[key] = links.get(key, 0) + int(count)
    link_frame = pd.DataFrame(
        [{"source": s, "target": t, "customers": v} for (s, t), v in links.items()],
        columns=["source", "target", "customers"],
    )
    return paths, link_frame


def paths(
    events,
    start: str,
    *,
    depth: int = 5,
    top_events: int = 8,
    top_paths: int = 15,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and a start event -> (paths, links) of what customers did from their first ``start`` event on.

    paths: path (events joined by arrows), steps, customers — the ``top_paths`` most frequent sequences
    of up to ``depth`` events (a shorter sequence ends in "ended"). Events outside the ``top_events``
    most frequent are lumped into "other". links: source, target, customers with nodes named
    "<position>. <event>" — the Sankey of those paths (:func:`sankey_nodes` numbers them).
    """
    if depth < 2:
        raise FunnelInputError("A path needs at least two positions.")
    cur = _path_source(events, con)
    rows = cur.execute(_paths_sql(top_events, depth, top_paths), {"start": start}).fetchall()
    return _sankey_from_paths(rows)


def _path_source(events, con) -> duckdb.DuckDBPyConnection:
    if isinstance(events, pd.DataFrame):
        cur = duckdb.connect(":memory:") if con is None else con.cursor()
        cur.register("path_src", events[["customer_id", "event", "occurred_at"]])
    elif isinstance(events, duckdb.DuckDBPyRelation):
        cur = duckdb.connect(":memory:") if con is None else con.cursor()
        cur.register("path_src", events if con is not None else _arrow_table(events))
    else:
        raise FunnelInputError("Paths need events as a DataFrame or a DuckDB relation.")
    return cur


def paths_after_dropoff(
    events,
    progress: pd.DataFrame,
    step: int,
    *,
    depth: int = 4,
    top_events: int = 8,
    top_paths: int = 15,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events, funnel_customers output and a step k -> (paths, links) of what customers who dropped before
    step k did after their step k-1 event ("dropped at step k" is the first node)."""
    if depth < 2:
        raise FunnelInputError("A path needs at least two positions.")
    dropped = dropped_customers(progress, step)
    cur = _path_source(events, con)
    cur.register("dropped_src", dropped)
    label = f"CASE WHEN a.ev IN (SELECT ev FROM common) THEN a.ev ELSE '{OTHER}' END"
    # Customers with nothing after the drop have an empty list: their path is "drop-off → ended".
    sequences = (
        f"SELECT d.customer_id, list_prepend('{DROPPED}', coalesce("
        + _first_events_sql(label, int(depth) - 1, alias="a.")
        + " FILTER (WHERE a.ev IS NOT NULL), [])) AS seq "
        "FROM dropped_src d LEFT JOIN after a ON a.cid = d.customer_id GROUP BY d.customer_id"
    )
    rows = cur.execute(
        f"""
        WITH {_PATH_EVENTS},
        after AS (SELECT e.cid, e.ev, e.et FROM ev e JOIN dropped_src d ON d.customer_id = e.cid AND e.et > d.reached_at),
        {_common_events_sql(top_events)}
        {_top_paths_sql(sequences, depth=depth, top_paths=top_paths)}
        """
    ).fetchall()
    return _sankey_from_paths(rows)


def sankey_nodes(links: pd.DataFrame) -> tuple[list[str], list[int], list[int]]:
    """Sankey links (source, target) -> (node labels, source indices, target indices) for plotly."""
    labels = list(dict.fromkeys([*links["source"], *links["target"]]))
    index = {label: i for i, label in enumerate(labels)}
    return labels, [index[s] for s in links["source"]], [index[t] for t in links["target"]]


# --- touchpoints and moments of truth -------------------------------------------------------


def touchpoint_reach(cur: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, int]:
    """Store and filters -> customers with a touchpoint on a known channel, and how many of them had a
    digital one, an analogue one and both (each customer counted once, so the shares can overlap)."""
    rel = journey_events(cur, filters)
    cur.register("reach_src", rel)
    row = cur.execute(
        """
        WITH per AS (
            SELECT customer_id,
                   bool_or(channel IN (SELECT unnest($digital))) AS digital,
                   bool_or(channel IN (SELECT unnest($analogue))) AS analogue
            FROM reach_src WHERE channel IS NOT NULL GROUP BY customer_id
        )
        SELECT count(*), count(*) FILTER (WHERE digital), count(*) FILTER (WHERE analogue),
               count(*) FILTER (WHERE digital AND analogue)
        FROM per
        """,
        {"digital": list(schema.DIGITAL_CHANNELS), "analogue": list(schema.ANALOGUE_CHANNELS)},
    ).fetchone()
    return dict(zip(("customers", "digital", "analogue", "both"), (int(v) for v in row), strict=True))


def touchpoint_matrix(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Store and filters -> one row per (channel, stage): kind ("digital"/"analogue"/"other"),
    interactions, customers; channels in schema order (digital first), stages in journey order."""
    rel = journey_events(cur, filters)
    cur.register("tp_src", rel)
    frame = cur.execute(
        "SELECT channel, stage, count(*) AS interactions, count(DISTINCT customer_id) AS customers "
        "FROM tp_src WHERE channel IS NOT NULL GROUP BY channel, stage"
    ).df()
    frame["kind"] = frame["channel"].map(
        lambda c: (
            "digital" if c in schema.DIGITAL_CHANNELS else ("analogue" if c in schema.ANALOGUE_CHANNELS else "other")
        )
    )
    channel_rank = {c: i for i, c in enumerate(schema.CHANNELS)}
    stage_rank = {s: i for i, s in enumerate(schema.STAGES)}
    frame["_c"] = frame["channel"].map(lambda c: channel_rank.get(c, len(channel_rank)))
    frame["_s"] = frame["stage"].map(lambda s: stage_rank.get(s, len(stage_rank)))
    frame = frame.sort_values(["_c", "channel", "_s", "stage"]).drop(columns=["_c", "_s"]).reset_index(drop=True)
    return frame[["channel", "kind", "stage", "interactions", "customers"]]


def touchpoint_pivot(matrix: pd.DataFrame, *, value: str = "interactions") -> pd.DataFrame:
    """touchpoint_matrix output -> channels × stages table of ``value`` (0 where none), rows in schema order."""
    if matrix.empty:
        return pd.DataFrame()
    pivot = matrix.pivot_table(index="channel", columns="stage", values=value, aggfunc="sum", fill_value=0)
    stages = [s for s in schema.STAGES if s in pivot.columns] + [s for s in pivot.columns if s not in schema.STAGES]
    channels = list(dict.fromkeys(matrix["channel"]))
    return pivot.reindex(index=channels, columns=stages)


def moments_of_truth(cur: duckdb.DuckDBPyConnection, filters: Filters, *, research_days: int = 14) -> dict[str, float]:
    """Store and filters -> the moments-of-truth figures of purchases in the period.

    - purchases: purchase interactions in the period;
    - zmot_share (zero moment): share of purchases preceded by online research — the purchase's
      ``properties.online_research`` is true, or the customer had a ``search_result_click`` or
      ``site_visit`` event (any time, even before the period) in the ``research_days`` before it;
    - first_encounter_share: share of purchasing customers whose first interaction ever was a digital touch;
    - median_days_first_touch_to_purchase: from a customer's first interaction to their first purchase;
    - reviewed_share (second moment): share of purchases followed by a review within 90 days;
    - mean_rating: mean review rating (properties.rating) in the period.
    """
    scope_sql, scope_params = customer_scope(filters, alias="i.customer_id")
    period_sql, period_params = period_condition(filters, "i.occurred_at")
    digital = list(schema.DIGITAL_CHANNELS)
    row = cur.execute(
        f"""
        WITH p AS (SELECT i.customer_id, i.occurred_at, i.properties FROM interactions i
                   WHERE i.event = 'purchase' AND i.occurred_at IS NOT NULL AND {period_sql} AND {scope_sql}),
        research AS (
            SELECT p.customer_id, p.occurred_at,
                   coalesce(TRY_CAST(json_extract(p.properties, '$.online_research') AS BOOLEAN), FALSE)
                   OR EXISTS (SELECT 1 FROM interactions r WHERE r.customer_id = p.customer_id
                              AND r.event IN ('search_result_click', 'site_visit')
                              AND r.occurred_at < p.occurred_at
                              AND r.occurred_at >= p.occurred_at - to_days(CAST(? AS INTEGER))) AS researched,
                   EXISTS (SELECT 1 FROM interactions v WHERE v.customer_id = p.customer_id
                           AND v.event = 'review_written' AND v.occurred_at >= p.occurred_at
                           AND v.occurred_at <= p.occurred_at + INTERVAL 90 DAY) AS reviewed
            FROM p),
        buyers AS (SELECT DISTINCT customer_id FROM p),
        firsts AS (SELECT i.customer_id, arg_min(i.channel, i.occurred_at) AS first_channel, min(i.occurred_at) AS first_at,
                          min(i.occurred_at) FILTER (WHERE i.event = 'purchase') AS first_purchase
                   FROM interactions i JOIN buyers b USING (customer_id) GROUP BY i.customer_id),
        ratings AS (SELECT TRY_CAST(json_extract(i.properties, '$.rating') AS DOUBLE) AS rating FROM interactions i
                    WHERE i.event = 'review_written' AND {period_sql} AND {scope_sql})
        SELECT (SELECT count(*) FROM p),
               (SELECT avg(CAST(researched AS INTEGER)) FROM research),
               (SELECT avg(CAST(first_channel IN (SELECT unnest(?::VARCHAR[])) AS INTEGER)) FROM firsts),
               (SELECT median(date_diff('second', first_at, first_purchase)) / 86400.0 FROM firsts),
               (SELECT avg(CAST(reviewed AS INTEGER)) FROM research),
               (SELECT avg(rating) FROM ratings)
        """,
        [*period_params, *scope_params, research_days, *period_params, *scope_params, digital],
    ).fetchone()
    keys = (
        "purchases",
        "zmot_share",
        "first_encounter_share",
        "median_days_first_touch_to_purchase",
        "reviewed_share",
        "mean_rating",
    )
    return {k: (float("nan") if v is None else float(v)) for k, v in zip(keys, row, strict=True)}


def loyalty_loop(cur: duckdb.DuckDBPyConnection, filters: Filters) -> tuple[dict[str, float], pd.DataFrame]:
    """Store and filters -> (summary, gaps) of repeat purchasing in the period.

    Summary: buyers (customers with a purchase in the period), repeat_buyers (two or more),
    repeat_rate, median_days_between, mean_days_between. Gaps: customer_id, days (one row per gap
    between consecutive purchases of a customer, both in the period).
    """
    scope_sql, scope_params = customer_scope(filters)
    period_sql, period_params = period_condition(filters, "occurred_at")
    gaps = cur.execute(
        f"""
        SELECT customer_id, date_diff('second', prev_at, occurred_at) / 86400.0 AS days FROM (
            SELECT customer_id, occurred_at, lag(occurred_at) OVER (PARTITION BY customer_id ORDER BY occurred_at) AS prev_at
            FROM interactions WHERE event = 'purchase' AND occurred_at IS NOT NULL AND {period_sql} AND {scope_sql}
        ) WHERE prev_at IS NOT NULL ORDER BY customer_id, occurred_at
        """,
        [*period_params, *scope_params],
    ).df()
    (buyers,) = cur.execute(
        f"SELECT count(DISTINCT customer_id) FROM interactions WHERE event = 'purchase' AND occurred_at IS NOT NULL "
        f"AND {period_sql} AND {scope_sql}",
        [*period_params, *scope_params],
    ).fetchone()
    repeat = int(gaps["customer_id"].nunique()) if not gaps.empty else 0
    summary = {
        "buyers": float(buyers),
        "repeat_buyers": float(repeat),
        "repeat_rate": repeat / buyers if buyers else float("nan"),
        "median_days_between": float(gaps["days"].median()) if not gaps.empty else float("nan"),
        "mean_days_between": float(gaps["days"].mean()) if not gaps.empty else float("nan"),
    }
    return summary, gaps
