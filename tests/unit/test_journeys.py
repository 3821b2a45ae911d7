"""Funnel engine, paths, touchpoints and moments of truth of analytics.journeys.

Every numbered funnel rule of the module docstring has hand-worked cases (a small event table and
the counts and timings worked out on paper), and the SQL engine is checked against a plain Python
reference implementation of the same rules on random data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from collections import defaultdict

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import journeys as j
from analytics.filters import Filters

T0 = dt.datetime(2026, 3, 2, 9, 0, 0)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def events(*rows) -> pd.DataFrame:
    """(customer, event, hours after T0) rows -> an events frame."""
    return pd.DataFrame(
        [(c, e, T0 + dt.timedelta(hours=h)) for c, e, h in rows], columns=["customer_id", "event", "occurred_at"]
    )


def counts(frame: pd.DataFrame) -> list[int]:
    return frame["customers"].tolist()


# --- the reference: the rules written out as plainly as possible -------------------------------


def reference(rows, steps, window, *, order="ordered", exclusions=(), gaps=None):
    """Per customer: (furthest step, [step times]) following the module docstring, attempt by attempt.

    rows: (customer, event, time as a number); window and gaps in the same unit.
    """
    n = len(steps)

    def min_step(event):
        return min([k for k, s in enumerate(steps, start=1) if s == event] or [n + 1])

    by_customer = defaultdict(list)
    for c, e, t in rows:
        by_customer[c].append((t, e))
    result = {}
    for c, evs in by_customer.items():
        evs.sort(key=lambda x: (x[0], min_step(x[1]), x[1]))
        attempts = []
        if order in ("ordered", "strict"):
            seq = evs if order == "strict" else [x for x in evs if x[1] in steps]
            for i, (t0, e) in enumerate(seq):
                if e != steps[0]:
                    continue
                times, pos = [t0], i
                for k in range(1, n):
                    if order == "strict":
                        nxt = pos + 1 if pos + 1 < len(seq) and seq[pos + 1][1] == steps[k] else None
                    else:
                        nxt = next((q for q in range(pos + 1, len(seq)) if seq[q][1] == steps[k]), None)
                    if nxt is None or seq[nxt][0] - t0 > window:
                        break
                    if gaps and gaps[k - 1] is not None and seq[nxt][0] - times[-1] > gaps[k - 1]:
                        break
                    times.append(seq[nxt][0])
                    pos = nxt
                reached = len(times)
                spoiled = any(
                    xe == name
                    and reached >= a
                    and xt >= times[a - 1]
                    and xt <= t0 + window
                    and (reached < b or xt < times[b - 1])
                    for xt, xe in evs
                    for name, a, b in exclusions
                )
                attempts.append((reached, spoiled, times))
        else:
            wanted = defaultdict(int)
            for s in steps:
                wanted[s] += 1
            excluded = {x[0] for x in exclusions}
            for t0 in sorted({t for t, e in evs if e in wanted}):
                stops = [t for t, e in evs if e in excluded and t0 <= t <= t0 + window]
                end = min([t0 + window, *stops])
                chosen = []
                for name, m in wanted.items():
                    chosen += sorted(t for t, e in evs if e == name and t0 <= t <= end)[:m]
                chosen.sort()
                attempts.append((len(chosen), False, chosen))
        if not attempts:
            continue
        best = min(attempts, key=lambda a: (-a[0], a[1], a[2][a[0] - 1], -a[2][0]))
        result[c] = (0, []) if best[1] else (best[0], best[2])
    return result


def reference_funnel(rows, steps, window, **options):
    """Reference per-customer results -> (counts, medians, means) per step (None where undefined)."""
    per = reference(rows, steps, window, **options)
    n = len(steps)
    counts_, medians, means = [], [None], [None]
    for k in range(1, n + 1):
        counts_.append(sum(1 for r, _ in per.values() if r >= k))
    for k in range(2, n + 1):
        deltas = [t[k - 1] - t[k - 2] for r, t in per.values() if r >= k and t[k - 1] > t[k - 2]]
        medians.append(statistics.median(deltas) if deltas else None)
        means.append(statistics.fmean(deltas) if deltas else None)
    return counts_, medians, means


def per_customer_hours(progress: pd.DataFrame) -> dict:
    """funnel_customers output -> {customer: (furthest step, [hours after T0 of steps 1..furthest])}, as reference()."""
    return {
        r.customer_id: (
            r.furthest_step,
            [(getattr(r, f"step_{k}_at") - T0).total_seconds() / 3600 for k in range(1, r.furthest_step + 1)],
        )
        for r in progress.itertuples(index=False)
    }


def hours_rows(frame: pd.DataFrame):
    return [(c, e, (t - T0).total_seconds() / 3600) for c, e, t in frame.itertuples(index=False)]


def assert_matches_reference(frame, steps, window_hours, **options):
    gaps = options.pop("gaps", None)
    result = j.funnel(
        frame,
        steps,
        window=dt.timedelta(hours=window_hours),
        step_windows=None if gaps is None else [None if g is None else dt.timedelta(hours=g) for g in gaps],
        **options,
    )
    exp_counts, exp_medians, exp_means = reference_funnel(hours_rows(frame), steps, window_hours, gaps=gaps, **options)
    assert counts(result) == exp_counts
    for got, want in zip(result["median_seconds"], exp_medians, strict=True):
        assert (want is None and math.isnan(got)) or got == pytest.approx(want * 3600)
    for got, want in zip(result["mean_seconds"], exp_means, strict=True):
        assert (want is None and math.isnan(got)) or got == pytest.approx(want * 3600)


# --- rule 1: entry at a step-1 event -------------------------------------------------------------


def test_rule1_a_later_step_before_any_entry_counts_for_nothing():
    frame = events(("a", "B", 0), ("a", "A", 1), ("b", "B", 0), ("c", "A", 0), ("c", "B", 2))
    result = j.funnel(frame, ["A", "B"])
    # a: B before A does not count -> step 1 only; b never enters; c converts after 2 h.
    assert counts(result) == [2, 1]
    assert result["conversion_from_start"].tolist() == [1.0, 0.5]
    assert result["median_seconds"][1] == 7200


# --- rule 2: window from step 1, absolute, inclusive --------------------------------------------


def test_rule2_window_boundary_is_inclusive_and_measured_from_step_one():
    frame = events(
        ("exact", "A", 0),
        ("exact", "B", 10),
        ("exact", "C", 14 * 24),  # C exactly 14 days after A
        ("late", "A", 0),
        ("late", "B", 10),
        ("late", "C", 14 * 24 + 1 / 3600),  # one second too late
    )
    result = j.funnel(frame, ["A", "B", "C"], window=dt.timedelta(days=14))
    assert counts(result) == [2, 2, 1]
    # The window runs from step 1, not from step 2: 14 days after B would have let "late" in.
    assert result["median_seconds"][2] == (14 * 24 - 10) * 3600


# --- rule 3: every step-1 event starts an attempt; furthest step counts ------------------------


def test_rule3_a_new_entry_restarts_the_window_and_the_furthest_attempt_counts():
    # First attempt (A at 0) times out before C; the second attempt (A at 100 h) reaches C.
    frame = events(("a", "A", 0), ("a", "B", 1), ("a", "A", 100), ("a", "B", 101), ("a", "C", 102))
    result = j.funnel(frame, ["A", "B", "C"], window=dt.timedelta(hours=48))
    assert counts(result) == [1, 1, 1]
    # Timings come from the attempt that converted: 1 h and 1 h.
    assert result["median_seconds"].tolist()[1:] == [3600, 3600]


def test_rule3_counts_are_customers_at_or_beyond_each_step():
    frame = events(("a", "A", 0), ("b", "A", 0), ("b", "B", 1), ("c", "A", 0), ("c", "B", 1), ("c", "C", 2))
    result = j.funnel(frame, ["A", "B", "C"])
    assert counts(result) == [3, 2, 1]
    assert result["conversion_from_previous"].tolist() == pytest.approx([1.0, 2 / 3, 0.5])


# --- rule 4: one event fills at most one step ---------------------------------------------------


def test_rule4_a_repeated_step_needs_two_occurrences():
    one = events(("a", "A", 0), ("a", "B", 1))
    two = events(("a", "A", 0), ("a", "B", 1), ("a", "B", 3))
    assert counts(j.funnel(one, ["A", "B", "B"])) == [1, 1, 0]
    result = j.funnel(two, ["A", "B", "B"])
    assert counts(result) == [1, 1, 1]
    assert result["median_seconds"].tolist()[1:] == [3600, 7200]


def test_rule4_the_entry_event_cannot_also_be_step_two():
    assert counts(j.funnel(events(("a", "A", 0)), ["A", "A"])) == [1, 0]
    assert counts(j.funnel(events(("a", "A", 0), ("a", "A", 5)), ["A", "A"])) == [1, 1]


# --- rule 5: the first full conversion sets the timings -----------------------------------------


def test_rule5_later_attempts_after_a_conversion_are_ignored():
    frame = events(("a", "A", 0), ("a", "B", 5), ("a", "A", 10), ("a", "B", 11))
    result = j.funnel(frame, ["A", "B"])
    assert counts(result) == [1, 1]
    assert result["median_seconds"][1] == 5 * 3600  # not the quicker 1 h of the second attempt


def test_rule5_when_two_attempts_convert_with_the_same_event_the_later_start_counts():
    # A at 0 and A at 3 both reach B at 4 (PostHog keeps the latest entry): 1 h, not 4 h.
    frame = events(("a", "A", 0), ("a", "A", 3), ("a", "B", 4))
    assert j.funnel(frame, ["A", "B"])["median_seconds"][1] == 3600
    per = j.funnel_customers(frame, ["A", "B"])
    assert per.loc[0, "step_1_at"] == T0 + 3 * HOUR


# --- rule 6: same timestamp in step order ---------------------------------------------------------


def test_rule6_same_timestamp_steps_convert_in_step_order():
    frame = events(("a", "B", 2), ("a", "A", 2), ("a", "C", 2))
    result = j.funnel(frame, ["A", "B", "C"])
    assert counts(result) == [1, 1, 1]
    # Zero-second conversions are left out of the timings (rule 9).
    assert math.isnan(result["median_seconds"][1]) and math.isnan(result["mean_seconds"][2])


# --- rule 7: strict and unordered -----------------------------------------------------------------


def test_rule7_strict_breaks_on_any_other_event():
    frame = events(
        ("a", "A", 0),
        ("a", "X", 1),
        ("a", "B", 2),  # X between A and B breaks
        ("b", "A", 0),
        ("b", "B", 2),
        ("c", "A", 0),
        ("c", "X", 1),
        ("c", "A", 3),
        ("c", "B", 4),  # a later clean attempt converts
    )
    assert counts(j.funnel(frame, ["A", "B"], order="strict")) == [3, 2]
    assert counts(j.funnel(frame, ["A", "B"], order="ordered")) == [3, 3]


def test_rule7_unordered_takes_the_steps_in_any_order_within_the_window():
    frame = events(
        ("a", "C", 0),
        ("a", "B", 1),
        ("a", "A", 2),  # all three, reversed
        ("b", "B", 0),
        ("b", "A", 30),  # the second step falls outside a 24 h window
        ("c", "B", 0),
    )
    result = j.funnel(frame, ["A", "B", "C"], order="unordered", window=dt.timedelta(hours=24))
    assert counts(result) == [3, 1, 1]
    assert result["name"].tolist() == ["1 of 3", "2 of 3", "3 of 3"]
    assert result["median_seconds"].tolist()[1:] == [3600, 3600]
    assert counts(j.funnel(frame, ["A", "B", "C"], window=dt.timedelta(hours=24))) == [2, 0, 0]


# --- rule 8: exclusions -----------------------------------------------------------------------------


def test_rule8_an_exclusion_inside_the_attempt_drops_the_customer_entirely():
    frame = events(
        ("a", "A", 0),
        ("a", "X", 1),
        ("a", "B", 2),  # spoiled: X between A and B
        ("b", "A", 0),
        ("b", "B", 2),
        ("b", "X", 3),  # X after B: not between the steps
        ("c", "A", 0),
        ("c", "X", 1),  # spoiled while waiting for B: drops out even from step 1
    )
    result = j.funnel(frame, ["A", "B"], exclusions=[("X", 1, 2)])
    assert counts(result) == [1, 1]
    per = j.funnel_customers(frame, ["A", "B"], exclusions=[("X", 1, 2)]).set_index("customer_id")
    assert per["furthest_step"].to_dict() == {"a": 0, "b": 2, "c": 0}


def test_rule8_a_clean_attempt_that_gets_as_far_rescues_the_customer():
    frame = events(("a", "A", 0), ("a", "X", 1), ("a", "B", 2), ("a", "A", 5), ("a", "B", 6))
    result = j.funnel(frame, ["A", "B"], exclusions=[("X", 1, 2)])
    assert counts(result) == [1, 1]
    assert result["median_seconds"][1] == 3600


def test_rule8_an_exclusion_outside_the_steps_or_the_window_does_not_count():
    frame = events(
        ("a", "X", 0),
        ("a", "A", 1),
        ("a", "B", 2),
        ("a", "C", 3),  # X before step 1
        ("b", "A", 0),
        ("b", "B", 1),
        ("b", "X", 2),
        ("b", "C", 3),  # X between B and C, excluded range is 1-2
    )
    assert counts(j.funnel(frame, ["A", "B", "C"], exclusions=[("X", 1, 2)])) == [2, 2, 2]
    assert counts(j.funnel(frame, ["A", "B", "C"], exclusions=[("X", 2, 3)])) == [1, 1, 1]
    late = events(("a", "A", 0), ("a", "X", 30))  # after a 24 h window
    assert counts(j.funnel(late, ["A", "A"], exclusions=[("X", 1, 2)], window=dt.timedelta(hours=24))) == [1, 0]


def test_rule8_exclusions_in_strict_funnels_spoil_too():
    frame = events(("a", "A", 0), ("a", "X", 1), ("a", "B", 2), ("b", "A", 0), ("b", "B", 1))
    assert counts(j.funnel(frame, ["A", "B"], order="strict")) == [2, 1]
    assert counts(j.funnel(frame, ["A", "B"], order="strict", exclusions=[("X", 1, 2)])) == [1, 1]


def test_rule8_unordered_exclusion_resets_progress():
    frame = events(("a", "A", 0), ("a", "X", 1), ("a", "B", 2), ("b", "A", 0), ("b", "B", 2))
    result = j.funnel(frame, ["A", "B"], order="unordered", exclusions=[("X", 1, 2)])
    # a: A then X resets; B starts afresh -> one step; b: both steps.
    assert counts(result) == [2, 1]


# --- rule 9: time to convert -------------------------------------------------------------------------


def test_rule9_time_to_convert_leaves_out_zero_second_conversions_and_bins_the_rest():
    frame = events(
        ("a", "A", 0),
        ("a", "B", 0),  # zero seconds: left out
        ("b", "A", 0),
        ("b", "B", 1),
        ("c", "A", 0),
        ("c", "B", 2),
        ("d", "A", 0),
        ("d", "B", 6),
    )
    result = j.funnel(frame, ["A", "B"])
    assert result["median_seconds"][1] == 2 * 3600
    assert result["mean_seconds"][1] == 3 * 3600
    bins, summary = j.time_to_convert(frame, ["A", "B"], bins=5)
    assert summary["customers"] == 4 and summary["zero_second"] == 1
    assert summary["median"] == 7200 and summary["mean"] == 10800
    assert bins["customers"].sum() == 3
    assert bins["bin_start_seconds"].iloc[0] == 3600 and bins["bin_end_seconds"].iloc[-1] == 6 * 3600
    # Five 1-hour bins from 1 h to 6 h: 1 h and 2 h fall in the first two, 6 h in the last.
    assert bins["customers"].tolist() == [1, 1, 0, 0, 1]


# --- rule 10: conversion over time by entry period ----------------------------------------------------


def test_rule10_a_customer_belongs_to_the_period_of_their_step_one_event():
    # T0 is Monday 2 March 2026. a enters in week 1 and converts in week 2 (counted in week 1);
    # b enters in week 1 and again in week 2, converting only in week 2.
    frame = events(
        ("a", "A", 24 * 6),
        ("a", "B", 24 * 8),
        ("b", "A", 0),
        ("b", "A", 24 * 7 + 1),
        ("b", "B", 24 * 7 + 2),
    )
    trend = j.conversion_trend(frame, ["A", "B"], period="week")
    assert trend["period"].astype(str).tolist() == ["2026-03-02", "2026-03-09"]
    assert trend["entered"].tolist() == [2, 1]
    assert trend["converted"].tolist() == [2, 1]  # b's first attempt converts too (B within 14 days)
    tight = j.conversion_trend(frame, ["A", "B"], period="week", window=dt.timedelta(days=3))
    assert tight["converted"].tolist() == [1, 1]
    assert tight["median_seconds"].tolist() == [2 * 86400, 3600]
    ttc = j.time_to_convert_trend(frame, ["A", "B"], period="week", window=dt.timedelta(days=3))
    assert ttc["median_seconds"].tolist() == [2 * 86400, 3600]


# --- per-step windows ----------------------------------------------------------------------------------


def test_step_windows_bound_the_time_from_the_previous_step():
    frame = events(("a", "A", 0), ("a", "B", 1), ("a", "C", 5), ("b", "A", 0), ("b", "B", 4), ("b", "C", 5))
    both = j.funnel(frame, ["A", "B", "C"], step_windows=[dt.timedelta(hours=2), dt.timedelta(hours=2)])
    assert counts(both) == [2, 1, 0]
    only_last = j.funnel(frame, ["A", "B", "C"], step_windows=[None, dt.timedelta(hours=2)])
    assert counts(only_last) == [2, 2, 1]


# --- input checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "options", "message"),
    [
        (["A"], {}, "at least two steps"),
        (["A", "Nope"], {}, "No events named 'Nope'"),
        (["A", "B"], {"window": dt.timedelta(0)}, "longer than zero"),
        (["A", "B"], {"window": dt.timedelta(days=-1)}, "longer than zero"),
        (["A", "B"], {"order": "sideways"}, "Unknown funnel order"),
        (["A", "B"], {"exclusions": [("X", 2, 1)]}, "from one step to a later one"),
        (["A", "B"], {"exclusions": [("B", 1, 2)]}, "cannot also be an exclusion"),
        (["A", "B"], {"order": "unordered", "step_windows": [dt.timedelta(hours=1)]}, "ordered or strict"),
    ],
)
def test_bad_input_gets_a_clear_message(steps, options, message):
    frame = events(("a", "A", 0), ("a", "B", 1))
    with pytest.raises(j.FunnelInputError, match=message):
        j.funnel(frame, steps, **options)


def test_events_without_a_time_are_refused_with_a_count():
    frame = events(("a", "A", 0), ("a", "B", 1))
    frame.loc[1, "occurred_at"] = pd.NaT
    with pytest.raises(j.FunnelInputError, match="1 event"):
        j.funnel(frame, ["A", "B"])


def test_missing_columns_and_table_names_are_checked():
    with pytest.raises(j.FunnelInputError, match="lack the column"):
        j.funnel(pd.DataFrame({"customer_id": ["a"]}), ["A", "B"])
    with pytest.raises(j.FunnelInputError, match="con="):
        j.funnel("interactions", ["A", "B"])


def test_a_table_name_and_a_relation_give_the_same_answer(mem_con):
    frame = events(("a", "A", 0), ("a", "B", 1), ("b", "A", 0))
    cur = mem_con.cursor()
    cur.register("frame_view", frame)
    cur.execute("CREATE TABLE my_events AS SELECT * FROM frame_view")
    by_table = j.funnel("my_events", ["A", "B"], con=cur)
    by_relation = j.funnel(cur.sql("SELECT * FROM my_events"), ["A", "B"], con=cur)
    by_relation_alone = j.funnel(cur.sql("SELECT * FROM my_events"), ["A", "B"])
    assert counts(by_table) == counts(by_relation) == counts(by_relation_alone) == [2, 1]
    assert list(by_table.columns) == list(j.FUNNEL_COLUMNS)


# --- properties --------------------------------------------------------------------------------------------

NAMES = ["A", "B", "C", "X"]


@st.composite
def event_tables(draw):
    customers = draw(st.integers(min_value=1, max_value=4))
    rows = []
    for c in range(customers):
        for _ in range(draw(st.integers(min_value=0, max_value=9))):
            rows.append((f"c{c}", draw(st.sampled_from(NAMES)), draw(st.integers(min_value=0, max_value=30))))
    frame = events(*rows) if rows else events(("c0", "A", 0))
    steps = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=2, max_size=4))
    window = draw(st.sampled_from([1, 3, 8, 24]))
    return frame, steps, window


def _present(frame, steps):
    return set(steps) <= set(frame["event"])


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@SETTINGS
@given(event_tables(), st.sampled_from(j.ORDERS))
def test_counts_never_rise_from_step_to_step(table, order):
    frame, steps, window = table
    if not _present(frame, steps):
        return
    got = counts(j.funnel(frame, steps, window=dt.timedelta(hours=window), order=order))
    assert all(a >= b for a, b in zip(got, got[1:], strict=False))


@SETTINGS
@given(event_tables())
def test_ordered_never_counts_more_than_unordered(table):
    frame, steps, window = table
    if not _present(frame, steps):
        return
    ordered = counts(j.funnel(frame, steps, window=dt.timedelta(hours=window)))
    unordered = counts(j.funnel(frame, steps, window=dt.timedelta(hours=window), order="unordered"))
    strict = counts(j.funnel(frame, steps, window=dt.timedelta(hours=window), order="strict"))
    assert all(s <= o <= u for s, o, u in zip(strict, ordered, unordered, strict=True))


@SETTINGS
@given(event_tables(), st.sampled_from(j.ORDERS), st.randoms(use_true_random=False))
def test_shuffling_the_rows_changes_nothing(table, order, rnd):
    frame, steps, window = table
    if not _present(frame, steps):
        return
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10_000)).reset_index(drop=True)
    a = j.funnel(frame, steps, window=dt.timedelta(hours=window), order=order)
    b = j.funnel(shuffled, steps, window=dt.timedelta(hours=window), order=order)
    pd.testing.assert_frame_equal(a, b)


@SETTINGS
@given(event_tables(), st.sampled_from(j.ORDERS), st.booleans())
def test_sql_engine_matches_the_python_reference(table, order, with_exclusion):
    frame, steps, window = table
    if not _present(frame, steps) or (with_exclusion and "X" not in set(frame["event"])):
        return
    exclusions = [("X", 1, len(steps))] if with_exclusion else []
    assert_matches_reference(frame, steps, window, order=order, exclusions=exclusions)


@SETTINGS
@given(event_tables(), st.sampled_from(["ordered", "strict"]), st.sampled_from([1, 2, 5]))
def test_sql_engine_matches_the_reference_with_step_windows(table, order, gap):
    frame, steps, window = table
    if not _present(frame, steps):
        return
    gaps = [gap] + [None] * (len(steps) - 2)
    assert_matches_reference(frame, steps, window, order=order, gaps=gaps)


def test_sql_engine_matches_the_reference_on_a_larger_random_table():
    rnd = random.Random(11)
    rows = [(f"c{rnd.randrange(300)}", rnd.choice(NAMES + ["Y"]), rnd.randrange(2000)) for _ in range(6000)]
    frame = events(*rows)
    for order in j.ORDERS:
        assert_matches_reference(frame, ["A", "B", "C", "B"], 48, order=order, exclusions=[("X", 2, 3)])


@st.composite
def distinct_step_tables(draw):
    """Event tables whose funnel lists every step name once (the list plan of ordered funnels)."""
    frame, _steps, window = draw(event_tables())
    steps = draw(st.permutations(["A", "B", "C"]))[: draw(st.integers(min_value=2, max_value=3))]
    return frame, list(steps), window


@SETTINGS
@given(distinct_step_tables(), st.sampled_from([None, 1, 2, 5]))
def test_list_plan_matches_the_reference_customer_by_customer(table, gap):
    """Ordered funnels with distinct step names take the list plan; it must agree with the rules."""
    frame, steps, window = table
    if not _present(frame, steps):
        return
    assert j._list_path(j.make_spec(steps, window=dt.timedelta(hours=window)))
    gaps = [gap] + [None] * (len(steps) - 2)
    assert_matches_reference(frame, steps, window, gaps=gaps)
    got = j.funnel_customers(
        frame,
        steps,
        window=dt.timedelta(hours=window),
        step_windows=[None if g is None else dt.timedelta(hours=g) for g in gaps],
    )
    want = reference(hours_rows(frame), steps, window, gaps=gaps)
    assert per_customer_hours(got) == want


@SETTINGS
@given(distinct_step_tables(), st.sampled_from(j.PERIODS))
def test_list_plan_and_window_plan_agree_everywhere(table, period):
    """The list plan and the window plan (kept for repeated step names) give the same answers."""
    frame, steps, window = table
    if not _present(frame, steps):
        return
    options = {"window": dt.timedelta(hours=window)}
    groups = pd.DataFrame({"customer_id": ["c0", "c1"], "value": ["x", "y"]})

    def all_outputs():
        return (
            j.funnel(frame, steps, **options),
            j.funnel_customers(frame, steps, **options),
            j.conversion_trend(frame, steps, period=period, **options),
            j.funnel_breakdown(frame, steps, groups, **options),
        )

    with_lists = all_outputs()
    original = j._list_path
    j._list_path = lambda spec: False
    try:
        with_window = all_outputs()
    finally:
        j._list_path = original
    for a, b in zip(with_lists, with_window, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_list_plan_matches_the_reference_on_a_larger_random_table():
    rnd = random.Random(12)
    rows = [(f"c{rnd.randrange(300)}", rnd.choice(NAMES + ["Y"]), rnd.randrange(2000)) for _ in range(6000)]
    frame = events(*rows)
    assert_matches_reference(frame, ["A", "B", "C"], 48)
    assert_matches_reference(frame, ["C", "A", "B"], 200, gaps=[30, None])


# --- breakdown and significance ------------------------------------------------------------------------------


def test_two_proportion_test_matches_a_worked_example():
    # 30/100 vs 20/100: pooled 0.25, se = sqrt(0.25*0.75*0.02) = 0.0612, z = 1.633, p = 0.1025.
    z, p = j.two_proportion_test(30, 100, 20, 100)
    assert z == pytest.approx(1.633, abs=1e-3)
    assert p == pytest.approx(0.1025, abs=1e-3)
    assert math.isnan(j.two_proportion_test(0, 0, 1, 2)[0])


def test_holm_adjustment():
    assert j.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_breakdown_splits_the_funnel_and_marks_a_clear_difference():
    rows = []
    for i in range(60):
        rows += [(f"g{i}", "A", 0), (f"g{i}", "B", 1)]  # every "good" customer converts
        rows += [(f"p{i}", "A", 0)] + ([(f"p{i}", "B", 1)] if i < 6 else [])  # 10 % of "poor"
    groups = pd.DataFrame({"customer_id": [f"g{i}" for i in range(60)], "value": "good"})
    result = j.funnel_breakdown(events(*rows), ["A", "B"], groups)
    assert set(result["value"]) == {"good", "(none)"}
    good = result[(result["value"] == "good") & (result["step"] == 2)].iloc[0]
    assert good["customers"] == 60 and good["conversion"] == 1.0 and bool(good["significant"])
    poor = result[(result["value"] == "(none)") & (result["step"] == 2)].iloc[0]
    assert poor["customers"] == 6 and poor["conversion"] == pytest.approx(0.1)


# --- dropped customers, paths, Sankey --------------------------------------------------------------------------


def test_dropped_customers_are_those_whose_furthest_step_is_the_one_before():
    frame = events(("a", "A", 0), ("b", "A", 0), ("b", "B", 1), ("c", "A", 0), ("c", "B", 1), ("c", "C", 2))
    per = j.funnel_customers(frame, ["A", "B", "C"])
    assert j.dropped_customers(per, 2)["customer_id"].tolist() == ["a"]
    dropped = j.dropped_customers(per, 3)
    assert dropped["customer_id"].tolist() == ["b"]
    assert dropped["reached_at"].tolist() == [T0 + HOUR]
    with pytest.raises(j.FunnelInputError):
        j.dropped_customers(per, 1)


def test_paths_lump_rare_events_and_end_short_sequences():
    frame = events(
        ("a", "S", 0),
        ("a", "P", 1),
        ("a", "Q", 2),
        ("b", "S", 0),
        ("b", "P", 1),
        ("b", "Z", 2),
        ("c", "S", 0),
        ("d", "P", 0),  # never starts
    )
    paths, links = j.paths(frame, "S", depth=3, top_events=2)
    # Most frequent after S: S (3), P (2); Q and Z (1 each) become "other".
    assert dict(zip(paths["path"], paths["customers"], strict=True)) == {
        "S → P → other": 2,
        "S → ended": 1,
    }
    assert set(map(tuple, links[["source", "target", "customers"]].to_numpy().tolist())) == {
        ("1. S", "2. P", 2),
        ("2. P", "3. other", 2),
        ("1. S", "2. ended", 1),
    }
    labels, sources, targets = j.sankey_nodes(links)
    assert len(labels) == 4 and len(sources) == len(targets) == 3


def test_paths_cut_at_the_depth_order_ties_by_name_and_keep_the_most_frequent():
    frame = events(
        ("x", "S", 0), ("x", "B", 1), ("x", "A", 1), ("x", "C", 2), ("x", "D", 3),  # A and B at the same hour
        ("y", "S", 0), ("y", "C", 1),
        ("z", "S", 0), ("z", "C", 1),
        ("w", "S", 0), ("w", "D", 1),
    )  # fmt: skip
    paths, _links = j.paths(frame, "S", depth=3, top_paths=2)
    # x: S → A → B (cut at 3, no "ended"); y, z: S → C → ended; w: S → D → ended. Ties of one customer
    # are ordered by the path's text, so "S → A → B" comes before "S → D → ended".
    assert list(zip(paths["path"], paths["steps"], paths["customers"], strict=True)) == [
        ("S → C → ended", 3, 2),
        ("S → A → B", 3, 1),
    ]
    # Shares are of all four customers who started, not of the three the two kept paths hold.
    assert paths["share"].tolist() == [0.5, 0.25]


def _reference_paths(rows, start, depth):
    """Plain Python: each customer's events from their first ``start`` on, cut at ``depth``, counted."""
    by_customer = defaultdict(list)
    for c, e, h in rows:
        by_customer[c].append((h, e))
    counted = defaultdict(int)
    for items in by_customer.values():
        items.sort()
        starts = [h for h, e in items if e == start]
        if not starts:
            continue
        seq = [e for h, e in items if h >= starts[0]]
        cut = tuple(seq[:depth]) + (("ended",) if len(seq) < depth else ())
        counted[" → ".join(cut)] += 1
    return dict(counted)


