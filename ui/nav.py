"""Navigation: the page list in sections, and the router every entry path goes through.

Streamlit serves ``pages/*.py`` by its old folder convention until ``app.py`` has run once in a
fresh server, so a deep link can run a page file directly, without the router. ``page_setup``
notices that (``ROUTER_STARTED`` is still false) and calls :func:`route` itself: the page then
runs inside the same navigation as it would from ``app.py``, with the same sidebar and URL.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.i18n import _

ROOT = Path(__file__).resolve().parents[1]

#: Set once the router has been built in this server process.
ROUTER_STARTED = False

# (file, title, icon, url path, section). A page appears once its file exists.
PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:", "overview", "Explore"),
    ("pages/segments.py", "Segments", ":material/donut_small:", "segments", "Explore"),
    ("pages/journeys.py", "Journeys", ":material/route:", "journeys", "Explore"),
    ("pages/kano.py", "Kano and priorities", ":material/thumbs_up_down:", "kano", "Explore"),
    ("pages/churn.py", "Churn and value", ":material/trending_down:", "churn", "Explore"),
    ("pages/worksheets.py", "Worksheets", ":material/edit_note:", "worksheets", "Workshops"),
    ("pages/data.py", "Data", ":material/database:", "data", "Manage"),
]


def available_pages() -> list[tuple[str, str, str, str, str]]:
    """The entries of ``PAGES`` whose file exists."""
    return [entry for entry in PAGES if (ROOT / entry[0]).exists()]


def route() -> None:
    """Build the navigation and run the page the URL asks for."""
    global ROUTER_STARTED
    ROUTER_STARTED = True
    sections: dict[str, list] = {}
    for file, title, icon, url_path, section in available_pages():
        page = st.Page(ROOT / file, title=_(title), icon=icon, url_path=url_path, default=url_path == "overview")
        sections.setdefault(_(section), []).append(page)
    st.navigation(sections).run()
