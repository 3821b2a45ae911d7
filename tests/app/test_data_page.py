"""Data page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import gzip

import duckdb
import pytest

from tests.conftest import FIXTURES, app_test

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
        "Customer id": "Kundennummer",
        "Name": "Kundenname",
        "Country": "Land",
        "Customer since": "Kunde seit",
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


@pytest.fixture
def clicks(monkeypatch, tmp_path):
    """Record every download button's file builder (what a click runs) and keep staging files private.

    Also makes loading a whole table into pandas fail: the Export tab must never do it.
    """
    import streamlit

    from analytics import ingest

    staging = tmp_path / "staging"
    monkeypatch.setenv("WORKBENCH_UPLOAD_DIR", str(staging))
    built: dict[str, object] = {}
    original = streamlit.download_button

    def recording(label, data, *args, **kwargs):
        built[kwargs.get("file_name") or label] = data
        return original(label, data, *args, **kwargs)

    def no_frames(*_args, **_kwargs):
        raise AssertionError("the Export tab loaded a whole table into pandas")

    monkeypatch.setattr(streamlit, "download_button", recording)
    monkeypatch.setattr(ingest, "table_frame", no_frames)
    return built, staging


def test_export_offers_downloads_built_on_click(app_db, clicks):
    built, staging = clicks
    at = open_page("Export")
    built.clear()  # the first draw showed the first table's buttons
    at.selectbox(key="export_table").set_value("orders").run()
    assert not at.exception
    rows = _count(app_db, "SELECT count(*) FROM orders")
    assert any(f"{rows:,} rows" in c.value for c in at.caption)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download Excel", "Download Parquet"]
    # Nothing is written while the page draws; each file is built when its button is clicked.
    assert set(built) == {"orders.csv", "orders.xlsx", "orders.parquet"}
    assert all(callable(b) for b in built.values())
    assert not staging.exists() or list(staging.iterdir()) == []
    csv_bytes = built["orders.csv"]()
    assert csv_bytes.startswith(b"\xef\xbb\xbforder_id,") and csv_bytes.count(b"\r\n") == rows + 1
    assert built["orders.parquet"]().startswith(b"PAR1")
    assert built["orders.xlsx"]().startswith(b"PK")  # an .xlsx is a zip file
    assert list(staging.iterdir()) == []  # the staging files are gone again


def test_export_of_a_large_table_offers_compressed_csv_and_parquet(app_db, clicks):
    built, staging = clicks
    con = duckdb.connect(str(app_db))
    try:
        con.execute(
            "INSERT INTO interactions (interaction_id, customer_id, occurred_at, event) "
            "SELECT 'BIG-' || i, 'BIG', TIMESTAMP '2025-01-01', '=cmd' FROM range(100001) t(i)"
        )
        rows = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
    finally:
        con.close()
    at = open_page("Export")
    built.clear()
    at.selectbox(key="export_table").set_value("interactions").run()
    assert not at.exception
    assert any(f"{rows:,} rows" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")] == ["Download CSV (compressed)", "Download Parquet"]
    assert any("compressed" in i.value and "100,000 rows" in i.value for i in at.info)
    assert set(built) == {"interactions.csv.gz", "interactions.parquet"}
    data = gzip.decompress(built["interactions.csv.gz"]())
    assert data.count(b"\r\n") == rows + 1
    assert b",'=cmd," in data and b",=cmd," not in data  # formula cells neutralised in the SQL
    assert list(staging.iterdir()) == []


# --- regressions (review of the Data page) --------------------------------------------------

ORDERS_CSV = "order_id,line_no,customer_id,ordered_at,unit_price\nO-1,1,NOBODY,2025-01-01,2\n"


def upload(at, name, payload):
    at.file_uploader(key="data_upload").set_value((name, payload, "text/csv"))
    return at.run()


def test_mapping_targets_have_readable_labels_and_unchanged_keys(app_db):
    """Defect: mapping boxes were labelled with database names (order_id, unit_price, acquisition_channel)."""
    at = open_page()
    at.selectbox(key="data_table").set_value("orders").run()
    upload(at, "orders.csv", ORDERS_CSV.encode())
    assert not at.exception
    boxes = {s.key: s.label for s in at.selectbox if s.key and s.key.startswith("map_")}
    labels = {label.rstrip(" *") for label in boxes.values()}
    assert {"Order number", "Line number", "Unit price", "Order date", "Customer id", "Sales channel"} <= labels
    assert not any("_" in label for label in labels)
    assert any(key.endswith("_unit_price") for key in boxes)  # widget keys keep the column names
    assert list(at.dataframe[0].value.columns) == [
        "Order number",
        "Line number",
        "Customer id",
        "Order date",
        "Unit price",
    ]
    at.selectbox(key="data_table").set_value("customers").run()
    assert "Acquisition channel" in {s.label for s in at.selectbox if s.key and s.key.startswith("map_")}


def test_rejects_have_readable_headers_and_downloads_are_built_on_request(app_db):
    """Defect: every rerun after an import rebuilt an Excel file of all rejected rows (63 s for 135k rows)."""
    at = open_page()
    upload(at, "kunden.csv", GERMAN_CUSTOMERS.encode("cp1252"))
    at.button(key="data_load").click().run()
    assert not at.exception
    rejects = [d.value for d in at.dataframe if "Reason" in d.value.columns and "Row" in d.value.columns]
    assert rejects and list(rejects[0].columns) == ["Row", "Column", "Value", "Reason"]
    assert not at.get("download_button")  # nothing built until asked for
    at.button(key="data_rejected_prepare").click().run()
    assert {b.label for b in at.get("download_button")} == {"Download CSV", "Download Excel"}
    at.run()  # any other rerun does not build the files again
    assert not at.get("download_button")


def test_excel_is_not_offered_for_more_than_100000_rejected_rows(app_db):
    """Defect: Excel of every rejected row was built however many there were; counts lacked separators."""
    rows = 100_001
    payload = ("customer_id,birth_year\n" + "".join(f"X{i},1800\n" for i in range(rows))).encode()
    at = open_page()
    upload(at, "old.csv", payload)
    at.button(key="data_load").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == "100,001" and metrics["Rows rejected"] == "100,001"
    assert any("Excel is offered up to 100,000 rows" in c.value for c in at.caption)
    at.button(key="data_rejected_prepare").click().run()
    assert [b.label for b in at.get("download_button")] == ["Download CSV"]


def test_the_previous_result_is_cleared_when_the_file_or_table_changes(app_db):
    """Defect: the last import's result stayed on screen under the next file's error."""
    at = open_page()
    upload(at, "kunden.csv", GERMAN_CUSTOMERS.encode("cp1252"))
    at.button(key="data_load").click().run()
    assert [m.label for m in at.metric][:1] == ["Rows read"]
    upload(at, "empty.csv", b"")
    assert any("empty" in e.value for e in at.error)
    assert not at.metric and not any(s.value == "Import result" for s in at.subheader)
    upload(at, "kunden.csv", GERMAN_CUSTOMERS.encode("cp1252"))
    at.button(key="data_load").click().run()
    assert at.metric
    at.selectbox(key="data_table").set_value("orders").run()
    assert not at.metric


def test_the_same_file_twice_is_refused_unless_the_box_is_ticked(app_db):
    """Defect: re-importing the same file silently stored its rows again."""
    payload = b"customer_id,name\nSAME-1,Erste\nSAME-2,Zweite\n"
    at = open_page()
    upload(at, "same.csv", payload)
    at.button(key="data_load").click().run()
    assert _count(app_db, "SELECT count(*) FROM customers WHERE customer_id LIKE 'SAME-%'") == 2
    upload(at, "same-again.csv", payload)
    at.button(key="data_load").click().run()
    assert not at.exception
    assert any("already loaded" in e.value for e in at.error)
    at.checkbox(key="data_allow_same_file").check()
    at.radio(key="data_mode").set_value("upsert")
    at.button(key="data_load").click().run()
    assert any("2 rows loaded into Customers." in s.value for s in at.success)
    assert _count(app_db, "SELECT count(*) FROM customers WHERE customer_id LIKE 'SAME-%'") == 2


def test_imports_log_uses_readable_words(app_db):
    """Defect: the imports log showed database words (customers, append, loaded) and counts without separators."""
    at = open_page()
    upload(at, "kunden.csv", GERMAN_CUSTOMERS.encode("cp1252"))
    at.button(key="data_load").click().run()
    at.session_state["data_tab"] = "Imports log"
    at.run()
    assert not at.exception
    log = at.dataframe[0].value
    first = log.iloc[0]
    assert (first["Table"], first["Mode"], first["Status"]) == ("Customers", "Append", "Loaded")
    assert first["Rows read"] == "3"


# --- regressions (second review of the import) ------------------------------------------------


def mapping_boxes(at) -> dict:
    """Mapping select boxes by canonical column (their keys are map_<layout>_<column>)."""
    return {s.key.split("_", 2)[2]: s for s in at.selectbox if s.key and s.key.startswith("map_")}


def unescaped(text: str) -> str:
    """Message text without the backslashes that keep Markdown from reading file text as formatting."""
    return text.replace("\\", "")


def test_a_fixed_width_file_is_refused_at_preview_with_the_labels_of_the_mapping(app_db):
    """Defect: CDNOW_sample.txt (fixed width) previewed as 'CSV · separator: comma' with blank mapping boxes,
    and only 'Validate and load' said what was wrong, naming order_id, customer_id, ordered_at."""
    at = open_page()
    at.selectbox(key="data_table").set_value("orders").run()
    upload(at, "CDNOW_sample.txt", (FIXTURES / "cdnow_sample_first20.txt").read_bytes())
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert len(errors) == 1
    assert "only one column" in errors[0] and "Order number, Customer id, Order date" in errors[0]
    assert "order_id" not in errors[0]
    assert not any(s.key and s.key.startswith("map_") for s in at.selectbox)
    assert not any("separator: comma" in c.value for c in at.caption)
    with pytest.raises(KeyError):
        at.button(key="data_load")


def test_a_one_column_list_of_customer_ids_can_still_be_loaded(app_db):
    at = open_page()
    upload(at, "ids.csv", b"customer_id\nONE-1\nONE-2\n")
    assert not at.error
    assert not at.button(key="data_load").disabled


def test_required_columns_left_unmapped_are_named_and_loading_waits_for_them(app_db):
    at = open_page()
    at.selectbox(key="data_table").set_value("orders").run()
    upload(at, "orders.csv", b"Feld 1,Feld 2,Feld 3\nB-1,NOBODY,2025-01-01\n")
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert any("This file has no column for what Orders (order lines) needs" in e for e in errors)
    assert any("Order number, Customer id, Order date" in e for e in errors)
    assert at.button(key="data_load").disabled
    boxes = mapping_boxes(at)
    boxes["order_id"].set_value("Feld 1").run()
    assert any("Still to map before loading: Customer id, Order date." in unescaped(w.value) for w in at.warning)
    assert at.button(key="data_load").disabled
    boxes = mapping_boxes(at)
    boxes["customer_id"].set_value("Feld 2")
    boxes["ordered_at"].set_value("Feld 3").run()
    assert not at.error and not at.warning
    assert not at.button(key="data_load").disabled


def test_rejects_show_values_as_written_and_empty_cells_as_empty(app_db, monkeypatch):
    """Defect: '31.12.2031' showed as '2031-12-31 00:00:00', an empty id as 'None', under blank padding rows."""
    import streamlit

    heights = []
    original = streamlit.dataframe

    def recording(data=None, *args, **kwargs):
        if hasattr(data, "columns") and "Reason" in data.columns and "Value" in data.columns:
            heights.append(kwargs.get("height", "auto"))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "dataframe", recording)
    payload = "Kundennummer;Land;Kunde seit\nZUK-1;DE;31.12.2031\n;AT;01.02.2025\nZUK-3;DE;01.02.2025\n"
    at = open_page()
    upload(at, "kunden.csv", payload.encode("cp1252"))
    at.button(key="data_load").click().run()
    assert not at.exception
    shown = next(d.value for d in at.dataframe if "Reason" in d.value.columns and "Value" in d.value.columns)
    assert list(shown["Row"]) == [1, 2]
    assert list(shown["Value"]) == ["31.12.2031", "(empty)"]
    assert heights == ["auto"]  # as tall as its rows, no blank padding rows under them


def test_country_names_are_reported_as_converted(app_db):
    payload = b"customer_id,country\nLAND-1,Austria\nLAND-2,Deutschland\nLAND-3,AT\nLAND-4,Atlantis\n"
    at = open_page()
    upload(at, "countries.csv", payload)
    at.button(key="data_load").click().run()
    assert not at.exception
    infos = [unescaped(i.value) for i in at.info]
    assert any("converted to two-letter ISO codes in 2 rows" in i and "Austria → AT" in i for i in infos)
    assert any("Atlantis (1 row)" in i for i in infos)
    assert not any("Atlantis" in e.value for e in at.error)
    countries = _count(
        app_db, "SELECT string_agg(country, ',' ORDER BY customer_id) FROM customers WHERE customer_id LIKE 'LAND-%'"
    )
    assert countries == "AT,DE,AT,Atlantis"