def test_paths_match_a_plain_python_count_on_random_data():
    rnd = random.Random(5)
    rows = [(f"c{rnd.randrange(80)}", rnd.choice("SABC"), rnd.randrange(500)) for _ in range(700)]
    frame = events(*rows)
    paths, links = j.paths(frame, "S", depth=4, top_events=8, top_paths=10_000)
    assert dict(zip(paths["path"], paths["customers"], strict=True)) == _reference_paths(rows, "S", 4)
    assert paths["customers"].is_monotonic_decreasing
    assert paths["share"].sum() == pytest.approx(1.0)  # every path kept: they cover everyone
    # Every path has at least two positions ("S → ended"), so the links out of position 1 carry
    # every customer (a path may start with an event at the same instant as the first S).
    assert (
        links.loc[links["source"].str.startswith("1. "), "customers"].sum()
        == paths["customers"].sum()
        == len({c for c, e, _h in rows if e == "S"})
    )


def test_paths_after_dropoff_start_at_the_drop():
    frame = events(("a", "A", 0), ("a", "Q", 1), ("b", "A", 0), ("b", "B", 1), ("c", "A", 0))
    per = j.funnel_customers(frame, ["A", "B"])
    paths, _links = j.paths_after_dropoff(frame, per, 2, depth=3)
    assert dict(zip(paths["path"], paths["customers"], strict=True)) == {
        f"{j.DROPPED} → Q → ended": 1,
        f"{j.DROPPED} → ended": 1,
    }


