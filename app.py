"""Customer Workbench: entry point. Navigation in sections; every page draws the shared frame itself."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.i18n import _

HERE = Path(__file__).resolve().parent

# (file, title, icon, url path, section). A page appears once its file exists.
PAGES = [
    ("pages/overview.py", _("Overview"), ":material/dashboard:", "overview", _("Explore")),
    ("pages/segments.py", _("Segments"), ":material/donut_small:", "segments", _("Explore")),
    ("pages/journeys.py", _("Journeys"), ":material/route:", "journeys", _("Explore")),
    ("pages/kano.py", _("Kano and priorities"), ":material/thumbs_up_down:", "kano", _("Explore")),
    ("pages/churn.py", _("Churn and value"), ":material/trending_down:", "churn", _("Explore")),
    ("pages/worksheets.py", _("Worksheets"), ":material/edit_note:", "worksheets", _("Workshops")),
    ("pages/data.py", _("Data"), ":material/database:", "data", _("Manage")),
]


def navigation() -> st.navigation:
    sections: dict[str, list] = {}
    for file, title, icon, url_path, section in PAGES:
        if (HERE / file).exists():
            page = st.Page(file, title=title, icon=icon, url_path=url_path, default=url_path == "overview")
            sections.setdefault(section, []).append(page)
    return st.navigation(sections)


navigation().run()
