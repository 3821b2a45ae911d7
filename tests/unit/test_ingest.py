"""Import: detection, mapping, validation, all-or-nothing loading, log and undo, bad inputs.

Fixture ``online_retail_sample.csv``: the first 1,999 order lines of the UCI Machine Learning
Repository "Online Retail" data set (CC BY 4.0; Chen, Sain & Guo 2012, Journal of Database
Marketing & Customer Strategy Management 19(3):197-208). It holds 533 lines without a customer,
26 cancellations (InvoiceNo starting with C, negative quantity) and 72 customers.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import export, ingest, privacy, schema, store
from tests.conftest import FIXTURES, requires_shared_data

CUSTOMERS_CSV = (
    "customer_id,name,email,country,signup_date\nC1,Anna,anna@example.com,DE,2024-01-05\nC2,Ben,,AT,2024-02-10\n"
)


@pytest.fixture(autouse=True)
def _key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_KEY_FILE", str(tmp_path / "test.key"))


@pytest.fixture
def con(mem_con):
    report = ingest.load(mem_con, "customers", io.StringIO(CUSTOMERS_CSV), file_name="customers.csv")
    assert report.ok, report.messages
    return mem_con


def snapshot(con) -> dict:
    """Every table's row count and content hash, the list of tables and the import sequence."""
    cur = con.cursor()
    tables = sorted(
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    )
    state = {"tables": tables}
    for name in tables:
        state[name] = cur.execute(f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM "{name}" t').fetchall()[0]
    return state


def load_text(con, table, text, *, name="upload.csv", encoding="utf-8", **kwargs):
    return ingest.load(con, table, io.BytesIO(text.encode(encoding)), file_name=name, **kwargs)


# --- mapping --------------------------------------------------------------------------------


def test_guess_mapping_reads_english_and_german_headers():
    uci = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    assert ingest.guess_mapping(uci, "orders") == {
        "InvoiceNo": "order_id",
        "StockCode": "product",
        "Description": "description",
        "Quantity": "quantity",
        "InvoiceDate": "ordered_at",
        "UnitPrice": "unit_price",
        "CustomerID": "customer_id",
        "Country": "country",
    }
    german = ["Kundennummer", "Kundenname", "E-Mail-Adresse", "Land", "Kunde seit", "Geburtsjahr", "Sonstiges"]
    assert ingest.guess_mapping(german, "customers") == {
        "Kundennummer": "customer_id",
        "Kundenname": "name",
        "E-Mail-Adresse": "email",
        "Land": "country",
        "Kunde seit": "signup_date",
        "Geburtsjahr": "birth_year",
    }


def test_mapping_is_remembered_per_layout(con):
    text = "Kunde;Aktion;Zeitpunkt\nC1;login;2025-01-02 10:00\n"
    mapping = {"Kunde": "customer_id", "Aktion": "event", "Zeitpunkt": "occurred_at"}
    assert ingest.load(con, "interactions", io.StringIO(text), mapping=mapping).ok
    remembered, was_remembered = ingest.suggest_mapping(con, "interactions", ["Kunde", "Aktion", "Zeitpunkt"])
    assert was_remembered and remembered == mapping
    assert ingest.layout_key("interactions", ["Kunde", " AKTION "]) == ingest.layout_key(
        "interactions", ["kunde", "aktion"]
    )


# --- real-world file ------------------------------------------------------------------------

UCI_MAPPING = {
    "InvoiceNo": "order_id",
    "StockCode": "product",
    "Description": "description",
    "Quantity": "quantity",
    "InvoiceDate": "ordered_at",
    "UnitPrice": "unit_price",
    "CustomerID": "customer_id",
    "Country": "country",
}


def test_online_retail_sample_loads_with_skipped_lines_explained(mem_con):
    report = ingest.load(
        mem_con, "orders", FIXTURES / "online_retail_sample.csv", mapping=UCI_MAPPING, create_missing_customers=True
    )
    assert report.ok
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (1999, 1466, 533)
    assert report.skipped == {"no customer id: the line cannot be attributed to a customer": 533}
    assert report.customers_created == 72
    cur = mem_con.cursor()
    # Cancellations are returns: negative quantities are kept, amount = quantity x unit price.
    assert cur.execute("SELECT count(*) FROM orders WHERE order_id LIKE 'C%' AND quantity < 0").fetchall()[0][0] == 26
    assert (
        cur.execute(
            "SELECT count(*) FROM orders WHERE abs(amount - round(quantity * unit_price, 2)) > 1e-9"
        ).fetchall()[0][0]
        == 0
    )
    # Line numbers are generated per order in file order: 1..n without gaps.
    gaps = cur.execute(
        "SELECT count(*) FROM (SELECT order_id, max(line_no) m, count(*) n FROM orders GROUP BY 1) WHERE m <> n"
    ).fetchall()
    assert gaps[0][0] == 0
    first = cur.execute(
        "SELECT line_no, product, quantity, unit_price, ordered_at FROM orders WHERE order_id = '536365' ORDER BY line_no LIMIT 1"
    ).fetchall()
    assert first == [(1, "85123A", 6.0, 2.55, dt.datetime(2010, 12, 1, 8, 26))]
    # Row numbers in the report are data rows of the file (row 623 is the first line without a customer).
    assert report.rejects["row"].iloc[0] == 623


def test_online_retail_sample_without_new_customers_rejects_unknown_ones(mem_con):
    before = snapshot(mem_con)
    report = ingest.load(mem_con, "orders", FIXTURES / "online_retail_sample.csv")
    assert not report.ok and report.rows_loaded == 0
    assert report.skipped["no customer id: the line cannot be attributed to a customer"] == 533
    assert report.skipped["unknown customer (load the customers first, or let the import create them)"] == 1466
    assert snapshot(mem_con) == before


@pytest.mark.slow
def test_full_online_retail_file_loads_through_the_mapping(mem_con):
    path = requires_shared_data("online_retail_uci.csv.gz")
    report = ingest.load(mem_con, "orders", path, mapping=UCI_MAPPING, create_missing_customers=True)
    assert report.ok, report.messages
    assert report.rows_read == 541_909
    assert report.rows_loaded == 406_829
    assert report.rows_rejected == 135_080
    assert report.skipped == {"no customer id: the line cannot be attributed to a customer": 135_080}
    assert report.customers_created == 4_372
    cur = mem_con.cursor()
    assert (
        cur.execute("SELECT count(*) FROM orders WHERE order_id LIKE 'C%' AND quantity < 0").fetchall()[0][0] == 8_905
    )


# --- dialects and encodings -----------------------------------------------------------------

GERMAN = (
    "Kundennummer;Kundenname;Land;Kunde seit;Mitarbeiter\r\n"
    "K1;Müller GmbH;DE;31.12.2024;1.200\r\n"
    '"K2";"Bäcker\r\nund Söhne";DE;01.02.2025;15\r\n'
    "K3;Straße € AG;AT;05.03.2025;7\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_german_export_in_any_encoding(mem_con, encoding):
    report = load_text(mem_con, "customers", GERMAN, encoding=encoding)
    assert report.ok and report.rows_loaded == 3, report.messages
    assert report.detected["delimiter"] == ";"
    rows = (
        mem_con.cursor()
        .execute("SELECT customer_id, name, signup_date, employees FROM customers ORDER BY 1")
        .fetchall()
    )
    assert rows == [
        ("K1", "Müller GmbH", dt.date(2024, 12, 31), 1200),
        ("K2", "Bäcker\r\nund Söhne", dt.date(2025, 2, 1), 15),
        ("K3", "Straße € AG", dt.date(2025, 3, 5), 7),
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_common_delimiter(mem_con, delimiter):
    text = (
        "\n".join(
            delimiter.join(r) for r in (["customer_id", "name", "country"], ["A", "Ann", "DE"], ["B", "Bo", "FR"])
        )
        + "\n"
    )
    report = load_text(mem_con, "customers", text)
    assert report.ok and report.rows_loaded == 2
    assert report.detected["delimiter"] == delimiter


def test_decimal_comma_and_thousands_dot(con):
    text = "Bestellnummer;Kundennummer;Bestelldatum;Menge;Einzelpreis;Betrag\nA1;C1;31.12.2025;2;1.234,50;2.469\nA2;C1;30.12.2025;-1;9,99;-9,99\n"
    report = load_text(con, "orders", text)
    assert report.ok and report.rows_loaded == 2, report.messages
    rows = con.cursor().execute("SELECT order_id, quantity, unit_price, amount FROM orders ORDER BY 1").fetchall()
    assert rows == [("A1", 2.0, 1234.5, 2469.0), ("A2", -1.0, 9.99, -9.99)]


def test_date_orders_are_detected_per_column(con):
    text = "customer_id,occurred_at,event\nC1,12/31/2025 10:00,a\nC1,01/02/2025 08:00,b\n"
    report = load_text(con, "interactions", text)
    assert report.detected["date_orders"] == {"occurred_at": "month-first"}
    days = con.cursor().execute("SELECT occurred_at FROM interactions ORDER BY occurred_at").fetchall()
    assert [d[0] for d in days] == [dt.datetime(2025, 1, 2, 8), dt.datetime(2025, 12, 31, 10)]


def test_imported_interactions_are_appended_customer_by_customer(con):
    """A time-ordered file is stored clustered by customer, then time (what funnels read fastest)."""
    text = (
        "customer_id,occurred_at,event\n"
        "C2,2025-01-01 09:00,visit\nC1,2025-01-01 10:00,visit\nC2,2025-01-02 09:00,buy\n"
        "C1,2025-01-03 10:00,buy\nC2,2025-01-01 08:00,ad\n"
    )
    assert load_text(con, "interactions", text).ok
    rows = con.cursor().execute("SELECT customer_id, occurred_at, event FROM interactions ORDER BY rowid").fetchall()
    assert [(c, e) for c, _t, e in rows] == [
        ("C1", "visit"),
        ("C1", "buy"),
        ("C2", "ad"),
        ("C2", "visit"),
        ("C2", "buy"),
    ]


def test_ambiguous_dates_in_a_german_layout_are_day_first_and_say_so(con):
    text = "Kunde;Ereignis;Datum\nC1;login;03.04.2025\nC2;login;05.06.2025\n"
    report = load_text(con, "interactions", text)
    assert report.ok
    assert any("day-first" in m and "German" in m for m in report.messages)
    got = con.cursor().execute("SELECT min(occurred_at) FROM interactions").fetchall()[0][0]
    assert got == dt.datetime(2025, 4, 3)


def test_mixed_date_formats_are_reported_and_rejected(con):
    text = "customer_id;event;date\nC1;a;31.12.2024\nC1;b;15.01.2025\nC1;c;2025-01-20\nC2;d;20.01.2025\n"
    report = load_text(con, "interactions", text)
    assert report.ok and report.rows_loaded == 3
    assert report.rejects[["row", "column"]].values.tolist() == [[3, "date"]]
    assert "different format" in report.rejects["reason"].iloc[0]
    assert any("mixes date formats" in m for m in report.messages)


def test_gzip_excel_and_parquet_sources(mem_con, tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["G1", "G2"],
            "name": ["Gina", "Gus"],
            "signup_date": [dt.date(2024, 1, 2), dt.date(2024, 3, 4)],
        }
    )
    gz = gzip.compress(frame.to_csv(index=False).encode())
    report = ingest.load(mem_con, "customers", io.BytesIO(gz), file_name="c.csv.gz")
    assert report.ok and report.rows_loaded == 2 and report.detected["format"] == "csv.gz"

    xlsx = tmp_path / "c.xlsx"
    frame.assign(customer_id=["X1", "X2"], employees=[3, 4]).to_excel(xlsx, index=False)
    report = ingest.load(mem_con, "customers", xlsx)
    assert report.ok and report.rows_loaded == 2 and report.detected["format"] == "xlsx", report.messages

    parquet = tmp_path / "c.parquet"
    frame.assign(customer_id=["P1", "P2"]).to_parquet(parquet)
    report = ingest.load(mem_con, "customers", io.BytesIO(parquet.read_bytes()), file_name="c.parquet")
    assert report.ok and report.rows_loaded == 2 and report.detected["format"] == "parquet"
    dates = (
        mem_con.cursor()
        .execute("SELECT customer_id, signup_date FROM customers WHERE customer_id IN ('X1', 'P2') ORDER BY 1")
        .fetchall()
    )
    assert dates == [("P2", dt.date(2024, 3, 4)), ("X1", dt.date(2024, 1, 2))]


def test_preview_shows_dialect_and_first_rows():
    preview = ingest.read_preview(io.BytesIO(GERMAN.encode("cp1252")), file_name="k.csv", rows=2)
    assert preview.error is None
    assert (preview.kind, preview.encoding, preview.delimiter, preview.decimal) == ("csv", "cp1252", ";", ",")
    assert preview.german and preview.date_orders == {"Kunde seit": "day-first"}
    assert preview.headers[0] == "Kundennummer" and len(preview.rows) == 2


# --- bad input: clear message, nothing changed ----------------------------------------------


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    return buffer.getvalue()


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


BAD_INPUTS = {
    "empty file": (b"", "customers", "empty"),
    "blank lines only": (b"\n\n  \n", "customers", "empty"),
    "header only": (b"customer_id,name\n", "customers", "header but no data rows"),
    "binary garbage": (bytes(range(256)) * 64, "customers", "does not look like a table"),
    "wrong delimiter": (b"customer_id:name:country\nA:Ann:DE\nB:Bo:FR\n", "customers", "Only one column"),
    "required column missing": (
        b"name,country\nAnn,DE\n",
        "customers",
        "Required column(s) not found in the file: customer_id",
    ),
    "xlsx zip bomb": (_zip_bomb(), "customers", "zip bomb"),
    "xlsx not a workbook": (_zip_without_workbook(), "customers", "not an Excel workbook"),
    "text named xlsx": (b"this is not excel", "customers", "not an Excel workbook"),
    "every row bad": (
        b"customer_id,occurred_at,event\nC1,not a date,x\nNOPE,2025-01-01,y\n",
        "interactions",
        "No row could be loaded",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_a_clear_message_and_changes_nothing(con, case):
    payload, table, expected = BAD_INPUTS[case]
    name = "upload.xlsx" if "xlsx" in case else "upload.csv"
    before = snapshot(con)
    report = ingest.load(con, table, io.BytesIO(payload), file_name=name)
    assert not report.ok
    assert report.rows_loaded == 0
    assert expected in report.error
    assert "Traceback" not in report.error and "Error:" not in report.error
    assert snapshot(con) == before


ROW_LEVEL = {
    "too many fields": (
        "customers",
        "customer_id,name\nA,Ann,extra\nB,Bo,more\n",
        "the row has more fields than the header",
    ),
    "too few fields": ("customers", "customer_id,name,country\nA,Ann\n", "the row has fewer fields than the header"),
    "unparsable numbers": (
        "orders",
        "order_id,customer_id,ordered_at,quantity\nO1,C1,2025-01-01,lots\n",
        "not a number",
    ),
    "unparsable dates": ("orders", "order_id,customer_id,ordered_at\nO1,C1,yesterday\n", "not a date"),
    "duplicate keys (stored)": ("customers", "customer_id,name\nC1,Anna\nC2,Ben\n", "already stored"),
    "unknown customer ids": ("orders", "order_id,customer_id,ordered_at\nO1,NOPE,2025-01-01\n", "unknown customer"),
    "empty required value": (
        "interactions",
        "customer_id,event,occurred_at\nC1,,2025-01-01\n",
        "required value is empty",
    ),
    "far future": (
        "interactions",
        "customer_id,event,occurred_at\nC1,x,2999-01-01\n",
        "more than a year in the future",
    ),
}


@pytest.mark.parametrize("case", list(ROW_LEVEL))
def test_a_file_whose_every_row_is_bad_changes_nothing(con, case):
    table, text, reason = ROW_LEVEL[case]
    before = snapshot(con)
    report = load_text(con, table, text)
    assert not report.ok and report.rows_loaded == 0
    assert "No row could be loaded" in report.error or "None of the rows could be split" in report.error
    assert report.rejects["reason"].str.contains(reason, regex=False).all()
    assert snapshot(con) == before


def test_file_over_the_size_limit_is_refused(con, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("customer_id,name\n" + "X,Y\n" * 100)
    before = snapshot(con)
    for source in (path, io.BytesIO(path.read_bytes())):
        report = ingest.load(con, "customers", source, file_name="big.csv", max_bytes=200)
        assert not report.ok and "larger than the limit" in report.error
    # A small gzip that unpacks beyond the limit is refused as well.
    report = ingest.load(
        con, "customers", io.BytesIO(gzip.compress(path.read_bytes())), file_name="big.csv.gz", max_bytes=300
    )
    assert not report.ok and "larger than the limit" in report.error
    assert snapshot(con) == before


def test_failed_import_leaves_the_database_file_byte_identical(tmp_path):
    path = tmp_path / "store.duckdb"
    con = store.connect(path)
    assert ingest.load(con, "customers", io.StringIO(CUSTOMERS_CSV)).ok
    con.close()
    before = path.read_bytes()
    con = store.connect(path)
    report = ingest.load(con, "customers", io.BytesIO(b"\x00\x01\x02garbage" * 100), file_name="x.csv")
    assert not report.ok
    con.close()
    assert path.read_bytes() == before


def test_rows_with_too_many_or_too_few_fields_are_rejected_with_their_row(con):
    text = 'customer_id,name,country\nA,"two\nlines",DE\nB,Bo\nC,Cy,FR,extra\nD,Di,IT\n'
    report = load_text(con, "customers", text)
    assert report.ok and report.rows_loaded == 2
    rejects = report.rejects.set_index("row")["reason"].to_dict()
    assert rejects == {2: "the row has fewer fields than the header", 3: "the row has more fields than the header"}
    stored = (
        con.cursor().execute("SELECT customer_id FROM customers WHERE customer_id IN ('A', 'D') ORDER BY 1").fetchall()
    )
    assert stored == [("A",), ("D",)]


def test_unparsable_numbers_and_dates_are_rejected_and_valid_rows_load(con):
    text = "order_id,customer_id,ordered_at,quantity,unit_price\nO1,C1,2025-01-01,2,3.5\nO2,C1,2025-01-02,two,3\nO3,C1,someday,1,1\nO4,C2,2025-01-04,1,1\n"
    before = con.cursor().execute("SELECT count(*) FROM orders").fetchall()[0][0]
    report = load_text(con, "orders", text)
    assert report.ok and report.rows_loaded == 2
    got = report.rejects[["row", "column", "value", "reason"]].values.tolist()
    assert got == [
        [2, "quantity", "two", "not a number"],
        [3, "ordered_at", "someday", "not a date (expected like 2025-12-31)"],
    ]
    assert con.cursor().execute("SELECT count(*) FROM orders").fetchall()[0][0] == before + 2


def test_duplicate_keys_in_the_file_and_against_stored_rows(con):
    text = "customer_id,name\nC3,Cleo\nC3,Cleo again\nC1,Anna twice\n"
    report = load_text(con, "customers", text)
    assert report.ok and report.rows_loaded == 1
    reasons = report.rejects.set_index("row")["reason"].to_dict()
    assert reasons == {2: "same key as row 1 of the file", 3: "already stored (choose upsert to update stored rows)"}
    assert con.cursor().execute("SELECT name FROM customers WHERE customer_id = 'C1'").fetchall() == [("Anna",)]


def test_unknown_customers_are_rejected(con):
    text = "customer_id,event,occurred_at\nC1,login,2025-01-01\nGHOST,login,2025-01-01\n"
    report = load_text(con, "interactions", text)
    assert report.ok and report.rows_loaded == 1
    assert report.rejects[["row", "value"]].values.tolist() == [[2, "GHOST"]]
    assert report.rejects["reason"].iloc[0].startswith("unknown customer")


def test_impossible_values_but_returns_are_fine(con):
    future = (dt.date.today() + dt.timedelta(days=800)).isoformat()
    text = f"order_id,customer_id,ordered_at,quantity,unit_price\nR1,C1,2025-01-01,-3,2\nF1,C1,{future},1,1\nE1,,2025-01-01,1,1\n"
    report = load_text(con, "orders", text)
    assert report.rows_loaded == 1
    assert report.rejects["reason"].tolist() == [
        "date more than a year in the future",
        "no customer id: the line cannot be attributed to a customer",
    ]
    assert con.cursor().execute("SELECT quantity, amount FROM orders WHERE order_id = 'R1'").fetchall() == [
        (-3.0, -6.0)
    ]


def test_script_sql_and_formula_names_are_stored_verbatim_and_exported_safely(con):
    names = [
        "<script>alert(1)</script>",
        "Robert'); DROP TABLE customers;--",
        '=HYPERLINK("http://x")',
        "+1",
        "-2",
        "@SUM(A1)",
    ]
    frame = pd.DataFrame({"customer_id": [f"N{i}" for i in range(len(names))], "name": names})
    report = ingest.load(con, "customers", io.BytesIO(frame.to_csv(index=False).encode()), file_name="n.csv")
    assert report.ok and report.rows_loaded == len(names)
    stored = (
        con.cursor().execute("SELECT name FROM customers WHERE customer_id LIKE 'N%' ORDER BY customer_id").fetchall()
    )
    assert [s[0] for s in stored] == names
    assert con.cursor().execute("SELECT count(*) FROM customers").fetchall()[0][0] == 2 + len(names)
    exported = pd.read_csv(io.BytesIO(export.to_csv_bytes(pd.DataFrame({"name": names}))), encoding="utf-8-sig")[
        "name"
    ].tolist()
    assert exported[2:] == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)"]


def test_email_values_are_masked_in_the_reject_report(con):
    report = load_text(con, "customers", "customer_id,email\nC1,anna@example.com\n")
    assert report.rejects["value"].tolist() == ["C1"]  # the key is reported, not the e-mail
    report = load_text(
        con, "interactions", "customer_id,event,occurred_at\nnobody@example.com,x,2025-01-01\nC1,y,2025-01-01\n"
    )
    assert report.rejects["value"].tolist() == ["n…@…(masked)"]
    assert all("example.com" not in m for m in report.messages)


# --- modes, log and undo --------------------------------------------------------------------


def test_append_then_undo_removes_the_rows_and_logs_it(con):
    report = load_text(con, "customers", "customer_id,name\nC7,Cid\nC8,Cat\n")
    log = ingest.imports_log(con)
    assert log.iloc[0][["import_id", "table_name", "rows_read", "rows_loaded", "rows_rejected", "status"]].tolist() == [
        report.import_id,
        "customers",
        2,
        2,
        0,
        "loaded",
    ]
    assert len(log.iloc[0]["checksum"]) == 64
    assert ingest.undo(con, report.import_id) == {"rows_removed": 2, "rows_restored": 0, "customers_removed": 0}
    assert con.cursor().execute("SELECT count(*) FROM customers").fetchall()[0][0] == 2
    assert ingest.imports_log(con).iloc[0]["status"] == "undone"
    audit = con.cursor().execute("SELECT action FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchall()
    assert audit == [("undo import",)]
    with pytest.raises(ingest.IngestError, match="already undone"):
        ingest.undo(con, report.import_id)


def test_replace_and_upsert_can_be_undone(con):
    original = snapshot(con)
    replaced = load_text(con, "customers", "customer_id,name\nZ1,Zed\n", mode="replace")
    assert replaced.ok and replaced.rows_replaced == 2
    assert con.cursor().execute("SELECT customer_id FROM customers").fetchall() == [("Z1",)]
    ingest.undo(con, replaced.import_id)
    assert sorted(con.cursor().execute("SELECT customer_id, name FROM customers").fetchall()) == [
        ("C1", "Anna"),
        ("C2", "Ben"),
    ]

    upserted = load_text(con, "customers", "customer_id,name\nC1,Anna Neu\nC9,Nine\n", mode="upsert")
    assert upserted.ok and upserted.rows_loaded == 2 and upserted.rows_replaced == 1
    assert con.cursor().execute("SELECT name FROM customers WHERE customer_id = 'C1'").fetchall() == [("Anna Neu",)]
    ingest.undo(con, upserted.import_id)
    rows = sorted(con.cursor().execute("SELECT customer_id, name, email FROM customers").fetchall())
    assert rows == [("C1", "Anna", "anna@example.com"), ("C2", "Ben", None)]
    data = {k: v for k, v in snapshot(con).items() if k in schema.IMPORTABLE}
    assert data == {k: v for k, v in original.items() if k in schema.IMPORTABLE}


def test_undo_of_orders_removes_the_customers_it_created(mem_con):
    report = ingest.load(mem_con, "orders", FIXTURES / "online_retail_sample.csv", create_missing_customers=True)
    assert ingest.undo(mem_con, report.import_id)["customers_removed"] == 72
    assert store.table_counts(mem_con)["customers"] == 0 and store.table_counts(mem_con)["orders"] == 0


def test_pseudonymised_import_stores_keyed_hashes(mem_con, tmp_path):
    text = "customer_id,name,email,city,birth_year\nP1,Anna Muster,anna@example.com,Berlin,1987\n"
    report = load_text(mem_con, "customers", text, pseudonymise=True)
    assert report.ok
    key = privacy.load_key(mem_con)
    row = mem_con.cursor().execute("SELECT customer_id, name, email, city, birth_year FROM customers").fetchall()[0]
    assert row == (
        "P1",
        privacy.pseudonym("Anna Muster", key),
        privacy.pseudonym("anna@example.com", key),
        privacy.pseudonym("Berlin", key),
        1980,
    )


# --- all or nothing (property) --------------------------------------------------------------

GOOD = st.builds(lambda n: ("good", f"X{n}", "2025-01-02"), st.integers(0, 10_000))
BAD = st.sampled_from([("bad", "", "2025-01-02"), ("bad", "Y", "not a date"), ("bad", "Y", "2999-01-01")])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(GOOD, BAD), min_size=1, max_size=30), crash=st.booleans())
def test_an_import_is_all_or_nothing(mem_con, monkeypatch, rows, crash):
    before = snapshot(mem_con)
    text = "customer_id,signup_date\n" + "".join(f"{cid},{date}\n" for _, cid, date in rows)
    good_ids = [cid for kind, cid, _ in rows if kind == "good"]
    expected = len(dict.fromkeys(good_ids))  # repeated ids: only the first one loads
    with monkeypatch.context() as patch:
        if crash:
            # A failure at the very end of the transaction (the audit entry) must roll back everything.
            def boom(*args, **kwargs):
                raise store.duckdb.IOException("disk full")

            patch.setattr(ingest.store, "audit", boom)
        report = load_text(mem_con, "customers", text)
    if crash or expected == 0:
        assert not report.ok and report.rows_loaded == 0
        assert snapshot(mem_con) == before
        return
    assert report.ok and report.rows_loaded == expected
    assert report.rows_loaded + report.rows_rejected == len(rows)
    stored = {r[0] for r in mem_con.cursor().execute("SELECT customer_id FROM customers").fetchall()}
    assert stored == set(good_ids)
    ingest.undo(mem_con, report.import_id)
    assert {k: v for k, v in snapshot(mem_con).items() if k in schema.IMPORTABLE} == {
        k: v for k, v in before.items() if k in schema.IMPORTABLE
    }


# --- regressions (review of the import) -----------------------------------------------------


def _name_of(con, customer_id):
    return con.cursor().execute("SELECT name FROM customers WHERE customer_id = ?", [customer_id]).fetchall()


def test_undo_refuses_an_import_that_a_later_one_builds_on(con):
    """Defect: undoing upsert A while a later upsert B was loaded left C1 twice; undoing B then brought A back."""
    a = load_text(con, "customers", "customer_id,name\nC1,Version A\n", mode="upsert")
    b = load_text(con, "customers", "customer_id,name\nC1,Version B\n", mode="upsert")
    before = snapshot(con)
    with pytest.raises(ingest.IngestError, match=rf"Undo them first.*#{b.import_id}"):
        ingest.undo(con, a.import_id)
    assert snapshot(con) == before
    ingest.undo(con, b.import_id)
    assert _name_of(con, "C1") == [("Version A",)]
    ingest.undo(con, a.import_id)
    assert _name_of(con, "C1") == [("Anna",)]


def test_undo_restores_a_backup_row_in_place_of_a_row_with_the_same_key(con):
    """Defect: restoring a backup appended its rows even when a row with the same key was stored since."""
    upserted = load_text(con, "customers", "customer_id,name\nC1,Anna Neu\n", mode="upsert")
    # A row written with the key outside imports (e.g. by the app) after the upsert.
    con.cursor().execute("UPDATE customers SET import_id = NULL WHERE customer_id = 'C1'")
    ingest.undo(con, upserted.import_id)
    assert _name_of(con, "C1") == [("Anna",)]


def test_undo_is_refused_after_demo_data_replaced_the_tables(con):
    """Defect: after demo regeneration, undoing an upsert restored its backup next to the demo row (key twice)."""
    upserted = load_text(con, "customers", "customer_id,name\nC1,Anna Neu\n", mode="upsert")

    def regenerate(cur):
        cur.execute("DELETE FROM customers")
        cur.execute("INSERT INTO customers (customer_id, name) VALUES ('C1', 'Demo')")
        store.audit(cur, "demo data generated", "demo", '{"rows": {"customers": 1}}')

    store.run_write(con, regenerate)
    before = snapshot(con)
    with pytest.raises(ingest.IngestError, match="demo data"):
        ingest.undo(con, upserted.import_id)
    assert snapshot(con) == before
    assert _name_of(con, "C1") == [("Demo",)]


def test_upsert_updates_only_the_mapped_columns_and_undo_restores_full_rows(con):
    """Defect: upsert replaced whole rows, so columns not in the file (email, country, signup) became empty."""
    before = snapshot(con)
    report = load_text(con, "customers", "customer_id,name\nC1,Anna Neu\nC5,Fünf\n", mode="upsert")
    assert report.ok and report.rows_loaded == 2 and report.rows_replaced == 1
    row = (
        con.cursor()
        .execute("SELECT name, email, country, signup_date FROM customers WHERE customer_id = 'C1'")
        .fetchall()
    )
    assert row == [("Anna Neu", "anna@example.com", "DE", dt.date(2024, 1, 5))]
    assert _name_of(con, "C5") == [("Fünf",)]
    ingest.undo(con, report.import_id)
    assert {k: v for k, v in snapshot(con).items() if k in schema.IMPORTABLE} == {
        k: v for k, v in before.items() if k in schema.IMPORTABLE
    }


def test_upsert_of_order_lines_keeps_unmapped_columns(con):
    """Defect (upsert, orders): a price correction file without descriptions erased the stored descriptions."""
    first = "order_id,line_no,customer_id,ordered_at,description,quantity,unit_price\nO1,1,C1,2025-01-01,Mug,2,3\n"
    assert load_text(con, "orders", first).ok
    fix = load_text(
        con, "orders", "order_id,line_no,customer_id,ordered_at,unit_price\nO1,1,C1,2025-01-01,4\n", mode="upsert"
    )
    assert fix.ok and fix.rows_loaded == 1
    got = con.cursor().execute("SELECT description, quantity, unit_price FROM orders").fetchall()
    assert got == [("Mug", 2.0, 4.0)]


def test_the_same_file_twice_is_refused_unless_allowed(con):
    """Defect: loading the same interactions file twice silently stored every event twice."""
    text = "customer_id,occurred_at,event,channel\nC1,2025-03-01 10:00,visit,website\nC2,2025-03-01 11:00,visit,email\n"
    first = load_text(con, "interactions", text, name="events.csv")
    assert first.ok and first.rows_loaded == 2
    before = snapshot(con)
    again = load_text(con, "interactions", text, name="events-copy.csv")
    assert not again.ok and again.rows_loaded == 0
    assert "already loaded" in again.error and f"#{first.import_id}" in again.error
    assert snapshot(con) == before
    # Allowed on purpose: the events already stored are still not stored twice.
    forced = load_text(con, "interactions", text, name="events.csv", allow_same_file=True)
    assert not forced.ok and forced.rows_loaded == 0
    assert set(forced.rejects["reason"]) == {"same event already stored (same customer, time, event and channel)"}
    assert con.cursor().execute("SELECT count(*) FROM interactions").fetchall()[0][0] == 2
    # Once undone, the file may be loaded again.
    ingest.undo(con, first.import_id)
    assert load_text(con, "interactions", text, name="events.csv").ok


def test_interactions_without_ids_drop_exact_duplicates_in_the_file_and_against_stored(con):
    """Defect: interactions without an interaction_id had no duplicate check at all."""
    assert load_text(con, "interactions", "customer_id,occurred_at,event\nC2,2025-01-05 09:00,login\n").ok
    text = (
        "customer_id,occurred_at,event,channel\n"
        "C1,2025-01-01 10:00,visit,Website\n"
        "C1,2025-01-01 10:00,visit,website\n"  # same event (channel case) as row 1
        "C1,2025-01-01 10:00,visit,email\n"  # other channel: another event
        "C1,2025-01-01 10:00,visit,\n"
        "C1,2025-01-01 10:00,visit,\n"  # same as row 4 (no channel on both)
        "C2,2025-01-05 09:00,login,\n"  # already stored
    )
    report = load_text(con, "interactions", text)
    assert report.ok and report.rows_loaded == 3
    reasons = report.rejects.set_index("row")["reason"].to_dict()
    assert reasons == {
        2: "same event as row 1 of the file (same customer, time, event and channel)",
        5: "same event as row 4 of the file (same customer, time, event and channel)",
        6: "same event already stored (same customer, time, event and channel)",
    }
    assert report.skipped["same event as an earlier row of the file"] == 2
    assert con.cursor().execute("SELECT count(*) FROM interactions").fetchall()[0][0] == 4


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("must", "must"),
        ("Must", "must"),
        ("M", "must"),
        ("muss", "must"),
        ("Soll", "should"),
        ("kann", "could"),
        ("nicht", "won't"),
        ("won't", "won't"),
        ("Won’t", "won't"),
        ("wont", "won't"),
        ("will not", "won't"),
        ("", None),
    ],
)
def test_moscow_words_are_normalised(mem_con, written, stored):
    """Defect: requirement priorities were stored as written ('Must', 'muss'), so boards and filters missed them."""
    report = load_text(mem_con, "requirements", f"requirement_id,title,moscow\nR1,Export,{written}\n")
    assert report.ok, report.messages
    assert mem_con.cursor().execute("SELECT moscow FROM requirements").fetchall() == [(stored,)]


def test_values_outside_the_allowed_lists_are_rejected_with_the_allowed_values(con):
    """Defect: moscow, journey stage and channel took any text."""
    report = load_text(con, "requirements", "requirement_id,title,moscow\nR1,A,must\nR2,B,maybe\n")
    assert report.ok and report.rows_loaded == 1
    reason = report.rejects.set_index("row").loc[2, "reason"]
    assert "must, should, could, won't" in reason
    text = (
        "customer_id,occurred_at,event,stage,channel\n"
        "C1,2025-01-01 10:00,visit,Awareness,Call Centre\n"
        "C1,2025-01-02 10:00,visit,funnel,website\n"
        "C1,2025-01-03 10:00,visit,purchase,Telepathy\n"
    )
    report = load_text(con, "interactions", text)
    assert report.ok and report.rows_loaded == 1
    rejects = report.rejects.set_index("row")
    assert rejects.loc[2, "column"] == "stage" and ", ".join(schema.STAGES) in rejects.loc[2, "reason"]
    assert rejects.loc[3, "column"] == "channel" and ", ".join(schema.CHANNELS) in rejects.loc[3, "reason"]
    stored = con.cursor().execute("SELECT stage, channel FROM interactions").fetchall()
    assert stored == [("awareness", "call centre")]


def test_field_count_messages_do_not_quote_a_wrong_count(con):
    """Defect: a row with 5 fields under a 3-column header was reported as 'row has 4 fields'."""
    report = load_text(con, "customers", "customer_id,name,country\nF1,A,DE\nF2,B,DE,extra,x\nF3\n")
    reasons = report.rejects.set_index("row")["reason"].to_dict()
    assert reasons == {2: "the row has more fields than the header", 3: "the row has fewer fields than the header"}
    assert report.skipped == {"wrong number of fields": 2}


def test_preview_of_a_file_with_an_unclosed_quote_says_what_load_says(con):
    """Defect: the preview called a file with an unclosed quote 'header but no data rows'."""
    payload = b'customer_id,name\n"A,unterminated\nB,x\n'
    preview = ingest.read_preview(io.BytesIO(payload), file_name="q.csv")
    report = ingest.load(con, "customers", io.BytesIO(payload), file_name="q.csv")
    assert not report.ok
    assert preview.error == report.error == ingest.NONE_SPLIT
    assert "Check the separator and the quotes" in preview.error
    header_only = ingest.read_preview(io.BytesIO(b"customer_id,name\n"), file_name="h.csv")
    assert header_only.error == "The file has a header but no data rows."


def test_undo_of_customers_waits_for_a_later_import_that_created_customers(con):
    """Defect guard (undo order): an order import that created customers also builds on the customers table."""
    customers = load_text(con, "customers", "customer_id,name\nC3,Cleo\n")
    orders = load_text(
        con, "orders", "order_id,customer_id,ordered_at\nO1,NEW1,2025-01-01\n", create_missing_customers=True
    )
    assert orders.customers_created == 1
    with pytest.raises(ingest.IngestError, match=rf"#{orders.import_id} \(upload.csv, orders\)"):
        ingest.undo(con, customers.import_id)
    ingest.undo(con, orders.import_id)
    assert ingest.undo(con, customers.import_id)["rows_removed"] == 1


def test_undo_after_real_demo_generation_is_refused(mem_con):
    """Defect: demo regeneration (analytics.demo.generate) followed by undo stored C0000001 twice."""
    from analytics import demo

    demo.generate(mem_con, customers=60, seed=3)
    report = load_text(mem_con, "customers", "customer_id,name\nC0000001,Upserted\n", mode="upsert")
    assert report.ok and report.rows_replaced == 1
    demo.generate(mem_con, customers=60, seed=4)
    before = snapshot(mem_con)
    with pytest.raises(ingest.IngestError, match="replaced by generated demo data"):
        ingest.undo(mem_con, report.import_id)
    assert snapshot(mem_con) == before
    assert mem_con.cursor().execute("SELECT count(*) FROM customers WHERE customer_id = 'C0000001'").fetchall() == [
        (1,)
    ]
