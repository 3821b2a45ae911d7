"""Data page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import app_test

GERMAN_CUSTOMERS = "Kundennummer;Kundenname;Land;Kunde seit\nNEU-1;Neukunde GmbH;DE;31.12.2024\nNEU-2;<b>Fett</b> AG;AT;01.02.2025\nNEU-2;Doppelt;AT;01.02.2025\n"


@pytest.fixture(autouse=True)
def _key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_KEY_FILE", str(tmp_path / "test.key"))


@pytest.fixture(autouse=True)
def _router_already_started(monkeypatch):
    """Run the page file itself: the deep-link router (ui.nav) would send a bare AppTest run to the default page."""
    try:
        import ui.nav
    except ImportError:
        return
    monkeypatch.setattr(ui.nav, "ROUTER_STARTED", True, raising=False)


def open_page(tab: str | None = None):
    """The page with one tab open (tabs run lazily; setting the key is what a click does)."""
    at = app_test("pages/data.py", timeout=120)
    if tab:
        at.session_state["data_tab"] = tab
    return at.run()


def _count(path, sql):
    con = duckdb.connect(str(path))
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def test_data_page_renders_its_tabs(app_db):
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Data"
    assert [t.label for t in at.tabs] == ["Import", "Imports log", "Data quality", "Export", "Privacy", "Demo data"]
    assert at.selectbox(key="data_table").value == "customers"
    at = open_page("Privacy")
    assert not at.exception
    assert at.button(key="erase_button").disabled  # nothing erased without an id and a confirmation
    for tab in ("Imports log", "Data quality", "Demo data"):
        assert not open_page(tab).exception


def test_upload_map_and_load_a_german_csv(app_db):
    """Guards the whole import path: upload, detected dialect, guessed mapping, load, report."""
    at = open_page()
    at.file_uploader(key="data_upload").set_value(("kunden.csv", GERMAN_CUSTOMERS.encode("cp1252"), "text/csv"))
    at.run()
    assert not at.exception
    assert any("semicolon" in c.value and "German layout" in c.value for c in at.caption)
    layout_boxes = [s for s in at.selectbox if s.key and s.key.startswith("map_")]
    mapped = {s.label.rstrip(" *"): s.value for s in layout_boxes if s.value != "—"}
    assert mapped == {
        "customer_id": "Kundennummer",
        "name": "Kundenname",
        "country": "Land",
        "signup_date": "Kunde seit",
    }
    at.button(key="data_load").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == "3" and metrics["Rows loaded"] == "2" and metrics["Rows rejected"] == "1"
    assert _count(app_db, "SELECT count(*) FROM customers WHERE customer_id LIKE 'NEU-%'") == 2
    assert _count(app_db, "SELECT name FROM customers WHERE customer_id = 'NEU-2'") == "<b>Fett</b> AG"
    # The log lists the import and it can be undone after confirming.
    at.session_state["data_tab"] = "Imports log"
    at.run()
    at.checkbox(key="undo_confirm").check().run()
    at.button(key="undo_button").click().run()
    assert not at.exception
    assert any("undone" in s.value for s in at.success)
    assert _count(app_db, "SELECT count(*) FROM customers WHERE customer_id LIKE 'NEU-%'") == 0


def test_structural_problem_is_shown_as_an_error(app_db):
    at = open_page()
    at.file_uploader(key="data_upload").set_value(("empty.csv", b"", "text/csv")).run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_erase_a_customer_after_confirmation(app_db):
    customer = _count(app_db, "SELECT min(customer_id) FROM customers")
    at = open_page("Privacy")
    at.text_input(key="erase_id").set_value(customer)
    at.checkbox(key="erase_confirm").check().run()
    at.button(key="erase_button").click().run()
    assert not at.exception
    assert any("Customer erased" in s.value for s in at.success)
    assert _count(app_db, f"SELECT count(*) FROM orders WHERE customer_id = '{customer}'") == 0


def test_export_prepares_downloads(app_db):
    at = open_page("Export")
    at.selectbox(key="export_table").set_value("orders").run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert {"Download CSV", "Download Excel", "Download Parquet"} <= set(labels)