# --- store-based panels -------------------------------------------------------------------------------------------


def _seed(con, rows, customers=("a", "b", "c")):
    cur = con.cursor()
    for c in customers:
        cur.execute("INSERT INTO customers (customer_id, segment, country) VALUES (?, 'SME', 'DE')", [c])
    for i, (c, event, stage, channel, at, props) in enumerate(rows):
        cur.execute(
            "INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage, channel, properties) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [f"I{i}", c, at, event, stage, channel, props],
        )
    return cur


def test_touchpoint_matrix_counts_channel_by_stage_and_marks_the_kind(mem_con):
    d = dt.datetime(2026, 5, 1)
    cur = _seed(
        mem_con,
        [
            ("a", "site_visit", "interest", "website", d, None),
            ("b", "site_visit", "interest", "website", d, None),
            ("a", "purchase", "purchase", "store", d, None),
            ("a", "purchase", "purchase", "store", d + DAY, None),
        ],
    )
    matrix = j.touchpoint_matrix(cur, Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)))
    assert matrix.to_dict("records") == [
        {"channel": "website", "kind": "digital", "stage": "interest", "interactions": 2, "customers": 2},
        {"channel": "store", "kind": "analogue", "stage": "purchase", "interactions": 2, "customers": 1},
    ]
    pivot = j.touchpoint_pivot(matrix)
    assert pivot.loc["website", "interest"] == 2 and pivot.loc["website", "purchase"] == 0
    # Reach counts each customer once: a (website and store), b (website only), c (no touchpoint).
    reach = j.touchpoint_reach(cur, Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)))
    assert reach == {"customers": 2, "digital": 2, "analogue": 1, "both": 1}


