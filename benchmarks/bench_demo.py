"""Benchmark of the demo-data generator: vectorised ``analytics.demo.generate`` against a naive loop.

Run ``python benchmarks/bench_demo.py`` (5,000 customers, and 50,000 against the loop) or
``--full`` (adds 1 M customers with 10 M interactions, the size the design asks to generate in
under two minutes). Each run writes a fresh DuckDB file in a temporary folder; seconds include
drawing the data, inserting it, the commit and closing the file; CPU seconds count all threads.
The baseline draws the same kind of rows (customers, funnel attempts, order lines; no Kano survey)
with a plain Python loop per customer (``random`` module, one tuple per row) and inserts them
through pandas; it runs at the comparison size only. The machine may be shared: the load average
is printed with the table.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import demo, schema, store  # noqa: E402

STAGE_EVENTS = {
    "awareness": ["ad_impression", "search_result_click", "pr_mention", "word_of_mouth"],
    "interest": ["site_visit", "newsletter_signup", "social_follow"],
    "consideration": ["product_view", "compare_products", "request_quote"],
    "intent": ["add_to_cart", "checkout_started"],
    "purchase": ["purchase"],
}
STEP = [0.6, 0.5, 0.45, 0.55]


def naive_generate(con, *, customers: int, seed: int = 7, per_customer: float = 20.0) -> None:
    """A straightforward generator: a Python loop per customer, attempt, stage and order line."""
    rnd = random.Random(seed)
    start = datetime(2024, 11, 1)
    days = 730
    cust_rows, int_rows, order_rows = [], [], []
    order_no = 0
    interaction_no = 0
    attempts_mean = per_customer / 2.2
    for c in range(1, customers + 1):
        cid = f"C{c:07d}"
        b2b = rnd.random() < 0.3
        country = rnd.choices(demo.COUNTRIES, weights=demo.COUNTRY_WEIGHTS)[0]
        segment = rnd.choice(demo.SEGMENTS[:2] if b2b else demo.SEGMENTS[2:])
        signup = rnd.randrange(days)
        cust_rows.append(
            (
                cid,
                f"Customer {c}",
                f"customer{c}@example.com",
                "B2B" if b2b else "B2C",
                country,
                None,
                None,
                rnd.choice(demo.INDUSTRIES) if b2b else None,
                rnd.choice(schema.CHANNELS),
                segment,
                (start + timedelta(days=signup)).date(),
                None if b2b else rnd.randint(1945, 2006),
                rnd.randint(1, 5000) if b2b else None,
                None,
            )
        )
        # Poisson number of attempts by inversion
        k, p, u = 0, math.exp(-attempts_mean), rnd.random()
        cum = p
        while u > cum and k < 200:
            k += 1
            p *= attempts_mean / k
            cum += p
        for _ in range(k):
            t = start + timedelta(days=signup + rnd.random() * (days - signup))
            for s, (stage, events) in enumerate(STAGE_EVENTS.items()):
                if s > 0:
                    if rnd.random() > STEP[s - 1]:
                        break
                    t += timedelta(hours=rnd.lognormvariate(math.log(12), 1.3))
                if t >= start + timedelta(days=days):
                    break
                interaction_no += 1
                props = None
                if stage == "purchase":
                    order_no += 1
                    oid = f"O{order_no:08d}"
                    props = f'{{"online_research": {str(rnd.random() < 0.8).lower()}, "order_id": "{oid}"}}'
                    for line in range(1, rnd.randint(1, 5) + 1):
                        product = rnd.choice(demo.PRODUCTS)
                        qty = 1 + int(rnd.expovariate(1.0))
                        order_rows.append(
                            (
                                oid,
                                line,
                                cid,
                                t,
                                product[0],
                                product[1],
                                float(qty),
                                product[3],
                                round(qty * product[3], 2),
                                "EUR",
                                "online shop",
                                country,
                                None,
                            )
                        )
                int_rows.append(
                    (
                        f"I{interaction_no:09d}",
                        cid,
                        t,
                        rnd.choice(events),
                        stage,
                        rnd.choice(schema.CHANNELS),
                        props,
                        None,
                    )
                )
    frames = {
        "customers": pd.DataFrame(cust_rows, columns=schema.CUSTOMERS.column_names),
        "interactions": pd.DataFrame(int_rows, columns=schema.INTERACTIONS.column_names),
        "orders": pd.DataFrame(order_rows, columns=schema.ORDERS.column_names),
    }

    def work(cur):
        for name, df in frames.items():
            cur.register("naive_src", df)
            cur.execute(f"INSERT INTO {name} SELECT * FROM naive_src")
            cur.unregister("naive_src")

    store.run_write(con, work)


def _rows(con) -> tuple[int, int]:
    cur = con.cursor()
    interactions = cur.execute("SELECT count(*) FROM interactions").fetchone()[0]
    total = sum(cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in demo.DEMO_TABLES)
    return interactions, total


def run(label: str, folder: Path, fn) -> dict:
    path = folder / f"{label.replace(' ', '_')}.duckdb"
    con = store.connect(path)
    started, cpu = time.perf_counter(), time.process_time()
    fn(con)
    con.close()  # the data is on disk once the connection is closed
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    con = store.connect(path)
    interactions, total = _rows(con)
    con.close()
    path.unlink()
    return {
        "run": label,
        "interactions": interactions,
        "rows": total,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_s": round(total / seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also generate 1 M customers and 10 M interactions")
    parser.add_argument("--small", type=int, default=5000, help="customers of the small run (default 5000)")
    parser.add_argument("--baseline", type=int, default=50_000, help="customers of the loop comparison (default 50000)")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        folder = Path(tmp)
        n, b = args.small, args.baseline
        results.append(run(f"demo.generate {n:,}", folder, lambda con: demo.generate(con, customers=n)))
        results.append(run(f"naive loop {b:,}", folder, lambda con: naive_generate(con, customers=b)))
        results.append(run(f"demo.generate {b:,}", folder, lambda con: demo.generate(con, customers=b)))
        if args.full:
            results.append(
                run(
                    "demo.generate 1,000,000",
                    folder,
                    lambda con: demo.generate(con, customers=1_000_000, interactions_per_customer=10.0),
                )
            )
    table = pd.DataFrame(results)
    print(f"demo-data generation, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, {date.today()}")
    print(table.to_string(index=False))
    naive, fast = results[1], results[2]
    print(
        f"vectorised / naive loop at {b:,} customers: {fast['rows_per_s'] / naive['rows_per_s']:.1f}x rows per second "
        f"(CPU time per row {naive['cpu_seconds'] / naive['rows'] / (fast['cpu_seconds'] / fast['rows']):.1f}x)"
    )
    if args.full:
        big = results[3]
        verdict = "meets" if big["seconds"] < 120 else "misses"
        print(f"1 M customers, {big['interactions']:,} interactions in {big['seconds']} s: {verdict} the 120 s target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
