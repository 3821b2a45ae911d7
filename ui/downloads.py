"""Download buttons for tables: the only export path of the UI, always sanitised."""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import streamlit as st

from analytics import export
from analytics.export import to_csv_bytes, to_excel_bytes, to_parquet_bytes
from ui.i18n import _

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# format -> (label, builder, extension, mime, icon)
_FORMATS = {
    "csv": (_("Download CSV"), to_csv_bytes, "csv", "text/csv", ":material/download:"),
    "xlsx": (_("Download Excel"), to_excel_bytes, "xlsx", XLSX_MIME, ":material/table:"),
    # Parquet cells are typed values, never formulas: nothing to neutralise.
    "parquet": (
        _("Download Parquet"),
        to_parquet_bytes,
        "parquet",
        "application/vnd.apache.parquet",
        ":material/storage:",
    ),
}

# Whole stored tables: format -> (label, extension, mime, icon). The files are written by DuckDB
# (analytics.export.table_bytes), never through a DataFrame; Excel only for small tables.
_TABLE_FORMATS = {
    "csv": (_("Download CSV"), "csv", "text/csv", ":material/download:"),
    "csv.gz": (_("Download CSV (compressed)"), "csv.gz", "application/gzip", ":material/folder_zip:"),
    "xlsx": (_("Download Excel"), "xlsx", XLSX_MIME, ":material/table:"),
    "parquet": (_("Download Parquet"), "parquet", "application/vnd.apache.parquet", ":material/storage:"),
}


def download_buttons(
    frame: pd.DataFrame, name: str, *, key: str | None = None, formats: tuple[str, ...] = ("csv", "xlsx")
) -> None:
    """Download buttons for ``frame`` in the given formats (CSV and Excel with formula cells neutralised).

    The file is built only when its button is clicked, so a page with many downloads stays fast.
    """
    key = key or name
    with st.container(horizontal=True):
        for fmt in formats:
            label, build, extension, mime, icon = _FORMATS[fmt]
            st.download_button(
                label,
                # Built when the user clicks, not on every run: Excel of a large table takes seconds.
                data=functools.partial(build, frame),
                file_name=f"{name}.{extension}",
                mime=mime,
                icon=icon,
                key=f"dl_{fmt}_{key}",
                on_click="ignore",
            )


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
    removed. Excel goes through pandas and is refused above ``excel_rows`` rows.
    """
    key = key or table
    with st.container(horizontal=True):
        for fmt in formats:
            label, extension, mime, icon = _TABLE_FORMATS[fmt]
            if fmt == "xlsx":
                build = functools.partial(export.table_excel_bytes, con, table, max_rows=excel_rows)
            else:
                build = functools.partial(export.table_bytes, con, table, fmt=fmt)
            st.download_button(
                label,
                # Runs in its own thread when the user clicks (it opens its own cursor on ``con``).
                data=build,
                file_name=f"{table}.{extension}",
                mime=mime,
                icon=icon,
                key=f"dl_table_{fmt.replace('.', '_')}_{key}",
                on_click="ignore",
            )


def download_file(data: bytes, file_name: str, *, label: str, mime: str, key: str) -> None:
    """One download button for a file the analytics layer has already built safely.

    For exports that are not a single table (a workbook with several sheets, a printable summary):
    the builder in ``analytics`` is responsible for neutralising formulas, as ``analytics.export``
    does for tables.
    """
    st.download_button(
        label, data=data, file_name=file_name, mime=mime, icon=":material/download:", key=key, on_click="ignore"
    )