def test_moments_of_truth_and_loyalty_loop_on_a_hand_made_store(mem_con):
    d = dt.datetime(2026, 5, 1)
    cur = _seed(
        mem_con,
        [
            # a: researched (a site visit 3 days before), buys twice 10 days apart, reviews with 4.
            ("a", "site_visit", "interest", "website", d - 3 * DAY, None),
            ("a", "purchase", "purchase", "online shop", d, '{"online_research": false}'),
            ("a", "purchase", "purchase", "online shop", d + 10 * DAY, '{"online_research": false}'),
            ("a", "review_written", "loyalty", "community", d + 12 * DAY, '{"rating": 4}'),
            # b: first met us in a store, buys once, said online research in the purchase properties.
            ("b", "word_of_mouth", "awareness", "store", d - 4 * DAY, None),
            ("b", "purchase", "purchase", "store", d, '{"online_research": true}'),
            # c: no research, buys once.
            ("c", "purchase", "purchase", "store", d, '{"online_research": false}'),
        ],
    )
    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    mot = j.moments_of_truth(cur, f, research_days=7)
    assert mot["purchases"] == 4
    # Researched: a's two purchases (the second has the site visit 13 days before: outside 7 days -> no),
    # so a(1st) yes, a(2nd) no, b yes (property), c no -> 2 of 4.
    assert mot["zmot_share"] == pytest.approx(0.5)
    # First touch digital: a (website) yes, b (store) no, c (store) no.
    assert mot["first_encounter_share"] == pytest.approx(1 / 3)
    # Reviewed within 90 days: both of a's purchases -> 2 of 4.
    assert mot["reviewed_share"] == pytest.approx(0.5)
    assert mot["mean_rating"] == 4
    # Days from first touch to first purchase: a 3, b 4, c 0 -> median 3.
    assert mot["median_days_first_touch_to_purchase"] == pytest.approx(3)
    summary, gaps = j.loyalty_loop(cur, f)
    assert summary["buyers"] == 3 and summary["repeat_buyers"] == 1
    assert summary["repeat_rate"] == pytest.approx(1 / 3)
    assert gaps["days"].tolist() == [10.0]
    assert summary["median_days_between"] == 10.0


