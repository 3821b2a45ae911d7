"""Download buttons for tables: the only export path of the UI, always sanitised."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.export import to_csv_bytes, to_excel_bytes
from ui.i18n import _


def download_buttons(frame: pd.DataFrame, name: str, *, key: str | None = None) -> None:
    """CSV and Excel download buttons for ``frame`` (formula cells neutralised)."""
    key = key or name
    with st.container(horizontal=True):
        st.download_button(
            _("Download CSV"),
            data=to_csv_bytes(frame),
            file_name=f"{name}.csv",
            mime="text/csv",
            icon=":material/download:",
            key=f"dl_csv_{key}",
            on_click="ignore",
        )
        st.download_button(
            _("Download Excel"),
            data=to_excel_bytes(frame),
            file_name=f"{name}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table:",
            key=f"dl_xlsx_{key}",
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
