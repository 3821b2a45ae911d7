"""Data quality along the four Vs: every score and count against a value worked out by hand.

The tiny tables below are written row by row so the expected numbers can be checked on paper;
each test's comment shows the arithmetic.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import quality, schema, store
from analytics.charts import quality as quality_charts

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 25, 12, 0)


def insert(con, table: str, columns: list[str], rows: list[tuple]) -> None:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


ORDER_COLUMNS = ["order_id", "line_no", "customer_id", "ordered_at", "quantity", "unit_price", "amount", "channel"]
ORDERS = [
    ("O1", 1, "C1", dt.datetime(2026, 9, 10), 1, 10, 10, "store"),  # 1 fine
    ("O1", 2, "C1", dt.datetime(2026, 9, 10), 2, 10, 20, "store"),  # 2 fine
    ("O2", 1, "C2", dt.datetime(2026, 10, 5), 3, 10, 30, "online shop"),  # 3 fine
    ("O3", 1, "C2", dt.datetime(2026, 10, 20), 4, 10, 40, "store"),  # 4 fine
    ("O4", 1, "C9", dt.datetime(2026, 11, 20), 1, 10, 10, "store"),  # 5 unknown customer
    ("O5", 1, "C1", dt.datetime(2026, 11, 21), 2, 10, 25, "store"),  # 6 amount != 2 x 10
    ("O6", 1, "C1", dt.datetime(2026, 11, 22), 1, -5, -5, "store"),  # 7 negative price
    ("O7", 1, "C1", dt.datetime(2026, 11, 23), 100, 10, 1000, "store"),  # 8 outlier + duplicate key
    ("O7", 1, "C1", dt.datetime(2026, 11, 23), 1, 10, 10, "fax"),  # 9 duplicate key + unknown channel
    ("O8", 1, "C1", dt.datetime(2027, 1, 1), 1, 10, 10, "store"),  # 10 future date
    ("O9", 1, None, dt.datetime(2026, 11, 24), 1, 10, 10, "store"),  # 11 customer id missing
]


@pytest.fixture
def shop(mem_con):
    """Two customers and the eleven order lines above."""
    insert(
        mem_con,
        "customers",
        ["customer_id", "customer_type", "acquisition_channel", "signup_date"],
        [("C1", "B2B", "email", dt.date(2026, 1, 15)), ("C2", "B2C", "store", dt.date(2026, 3, 10))],
    )
    insert(mem_con, "orders", ORDER_COLUMNS, ORDERS)
    return mem_con


def counts(con, table: str) -> dict[str, int]:
    frame = quality.issue_counts(con, table, now=NOW)
    return dict(zip(frame["check"], frame["rows"], strict=True))


# --- veracity --------------------------------------------------------------------------------


def test_order_checks_count_each_problem_once_per_row(shop):
    # Amounts sorted: -5 10 10 10 10 10 20 25 30 40 1000 (n = 11). Type-7 quartiles: Q1 at position
    # 2.5 -> 10, Q3 at position 7.5 -> (25 + 30) / 2 = 27.5; fence = 27.5 + 3 x 17.5 = 80 -> only 1000.
    assert counts(shop, "orders") == {
        "missing_required": 1,
        "duplicate_key": 2,
        "invalid_channel": 1,
        "amount_mismatch": 1,
        "negative_price": 1,
        "outlier_amount": 1,
        "future_date": 1,
        "unknown_customer": 1,  # the row without a customer id is "missing", not "unknown"
        "any": 7,  # rows 5 to 11
    }


def test_order_veracity_and_overall_scores(shop):
    row = quality.table_profile(shop, "orders", now=NOW)
    # 7 of 11 rows have a problem.
    assert row["rows_with_issues"] == 7
    assert row["veracity"] == pytest.approx(100 * (1 - 7 / 11))  # 36.36
    # Sep, Oct, Nov 2026 all received rows (the January 2027 row lies in the future).
    assert (row["months_with_rows"], row["months_spanned"], row["volume"]) == (3, 3, 100.0)
    # Newest record not in the future: 24 Nov 00:00, 1.5 days before NOW -> fresh.
    assert row["newest"] == dt.datetime(2026, 11, 24)
    assert row["freshness_hours"] == pytest.approx(36.0)
    assert row["velocity"] == 100.0
    # (26 Oct 12:00, 25 Nov 12:00]: rows 5-9 and 11 -> 6 rows / 30 days; 90 days: rows 1-9, 11 -> 10.
    assert row["events_per_day_30"] == pytest.approx(6 / 30)
    assert row["events_per_day_90"] == pytest.approx(10 / 90)
    # 8 of 12 content columns hold a value (product, description, currency, country are empty).
    assert (row["columns_filled"], row["columns_total"]) == (8, 12)
    # Cells: 8 columns x 11 rows = 88, less row 11's missing customer id = 87 of 12 x 11 = 132.
    # Order lines have no applicability rule: every cell applies.
    assert (row["cells_filled"], row["cells_applicable"]) == (87, 132)
    assert row["variety"] == pytest.approx(100 * 87 / 132)  # 65.91
    # 'store' and 'online shop' are known channels; 'fax' is not.
    assert (row["channels_used"], row["channels_known"]) == (2, 17)
    # 0.2 x 100 + 0.2 x 100 + 0.2 x 65.91 + 0.4 x 36.36 = 67.73
    assert row["overall"] == pytest.approx(0.2 * 100 + 0.2 * 100 + 0.2 * 8700 / 132 + 0.4 * 400 / 11)


def test_rounding_within_a_cent_is_not_a_mismatch(mem_con):
    insert(
        mem_con,
        "orders",
        ORDER_COLUMNS,
        [
            ("A", 1, "C1", dt.datetime(2026, 11, 1), 3, 3.33, 10.0, None),  # 9.99 vs 10.00: rounding
            ("A", 2, "C1", dt.datetime(2026, 11, 1), 3, 3.333, 10.0, None),  # 9.999 vs 10.00: rounding
            ("A", 3, "C1", dt.datetime(2026, 11, 1), 3, 3.33, 10.02, None),  # 3 cents off: mismatch
            ("A", 4, "C1", dt.datetime(2026, 11, 1), -2, 5, -10, None),  # a return is no error
        ],
    )
    assert counts(mem_con, "orders")["amount_mismatch"] == 1
    rows = quality.offending_rows(mem_con, "orders", "amount_mismatch", now=NOW)
    assert rows["line_no"].tolist() == [3]
    assert rows["detail"].tolist() == ["9.99"]


def test_outlier_fence_is_computed_per_currency(mem_con):
    # EUR 10, 10, 10, 10, 100: Q1 = Q3 = 10, fence 10 -> 100 is an outlier.
    # JPY 1000 x 4: fence 1000 -> none. Pooled (Q1 10, Q3 1000, fence 3970) nothing would be flagged.
    eur = [("E", i, "C1", dt.datetime(2026, 11, 1), 1, a, a, None, "EUR") for i, a in enumerate([10, 10, 10, 10, 100])]
    jpy = [("J", i, "C1", dt.datetime(2026, 11, 1), 1, 1000, 1000, None, "JPY") for i in range(4)]
    insert(mem_con, "orders", [*ORDER_COLUMNS, "currency"], eur + jpy)
    rows = quality.offending_rows(mem_con, "orders", "outlier_amount", now=NOW)
    assert rows[["order_id", "amount", "detail"]].values.tolist() == [["E", 100.0, "10.0"]]


def test_interaction_checks(mem_con):
    insert(mem_con, "customers", ["customer_id"], [("C1",)])
    insert(
        mem_con,
        "interactions",
        ["interaction_id", "customer_id", "occurred_at", "event", "stage", "channel"],
        [
            ("I1", "C1", dt.datetime(2026, 10, 26), "site_visit", "interest", "website"),  # fine
            ("I2", "C1", dt.datetime(2026, 10, 26), "site_visit", "Interest", "website"),  # stage (case)
            ("I3", "C1", dt.datetime(2026, 10, 26), "site_visit", "interest", "carrier pigeon"),  # channel
            ("I4", "C2", dt.datetime(2026, 10, 26), "site_visit", "interest", "email"),  # unknown customer
            (None, "C1", dt.datetime(2026, 10, 26), "site_visit", None, None),  # fine: id and codes optional
            (None, "C1", dt.datetime(2026, 10, 26), "  ", None, None),  # blank event
            ("I5", "C1", dt.datetime(2026, 10, 26), "site_visit", "interest", "website"),  # duplicate
            ("I5", "C1", dt.datetime(2026, 10, 26), "site_visit", "interest", "website"),  # duplicate
        ],
    )
    assert counts(mem_con, "interactions") == {
        "missing_required": 1,
        "duplicate_key": 2,  # the two rows without an id are not compared
        "invalid_channel": 1,
        "invalid_stage": 1,
        "future_date": 0,
        "unknown_customer": 1,
        "any": 6,
    }
    row = quality.table_profile(mem_con, "interactions", now=NOW)
    assert row["veracity"] == pytest.approx(25.0)  # 100 x (1 - 6/8)
    # Newest record 30.5 days old: 100 x (90 - 30.5) / (90 - 7) = 71.69
    assert row["velocity"] == pytest.approx(100 * (90 - 30.5) / 83)
    stage = quality.offending_rows(mem_con, "interactions", "invalid_stage", now=NOW)
    assert stage[["interaction_id", "detail", "reason"]].values.tolist() == [["I2", "Interest", "invalid_stage"]]
    missing = quality.offending_rows(mem_con, "interactions", "missing_required", now=NOW)
    assert missing["detail"].tolist() == ["event"]
    dups = quality.offending_rows(mem_con, "interactions", "duplicate_key", now=NOW)
    assert dups["interaction_id"].tolist() == ["I5", "I5"]
    assert dups["detail"].tolist() == ["2", "2"]


def test_customer_checks_and_volume_gap(mem_con):
    insert(
        mem_con,
        "customers",
        ["customer_id", "email", "customer_type", "acquisition_channel", "signup_date", "birth_year", "employees"],
        [
            ("C1", "anna@example.com", "B2C", "email", dt.date(2026, 1, 15), 1980, None),  # fine
            ("C2", None, "B2X", "email", dt.date(2026, 3, 10), None, 12),  # customer type
            ("C3", None, "B2C", "telepathy", dt.date(2026, 3, 11), 1850, None),  # channel + birth year
            ("C4", None, "B2B", "store", dt.date(2026, 3, 12), None, -3),  # employees
            ("C5", None, "B2C", "store", dt.date(2026, 12, 1), 2030, None),  # future signup + birth year
        ],
    )
    assert counts(mem_con, "customers") == {
        "missing_required": 0,
        "duplicate_key": 0,
        "invalid_channel": 1,
        "invalid_customer_type": 1,
        "out_of_range": 3,
        "future_date": 1,
        "any": 4,
    }
    row = quality.table_profile(mem_con, "customers", now=NOW)
    # January and March received rows, February did not (December 2026 is in the future): 2 / 3.
    assert (row["months_with_rows"], row["months_spanned"]) == (2, 3)
    assert row["volume"] == pytest.approx(200 / 3)
    # Newest signup not in the future: 12 Mar, more than 90 days before NOW -> 0.
    assert row["velocity"] == 0.0
    assert row["veracity"] == pytest.approx(20.0)  # 100 x (1 - 4/5)
    ranges = quality.offending_rows(mem_con, "customers", "out_of_range", now=NOW)
    assert ranges["detail"].tolist() == ["birth_year=1850", "employees=-3", "birth_year=2030"]
    growth = quality.monthly_growth(mem_con, "customers", now=NOW)
    assert growth["month"].tolist() == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert growth["rows_added"].tolist() == [1, 0, 3]
    assert growth["cumulative_rows"].tolist() == [1, 1, 4]


KANO_COLUMNS = ["respondent_id", "feature", "functional", "dysfunctional", "wave"]


def test_kano_answers_codes_and_texts(mem_con):
    insert(
        mem_con,
        "kano_responses",
        KANO_COLUMNS,
        [
            ("R1", "F1", "1", "5", "2025"),  # codes
            ("R2", "F1", "Like it", "Dislike it", "2025"),  # English texts, any case
            ("R3", "F1", "Gefällt mir", "stört mich", "2025"),  # German texts
            ("R4", "F1", "6", "1", "2025"),  # code outside 1..5
            ("R5", "F1", "3", "maybe", "2025"),  # unknown text
            ("R6", "F1", "3.0", "2", "2025"),  # code written as a decimal: fine, but duplicated below
            ("R6", "F1", "4", "4", "2025"),
        ],
    )
    assert counts(mem_con, "kano_responses") == {
        "missing_required": 0,
        "duplicate_key": 2,
        "invalid_answer": 2,
        "unknown_customer": 0,
        "any": 4,
    }
    row = quality.table_profile(mem_con, "kano_responses", now=NOW)
    assert row["velocity"] is None  # no time column
    assert row["volume"] == 100.0  # rows present, nothing to date
    # customer_id is optional (anonymous answers) and not counted; importance and segment are empty,
    # the other 5 columns filled on all 7 rows: 35 of 7 x 7 = 49 applicable cells.
    assert (row["cells_filled"], row["cells_applicable"]) == (35, 49)
    assert row["variety"] == pytest.approx(100 * 35 / 49)  # 71.43
    assert row["veracity"] == pytest.approx(100 * 3 / 7)
    # Velocity does not apply: weights 0.2, 0.2, 0.4 re-normalised over 0.8.
    expected = (0.2 * 100 + 0.2 * 3500 / 49 + 0.4 * 300 / 7) / 0.8
    assert row["overall"] == pytest.approx(expected)  # 64.29
    bad = quality.offending_rows(mem_con, "kano_responses", "invalid_answer", now=NOW)
    assert bad["detail"].tolist() == ["6 / 1", "3 / maybe"]


def test_requirement_checks(mem_con):
    insert(
        mem_con,
        "requirements",
        ["requirement_id", "title", "moscow", "effort", "urgency", "importance", "risk", "updated_at"],
        [
            ("R1", "Export", "Must", 3, 5, 4, 1, dt.datetime(2026, 11, 1)),  # fine
            ("R2", "Chat", "won't", 0, 1, 1, 1, dt.datetime(2026, 11, 1)),  # fine
            ("R3", "Kiosk", "maybe", 2, 3, 3, 3, dt.datetime(2026, 11, 1)),  # MoSCoW
            ("R4", "Fax", "could", -1, 6, 3, 3, dt.datetime(2026, 11, 1)),  # effort and urgency
            ("R5", None, "should", 1, 1, 1, 1, dt.datetime(2027, 2, 1)),  # no title, future
        ],
    )
    assert counts(mem_con, "requirements") == {
        "missing_required": 1,
        "duplicate_key": 0,
        "invalid_moscow": 1,
        "out_of_range": 1,
        "future_date": 1,
        "any": 3,
    }
    ranges = quality.offending_rows(mem_con, "requirements", "out_of_range", now=NOW)
    assert ranges["detail"].tolist() == ["effort=-1.0, urgency=6.0"]


def test_unknown_customer_in_optional_column(mem_con):
    insert(mem_con, "customers", ["customer_id"], [("C1",)])
    insert(
        mem_con,
        "kano_responses",
        [*KANO_COLUMNS, "customer_id"],
        [
            ("R1", "F1", "1", "2", "2026", "C1"),
            ("R2", "F1", "1", "2", "2026", None),
            ("R3", "F1", "1", "2", "2026", "C7"),
        ],
    )
    assert counts(mem_con, "kano_responses")["unknown_customer"] == 1


# --- volume, variety, sources -----------------------------------------------------------------


def test_sources_count_imports_and_files(shop):
    insert(
        shop,
        "imports",
        ["import_id", "table_name", "file_name"],
        [(1, "orders", "shop.csv"), (2, "orders", "shop.csv"), (3, "orders", "store.xlsx"), (4, "orders", "x.csv")],
    )
    shop.execute("UPDATE orders SET import_id = 1 WHERE order_id = 'O1'")
    shop.execute("UPDATE orders SET import_id = 2 WHERE order_id = 'O2'")
    shop.execute("UPDATE orders SET import_id = 3 WHERE order_id IN ('O3', 'O4')")
    row = quality.table_profile(shop, "orders", now=NOW)
    # Imports 1, 2, 3 wrote rows (import 4 wrote none); they came from two files.
    assert (row["imports"], row["files"]) == (3, 2)
    assert row["rows_without_import"] == 11 - 5  # O1 has two lines, O2, O3, O4 one each


CUSTOMER_COLUMNS = ["customer_id", "name", "email", "customer_type", "country", "region", "city", "industry"]
CUSTOMER_COLUMNS += ["acquisition_channel", "segment", "signup_date", "birth_year", "employees"]


def b2b(customer_id: str, *, birth_year: int | None = None) -> tuple:
    """A company customer with every column that applies to it filled (birth year as given)."""
    return (customer_id, "Firma", "c@example.org", "B2B", "DE", "BY", "Munich", "retail", "email", "SME") + (
        dt.date(2026, 1, 1),
        birth_year,
        12,
    )


def b2c(customer_id: str, *, birth_year: int | None = 1980) -> tuple:
    """A consumer with every column that applies to it filled (industry and employees empty)."""
    return (customer_id, "Anna", "a@example.com", "B2C", "DE", "BY", "Munich", None, "store", "Value consumer") + (
        dt.date(2026, 1, 1),
        birth_year,
        None,
    )


def test_variety_counts_only_applicable_cells_so_empty_by_design_columns_do_not_lower_it(mem_con):
    """Guards the review's finding: on the demo data variety fell to about 87 only because
    industry and employees are empty for consumers and birth year for companies, by design.
    """
    # 3 B2B customers: 13 columns less birth_year = 12 applicable cells each, all filled; one of
    # them has a birth year anyway, which applies to no company and counts neither way.
    # 2 B2C customers: 13 less industry and employees = 11 applicable cells each, all filled.
    insert(mem_con, "customers", CUSTOMER_COLUMNS, [b2b("B1"), b2b("B2"), b2b("B3", birth_year=1970)])
    insert(mem_con, "customers", CUSTOMER_COLUMNS, [b2c("P1"), b2c("P2")])
    row = quality.table_profile(mem_con, "customers", now=NOW)
    # 3 x 12 + 2 x 11 = 58 of 58 (counting every cell it would be 59 of 5 x 13 = 65, i.e. 90.8).
    assert (row["cells_filled"], row["cells_applicable"]) == (58, 58)
    assert row["variety"] == 100.0


def test_variety_is_lowered_by_rows_with_only_an_id_and_by_applicable_empty_cells(mem_con):
    """Rows that hold little more than their key still lower variety, as does an empty cell that
    applies (a consumer without birth year); a row without a type has none of the type-specific cells.
    """
    insert(mem_con, "customers", CUSTOMER_COLUMNS, [b2b("B1"), b2b("B2"), b2b("B3"), b2c("P1"), b2c("P2")])
    insert(mem_con, "customers", ["customer_id"], [("X1",)])
    row = quality.table_profile(mem_con, "customers", now=NOW)
    # X1 has no type: industry, employees, birth_year do not apply, 10 cells do; only its id is filled.
    # 3 x 12 + 2 x 11 + 1 = 59 filled of 36 + 22 + 10 = 68 applicable.
    assert (row["cells_filled"], row["cells_applicable"]) == (59, 68)
    assert row["variety"] == pytest.approx(100 * 59 / 68)  # 86.76
    # Every column still holds a value somewhere.
    assert (row["columns_filled"], row["columns_total"]) == (13, 13)
    # A row with only its id breaks no rule: veracity stays 100.
    assert row["veracity"] == 100.0

    insert(mem_con, "customers", CUSTOMER_COLUMNS, [b2c("P3", birth_year=None)])
    row = quality.table_profile(mem_con, "customers", now=NOW)
    # P3: 11 applicable cells, 10 filled (birth year missing): 69 of 79.
    assert (row["cells_filled"], row["cells_applicable"]) == (69, 79)
    assert row["variety"] == pytest.approx(100 * 69 / 79)  # 87.34


def test_optional_columns_are_not_counted_for_variety(mem_con):
    """Interaction properties are optional: 2 interactions with the 6 other columns filled and
    properties only on one score 100 (12 of 12 cells); a missing stage still counts (11 of 12).
    """
    columns = ["interaction_id", "customer_id", "occurred_at", "event", "stage", "channel", "properties"]
    at = dt.datetime(2026, 11, 20)
    rows = [
        ("I1", "C1", at, "purchase", "purchase", "store", '{"order_id": "O1"}'),
        ("I2", "C1", at, "site_visit", "interest", "website", None),
    ]
    insert(mem_con, "interactions", columns, rows)
    row = quality.table_profile(mem_con, "interactions", now=NOW)
    assert (row["cells_filled"], row["cells_applicable"], row["variety"]) == (12, 12, 100.0)
    mem_con.execute("UPDATE interactions SET stage = NULL WHERE interaction_id = 'I2'")
    row = quality.table_profile(mem_con, "interactions", now=NOW)
    assert (row["cells_filled"], row["cells_applicable"]) == (11, 12)


def test_applicability_rules_name_optional_columns_of_the_quality_tables(mem_con):
    """Every rule names a column of a profiled table that is neither required nor part of the key
    (those apply to every row), and its condition runs on the table's own columns.
    """
    for (table, column), rule in quality.APPLICABILITY.items():
        spec = schema.TABLES[table]
        assert table in quality.QUALITY_TABLES
        assert column in spec.column_names
        assert not spec.column(column).required and column not in spec.key
        if rule.condition is not None:
            assert mem_con.execute(f"SELECT count(*) FILTER (WHERE {rule.condition}) FROM {table}").fetchone() == (0,)


def test_variety_of_the_demo_data_counts_every_applicable_cell(demo_con):
    """The demo leaves cells empty only by design, so every table scores 100, and the applicable
    cells are those an independent count derives from the rules.
    """
    assessment = quality.assess(demo_con, now=NOW)
    scores = assessment.scores.set_index("table")
    assert scores["variety"].tolist() == [100.0] * 5
    assert (scores["cells_filled"] == scores["cells_applicable"]).all()
    # Customers: 10 columns apply to all, industry and employees to B2B, birth year to B2C.
    (customers,) = demo_con.execute(
        "SELECT 10 * count(*) + 2 * count(*) FILTER (WHERE customer_type = 'B2B')"
        " + count(*) FILTER (WHERE customer_type = 'B2C') FROM customers"
    ).fetchone()
    # Interactions: the 6 columns besides the optional properties.
    (interactions,) = demo_con.execute("SELECT 6 * count(*) FROM interactions").fetchone()
    # Kano answers: 7 of 8 columns (customer_id optional); requirements: 15 of 16 (kano_feature).
    (kano,) = demo_con.execute("SELECT 7 * count(*) FROM kano_responses").fetchone()
    (requirements,) = demo_con.execute("SELECT 15 * count(*) FROM requirements").fetchone()
    assert scores.loc["customers", "cells_applicable"] == customers
    assert scores.loc["interactions", "cells_applicable"] == interactions
    assert scores.loc["kano_responses", "cells_applicable"] == kano
    assert scores.loc["requirements", "cells_applicable"] == requirements
    # The demo does leave those columns partly empty: it is the rules, not the data, that keep 100.
    nulls = assessment.nulls.set_index(["table", "column"])["nulls"]
    for table, column in [("customers", "industry"), ("customers", "employees"), ("customers", "birth_year")]:
        assert nulls.loc[(table, column)] > 0
    assert nulls.loc[("interactions", "properties")] > 0
    assert nulls.loc[("requirements", "kano_feature")] > 0


def test_variety_of_an_empty_table_is_zero(mem_con):
    row = quality.table_profile(mem_con, "requirements", now=NOW)
    assert (row["cells_filled"], row["cells_applicable"], row["variety"]) == (0, 0, 0.0)


def test_assessment_says_when_it_was_measured(shop):
    assert quality.assess(shop, now=NOW).measured_at == NOW


def test_null_counts(shop):
    nulls = quality.null_counts(shop, "orders").set_index("column")
    assert nulls.loc["customer_id", "nulls"] == 1
    assert nulls.loc["customer_id", "share"] == pytest.approx(1 / 11)
    assert bool(nulls.loc["customer_id", "required"]) is True
    assert nulls.loc["product", "nulls"] == 11
    assert "import_id" not in nulls.index


def test_empty_store_scores(mem_con):
    frame = quality.profile(mem_con, now=NOW).set_index("table")
    assert frame.index.tolist() == list(quality.QUALITY_TABLES)
    assert (frame["rows"] == 0).all()
    assert (frame["overall"] == 0).all()
    assert frame["veracity"].isna().all()
    assert frame.loc["orders", "velocity"] == 0
    assert pd.isna(frame.loc["requirements", "velocity"])
    assert quality.growth(mem_con, now=NOW).empty


def test_growth_long_form(shop):
    growth = quality.growth(shop, now=NOW)
    orders = growth[growth["table"] == "orders"]
    # Sep: 2 lines, Oct: 2, Nov: rows 5-9 and 11 = 6 (the 2027 line is left out).
    assert orders["rows_added"].tolist() == [2, 2, 6]
    assert orders["cumulative_rows"].tolist() == [2, 4, 10]
    assert set(growth["table"]) == {"customers", "orders"}


def test_assess_matches_the_separate_functions(shop):
    result = quality.assess(shop, now=NOW)
    pd.testing.assert_frame_equal(result.scores, quality.profile(shop, now=NOW))
    pd.testing.assert_frame_equal(result.growth, quality.growth(shop, now=NOW))
    orders = result.issues[result.issues["table"] == "orders"].reset_index(drop=True)
    pd.testing.assert_frame_equal(orders[["check", "rows"]], quality.issue_counts(shop, "orders", now=NOW))


# --- score formulas ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [(None, 0.0), (0, 100.0), (7, 100.0), (48.5, 50.0), (90, 0.0), (400, 0.0)],
)
def test_velocity_score(age, expected):
    assert quality.velocity_score(age) == pytest.approx(expected)


def test_velocity_score_rejects_inverted_bounds():
    with pytest.raises(ValueError):
        quality.velocity_score(3, fresh_days=10, stale_days=5)


def test_overall_score_reweights_missing_dimensions():
    assert quality.overall_score({"volume": 100, "velocity": 50, "variety": 0, "veracity": 75}) == pytest.approx(
        0.2 * 100 + 0.2 * 50 + 0 + 0.4 * 75
    )
    assert quality.overall_score({"volume": 100, "velocity": None, "variety": 0, "veracity": 50}) == pytest.approx(
        (20 + 0 + 20) / 0.8
    )
    assert quality.overall_score({"volume": None, "velocity": None, "variety": None, "veracity": None}) is None
    assert sum(quality.WEIGHTS.values()) == pytest.approx(1.0)


# --- drill-down -------------------------------------------------------------------------------


def test_offending_rows_every_check_matches_its_count(shop):
    per_check = counts(shop, "orders")
    for check in quality.checks("orders"):
        rows = quality.offending_rows(shop, "orders", check, now=NOW)
        assert len(rows) == per_check[check], check
        assert list(rows.columns[:3]) == ["reason", "detail", "order_id"]
        assert set(rows["reason"]) <= {check}


def test_offending_rows_limit_and_order(shop):
    rows = quality.offending_rows(shop, "orders", "duplicate_key", now=NOW, limit=1)
    assert len(rows) == 1
    outlier = quality.offending_rows(shop, "orders", "outlier_amount", now=NOW)
    assert outlier["amount"].tolist() == [1000.0]
    assert outlier["detail"].tolist() == ["80.0"]


def test_offending_rows_rejects_unknown_names(shop):
    with pytest.raises(ValueError):
        quality.offending_rows(shop, "orders", "invalid_stage")
    with pytest.raises(ValueError):
        quality.offending_rows(shop, "audit_log", "duplicate_key")
    with pytest.raises(ValueError):
        quality.offending_rows(shop, "orders; DROP TABLE orders", "duplicate_key")


def test_masking_of_personal_columns():
    assert quality.mask_email("anna.berg@example.com") == "a…@example.com"
    assert quality.mask_email("no-address") == "n…"
    assert quality.mask_email(None) is None
    frame = pd.DataFrame({"customer_id": ["C1"], "name": ["Anna Berg"], "email": ["anna@example.org"], "city": [None]})
    masked = quality.mask_personal(frame, "customers")
    assert masked.iloc[0].tolist() == ["C1", "A…", "a…@example.org", None]
    assert frame.loc[0, "email"] == "anna@example.org"  # input untouched


# --- properties -------------------------------------------------------------------------------

line = st.tuples(
    st.sampled_from(["O1", "O2", "O3", None]),
    st.integers(min_value=1, max_value=2),
    st.sampled_from(["C1", "C2", None]),
    st.sampled_from([dt.datetime(2026, 5, 1), dt.datetime(2026, 11, 20), dt.datetime(2027, 1, 1)]),
    st.integers(min_value=-3, max_value=5),
    st.sampled_from([-1.0, 2.5, 10.0]),
    st.sampled_from([-2.5, 0.0, 10.0, 25.0, 999.0]),
    st.sampled_from(["store", "fax", None]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=12))
def test_veracity_bounds_hold_for_any_order_lines(lines):
    con = store.connect(":memory:")
    try:
        insert(con, "customers", ["customer_id"], [("C1",)])
        insert(con, "orders", ORDER_COLUMNS, lines)
        per_check = counts(con, "orders")
        any_issue = per_check.pop("any")
        assert max(per_check.values()) <= any_issue <= min(len(lines), sum(per_check.values()))
        row = quality.table_profile(con, "orders", now=NOW)
        assert 0 <= row["veracity"] <= 100
        for v in (*quality.VS, "overall"):
            assert row[v] is None or 0 <= row[v] <= 100
        for check, expected in per_check.items():
            assert len(quality.offending_rows(con, "orders", check, now=NOW)) == expected
    finally:
        con.close()


# --- charts -----------------------------------------------------------------------------------


def test_score_heatmap_shows_every_score(shop):
    scores = quality.profile(shop, now=NOW)
    fig = quality_charts.score_heatmap(scores, labels={"orders": "Order lines"})
    heat = fig.data[0]
    assert list(heat.y) == ["Customers", "Interactions", "Order lines", "Kano responses", "Requirements"]
    assert list(heat.x) == ["Volume", "Velocity", "Variety", "Veracity", "Overall"]
    assert heat.text[2][3] == "36"  # orders veracity 36.36
    assert heat.text[2][4] == "67"  # orders overall 67.88, rounded down
    assert heat.text[4][1] == "n/a"  # requirements have no velocity
    assert (heat.zmin, heat.zmax) == (0, 100)
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


@pytest.mark.parametrize(
    ("value", "text"), [(None, "n/a"), (float("nan"), "n/a"), (100.0, "100"), (99.95, "99"), (0.0, "0")]
)
def test_score_text_rounds_down(value, text):
    assert quality_charts.score_text(value) == text


def test_volume_growth_and_freshness_charts(shop):
    growth = quality.growth(shop, now=NOW)
    fig = quality_charts.volume_growth(growth)
    assert [t.name for t in fig.data] == ["Customers", "Orders"]
    assert fig.layout.yaxis.type == "log"
    # February had no new customers: drawn as a gap, not as zero on a log axis.
    assert math.isnan(fig.data[0].y[1])
    scores = quality.profile(shop, now=NOW)
    bars = quality_charts.freshness_bars(scores)
    assert list(bars.data[0].y) == ["Customers", "Orders"]
    assert bars.data[0].x[1] == pytest.approx(1.5)
    assert bars.layout.xaxis.title.text


def test_volume_axis_labels_1_2_5_of_every_decade_with_thousands_separators():
    """Guards the review nit: a log axis labelled only 100 and 1,000 left the interactions line without a tick."""
    growth = pd.DataFrame(
        {
            "table": ["customers"] * 3 + ["interactions"] * 3,
            "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"] * 2),
            "rows_added": [40, 0, 120, 310, 420, 2_600],
        }
    )
    axis = quality_charts.volume_growth(growth).layout.yaxis
    assert axis.type == "log" and axis.tickmode == "array"
    ticks = list(axis.tickvals)
    assert ticks == [10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000]
    for value in (40, 120, 310, 420, 2_600):  # a labelled tick within a factor 2.5 of every point
        assert min(abs(math.log10(value / t)) for t in ticks) <= math.log10(2.5)
    assert "," in axis.tickformat  # 1,000 and 2,000, not 1000 or 1k


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (1, 1, [1]),
        (3, 950, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
        (120, 4_200, [100, 200, 500, 1000, 2000, 5000]),
    ],
)
def test_log_ticks(low, high, ticks):
    assert quality_charts.log_ticks(low, high) == ticks


def test_quality_modules_do_not_import_streamlit():
    for path in (ROOT / "analytics" / "quality.py", ROOT / "analytics" / "charts" / "quality.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(name.split(".")[0] == "streamlit" for name in names), path