def test_journey_events_respect_period_and_scope(mem_con):
    d = dt.datetime(2026, 5, 1)
    cur = _seed(
        mem_con,
        [
            ("a", "site_visit", "interest", "website", d, None),
            ("b", "purchase", "purchase", "store", d + 40 * DAY, None),
        ],
    )
    cur.execute("UPDATE customers SET country = 'AT' WHERE customer_id = 'b'")
    inside = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 5, 31))
    assert j.journey_events(cur, inside).fetchall()[0][:2] == ("a", "site_visit")
    assert j.journey_events(cur, inside, level="stage").fetchall()[0][1] == "interest"
    everything = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), countries=("AT",))
    assert [r[0] for r in j.journey_events(cur, everything).fetchall()] == ["b"]


def test_save_segment_writes_saved_segments_and_the_audit_log(mem_con):
    assert j.save_segment(mem_con, " Dropped at cart ", ["b", "a", "a"]) == 2
    row = mem_con.execute("SELECT name, customer_ids FROM saved_segments").fetchone()
    assert row == ("Dropped at cart", ["a", "b"])
    assert mem_con.execute("SELECT count(*) FROM audit_log WHERE action = 'save segment'").fetchone()[0] == 1
    with pytest.raises(j.FunnelInputError):
        j.save_segment(mem_con, "", ["a"])


