"""Privacy: keyed pseudonyms for personal columns and erasure of one customer everywhere.

Pseudonyms are HMAC-SHA256 (RFC 2104) of the value under a secret key that lives in a file
*outside* the database (``$WORKBENCH_KEY_FILE``, else the database path with suffix ``.key``),
so a copy of the database alone cannot be reversed by hashing guessed names. The HMAC is
computed in DuckDB SQL from its ``sha256`` function:
``HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m))``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import duckdb

from analytics import schema, store

#: Length (hex digits) of a pseudonym after the prefix: 64 bits, no collisions in practice.
PSEUDONYM_HEX = 16
PSEUDONYM_PREFIX = "ps_"
_BLOCK = 64  # SHA-256 block size in bytes


class PrivacyError(RuntimeError):
    """A privacy operation that cannot be done, in words a user understands."""


def _database_file(con: duckdb.DuckDBPyConnection | None) -> Path | None:
    if con is None:
        return None
    try:
        rows = (
            con.cursor()
            .execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
            .fetchall()
        )
    except duckdb.Error:
        return None
    return Path(rows[0][0]) if rows and rows[0][0] else None


def key_path(con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Where the pseudonymisation key lives: ``$WORKBENCH_KEY_FILE``, else ``<database>.key``."""
    env = os.environ.get("WORKBENCH_KEY_FILE")
    if env:
        return Path(env)
    db_file = _database_file(con) or store.db_path()
    return Path(db_file).with_suffix(".key")


def load_key(con: duckdb.DuckDBPyConnection | None = None, *, path: str | Path | None = None) -> bytes:
    """The 32-byte key (created with permissions 0600 on first use)."""
    target = Path(path) if path is not None else key_path(con)
    if target.exists():
        key = bytes.fromhex(target.read_text().strip())
        if len(key) < 16:
            raise PrivacyError("The pseudonymisation key file is damaged. Restore it from a backup.")
        return key
    target.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    os.chmod(target, 0o600)
    return key


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym(value: str | None, key: bytes) -> str | None:
    """One value -> its pseudonym ``ps_<16 hex>`` (reference implementation of :func:`pseudonym_sql`)."""
    if value is None:
        return None
    digest = hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def pseudonym_sql(expr: str, key: bytes) -> str:
    """SQL expression over VARCHAR ``expr`` -> its pseudonym (NULL stays NULL), HMAC-SHA256 in DuckDB."""
    ipad, opad = _pads(key)
    inner = f"unhex(sha256(unhex('{ipad.hex()}') || encode({expr})))"
    return (
        f"CASE WHEN ({expr}) IS NULL THEN NULL ELSE "
        f"'{PSEUDONYM_PREFIX}' || left(sha256(unhex('{opad.hex()}') || {inner}), {PSEUDONYM_HEX}) END"
    )


def generalise_sql(expr: str, column_type: str) -> str:
    """SQL for a personal non-text column: whole numbers (birth year) rounded down to the decade."""
    if column_type.upper() in ("INTEGER", "BIGINT"):
        return f"CAST(({expr}) // 10 * 10 AS {column_type})"
    return "NULL"


def personal_columns(table: str) -> list[schema.Column]:
    """Columns of ``table`` marked personal in the schema."""
    return [c for c in schema.TABLES[table].columns if c.personal]


def customer_tables() -> list[str]:
    """Canonical tables that hold a ``customer_id`` column."""
    return [name for name, t in schema.TABLES.items() if "customer_id" in t.column_names]


def erase_customer(con: duckdb.DuckDBPyConnection, customer_id: str, *, actor: str = "local user") -> dict[str, int]:
    """Delete one customer from every table (and import backups) in one transaction -> rows removed per table.

    Worksheets whose account is the customer are kept (they are the team's notes) but renamed to
    the pseudonym. DuckDB frees the deleted rows' pages at the next checkpoint, but old bytes can
    stay in unused parts of the file until they are overwritten; to remove every trace from the
    disk, export and re-create the database file (``EXPORT DATABASE`` / ``IMPORT DATABASE``).

    The audit log records that an erasure happened, which tables were touched and how many rows,
    and a keyed pseudonym of the id (so a repeated request can be recognised) -- never the
    customer's personal data.

    Raises
    ------
    PrivacyError
        When the id is empty or no row anywhere belongs to that customer.
    """
    customer_id = (customer_id or "").strip()
    if not customer_id:
        raise PrivacyError("Enter the id of the customer to erase.")
    subject = pseudonym(customer_id, load_key(con))

    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
        removed: dict[str, int] = {}
        for name in customer_tables():
            count = cur.execute(f'DELETE FROM "{name}" WHERE customer_id = ?', [customer_id]).fetchall()[0][0]
            if count:
                removed[name] = int(count)
        backups = cur.execute(
            "SELECT table_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND table_name LIKE 'import_backup_%' AND column_name = 'customer_id'"
        ).fetchall()
        for (backup,) in backups:
            if not backup.replace("import_backup_", "").isdigit():
                continue
            count = cur.execute(f'DELETE FROM "{backup}" WHERE customer_id = ?', [customer_id]).fetchall()[0][0]
            if count:
                removed["import backups"] = removed.get("import backups", 0) + int(count)
        changed = cur.execute(
            "UPDATE saved_segments SET customer_ids = list_filter(customer_ids, lambda x: x <> ?) "
            "WHERE list_contains(customer_ids, ?)",
            [customer_id, customer_id],
        ).fetchall()[0][0]
        if changed:
            removed["saved_segments"] = int(changed)
        # Worksheets name their account; an account that is this customer keeps its worksheets
        # (the team's own notes) under the pseudonym instead of the id.
        renamed = cur.execute(
            "UPDATE worksheets SET account = ? WHERE account = ?", [f"erased customer {subject[:12]}", customer_id]
        ).fetchall()[0][0]
        if renamed:
            removed["worksheets (account renamed)"] = int(renamed)
        if not removed:
            raise PrivacyError("No customer with this id is stored. Nothing was erased.")
        store.audit(cur, "erase customer", subject, json.dumps({"rows_removed": removed}), actor=actor)
        return removed

    removed = store.run_write(con, work)
    # Rewrite the file without the deleted rows where possible; else DuckDB does so at its next checkpoint.
    with contextlib.suppress(duckdb.Error):
        con.cursor().execute("CHECKPOINT")
    return removed


def audit_log(con: duckdb.DuckDBPyConnection, *, limit: int = 500):
    """The newest audit-log entries -> DataFrame (occurred_at, actor, action, subject, details)."""
    return (
        con.cursor()
        .execute(
            "SELECT occurred_at, actor, action, subject, details FROM audit_log ORDER BY event_id DESC LIMIT ?",
            [limit],
        )
        .df()
    )
