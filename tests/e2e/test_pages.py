"""Every page in a real browser: opens by its own URL, shows no error, and leaves a screenshot."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import current, screenshot, wait_for_app
from ui.nav import available_pages

pytestmark = pytest.mark.e2e

PAGES = available_pages()


def _path(url_path: str) -> str:
    # The default page (Overview) lives at the root URL.
    return "" if url_path == "overview" else url_path


def test_deep_link_on_a_fresh_server_runs_inside_the_navigation(fresh_server, page):
    """Guards the regression where /data on a new server skipped app.py and showed raw file names."""
    target = next(e for e in PAGES if e[3] != "overview")
    page.goto(f"{fresh_server.url}/{target[3]}")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text() == target[1]
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Overview" in nav
    # Must not happen: the folder convention's raw file names ("app", "data") as navigation entries.
    assert "\napp\n" not in f"\n{nav}\n"
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.parametrize("entry", PAGES, ids=[e[3] for e in PAGES])
def test_every_page_renders_without_error(shared_server, page, entry):
    file, title, _icon, url_path, _section = entry
    page.goto(f"{shared_server.url}/{_path(url_path)}")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text() == title
    # Must not happen: an exception box or a raw traceback in the browser.
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()
    screenshot(page, f"{url_path}")


def test_filters_live_in_the_url(shared_server, page):
    """A shared link with a country filter reopens the Overview with that filter set."""
    page.goto(f"{shared_server.url}/?f_country=DE")
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(current(sidebar, "f_country")).to_contain_text("DE", timeout=30_000)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(6, timeout=30_000)