def test_funnel_over_the_demo_store_runs_by_stage_and_by_event(demo_con):
    cur = demo_con.cursor()
    f = Filters()
    by_stage = j.funnel(j.journey_events(cur, f, level="stage"), ["awareness", "interest", "purchase"], con=cur)
    assert by_stage["customers"].is_monotonic_decreasing and by_stage["customers"][0] > 0
    options = j.step_options(cur, f)
    assert options["stage"][:5] == ["awareness", "interest", "consideration", "intent", "purchase"]


# --- plain-data twins of the charts ------------------------------------------------------------------------


def test_funnel_chart_data_has_shares_and_drop_off():
    from analytics.charts import journeys as charts

    frame = events(
        ("a", "A", 0), ("b", "A", 0), ("b", "B", 1), ("c", "A", 0), ("c", "B", 1), ("c", "C", 2), ("d", "A", 0)
    )
    data = charts.funnel_data(j.funnel(frame, ["A", "B", "C"]))
    assert data["customers"].tolist() == [4, 2, 1]
    assert data["pct_first"].tolist() == [1.0, 0.5, 0.25]
    assert data["pct_previous"].tolist() == [1.0, 0.5, 0.5]
    assert data["dropped"].tolist() == [0, 2, 1]
    fig = charts.funnel_figure(data, title="t")
    assert fig.data[0].type == "funnel" and "25.0% of first" in fig.data[0].text[2]


