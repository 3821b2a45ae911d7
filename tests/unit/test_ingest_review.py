"""Import, from a user review of the Data page: countries stored as ISO codes, required columns
named as the mapping shows them, rejected values reported as written in the file.

Fixture ``online_retail_sample.csv``: the first 1,999 order lines of the UCI Machine Learning
Repository "Online Retail" data set (CC BY 4.0; Chen, Sain & Guo 2012).
"""

from __future__ import annotations

import collections
import csv
import io

import pandas as pd
import pytest

from analytics import ingest
from tests.conftest import FIXTURES


def load_text(con, table, text, *, name="upload.csv", encoding="utf-8", **kwargs):
    return ingest.load(con, table, io.BytesIO(text.encode(encoding)), file_name=name, **kwargs)


def stored(con, sql, params=None):
    return con.cursor().execute(sql, params or []).fetchall()


# --- countries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Österreich", "AT"),
        ("Schweiz", "CH"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("u.k.", "GB"),
        ("USA", "US"),
        ("United States", "US"),
        ("EIRE", "IE"),
        ("RSA", "ZA"),
        ("Czech Republic", "CZ"),
        ("Niederlande", "NL"),
        ("  united   arab emirates ", "AE"),
        ("DEU", "DE"),
        ("fr", "FR"),
    ],
)
def test_country_names_in_english_and_german_map_to_alpha_2(written, code):
    names = ingest.country_names()
    assert names["key"].is_unique
    lookup = dict(zip(names["key"], names["code"], strict=True))
    assert lookup[ingest._country_key(written)] == code


@pytest.mark.parametrize("written", ["Channel Islands", "European Community", "Unspecified", "Atlantis"])
def test_values_that_are_no_country_have_no_code(written):
    names = ingest.country_names()
    assert ingest._country_key(written) not in set(names["key"])


CUSTOMERS = (
    "customer_id;country;birth_year\n"
    "C1;Deutschland;\n"  # converted
    "C2;Österreich;\n"  # converted
    "C3;Schweiz;\n"  # converted
    "C4;United Kingdom;\n"  # converted
    "C5;UK;\n"  # converted
    "C6;USA;\n"  # converted
    "C7;EIRE;\n"  # converted
    "C8;RSA;\n"  # converted
    "C9;DE;\n"  # already a code: not counted
    "C10;at;\n"  # converted (upper case)
    "C11;Atlantis;\n"  # no country: kept as written
    "C12;;\n"  # empty: stays empty
    "C13;Neverland;1800\n"  # rejected (birth year), so not reported
)


def test_customer_countries_are_stored_as_iso_codes_and_the_report_says_so(mem_con):
    """Regression: 'Austria' and 'AT' were both stored, so the country filter listed both."""
    report = load_text(mem_con, "customers", CUSTOMERS)
    assert report.ok and (report.rows_loaded, report.rows_rejected) == (12, 1)
    rows = dict(stored(mem_con, "SELECT customer_id, country FROM customers"))
    assert rows == {
        "C1": "DE",
        "C2": "AT",
        "C3": "CH",
        "C4": "GB",
        "C5": "GB",
        "C6": "US",
        "C7": "IE",
        "C8": "ZA",
        "C9": "DE",
        "C10": "AT",
        "C11": "Atlantis",
        "C12": None,
    }
    found = report.detected["countries"]
    # Rows C1-C8 and C10 were converted: 9 rows, 9 different spellings; Atlantis is the one left.
    assert (found["converted_rows"], found["converted_values"]) == (9, 9)
    assert found["unmatched"] == {"Atlantis": 1} and found["unmatched_rows"] == 1
    converted = next(m for m in report.messages if m.startswith("Countries were converted"))
    assert "in 9 rows" in converted and "Österreich → AT" in converted and "EIRE → IE" in converted
    unmatched = next(m for m in report.messages if "no known country" in m)
    assert "Atlantis (1 row)" in unmatched and "Neverland" not in unmatched
    assert not report.error


def test_a_file_of_codes_reports_no_conversion(mem_con):
    report = load_text(mem_con, "customers", "customer_id,country\nA,DE\nB,AT\n")
    assert report.ok
    assert report.detected["countries"]["converted_rows"] == 0
    assert not any("countr" in m.lower() for m in report.messages)


def _uci_lines_with_customer_by_country() -> collections.Counter:
    """Order lines of the fixture that load (those with a CustomerID), counted by Country, in Python."""
    with (FIXTURES / "online_retail_sample.csv").open(encoding="utf-8") as handle:
        return collections.Counter(r["Country"] for r in csv.DictReader(handle) if r["CustomerID"].strip())


def test_uci_orders_and_the_customers_created_from_them_get_iso_codes(mem_con):
    """Regression: importing UCI Online Retail stored 'United Kingdom', 'EIRE' ... beside the demo's codes."""
    by_name = _uci_lines_with_customer_by_country()
    codes = {
        "United Kingdom": "GB",
        "Norway": "NO",
        "Germany": "DE",
        "EIRE": "IE",
        "France": "FR",
        "Australia": "AU",
        "Netherlands": "NL",
    }
    assert set(by_name) == set(codes)
    report = ingest.load(mem_con, "orders", FIXTURES / "online_retail_sample.csv", create_missing_customers=True)
    assert report.ok and report.rows_loaded == 1466
    expected = collections.Counter({codes[name]: n for name, n in by_name.items()})
    assert dict(stored(mem_con, "SELECT country, count(*) FROM orders GROUP BY country")) == dict(expected)
    # Customers created from the lines carry the code of their first line.
    assert {c for (c,) in stored(mem_con, "SELECT DISTINCT country FROM customers")} == set(codes.values())
    assert report.detected["countries"]["converted_rows"] == 1466 == sum(by_name.values())
    assert f"in {sum(by_name.values()):,} rows" in report.messages[0]


