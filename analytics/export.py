"""Safe table exports: CSV and Excel bytes with spreadsheet formulas neutralised.

OWASP "CSV injection": a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
return or a line feed can run as a formula when the file is opened in a spreadsheet. Such text
cells get a leading apostrophe. Numbers stay numbers (a negative amount is not text).
"""

from __future__ import annotations

import io

import pandas as pd

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise_cell(value: object) -> object:
    """'=1+1' -> "'=1+1"; non-text values unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
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
