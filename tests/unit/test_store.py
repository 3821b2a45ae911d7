"""Store: creation, forward-only migrations, hardening, write transactions, a second process."""

from __future__ import annotations

import subprocess
import sys
import threading

import duckdb
import pytest

from analytics import schema, store
from tests.conftest import ROOT


def test_new_file_is_created_and_migrated(tmp_path):
    path = tmp_path / "sub" / "new.duckdb"
    con = store.connect(path)
    assert path.exists()
    assert store.schema_version(con) == len(store.MIGRATIONS)
    assert set(store.table_counts(con)) == set(schema.TABLES)
    assert store.is_empty(con)


def test_migrations_run_once(empty_db):
    con = store.connect(empty_db)
    con.execute("INSERT INTO settings VALUES ('x', '1', now())")
    con.close()
    con = store.connect(empty_db)
    rows = con.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert rows == len(store.MIGRATIONS)
    assert store.get_setting(con, "x") == "1"


def test_env_variable_chooses_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "env.duckdb"))
    assert store.db_path() == tmp_path / "env.duckdb"
    monkeypatch.delenv("WORKBENCH_DB")
    assert store.db_path() == store.DEFAULT_DB


def test_hardened_connection_refuses_outside_files_and_extensions(mem_con):
    with pytest.raises(duckdb.PermissionException):
        mem_con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.Error):
        mem_con.execute("INSTALL httpfs")
    with pytest.raises(duckdb.Error):
        mem_con.execute("SET enable_external_access = true")


def test_hardened_connection_reads_the_upload_folder(mem_con):
    staged = store.upload_dir() / "store_test.csv"
    staged.write_text("a,b\n1,2\n")
    try:
        assert mem_con.execute(f"SELECT a + b FROM read_csv('{staged}')").fetchone()[0] == 3
    finally:
        staged.unlink()


def test_transaction_rolls_back_everything_on_error(mem_con):
    with pytest.raises(RuntimeError), store.transaction(mem_con) as cur:
        cur.execute("INSERT INTO settings VALUES ('a', '1', now())")
        raise RuntimeError("boom")
    assert mem_con.execute("SELECT count(*) FROM settings").fetchone()[0] == 0


def test_writes_from_many_threads_all_land(mem_con):
    def write(i: int) -> None:
        store.run_write(mem_con, lambda cur: cur.execute("INSERT INTO settings VALUES (?, 'v', now())", [str(i)]))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mem_con.execute("SELECT count(*) FROM settings").fetchone()[0] == 25


def test_run_write_retries_conflicts(mem_con):
    calls = []

    def flaky(cur):
        calls.append(1)
        if len(calls) < 3:
            raise duckdb.TransactionException("TransactionContext Error: Conflict on update!")
        cur.execute("INSERT INTO settings VALUES ('ok', '1', now())")
        return "done"

    assert store.run_write(mem_con, flaky) == "done"
    assert len(calls) == 3
    assert store.get_setting(mem_con, "ok") == "1"


def test_write_bumps_the_data_version(mem_con):
    before = store.VERSION
    store.set_setting(mem_con, "k", "v")
    assert before < store.VERSION


def test_settings_upsert(mem_con):
    store.set_setting(mem_con, "k", "1")
    store.set_setting(mem_con, "k", "2")
    assert store.get_setting(mem_con, "k") == "2"
    assert store.get_setting(mem_con, "missing", "d") == "d"


def test_audit_entries_are_appended(mem_con):
    with store.transaction(mem_con) as cur:
        store.audit(cur, "erase", "customer", "1 customer erased")
        store.audit(cur, "undo", "import 3")
    rows = mem_con.execute("SELECT event_id, action FROM audit_log ORDER BY event_id").fetchall()
    assert [r[1] for r in rows] == ["erase", "undo"]
    assert rows[0][0] < rows[1][0]


def test_second_process_gets_a_clear_message_naming_the_holder(empty_db):
    con = store.connect(empty_db)
    code = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from analytics import store\n"
        "try:\n"
        "    store.connect(sys.argv[1])\n"
        "except store.StoreLockedError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(empty_db), str(ROOT)], capture_output=True, text=True, timeout=60
    )
    con.close()
    assert "already open in another program" in out.stdout
    assert "process id" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_a_file_that_is_not_a_database_gets_a_clear_message(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(store.StoreError, match="could not be opened"):
        store.connect(bad)


def test_a_module_reload_never_repeats_a_data_version(monkeypatch):
    """Guards stale pages after Streamlit reloaded the code: cached results are keyed by VERSION."""
    import importlib

    before = store.VERSION
    store.bump_version()
    reloaded = importlib.reload(store)
    assert before + 1 < reloaded.VERSION


def test_hardened_connection_cannot_write_elsewhere_in_the_temp_folder(mem_con, tmp_path):
    """Only the upload folder and the database's own folder are open to DuckDB, not all of /tmp."""
    target = tmp_path / "escape.csv"
    with pytest.raises(duckdb.PermissionException):
        mem_con.execute(f"COPY (SELECT 1) TO '{target}'")
    assert not target.exists()
