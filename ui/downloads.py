"""Download buttons for tables: the only export path of the UI, always sanitised."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from analytics.export import to_csv_bytes, to_excel_bytes, to_parquet_bytes
from ui.i18n import _

# format -> (label, builder, extension, mime, icon)
_FORMATS = {
    "csv": (_("Download CSV"), to_csv_bytes, "csv", "text/csv", ":material/download:"),
    "xlsx": (
        _("Download Excel"),
        to_excel_bytes,
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ":material/table:",
    ),
    # Parquet cells are typed values, never formulas: nothing to neutralise.
    "parquet": (
        _("Download Parquet"),
        to_parquet_bytes,
        "parquet",
        "application/vnd.apache.parquet",
        ":material/storage:",
    ),
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


def download_file(data: bytes, file_name: str, *, label: str, mime: str, key: str) -> None:
    """One download button for a file the analytics layer has already built safely.

    For exports that are not a single table (a workbook with several sheets, a printable summary):
    the builder in ``analytics`` is responsible for neutralising formulas, as ``analytics.export``
    does for tables.
    """
    st.download_button(
        label, data=data, file_name=file_name, mime=mime, icon=":material/download:", key=key, on_click="ignore"
    )