def test_breakdown_chart_data_one_row_per_value_with_direction():
    from analytics.charts import journeys as charts

    rows = []
    for i in range(60):
        rows += [(f"g{i}", "A", 0), (f"g{i}", "B", 1), (f"p{i}", "A", 0)]
    groups = pd.DataFrame({"customer_id": [f"g{i}" for i in range(60)], "value": "good"})
    data = charts.breakdown_data(j.funnel_breakdown(events(*rows), ["A", "B"], groups))
    assert data["value"].tolist() == ["(none)", "good"]  # sorted by conversion, lowest first
    assert data["direction"].tolist() == ["lower", "higher"]
    # Values with an order of their own keep it: the first on top of the chart, unknown values at the bottom.
    ordered = charts.breakdown_data(j.funnel_breakdown(events(*rows), ["A", "B"], groups), order=["good", "bad"])
    assert ordered["value"].tolist() == ["(none)", "good"]
    reverse = charts.breakdown_data(
        j.funnel_breakdown(events(*rows), ["A", "B"], groups.assign(value="bad")), order=["good", "bad"]
    )
    assert reverse["value"].tolist() == ["(none)", "bad"]
    fig = charts.breakdown_figure(data, title="t", x_title="x", of_text="of", overall_text="all")
    assert fig.data[0].y[1] == "good ★"
    # Each bar says its rate and how many entered; the dashed line is everyone's rate: 60 of 120 = 50 %.
    assert list(fig.data[0].text) == ["0.0% of 60", "100.0% of 60"]
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == pytest.approx(0.5)
    assert fig.layout.annotations[0].text == "all: 50.0%"


def test_time_to_convert_and_trend_chart_data_convert_units():
    from analytics.charts import journeys as charts

    bins = pd.DataFrame(
        {"bin_start_seconds": [3600.0, 7200.0], "bin_end_seconds": [7200.0, 10800.0], "customers": [3, 1]}
    )
    data = charts.time_to_convert_data(bins)
    assert data["bin_start"].tolist() == [1.0, 2.0] and data["bin_mid"].tolist() == [1.5, 2.5]
    fig = charts.time_to_convert_figure(
        data, {"median": 5400.0, "p25": 4000.0, "p75": 7000.0, "p90": float("nan")}, title="t", x_title="h", y_title="n"
    )
    assert len(fig.layout.shapes) == 3
    assert fig.layout.xaxis.rangemode == "tozero"  # a single bin keeps a readable axis from 0
    trend = pd.DataFrame(
        {
            "period": ["2026-03-02"],
            "entered": [4],
            "converted": [1],
            "conversion_rate": [0.25],
            "median_seconds": [172800.0],
            "mean_seconds": [172800.0],
        }
    )
    assert charts.trend_data(trend)["median_time"].tolist() == [2.0]
    # Close percentile labels each get their own height (median 1.0, p25 0.91, p75 0.82).
    assert [round(a.y, 2) for a in fig.layout.annotations] == [1.0, 0.91, 0.82]


def test_trend_periods_that_are_cut_or_still_open_are_marked_incomplete():
    """Guards a weekly trend whose first week began before the chosen dates, and whose last weeks' customers
    still had time to convert, reading as real drops in conversion."""
    from analytics.charts import journeys as charts

    weeks = ["2025-10-27", "2025-11-03", "2025-11-10", "2025-11-17"]  # Mondays
    trend = pd.DataFrame(
        {
            "period": pd.to_datetime(weeks),
            "entered": [10, 10, 10, 10],
            "converted": [3, 3, 3, 1],
            "conversion_rate": [0.3, 0.3, 0.3, 0.1],
            "median_seconds": [86400.0] * 4,
            "mean_seconds": [86400.0] * 4,
        }
    )
    # Chosen dates 1 Nov to 23 Nov inclusive (data end 24 Nov 00:00), window 7 days:
    # week of 27 Oct starts before 1 Nov -> cut; week of 3 Nov ends 10 Nov, +7 days = 17 Nov <= 24 Nov -> complete;
    # week of 10 Nov: 17 Nov + 7 days = 24 Nov, exactly the end -> complete; week of 17 Nov: 1 Dec -> still open.
    data = charts.trend_data(
        trend,
        period="week",
        first_day=dt.date(2025, 11, 1),
        data_end=dt.datetime(2025, 11, 24),
        window_seconds=7 * 86400.0,
    )
    assert data["complete"].tolist() == [False, True, True, False]
    fig = charts.trend_figure(data, title="t", x_title="x", rate_title="r", entered_title="e")
    assert list(fig.data[0].marker.pattern.shape) == ["/", "", "", "/"]
    assert list(fig.data[1].marker.symbol) == ["circle-open", "circle", "circle", "circle-open"]
    # Months have their own length: March 2026 + 14 days ends 15 April.
    month = trend.iloc[:1].assign(period=pd.to_datetime(["2026-03-01"]))
    for end, complete in ((dt.datetime(2026, 4, 15), True), (dt.datetime(2026, 4, 14, 23), False)):
        flags = charts.trend_data(month, period="month", data_end=end, window_seconds=14 * 86400.0)
        assert flags["complete"].tolist() == [complete]
    # Without dates every period counts as complete; one period gets a category axis.
    assert charts.trend_data(month)["complete"].tolist() == [True]
    one = charts.trend_figure(charts.trend_data(month), title="t", x_title="x", rate_title="r", entered_title="e")
    assert one.layout.xaxis.type == "category"
    assert list(one.data[0].x) == ["2026-03-01"]  # the date, not "2026-03-01T00:00:00.000000"
    assert one.layout.yaxis2.tickformat == ".0%"  # a 25 % rate: whole percents
    low = charts.trend_data(month.assign(conversion_rate=[0.012]))
    assert (
        charts.trend_figure(low, title="t", x_title="x", rate_title="r", entered_title="e").layout.yaxis2.tickformat
        == ".1%"
    )
    # The median-time line marks the incomplete periods as the conversion chart does.
    times = charts.time_trend_figure(data, title="t", x_title="x", y_title="y")
    assert list(times.data[0].marker.symbol) == ["circle-open", "circle", "circle", "circle-open"]


