"""DuckDB store: one hardened connection per process, versioned migrations, short write transactions.

DuckDB 2 refuses to share one connection between threads ("connection is busy"), so the process
keeps one connection (``connect``) and every thread or session works on its own ``cursor()``.
Writes go through :func:`transaction`, which serialises them behind one process-wide lock and
retries DuckDB's optimistic "Conflict on update" errors a few times.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from analytics import schema

DEFAULT_DB = Path(__file__).resolve().parents[1] / "data" / "workbench.duckdb"

#: The process-wide write lock. Every write transaction holds it, so writes never interleave.
WRITE_LOCK = threading.RLock()

#: Bumped after every committed write; cached reads take it as an argument so they refresh. It starts
#: from the clock, so a module reload (Streamlit's file watcher) never repeats a number that a
#: cached result was stored under.
VERSION = time.time_ns()


def bump_version() -> int:
    """Mark the data as changed (call after a committed write outside :func:`transaction`)."""
    global VERSION
    with WRITE_LOCK:
        VERSION += 1
        return VERSION


class StoreError(RuntimeError):
    """A problem with the database that a user can understand and act on."""


class StoreLockedError(StoreError):
    """The database file is opened by another process."""


def db_path(path: str | Path | None = None) -> Path:
    """The database file to use: ``path``, else ``$WORKBENCH_DB``, else ``data/workbench.duckdb``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("WORKBENCH_DB")
    return Path(env) if env else DEFAULT_DB


def upload_dir() -> Path:
    """Folder where uploads are staged before DuckDB reads them (the only other folder it may read)."""
    folder = Path(os.environ.get("WORKBENCH_UPLOAD_DIR") or Path(tempfile.gettempdir()) / "workbench-uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _lock_holder(message: str) -> str:
    """Extract 'program (PID n)' from DuckDB's lock error, or a generic phrase."""
    match = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", message)
    if match:
        return f"{Path(match.group(1)).name} (process id {match.group(2)})"
    return "another program"


# --- migrations -----------------------------------------------------------------------------
# Forward-only: each entry runs once, in order, inside one transaction, and bumps the version.
# Never edit a released migration; append a new one.


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    for table in schema.TABLES.values():
        con.execute(schema.create_table_sql(table))
        for ddl in table.extra_ddl:
            con.execute(ddl)
    con.execute("CREATE SEQUENCE IF NOT EXISTS import_seq START 1")
    con.execute("CREATE SEQUENCE IF NOT EXISTS audit_seq START 1")
    con.execute("CREATE SEQUENCE IF NOT EXISTS history_seq START 1")


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [_migration_1]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The migration version the database is at (0 for a new file)."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)")
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration the database has not seen yet; returns the new version."""
    with WRITE_LOCK:
        version = schema_version(con)
        for number, step in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            con.execute("BEGIN TRANSACTION")
            try:
                step(con)
                con.execute("INSERT INTO schema_version VALUES (?, now())", [number])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            version = number
    return version


# --- connection -----------------------------------------------------------------------------


def _harden(con: duckdb.DuckDBPyConnection, allowed: list[Path]) -> None:
    """No extension installs or loads, and file access only below the allowed folders (data and uploads)."""
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET allow_community_extensions = false")
    dirs = sorted({str(p.resolve()) + os.sep for p in allowed})
    con.execute("SET allowed_directories = ?", [dirs])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def connect(
    path: str | Path | None = None, *, read_only: bool = False, harden: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open (and create and migrate) the workbench database.

    Parameters
    ----------
    path : str or Path, default=None
        Database file; ``":memory:"`` for a throw-away database. Default: ``$WORKBENCH_DB`` or
        ``data/workbench.duckdb``.
    read_only : bool, default=False
        Open without write access (no migrations run).
    harden : bool, default=True
        Forbid extension installs and file access outside the data and upload folders.

    Returns
    -------
    duckdb.DuckDBPyConnection
        The process's connection. Hand each thread ``con.cursor()``.

    Raises
    ------
    StoreLockedError
        When another process has the file open.
    StoreError
        When the file is not a DuckDB database or cannot be created.
    """
    target = db_path(path)
    in_memory = str(target) == ":memory:"
    if not in_memory:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(target), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise StoreLockedError(
                f"The database {target.name} is already open in another program: {_lock_holder(message)}. "
                "Close that program (or point WORKBENCH_DB at another file) and try again."
            ) from None
        raise StoreError(
            f"The database {target.name} could not be opened: it may not be a workbench database."
        ) from None
    except duckdb.Error:
        raise StoreError(
            f"The database {target.name} could not be opened: it may not be a workbench database."
        ) from None
    if not read_only:
        migrate(con)
    if harden:
        allowed = [upload_dir()]
        if not in_memory:
            allowed.append(target.parent)
        _harden(con, allowed)
    return con


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store holds no customers (a new file that needs demo data)."""
    return con.execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def bootstrap(
    path: str | Path | None = None, *, demo_customers: int = 5000, seed: int = 7
) -> duckdb.DuckDBPyConnection:
    """Connect, migrate and, on a new database, fill it with demo data."""
    con = connect(path)
    if is_empty(con):
        from analytics import demo

        demo.generate(con, customers=demo_customers, seed=seed)
    return con


# --- writes ---------------------------------------------------------------------------------

_RETRYABLE = ("conflict on update", "transaction conflict", "conflict on tuple")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short write transaction on a fresh cursor, behind the process-wide write lock.

    Use as ``with transaction(con) as cur: cur.execute(...)``. Everything inside commits together
    or not at all. A body that raises rolls back and re-raises. DuckDB's "Conflict on update" is
    not retried here (the body may have side effects); use :func:`run_write` for retries.
    """
    with WRITE_LOCK:
        cur = con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            cur.execute("COMMIT")
            bump_version()
        except BaseException:
            with suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()


def run_write(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], object], *, retries: int = 3):
    """Run ``work(cursor)`` in one transaction; retry on DuckDB's "Conflict on update".

    ``work`` must be repeatable: it is called again from the start after a conflict.
    """
    for attempt in range(retries + 1):
        try:
            with transaction(con) as cur:
                return work(cur)
        except duckdb.TransactionException as exc:
            if attempt == retries or not any(s in str(exc).lower() for s in _RETRYABLE):
                raise
            time.sleep(0.05 * (2**attempt))
    raise AssertionError("unreachable")


def audit(
    cur: duckdb.DuckDBPyConnection, action: str, subject: str, details: str = "", *, actor: str = "local user"
) -> None:
    """Append one entry to the audit log (call inside a transaction)."""
    cur.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_seq'), now(), ?, ?, ?, ?)",
        [actor, action, subject, details],
    )


def get_setting(con: duckdb.DuckDBPyConnection, name: str, default: str | None = None) -> str | None:
    """A stored setting (JSON text by convention), or ``default``."""
    row = con.cursor().execute("SELECT value FROM settings WHERE name = ?", [name]).fetchone()
    return row[0] if row else default


def set_setting(con: duckdb.DuckDBPyConnection, name: str, value: str) -> None:
    """Store a setting (upsert by name)."""

    def work(cur):
        cur.execute("DELETE FROM settings WHERE name = ?", [name])
        cur.execute("INSERT INTO settings VALUES (?, ?, now())", [name, value])

    run_write(con, work)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every canonical table."""
    cur = con.cursor()
    return {name: cur.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in schema.TABLES}
