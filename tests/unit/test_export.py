"""Exports neutralise spreadsheet formulas (OWASP CSV injection) and keep numbers as numbers."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import tracemalloc

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import export, ingest, store
from analytics.export import DANGEROUS_PREFIXES, neutralise_cell, sanitise_frame, to_csv_bytes, to_excel_bytes

FRAME = pd.DataFrame(
    {
        "name": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "\rcr", "\nlf", "Anna", "<script>"],
        "amount": [-5.0, 1, 2, 3, 4, 5, 6, 7, 8],
    }
)


def test_every_dangerous_prefix_gets_an_apostrophe():
    out = sanitise_frame(FRAME)
    assert out["name"].tolist()[:7] == ["'" + v for v in FRAME["name"].tolist()[:7]]
    assert out["name"].tolist()[7:] == ["Anna", "<script>"]


def test_numbers_stay_numbers_and_input_is_not_mutated():
    out = sanitise_frame(FRAME)
    assert out["amount"].tolist() == FRAME["amount"].tolist()
    assert FRAME["name"].iloc[0].startswith("=")


def test_csv_bytes_are_sanitised():
    text = to_csv_bytes(FRAME).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert all(not v.startswith(DANGEROUS_PREFIXES) for v in back["name"])
    assert back["amount"].iloc[0] == -5


def test_excel_cells_are_text_not_formulas():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(FRAME)))
    sheet = book.active
    values = [sheet.cell(row=r, column=1).value for r in range(2, 2 + len(FRAME))]
    assert values[0] == '\'=HYPERLINK("http://x")'
    assert all(sheet.cell(row=r, column=1).data_type != "f" for r in range(2, 2 + len(FRAME)))
    assert sheet.cell(row=2, column=2).value == -5


def test_column_names_are_neutralised_too():
    out = sanitise_frame(pd.DataFrame({"=cmd": [1]}))
    assert list(out.columns) == ["'=cmd"]


@given(st.text())
def test_no_text_leaves_with_a_dangerous_first_character(text):
    cleaned = neutralise_cell(text)
    assert not cleaned.startswith(DANGEROUS_PREFIXES)
    assert cleaned.endswith(text)


# --- whole stored tables written by DuckDB (COPY), no DataFrame ------------------------------

#: Text cells a spreadsheet could take for a formula, next to harmless and awkward ones.
TRICKY = [
    "=SUM(A1)",
    "+49 30 1234567",
    "-5",
    "@x",
    "\tTab",
    "\rcarriage return",
    "\nline feed",
    "plain text",
    None,
    "Müller & Söhne",
    'a comma, and a "quote"',
    "",
    "it's = fine inside",
]


def _orders(con, count: int) -> None:
    rows = [
        (
            f"O-{i}",
            i + 1,
            f"C{i % 3}",
            dt.datetime(2025, 1, 1 + i, 9, 30, 15),
            text,
            None if i == 4 else (-5.0 if i == 2 else 1.5 * i),
            0.1 if i % 2 else 1e20,
        )
        for i, text in enumerate(TRICKY[:count])
    ]
    con.executemany(
        "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, description, quantity, unit_price) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


@pytest.fixture
def staging(tmp_path, monkeypatch):
    """A private upload (staging) folder; set before connecting, as the store allows only it."""
    folder = tmp_path / "staging"
    monkeypatch.setenv("WORKBENCH_UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def tricky_con(staging):
    """An empty store with tricky order lines and customers (dates, NULLs, numbers, umlauts)."""
    con = store.connect(":memory:")
    _orders(con, len(TRICKY))
    con.executemany(
        "INSERT INTO customers (customer_id, name, city, signup_date, birth_year) VALUES (?, ?, ?, ?, ?)",
        [
            (f"C{i}", text, "München" if i % 2 else None, dt.date(2024, 2, 1 + i) if i != 3 else None, 1970 + i)
            for i, text in enumerate(TRICKY)
        ],
    )
    yield con
    con.close()


def _cells(data: bytes, column: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [row[column] for row in reader]


@pytest.mark.parametrize("table", ["orders", "customers"])
def test_sql_csv_is_byte_for_byte_the_pandas_csv(tricky_con, table):
    """The COPY export writes exactly the file the DataFrame path writes: BOM, header, CRLF, quoting,
    apostrophes, NULL and empty text as empty cells, numbers and dates."""
    from_sql = export.table_bytes(tricky_con, table, fmt="csv")
    from_pandas = to_csv_bytes(ingest.table_frame(tricky_con, table))
    assert from_sql == from_pandas


def test_sql_csv_neutralises_text_cells_and_keeps_numbers(tricky_con):
    data = export.table_bytes(tricky_con, "orders", fmt="csv")
    assert data.startswith(b"\xef\xbb\xbforder_id,line_no,")
    assert _cells(data, "description") == [
        "'=SUM(A1)",
        "'+49 30 1234567",
        "'-5",
        "'@x",
        "'\tTab",
        "'\rcarriage return",
        "'\nline feed",
        "plain text",
        "",
        "Müller & Söhne",
        'a comma, and a "quote"',
        "",
        "it's = fine inside",
    ]
    assert _cells(data, "quantity")[2] == "-5.0"  # a negative number stays a number
    assert _cells(data, "unit_price")[:2] == ["1e+20", "0.1"]
    assert _cells(data, "ordered_at")[0] == "2025-01-01 09:30:15"
    assert _cells(data, "quantity")[4] == ""  # NULL


def test_gzip_csv_holds_the_same_bytes(tricky_con):
    plain = export.table_bytes(tricky_con, "orders", fmt="csv")
    assert gzip.decompress(export.table_bytes(tricky_con, "orders", fmt="csv.gz")) == plain


def test_parquet_round_trips_typed_values(tricky_con):
    table = pq.read_table(io.BytesIO(export.table_bytes(tricky_con, "orders", fmt="parquet")))
    assert table.schema.field("line_no").type == pa.int32()
    assert table.schema.field("quantity").type == pa.float64()
    assert pa.types.is_timestamp(table.schema.field("ordered_at").type)
    rows = table.to_pylist()
    # Typed values, exactly as stored: no apostrophes (a Parquet cell is never a formula), NULL stays NULL.
    assert [r["description"] for r in rows] == TRICKY
    assert rows[2]["quantity"] == -5.0 and rows[4]["quantity"] is None
    assert rows[0]["unit_price"] == 1e20 and rows[0]["line_no"] == 1
    assert rows[0]["ordered_at"] == dt.datetime(2025, 1, 1, 9, 30, 15)
    assert rows[0]["import_id"] is None
    customers = pq.read_table(io.BytesIO(export.table_bytes(tricky_con, "customers", fmt="parquet")))
    assert pa.types.is_date(customers.schema.field("signup_date").type)
    assert customers.column("signup_date").to_pylist()[:4] == [dt.date(2024, 2, d) for d in (1, 2, 3)] + [None]
    assert customers.column("city").to_pylist()[1] == "München"


def test_blob_columns_are_left_out(staging):
    con = store.connect(":memory:")
    con.execute("INSERT INTO model_runs (run_id, model, artifact) VALUES ('r1', '=cmd', 'secret'::BLOB)")
    data = export.table_bytes(con, "model_runs", fmt="csv")
    assert b"artifact" not in data and b"secret" not in data
    assert _cells(data, "model") == ["'=cmd"]
    assert (
        "artifact" not in pq.read_table(io.BytesIO(export.table_bytes(con, "model_runs", fmt="parquet"))).schema.names
    )


@pytest.mark.parametrize("fmt", list(export.TABLE_FORMATS))
def test_staging_file_is_removed(tricky_con, staging, fmt):
    assert export.table_bytes(tricky_con, "orders", fmt=fmt)
    assert list(staging.iterdir()) == []


def test_staging_file_is_removed_when_reading_it_fails(tricky_con, staging):
    with pytest.raises(RuntimeError), export.staged_table_file(tricky_con, "orders", fmt="csv.gz") as path:
        assert path.parent == staging and path.name.endswith(".csv.gz") and path.exists()
        raise RuntimeError("the download broke off")
    assert list(staging.iterdir()) == []


@pytest.mark.parametrize("name", ["no_such_table", "orders; DROP TABLE orders", 'orders" --', "", None])
def test_unknown_table_is_refused_with_a_clear_message(tricky_con, staging, name):
    with pytest.raises(export.ExportError, match="is not a table of the workbench"):
        export.table_bytes(tricky_con, name, fmt="csv")
    assert list(staging.iterdir()) == []
    assert tricky_con.execute("SELECT count(*) FROM orders").fetchone()[0] == len(TRICKY)


def test_unknown_format_is_refused(tricky_con):
    with pytest.raises(export.ExportError, match="not an export format"):
        export.table_bytes(tricky_con, "orders", fmt="xml")


def test_a_folder_the_store_may_not_write_to_gives_a_clear_message(tricky_con, tmp_path):
    with pytest.raises(export.ExportError, match="could not be written"):
        export.write_table(tricky_con, "orders", tmp_path / "elsewhere" / "orders.csv")


def test_excel_of_a_small_table_is_sanitised_and_a_big_one_refused(tricky_con):
    book = openpyxl.load_workbook(io.BytesIO(export.table_excel_bytes(tricky_con, "orders", max_rows=100)))
    sheet = book.active
    assert sheet.title == "orders"
    header = [c.value for c in sheet[1]]
    column = header.index("description") + 1
    assert sheet.cell(row=2, column=column).value == "'=SUM(A1)"
    assert all(sheet.cell(row=r, column=column).data_type != "f" for r in range(2, 2 + len(TRICKY)))
    with pytest.raises(export.ExportError, match="use CSV or Parquet"):
        export.table_excel_bytes(tricky_con, "orders", max_rows=len(TRICKY) - 1)


def test_unordered_writing_keeps_every_row(tricky_con):
    ordered = export.table_bytes(tricky_con, "orders", fmt="csv", keep_order=True)
    unordered = export.table_bytes(tricky_con, "orders", fmt="csv", keep_order=False)
    assert sorted(_cells(unordered, "order_id")) == sorted(_cells(ordered, "order_id"))
    assert len(unordered) == len(ordered)


TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.one_of(TEXT, st.tuples(st.sampled_from(DANGEROUS_PREFIXES), TEXT).map("".join)))
def test_sql_rule_is_the_python_rule(text):
    """One rule: the SQL expression neutralises exactly the texts neutralise_cell does."""
    expression, params = export.neutralise_sql("c")
    con = duckdb.connect()
    try:
        got = con.execute(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS c)", [*params, text]).fetchone()[0]
    finally:
        con.close()
    assert got == neutralise_cell(text)


def test_export_of_a_big_table_never_holds_it_in_python(staging):
    """Memory-light, not timed: Python allocations while exporting 200,000 order lines stay near the
    size of the finished file (the bytes handed to the download), far below a DataFrame of the table."""
    con = store.connect(":memory:")
    con.execute(
        "INSERT INTO orders (order_id, line_no, customer_id, ordered_at, description, quantity, unit_price, amount) "
        "SELECT 'O-' || i, 1, 'C' || (i % 5000), TIMESTAMP '2025-01-01' + INTERVAL (i) SECOND, "
        "CASE WHEN i % 7 = 0 THEN '=HYPERLINK(' || i || ')' ELSE 'product ' || i END, 1, 2.5, 2.5 "
        "FROM range(200000) t(i)"
    )
    sizes = {}
    for fmt in ("csv.gz", "parquet"):
        tracemalloc.start()
        try:
            sizes[fmt] = len(export.table_bytes(con, "orders", fmt=fmt))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < sizes[fmt] + 2_000_000, (fmt, peak, sizes[fmt])
    tracemalloc.start()
    try:
        frame = ingest.table_frame(con, "orders")  # what the old export path held (about 70 MB here)
        _, frame_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(frame) == 200_000 and frame_peak > 10 * (max(sizes.values()) + 2_000_000)
    assert sum(1 for _ in staging.iterdir()) == 0
    con.close()
