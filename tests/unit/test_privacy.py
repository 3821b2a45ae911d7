"""Privacy: keyed pseudonyms (HMAC-SHA256, RFC 2104) and erasure of one customer everywhere."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import ingest, privacy, store


@pytest.fixture(autouse=True)
def _key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_KEY_FILE", str(tmp_path / "keys" / "workbench.key"))


def test_key_lives_outside_the_database_with_owner_only_permissions(tmp_path, monkeypatch):
    key = privacy.load_key()
    path = tmp_path / "keys" / "workbench.key"
    assert path.exists() and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert privacy.load_key() == key  # stable across calls
    monkeypatch.delenv("WORKBENCH_KEY_FILE")
    con = store.connect(tmp_path / "db" / "w.duckdb")
    assert privacy.key_path(con) == tmp_path / "db" / "w.key"
    con.close()


def test_pseudonym_is_hmac_sha256_of_the_value():
    key = bytes(range(32))
    expected = hmac.new(key, "Anna Müller".encode(), hashlib.sha256).hexdigest()[:16]
    assert privacy.pseudonym("Anna Müller", key) == "ps_" + expected
    assert privacy.pseudonym(None, key) is None
    assert privacy.pseudonym("Anna Müller", b"other key" * 4) != privacy.pseudonym("Anna Müller", key)


@settings(max_examples=50, deadline=None)
@given(
    value=st.text(min_size=0, max_size=40).filter(lambda s: "\x00" not in s), key=st.binary(min_size=16, max_size=100)
)
def test_sql_pseudonym_matches_the_python_reference(value, key):
    con = store.duckdb.connect()
    got = con.execute(f"SELECT {privacy.pseudonym_sql('v', key)} FROM (SELECT ?::VARCHAR AS v)", [value]).fetchall()[0][
        0
    ]
    assert got == privacy.pseudonym(value, key)


def _demo(con):
    customers = "customer_id,name,email\nK1,Klaus Kunde,klaus@example.com\nK2,Other,o@example.com\n"
    assert ingest.load(con, "customers", io.StringIO(customers)).ok
    orders = "order_id,customer_id,ordered_at,quantity,unit_price\nO1,K1,2025-01-01,1,10\nO2,K2,2025-01-02,1,5\n"
    assert ingest.load(con, "orders", io.StringIO(orders)).ok
    events = "customer_id,event,occurred_at\nK1,login,2025-01-01\nK1,visit,2025-01-02\nK2,login,2025-01-03\n"
    assert ingest.load(con, "interactions", io.StringIO(events)).ok
    kano = "respondent_id,feature,functional,dysfunctional,customer_id\nR1,chat,1,5,K1\nR2,chat,2,4,K2\n"
    assert ingest.load(con, "kano_responses", io.StringIO(kano)).ok
    with store.transaction(con) as cur:
        cur.execute(
            "INSERT INTO churn_scores VALUES ('run1', 'K1', 0.4, 100, 40, now()), ('run1', 'K2', 0.1, 50, 5, now())"
        )
        cur.execute("INSERT INTO saved_segments VALUES ('vip', '', ['K1', 'K2'], now())")
    # A replace keeps the old rows in a backup table for undo: they hold K1 too.
    assert ingest.load(
        con, "orders", io.StringIO("order_id,customer_id,ordered_at\nO9,K2,2025-02-01\n"), mode="replace"
    ).ok


def test_erase_customer_removes_every_trace_and_logs_without_personal_data(mem_con):
    _demo(mem_con)
    removed = privacy.erase_customer(mem_con, "K1", actor="dpo")
    assert removed == {
        "customers": 1,
        "interactions": 2,
        "kano_responses": 1,
        "churn_scores": 1,
        "import backups": 1,
        "saved_segments": 1,
    }
    cur = mem_con.cursor()
    for table in privacy.customer_tables():
        assert cur.execute(f'SELECT count(*) FROM "{table}" WHERE customer_id = ?', ["K1"]).fetchall()[0][0] == 0
    assert cur.execute("SELECT customer_ids FROM saved_segments").fetchall() == [(["K2"],)]
    assert cur.execute("SELECT count(*) FROM customers WHERE customer_id = 'K2'").fetchall()[0][0] == 1
    actor, action, subject, details = cur.execute(
        "SELECT actor, action, subject, details FROM audit_log WHERE action = 'erase customer'"
    ).fetchall()[0]
    assert (actor, action) == ("dpo", "erase customer")
    assert subject == privacy.pseudonym("K1", privacy.load_key(mem_con))
    assert json.loads(details)["rows_removed"]["customers"] == 1
    text = " ".join(str(v) for row in cur.execute("SELECT * FROM audit_log").fetchall() for v in row)
    assert "Klaus" not in text and "klaus@example.com" not in text and "'K1'" not in text


def test_erasing_an_unknown_customer_changes_nothing(mem_con):
    _demo(mem_con)
    before = store.table_counts(mem_con)
    with pytest.raises(privacy.PrivacyError, match="No customer"):
        privacy.erase_customer(mem_con, "NOBODY")
    with pytest.raises(privacy.PrivacyError, match="Enter"):
        privacy.erase_customer(mem_con, "  ")
    assert store.table_counts(mem_con) == before


def test_erasure_is_all_or_nothing(mem_con, monkeypatch):
    _demo(mem_con)
    before = store.table_counts(mem_con)

    def boom(*args, **kwargs):
        raise store.duckdb.IOException("disk full")

    monkeypatch.setattr(privacy.store, "audit", boom)
    with pytest.raises(store.duckdb.IOException):
        privacy.erase_customer(mem_con, "K1")
    assert store.table_counts(mem_con) == before


def test_erasure_renames_worksheets_kept_for_the_account(mem_con):
    """Guards the erased id staying visible as a worksheet's account name."""
    from analytics import privacy, worksheets

    mem_con.execute("INSERT INTO customers (customer_id, name) VALUES ('K-77', 'Anna Beispiel')")
    sheet = worksheets.create(mem_con, "proximity", title="Review", account="K-77")
    removed = privacy.erase_customer(mem_con, "K-77")
    account = mem_con.execute("SELECT account FROM worksheets WHERE worksheet_id = ?", [sheet]).fetchone()[0]
    assert account.startswith("erased customer ")
    assert "K-77" not in account
    assert removed["worksheets (account renamed)"] == 1
