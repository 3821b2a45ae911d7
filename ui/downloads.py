"""Download buttons for tables: the only export path of the UI, always sanitised."""

from __future__ import annotations

import functools
from collections.abc import Callable

import duckdb
import pandas as pd
import streamlit as st

from analytics import export
from analytics.export import to_csv_bytes, to_excel_bytes, to_parquet_bytes
from ui.i18n import _

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# format -> (label, extension, mime, icon), for data frames and whole stored tables alike.
_FORMATS = {
    "csv": (_("Download CSV"), "csv", "text/csv", ":material/download:"),
    "csv.gz": (_("Download CSV (compressed)"), "csv.gz", "application/gzip", ":material/folder_zip:"),
    "xlsx": (_("Download Excel"), "xlsx", XLSX_MIME, ":material/table:"),
    "parquet": (_("Download Parquet"), "parquet", "application/vnd.apache.parquet", ":material/storage:"),
}
# Builders of a data frame's file; Parquet cells are typed values, never formulas: nothing to neutralise.
_FRAME_BUILDERS = {"csv": to_csv_bytes, "xlsx": to_excel_bytes, "parquet": to_parquet_bytes}


def _button_row(name: str, builders: dict[str, Callable[[], bytes]], key: Callable[[str], str]) -> None:
    """One row of download buttons, format -> builder; each file is built only when its button is clicked."""
    with st.container(horizontal=True):
        for fmt, build in builders.items():
            label, extension, mime, icon = _FORMATS[fmt]
            st.download_button(
                label,
                data=build,
                file_name=f"{name}.{extension}",
                mime=mime,
                icon=icon,
                key=key(fmt),
                on_click="ignore",
            )


def download_buttons(
    frame: pd.DataFrame, name: str, *, key: str | None = None, formats: tuple[str, ...] = ("csv", "xlsx")
) -> None:
    """Download buttons for ``frame`` in the given formats (CSV and Excel with formula cells neutralised).

    The file is built only when its button is clicked, so a page with many downloads stays fast
    (Excel of a large table takes seconds).
    """
    key = key or name
    builders = {fmt: functools.partial(_FRAME_BUILDERS[fmt], frame) for fmt in formats}
    _button_row(name, builders, lambda fmt: f"dl_{fmt}_{key}")


def table_download_buttons(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    formats: tuple[str, ...] = ("csv.gz", "parquet"),
    excel_rows: int = 100_000,
    key: str | None = None,
) -> None:
    """Download buttons for a whole stored table, each file written by DuckDB when its button is clicked.

    No table is loaded into a DataFrame: CSV (plain or gzip-compressed, formula cells neutralised in
    the SQL) and Parquet are written straight from the database to a staging file that is read and
    removed. Excel goes through pandas and is refused above ``excel_rows`` rows. A builder runs in
    its own thread when the user clicks (it opens its own cursor on ``con``).
    """
    key = key or table
    builders = {
        fmt: functools.partial(export.table_excel_bytes, con, table, max_rows=excel_rows)
        if fmt == "xlsx"
        else functools.partial(export.table_bytes, con, table, fmt=fmt)
        for fmt in formats
    }
    _button_row(table, builders, lambda fmt: f"dl_table_{fmt.replace('.', '_')}_{key}")


def download_file(data: bytes, file_name: str, *, label: str, mime: str, key: str) -> None:
    """One download button for a file the analytics layer has already built safely.

    For exports that are not a single table (a workbook with several sheets, a printable summary):
    the builder in ``analytics`` is responsible for neutralising formulas, as ``analytics.export``
    does for tables.
    """
    st.download_button(
        label, data=data, file_name=file_name, mime=mime, icon=":material/download:", key=key, on_click="ignore"
    )