def test_sankey_and_heatmap_data():
    from analytics.charts import journeys as charts

    links = pd.DataFrame({"source": ["1. S", "1. S"], "target": ["2. P", "2. ended"], "customers": [2, 1]})
    data = charts.sankey_data(links)
    assert data == {"labels": ["1. S", "2. P", "2. ended"], "source": [0, 0], "target": [1, 2], "value": [2, 1]}
    assert charts.sankey_data(links.iloc[0:0])["labels"] == []
    # "2. ended" stays in column 2 of 3 (plotly alone would push it to the last column); in a column,
    # nodes are stacked by size, "ended" last: P holds 2 of 3 customers, its centre at 1/3 of the column.
    deeper = pd.concat([links, pd.DataFrame({"source": ["2. P"], "target": ["3. S"], "customers": [2]})])
    data = charts.sankey_data(deeper)
    assert data["labels"] == ["1. S", "2. P", "2. ended", "3. S"]
    place = charts.sankey_layout(data)
    assert place["x"] == pytest.approx([0.001, 0.5, 0.5, 0.999])
    assert place["y"] == pytest.approx([0.5, 0.02 + 0.96 / 3, 0.02 + 0.96 * 2.5 / 3, 0.5])
    # One colour per event name in every column; ended grey; two names never share a colour.
    colours = charts.sankey_colours(data["labels"])
    assert colours[0] == colours[3] != colours[1] and colours[2] == "#94a3b8"
    many = [f"1. e{i}" for i in range(9)]
    assert len(set(charts.sankey_colours(many))) == 9
    matrix = pd.DataFrame(
        {
            "channel": ["website", "store"],
            "kind": ["digital", "analogue"],
            "stage": ["interest", "purchase"],
            "interactions": [2, 5],
            "customers": [2, 1],
        }
    )
    heat = charts.heatmap_data(matrix, value="customers")
    assert heat.index.tolist() == ["website (digital)", "store (analogue)"]
    assert heat.columns.tolist() == ["interest", "purchase"]
    assert heat.to_numpy().tolist() == [[2, 0], [0, 1]]


def test_purchase_gap_data_bins_the_days():
    from analytics.charts import journeys as charts

    data = charts.purchase_gap_data(pd.DataFrame({"customer_id": ["a", "a", "b"], "days": [10.0, 20.0, 30.0]}), bins=2)
    assert data["purchases"].tolist() == [1, 2]
    assert charts.purchase_gap_data(pd.DataFrame(columns=["customer_id", "days"])).empty
    # The median of 10, 20, 30 days is 20: a line there, labelled with its value.
    fig = charts.purchase_gap_figure(data, title="t", x_title="days", y_title="n", median=20.0, median_text="median")
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == 20.0 and fig.layout.annotations[0].text == "median: 20.0"
    assert not charts.purchase_gap_figure(data, title="t", x_title="d", y_title="n", median=float("nan")).layout.shapes


def test_customer_details_hold_no_personal_data(mem_con):
    cur = _seed(mem_con, [])
    details = j.customer_details(cur, ["b", "a", "zz"])
    assert details["customer_id"].tolist() == ["a", "b"]
    assert list(details.columns) == ["customer_id", "customer_type", "segment", "country", "acquisition_channel"]


# --- the ordered engine's in-query checks and per-customer answers ---------------------------------------


def test_ordered_funnel_refuses_events_without_a_customer_and_names_unknown_steps_in_every_function():
    frame = events(("a", "A", 0), ("a", "B", 1), ("b", "A", 2))
    no_customer = frame.copy()
    no_customer.loc[2, "customer_id"] = None
    with pytest.raises(j.FunnelInputError, match="1 event"):
        j.funnel(no_customer, ["A", "B"])
    with pytest.raises(j.FunnelInputError, match="1 event"):
        j.funnel_customers(no_customer, ["A", "B"])
    # An unknown step leaves every count after it at zero; the names are then looked up.
    for call in (
        lambda: j.funnel(frame, ["A", "Nope", "B"]),
        lambda: j.funnel_customers(frame, ["A", "Nope"]),
        lambda: j.time_to_convert(frame, ["Nope", "A"]),
        lambda: j.conversion_trend(frame, ["A", "Nope"]),
        lambda: j.funnel_breakdown(frame, ["A", "Nope"], pd.DataFrame({"customer_id": ["a"], "value": ["x"]})),
    ):
        with pytest.raises(j.FunnelInputError, match="No events named 'Nope'"):
            call()
    # A funnel nobody completes but whose names all exist is no error.
    assert counts(j.funnel(frame, ["B", "A"])) == [1, 0]


def test_two_attempts_starting_at_the_same_instant_take_the_first_one():
    """Steps A, A, B with two A events at hour 0: the attempt from the first A uses the second as step 2."""
    frame = events(("a", "A", 0), ("a", "A", 0), ("a", "A", 2), ("a", "B", 3))
    progress = j.funnel_customers(frame, ["A", "A", "B"], window=dt.timedelta(hours=8))
    row = progress.iloc[0]
    assert row["furthest_step"] == 3
    assert [row[f"step_{k}_at"] for k in (1, 2, 3)] == [T0, T0, T0 + 3 * HOUR]


@SETTINGS
@given(event_tables(), st.sampled_from(j.ORDERS), st.booleans())
def test_funnel_customers_match_the_reference_customer_by_customer(table, order, with_exclusion):
    frame, steps, window = table
    if not _present(frame, steps) or (with_exclusion and "X" not in set(frame["event"])):
        return
    exclusions = [("X", 1, len(steps))] if with_exclusion else []
    got = j.funnel_customers(frame, steps, window=dt.timedelta(hours=window), order=order, exclusions=exclusions)
    want = reference(hours_rows(frame), steps, window, order=order, exclusions=exclusions)
    assert per_customer_hours(got) == want


def test_a_numeric_breakdown_groups_customers_into_the_eu_size_classes(mem_con):
    """Guards the breakdown by employees drawing one bar per head count: the EU SME classes
    (2003/361/EC: micro < 10, small < 50, medium < 250) with their edges in the right class."""
    heads = {"a": 0, "b": 9, "c": 10, "d": 49, "e": 50, "f": 249, "g": 250, "h": 12000, "i": None}
    cur = _seed(mem_con, [], customers=tuple(heads))
    for customer, n in heads.items():
        cur.execute("UPDATE customers SET employees = ? WHERE customer_id = ?", [n, customer])
    groups = j.customer_groups(cur, "employees").set_index("customer_id")["value"].to_dict()
    assert pd.isna(groups.pop("i"))  # no head count: no class (the breakdown shows it as "(none)")
    assert groups == {
        "a": "under 10",
        "b": "under 10",
        "c": "10–49",
        "d": "10–49",
        "e": "50–249",
        "f": "50–249",
        "g": "250 or more",
        "h": "250 or more",
    }
    # Text columns stay as they are.
    assert set(j.customer_groups(cur, "country")["value"]) == {"DE"}
    with pytest.raises(j.FunnelInputError):
        j.customer_groups(cur, "email")
