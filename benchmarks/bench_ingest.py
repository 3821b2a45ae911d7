"""Speed of the validated import: a generated orders CSV loaded into a DuckDB file, beside pyarrow.

Target (issue 2): a 1 M-row, ~100 MB CSV loads with validation into the DuckDB file at >= 80 MB/s
(DESIGN.md asks >= 60 MB/s). In the same run, ``pyarrow.csv.read_csv`` reads the same file into
memory (no validation, no database) as a reference point for this machine.

Run ``python benchmarks/bench_ingest.py`` for a quick run (100 k rows) or with ``--full`` for 1 M
rows. The file is generated in DuckDB SQL, deterministically, in the system temp folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import ingest, store  # noqa: E402

TARGET_MB_S = 80.0
CUSTOMERS = 50_000


def generate_csv(path: Path, rows: int) -> int:
    """Write ``rows`` order lines (4 lines per order, returns and cents included) -> file size in bytes."""
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          SELECT 'SO-' || lpad(CAST(i // 4 AS VARCHAR), 8, '0') AS order_id,
                 CAST(i % 4 + 1 AS INTEGER) AS line_no,
                 'C' || lpad(CAST(hash(i // 4) % {CUSTOMERS} AS VARCHAR), 6, '0') AS customer_id,
                 strftime(TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i) % 60000000 AS BIGINT)), '%Y-%m-%d %H:%M:%S')
                     AS ordered_at,
                 'SKU-' || CAST(hash(i * 7) % 5000 AS VARCHAR) AS product,
                 'Article ' || CAST(hash(i * 7) % 5000 AS VARCHAR) AS description,
                 CAST(hash(i * 3) % 20 AS INTEGER) - 2 AS quantity,
                 round((hash(i * 5) % 10000) / 100.0, 2) AS unit_price,
                 round((CAST(hash(i * 3) % 20 AS INTEGER) - 2) * (hash(i * 5) % 10000) / 100.0, 2) AS amount,
                 'EUR' AS currency, 'online shop' AS channel, 'Germany' AS country
          FROM range({int(rows)}) t(i)
        ) TO '{path}' (HEADER)
        """
    )
    con.close()
    return path.stat().st_size


def fresh_store(folder: Path) -> duckdb.DuckDBPyConnection:
    """A new store file with the customers the orders refer to."""
    path = folder / "bench.duckdb"
    for leftover in (path, Path(str(path) + ".wal")):
        leftover.unlink(missing_ok=True)
    con = store.connect(path)
    with store.transaction(con) as cur:
        cur.execute(
            f"INSERT INTO customers (customer_id) SELECT 'C' || lpad(CAST(i AS VARCHAR), 6, '0') FROM range({CUSTOMERS}) t(i)"
        )
    return con


def timed_load(folder: Path, csv_path: Path, rows: int, repeats: int):
    """Best wall-clock time of ``repeats`` validated loads into fresh stores -> (seconds, report)."""
    best, report = float("inf"), None
    for _ in range(repeats):
        con = fresh_store(folder)
        start = time.perf_counter()
        result = ingest.load(con, "orders", csv_path)
        seconds = time.perf_counter() - start
        stored = con.execute("SELECT count(*) FROM orders").fetchall()[0][0]
        con.close()
        if not result.ok or stored != rows:
            raise RuntimeError(f"load failed: {result.messages}")
        if seconds < best:
            best, report = seconds, result
    return best, report


def run(full: bool = False, *, repeats: int | None = None) -> list[dict]:
    """Validated load vs pyarrow on the same generated file -> rows for the benchmark table (best of repeats)."""
    rows = 1_000_000 if full else 100_000
    repeats = repeats or (2 if full else 3)
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=tempfile.gettempdir()))
    try:
        csv_path = folder / "orders.csv"
        size = generate_csv(csv_path, rows)
        mb = size / 1e6
        best, report = timed_load(folder, csv_path, rows, repeats)
        arrow_best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            table = pa_csv.read_csv(csv_path)
            arrow_best = min(arrow_best, time.perf_counter() - start)
        assert table.num_rows == rows
        steps = ", ".join(f"{k.lower()} {v:.2f}s" for k, v in report.timings.items())
        return [
            {
                "benchmark": "ingest: validated CSV load into DuckDB file",
                "rows": rows,
                "MB": round(mb, 1),
                "seconds": round(best, 2),
                "MB/s": round(mb / best, 1),
                "target": f">= {TARGET_MB_S:.0f} MB/s",
                "ok": mb / best >= TARGET_MB_S,
                "detail": f"best of {repeats}; {steps}",
            },
            {
                "benchmark": "ingest: pyarrow.csv.read_csv, same file (reference)",
                "rows": rows,
                "MB": round(mb, 1),
                "seconds": round(arrow_best, 2),
                "MB/s": round(mb / arrow_best, 1),
                "target": "",
                "ok": None,
                "detail": f"best of {repeats}; into memory, no validation, no database",
            },
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1 M rows (~100 MB)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    table = pd.DataFrame(run(args.full))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    with pd.option_context("display.max_colwidth", 120, "display.width", 220):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
