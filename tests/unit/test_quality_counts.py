"""The restructured quality counts against their earlier, one-pass definition on hand-made data.

``issue_counts`` and ``assess`` no longer test every check on every row in one query with all
helper relations joined; each check is counted the cheapest exact way and the rows with any issue
are counted over the failing checks only. :func:`reference_issue_counts` below is the earlier
query, kept here as the definition the new counts must reproduce exactly.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import quality, schema, store

NOW = dt.datetime(2026, 11, 25, 12, 0)


def insert(con, table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def reference_issue_counts(con, table: str, now: dt.datetime) -> pd.DataFrame:
    """The earlier definition: one pass over the table with every helper relation joined, each
    check and their union counted with ``count(*) FILTER``.
    """
    spec = schema.TABLES[table]
    found = quality.checks(table)
    needs: set[str] = set().union(*(c.needs for c in found.values())) if found else set()
    prefix, source = quality._from_clause(spec, needs)
    selects = [f'count(*) FILTER (WHERE coalesce(({c.condition}), FALSE)) AS "{n}"' for n, c in found.items()]
    any_issue = " OR ".join(f"coalesce(({c.condition}), FALSE)" for c in found.values()) or "FALSE"
    selects.append(f'count(*) FILTER (WHERE {any_issue}) AS "any"')
    sql = f"{prefix}SELECT {', '.join(selects)} FROM {source}"
    row = con.execute(sql, {"now": now} if "$now" in sql else []).fetchone()
    return pd.DataFrame({"check": [*found, "any"], "rows": [int(v) for v in row]})


def reference_null_counts(con, table: str) -> pd.DataFrame:
    cols = [c for c in schema.TABLES[table].columns if c.name != "import_id"]
    total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    filled = con.execute(f"SELECT {', '.join(f'count({c.name})' for c in cols)} FROM {table}").fetchone()
    return pd.DataFrame(
        {
            "column": [c.name for c in cols],
            "required": [c.required for c in cols],
            "nulls": [total - v for v in filled],
            "share": [(total - v) / total if total else float("nan") for v in filled],
        }
    )


def assert_same_as_reference(con, now: dt.datetime = NOW) -> None:
    """issue_counts, assess and table_profile agree with the one-pass definition on every table."""
    result = quality.assess(con, now=now)
    for table in quality.QUALITY_TABLES:
        expected = reference_issue_counts(con, table, now)
        pd.testing.assert_frame_equal(quality.issue_counts(con, table, now=now), expected)
        from_assess = result.issues[result.issues["table"] == table][["check", "rows"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(from_assess, expected)
        any_rows = int(expected.loc[expected["check"] == "any", "rows"].iloc[0])
        assert quality.table_profile(con, table, now=now)["rows_with_issues"] == any_rows
        nulls = result.nulls[result.nulls["table"] == table].drop(columns="table").reset_index(drop=True)
        pd.testing.assert_frame_equal(nulls, quality.null_counts(con, table))
        pd.testing.assert_frame_equal(nulls, reference_null_counts(con, table))


@pytest.fixture
def messy(mem_con):
    """Every table with problems that overlap on some rows, and the same problem on several rows."""
    insert(
        mem_con,
        "customers",
        ["customer_id", "name", "customer_type", "acquisition_channel", "signup_date", "birth_year", "employees"],
        [
            ("C1", "Anna", "B2B", "email", dt.date(2026, 1, 15), 1980, 10),
            ("C2", "Ben", "B2C", "store", dt.date(2026, 3, 10), None, None),
            ("C2", "Ben again", "B2X", "telepathy", dt.date(2027, 1, 1), 1850, -1),  # dup, type, channel, ...
            (None, "No id", "B2C", "email", dt.date(2026, 4, 1), None, None),  # missing id
            ("   ", "Blank id", None, None, None, None, None),  # blank id
        ],
    )
    insert(
        mem_con,
        "interactions",
        ["interaction_id", "customer_id", "occurred_at", "event", "stage", "channel"],
        [
            ("I1", "C1", dt.datetime(2026, 10, 26), "visit", "interest", "website"),
            ("I1", "C9", dt.datetime(2026, 10, 27), "visit", "Interest", "website"),  # dup, customer, stage
            ("I2", "C9", dt.datetime(2027, 10, 27), "visit", "interest", "pigeon"),  # customer, future, channel
            (None, "C1", None, " ", None, None),  # missing time and event
            (None, "C1", dt.datetime(2026, 10, 26), "visit", None, None),  # fine
            ("I3", None, dt.datetime(2026, 11, 1), "visit", "nirvana", "pigeon"),  # missing, stage, channel
            ("I4", "\u00a0", dt.datetime(2026, 11, 2), "visit", None, None),  # blank id (no-break space)
            ("I5", "C1", dt.datetime(2026, 11, 3), "\t", None, None),  # a tab is not blank to trim()
        ],
    )
    insert(
        mem_con,
        "orders",
        ["order_id", "line_no", "customer_id", "ordered_at", "quantity", "unit_price", "amount", "currency"],
        [
            ("O1", 1, "C1", dt.datetime(2026, 9, 10), 1, 10, 10, "EUR"),
            ("O1", 1, "C1", dt.datetime(2026, 9, 10), 2, 10, 20, "EUR"),  # dup
            ("O2", 1, "C9", dt.datetime(2026, 10, 5), 1, -10, -10, "EUR"),  # customer, negative price
            ("O3", 1, "C1", dt.datetime(2026, 10, 5), 1, 10, 12, None),  # mismatch
            ("O4", None, "C1", dt.datetime(2026, 10, 5), 1, 10, 10, None),  # no line: not compared
            ("O4", None, "C1", dt.datetime(2026, 10, 5), 1, 10, 10, "EUR"),
            ("O5", 1, "C1", dt.datetime(2026, 10, 5), 100, 10, 1000, "EUR"),  # outlier
            ("O6", 1, "C1", dt.datetime(2026, 10, 5), 1, 10, 10, "EUR"),
        ],
    )
    insert(
        mem_con,
        "kano_responses",
        ["respondent_id", "feature", "functional", "dysfunctional", "wave", "customer_id"],
        [
            ("R1", "F1", "1", "5", "w1", "C1"),
            ("R1", "F1", " Like it ", "maybe", "w1", "C9"),  # dup, answer, customer
            ("R2", "F1", None, None, None, None),  # missing answers (wave optional)
            ("R2", "F1", "2.0", "GEFÄLLT MIR NICHT", None, None),
        ],
    )
    insert(
        mem_con,
        "requirements",
        ["requirement_id", "title", "moscow", "effort", "urgency", "importance", "risk", "updated_at"],
        [
            ("Q1", "A", "Must have", 1, 1, 5, 3, dt.datetime(2026, 11, 1)),
            ("Q1", "B", "maybe", -1, 0, 5, 3, dt.datetime(2027, 1, 1)),  # dup, moscow, range, future
            ("Q2", " ", None, None, None, None, None, None),  # missing title
        ],
    )
    return mem_con


def test_messy_store_matches_the_one_pass_definition(messy):
    expected = reference_issue_counts(messy, "interactions", NOW)
    # Several checks fail on the same rows, so "any" is not their sum: 6 of 8 rows have an issue.
    assert dict(zip(expected["check"], expected["rows"], strict=True))["any"] == 6
    assert_same_as_reference(messy)
    assert_same_as_reference(messy, now=dt.datetime(2027, 6, 1))  # fewer future dates


def test_clean_and_empty_stores_match_the_one_pass_definition(mem_con):
    assert_same_as_reference(mem_con)  # empty
    insert(mem_con, "customers", ["customer_id", "signup_date"], [("C1", dt.date(2026, 1, 1))])
    insert(mem_con, "orders", ["order_id", "line_no", "customer_id", "amount"], [("O1", 1, "C1", 5.0)])
    assert_same_as_reference(mem_con)  # no issue anywhere


def test_one_failing_check_gives_any_without_a_second_pass(mem_con):
    # Only duplicates: every other check is zero, so the rows with an issue are the duplicates.
    insert(mem_con, "customers", ["customer_id"], [("C1",), ("C1",), ("C1",), ("C2",)])
    counts = quality.issue_counts(mem_con, "customers", now=NOW).set_index("check")["rows"]
    assert counts["duplicate_key"] == 3
    assert counts["any"] == 3
    assert_same_as_reference(mem_con)


@pytest.mark.parametrize(
    ("value", "clean"),
    [("C1", True), ("Ärger", False), (" C1", False), ("\u00a0", False), ("", False), (None, False), ("\tC1", False)],
)
def test_required_values_proven_present_only_when_no_row_can_be_blank(mem_con, value, clean):
    # Anything that could trim to '' (or is NULL) sends the check to the row-by-row count.
    insert(mem_con, "customers", ["customer_id"], [("C0",), (value,)])
    found = quality.checks("customers")
    proven = quality._proven_clean(mem_con, schema.TABLES["customers"], found)
    assert proven == ({"missing_required": 0} if clean else {})
    assert_same_as_reference(mem_con)


def test_duplicate_rows(mem_con):
    spec = schema.TABLES["orders"]
    insert(mem_con, "orders", ["order_id", "line_no", "amount"], [("O1", 1, 1.0), ("O1", 2, 1.0), ("O2", None, 1.0)])
    assert quality._duplicate_rows(mem_con, spec) == 0  # distinct keys
    insert(mem_con, "orders", ["order_id", "line_no", "amount"], [("O1", 2, 1.0), ("O1", 2, 1.0), ("O2", None, 1.0)])
    assert quality._duplicate_rows(mem_con, spec) == 3  # three rows share (O1, 2); NULL parts never match


def test_grouped_counts_equal_row_by_row_counts(messy):
    for table in quality.QUALITY_TABLES:
        found = quality.checks(table)
        grouped = quality._grouped_counts(messy, schema.TABLES[table], found)
        assert set(grouped) == {n for n, c in found.items() if c.group_by}
        expected = reference_issue_counts(messy, table, NOW).set_index("check")["rows"]
        for name, rows in grouped.items():
            assert rows == expected[name], (table, name)


def test_group_by_names_every_column_a_code_check_reads():
    for table in quality.QUALITY_TABLES:
        spec = schema.TABLES[table]
        for check in quality.checks(table).values():
            if not check.group_by:
                continue
            assert not check.needs
            others = [c for c in spec.column_names if c not in check.group_by]
            assert not any(f"t.{c} " in check.condition or f't."{c}"' in check.condition for c in others)


ORDER_COLUMNS = ["order_id", "line_no", "customer_id", "ordered_at", "quantity", "unit_price", "amount", "currency"]
order_line = st.tuples(
    st.sampled_from(["O1", "O2", None]),
    st.sampled_from([1, 2, None]),
    st.sampled_from(["C1", "C2", "", None]),
    st.sampled_from([dt.datetime(2026, 5, 1), dt.datetime(2027, 1, 1), None]),
    st.integers(min_value=-2, max_value=3),
    st.sampled_from([-1.0, 2.5, 10.0]),
    st.sampled_from([-2.5, 0.0, 10.0, 25.0, 999.0]),
    st.sampled_from(["EUR", "GBP", None]),
)
interaction = st.tuples(
    st.sampled_from(["I1", "I2", "I3", None]),
    st.sampled_from(["C1", "C2", " ", "\u3000", None]),
    st.sampled_from([dt.datetime(2026, 5, 1), dt.datetime(2027, 1, 1), None]),
    st.sampled_from(["visit", "", "\t", "Ärger", None]),
    st.sampled_from(["awareness", "Awareness", None]),
    st.sampled_from(["website", "pigeon", None]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(order_line, max_size=10), st.lists(interaction, max_size=10))
def test_any_store_matches_the_one_pass_definition(lines, events):
    con = store.connect(":memory:")
    try:
        insert(con, "customers", ["customer_id"], [("C1",)])
        insert(con, "orders", ORDER_COLUMNS, lines)
        insert(
            con, "interactions", ["interaction_id", "customer_id", "occurred_at", "event", "stage", "channel"], events
        )
        assert_same_as_reference(con)
    finally:
        con.close()
