"""Safe table exports: CSV and Excel bytes with spreadsheet formulas neutralised.

OWASP "CSV injection": a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
return or a line feed can run as a formula when the file is opened in a spreadsheet. Such text
cells get a leading apostrophe. Numbers stay numbers (a negative amount is not text).

Two paths apply the same rule (:data:`DANGEROUS_PREFIXES`, :data:`FORMULA_GUARD`):

- small frames in memory: :func:`to_csv_bytes`, :func:`to_excel_bytes`, :func:`to_parquet_bytes`;
- whole stored tables of any size: :func:`write_table` / :func:`table_bytes` let DuckDB write the
  file with ``COPY (SELECT ...) TO ...``, neutralising text columns in the SQL, so no table is
  ever loaded into pandas.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from analytics import schema, store

#: First characters that make a spreadsheet read a cell as a formula (OWASP); the one definition
#: used by the pandas path (:func:`neutralise_cell`) and the SQL path (:func:`neutralise_sql`).
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
#: What such a cell gets in front of it.
FORMULA_GUARD = "'"
#: UTF-8 byte-order mark, so spreadsheets detect the encoding of a CSV file.
BOM = "\ufeff"


def neutralise_cell(value: object) -> object:
    """'=1+1' -> "'=1+1"; non-text values unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return FORMULA_GUARD + value
    return value