def test_upsert_stores_codes_and_undo_restores_the_old_value(mem_con):
    assert load_text(mem_con, "customers", "customer_id,country\nA,GB\n").ok
    report = load_text(mem_con, "customers", "customer_id,country\nA,Schweiz\nB,Frankreich\n", mode="upsert")
    assert report.ok
    assert dict(stored(mem_con, "SELECT customer_id, country FROM customers")) == {"A": "CH", "B": "FR"}
    ingest.undo(mem_con, report.import_id)
    assert dict(stored(mem_con, "SELECT customer_id, country FROM customers")) == {"A": "GB"}


def test_orders_keep_the_file_order_when_countries_are_converted(mem_con):
    lines = "".join(f"O-{i:03d},K{i % 7},2025-01-{1 + i % 28:02d},Germany\n" for i in range(300))
    report = load_text(
        mem_con, "orders", "order_id,customer_id,ordered_at,country\n" + lines, create_missing_customers=True
    )
    assert report.ok
    order = [o for (o,) in stored(mem_con, "SELECT order_id FROM orders ORDER BY rowid")]
    assert order == [f"O-{i:03d}" for i in range(300)]


# --- required columns -----------------------------------------------------------------------


def test_missing_required_names_the_unmapped_required_columns():
    assert ingest.missing_required("orders", {}) == ["order_id", "customer_id", "ordered_at"]
    assert ingest.missing_required("orders", {"Nr": "order_id", "Kunde": "customer_id"}) == ["ordered_at"]
    # The line number is computed when not mapped; it is not required anyway.
    assert ingest.missing_required("orders", {"Nr": "order_id", "Kunde": "customer_id", "Datum": "ordered_at"}) == []
    assert ingest.missing_required("customers", {"id": "customer_id"}) == []
    assert ingest.missing_required("customers", {" 00004 0001 19970101  2   29.33": "name"}) == ["customer_id"]


# --- rejected values as written -------------------------------------------------------------


def _rejects(report) -> dict[tuple[int, str], object]:
    return {(r.row, r.column): r.value for r in report.rejects.itertuples()}


def test_rejected_values_are_shown_as_written_in_the_file(mem_con):
    """Regression: '31.12.2031' was listed as '2031-12-31 00:00:00', an empty id as None."""
    text = (
        "Kundennummer;Land;Kunde seit;Geburtsjahr;Mitarbeiter\n"
        "K1;DE;31.12.2031;1980;5\n"  # date more than a year ahead
        ";AT;01.01.2024;1970;5\n"  # no customer id
        "K3;CH;02.02.2024;1.850;5\n"  # impossible birth year, written with a thousands dot
        "K4;DE;03.03.2024;1980;-3\n"  # negative employees
        "K5;DE;04.03.2024;19x0;5\n"  # not a whole number
        "K5;DE;04.03.2024;1980;5\n"  # same key as row 5 (which is rejected, so this one loads)
        "K4;DE;03.03.2024;1980;7\n"  # same key as row 4 (rejected too), loads
    )
    report = load_text(mem_con, "customers", text, encoding="cp1252")
    assert report.ok
    values = _rejects(report)
    assert values[(1, "Kunde seit")] == "31.12.2031"
    assert pd.isna(values[(2, "Kundennummer")])  # empty in the file; the page shows '(empty)'
    assert values[(3, "Geburtsjahr")] == "1.850"
    assert values[(4, "Mitarbeiter")] == "-3"
    assert values[(5, "Geburtsjahr")] == "19x0"
    assert len(report.rejects) == 5
    assert set(report.rejected_rows["row"]) == {1, 2, 3, 4, 5}


def test_rejected_keys_of_several_columns_are_shown_as_written(mem_con):
    text = "order_id,line_no,customer_id,ordered_at\nO-1,1,K1,31/12/2024\nO-1, 01,K1,31/12/2024\n"
    report = load_text(mem_con, "orders", text, create_missing_customers=True)
    assert report.ok and report.rows_loaded == 1
    assert _rejects(report) == {(2, "order_id + line_no"): "O-1 /  01"}


def test_whole_line_problems_keep_the_line(mem_con):
    report = load_text(mem_con, "customers", "customer_id,name\nA,Ann\nB,Bo,extra\n")
    assert report.ok
    row = report.rejects.iloc[0]
    assert (row["row"], row["column"], row["value"]) == (2, None, "B,Bo,extra")


def test_email_values_stay_masked_when_shown_as_written(mem_con):
    report = load_text(mem_con, "customers", "customer_id,name\nanna@example.com,A\nanna@example.com,B\n")
    assert report.ok
    assert list(report.rejects["value"]) == ["a…@…(masked)"]