def sanitise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """DataFrame -> copy with every text cell (and column name) neutralised; input untouched."""
    out = frame.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[column] = series.map(neutralise_cell).astype(object)
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """DataFrame -> UTF-8 CSV bytes (with BOM so spreadsheets detect the encoding), sanitised.

    Lines end in CRLF as spreadsheets expect; that also makes the writer quote any cell holding a
    bare carriage return, which would otherwise split the row when read back.
    """
    return sanitise_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_excel_bytes(frame: pd.DataFrame, *, sheet_name: str = "data") -> bytes:
    """DataFrame -> .xlsx bytes, sanitised; time zones dropped (Excel has none)."""
    out = sanitise_frame(frame)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_localize(None)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        out.to_excel(writer, index=False, sheet_name=sheet_name[:31] or "data")
    return buffer.getvalue()


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """DataFrame -> Parquet bytes (typed; no formulas possible, so no sanitising needed)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# --- whole stored tables, written by DuckDB ---------------------------------------------------

#: Formats :func:`write_table` writes: name -> (file extension, COPY options). CSV as
#: :func:`to_csv_bytes` writes it (header, comma, CRLF, BOM); "csv.gz" is the same file
#: gzip-compressed (for big tables); Parquet keeps the column types.
TABLE_FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("csv", "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\r\n'"),
    "csv.gz": (
        "csv.gz",
        "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\r\n', COMPRESSION gzip",
    ),
    "parquet": ("parquet", "FORMAT parquet, COMPRESSION zstd"),
}

#: Up to this many rows an export keeps the stored row order. A bigger table is written by all
#: threads without waiting for each other (``PRESERVE_ORDER false``): the same rows, in an order
#: that may differ, and a fraction of the memory (10 M interactions as gzip CSV: 0.4 GB instead of
#: 1.5 GB peak, since ordered writing buffers what the single compressing writer has not taken yet).
KEEP_ORDER_ROWS = 1_000_000

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


class ExportError(ValueError):
    """A table export that cannot be made, in words a user can act on."""


def _quoted(name: str) -> str:
    """A schema identifier, checked (lower-case letters, digits, underscores) and double-quoted."""
    if not _IDENTIFIER.fullmatch(name):
        raise ExportError(f"'{name}' cannot be exported: it is not a plain table or column name.")
    return f'"{name}"'


def export_columns(table: str) -> list[schema.Column]:
    """Table name -> its exportable columns (BLOB columns such as stored models left out).

    Raises
    ------
    ExportError
        When ``table`` is not one of the workbench's tables.
    """
    spec = schema.TABLES.get(table) if isinstance(table, str) else None
    if spec is None:
        raise ExportError(f"'{table}' is not a table of the workbench, so it cannot be exported.")
    return [c for c in spec.columns if c.type.upper() != "BLOB"]


def neutralise_sql(expression: str, *, empty_as_null: bool = False) -> tuple[str, list[str]]:
    """SQL text expression -> (expression with :func:`neutralise_cell`'s rule applied, its parameters).

    ``starts_with`` compares bytes, as ``str.startswith`` compares characters: the prefixes are
    single ASCII characters, so both agree on every text (a unit test checks this on random text).
    ``empty_as_null`` turns an empty text into NULL (an empty CSV cell, as pandas writes it).
    """
    test = " OR ".join(f"starts_with({expression}, ?)" for _ in DANGEROUS_PREFIXES)
    otherwise = f"NULLIF({expression}, '')" if empty_as_null else expression
    return f"CASE WHEN {test} THEN ? || {expression} ELSE {otherwise} END", [*DANGEROUS_PREFIXES, FORMULA_GUARD]


def export_query(table: str, fmt: str) -> tuple[str, list[str]]:
    """(table, format) -> (SELECT of the table's exportable columns, its parameters).

    For CSV, text columns are neutralised, an empty text is written as an empty cell (as pandas
    writes it) and the first header carries the byte-order mark, so the file is byte for byte the
    one :func:`to_csv_bytes` writes of the same table (a unit test checks this), except where pandas
    formats a whole column alike: it writes a timestamp column that holds only midnights as dates and
    pads every timestamp with milliseconds once one has them, and writes a NaN as an empty cell;
    DuckDB writes each value as it is (the same values when read back).
    """
    if fmt not in TABLE_FORMATS:
        raise ExportError(f"'{fmt}' is not an export format; use one of {', '.join(TABLE_FORMATS)}.")
    csv = fmt != "parquet"
    selects: list[str] = []
    params: list[str] = []
    for i, column in enumerate(export_columns(table)):
        name = _quoted(column.name)
        expression = name
        if csv and column.type.upper() == "VARCHAR":
            expression, extra = neutralise_sql(name, empty_as_null=True)
            params += extra
        alias = f'"{BOM}{column.name}"' if csv and i == 0 else name
        selects.append(f"{expression} AS {alias}")
    return f"SELECT {', '.join(selects)} FROM {_quoted(table)}", params


def write_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: str | Path,
    *,
    fmt: str = "csv",
    keep_order: bool | None = None,
) -> int:
    """Stored table -> file at ``path`` written by DuckDB (``COPY``); returns the rows written.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store; the export runs on its own cursor (safe from any thread).
    table : str
        A canonical table (``analytics.schema.TABLES``).
    path : str or Path
        Target file, in a folder the hardened connection may write to (the upload folder or the
        database's folder).
    fmt : {"csv", "csv.gz", "parquet"}, default="csv"
        CSV and gzip-compressed CSV with formula cells neutralised, or typed Parquet.
    keep_order : bool, default=None
        Write the rows in stored order. Default: for tables of up to :data:`KEEP_ORDER_ROWS` rows.

    Raises
    ------
    ExportError
        Unknown table or format, or the file could not be written.
    """
    query, params = export_query(table, fmt)
    options = TABLE_FORMATS[fmt][1]
    cur = con.cursor()
    try:
        if keep_order is None:
            keep_order = cur.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0] <= KEEP_ORDER_ROWS
        if not keep_order:
            options += ", PRESERVE_ORDER false"
        target = Path(path).resolve()  # allowed folders are compared resolved (store._harden)
        row = cur.execute(f"COPY ({query}) TO ? ({options})", [*params, str(target)]).fetchone()
    except duckdb.Error as exc:
        raise ExportError(
            f"The export of {table} could not be written to {Path(path).parent}: the folder may be missing, "
            "full or not open to the database. Try again, or ask your administrator to check the folder."
        ) from exc
    finally:
        cur.close()
    return int(row[0]) if row else 0


@contextmanager
def staged_table_file(
    con: duckdb.DuckDBPyConnection, table: str, *, fmt: str = "csv", keep_order: bool | None = None
) -> Iterator[Path]:
    """Stored table -> path of a file written in the upload staging folder, removed on leaving the block.

    The upload folder is one of the two the hardened connection may write to (``store.connect``).
    """
    export_query(table, fmt)  # refuses an unknown table or format before any file is named
    path = store.upload_dir() / f"export-{uuid.uuid4().hex}.{TABLE_FORMATS[fmt][0]}"
    try:
        write_table(con, table, path, fmt=fmt, keep_order=keep_order)
        yield path
    finally:
        path.unlink(missing_ok=True)


def table_bytes(
    con: duckdb.DuckDBPyConnection, table: str, *, fmt: str = "csv", keep_order: bool | None = None
) -> bytes:
    """Stored table -> bytes of the exported file (see :func:`write_table`); no file is left behind."""
    with staged_table_file(con, table, fmt=fmt, keep_order=keep_order) as path:
        return path.read_bytes()


def table_excel_bytes(con: duckdb.DuckDBPyConnection, table: str, *, max_rows: int) -> bytes:
    """Stored table of at most ``max_rows`` rows -> .xlsx bytes, sanitised (:func:`to_excel_bytes`).

    Excel is written through pandas and openpyxl, so only small tables are offered this way.

    Raises
    ------
    ExportError
        Unknown table, or more than ``max_rows`` rows (use CSV or Parquet).
    """
    query, params = export_query(table, "parquet")  # the typed columns, without the CSV treatment
    cur = con.cursor()
    try:
        frame = cur.execute(f"{query} LIMIT ?", [*params, int(max_rows) + 1]).df()
    finally:
        cur.close()
    if len(frame) > max_rows:
        raise ExportError(
            f"{table} has more than {max_rows:,} rows, more than an Excel download is offered for; use CSV or Parquet."
        )
    return to_excel_bytes(frame, sheet_name=table)
