"""Speed of the Segments analytics at scale: RFM + ABC in DuckDB beside a pandas baseline, and clustering.

Targets (DESIGN.md, issue 4): RFM + ABC for 1 M customers from 10 M order lines <= 3 s; clustering of
1 M customers <= 20 s (k chosen on a sample, MiniBatchKMeans over everyone, PCA for the plot).

Run ``python benchmarks/bench_segments.py`` for a quick run (100 k customers, 1 M lines) or with
``--full`` for the target size. Order lines are generated in DuckDB SQL, deterministically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import segmentation as seg  # noqa: E402
from analytics import store  # noqa: E402
from analytics.filters import Filters  # noqa: E402

AS_OF = dt.date(2025, 12, 31)
TARGET_RFM_ABC = 3.0
TARGET_CLUSTERING = 20.0


def generate_orders(con, customers: int, lines: int) -> None:
    """Fill ``orders`` with ``lines`` order lines of ``customers`` customers (3 lines per order, 2 years)."""
    con.execute(
        """
        INSERT INTO orders (order_id, line_no, customer_id, ordered_at, quantity, unit_price, amount)
        SELECT 'O' || (i // 3)::VARCHAR,
               (i % 3 + 1)::INTEGER,
               'C' || lpad(((i // 3) % $customers)::VARCHAR, 7, '0'),
               TIMESTAMP '2024-01-01' + to_seconds((hash(i // 3) % (730 * 86400))::BIGINT),
               q, p, round(q * p, 2)
        FROM (
            SELECT i, (1 + hash(i * 7) % 4)::DOUBLE AS q, round(1 + (hash(i * 13) % 20000) / 100.0, 2) AS p
            FROM range($lines) t(i)
        )
        """,
        {"customers": customers, "lines": lines},
    )


def pandas_rfm_abc(lines: pd.DataFrame, as_of: dt.date, cutoffs=(0.8, 0.95)) -> pd.DataFrame:
    """The straightforward pandas version: group by order, then customer; rank-based quintiles; cumulative ABC."""
    purchase = lines["amount"] > 0
    per_order = (
        lines.assign(purchase_at=lines["ordered_at"].where(purchase))
        .groupby(["customer_id", "order_id"], sort=False)
        .agg(amount=("amount", "sum"), last=("purchase_at", "max"))
    )
    per_customer = per_order.groupby(level=0).agg(
        last=("last", "max"), frequency=("last", "count"), monetary=("amount", "sum")
    )
    per_customer["recency_days"] = (pd.Timestamp(as_of) - per_customer["last"].dt.normalize()).dt.days
    n = len(per_customer)
    frame = per_customer.reset_index()

    def quintile(order_by: list[str], ascending: list[bool]) -> np.ndarray:
        position = np.empty(n, dtype=np.int64)
        position[frame.sort_values(order_by, ascending=ascending, kind="mergesort").index.to_numpy()] = np.arange(n)
        return (position * 5 // n) + 1

    frame["r"] = quintile(["recency_days", "frequency", "monetary", "customer_id"], [False, True, True, True])
    frame["f"] = quintile(["frequency", "monetary", "customer_id"], [True, True, True])
    frame["m"] = quintile(["monetary", "frequency", "customer_id"], [True, True, True])
    frame["abc_class"] = seg.abc(frame.set_index("customer_id")["monetary"], cutoffs=cutoffs).to_numpy()
    return frame


def bench_rfm_abc(customers: int, lines: int) -> list[dict]:
    con = store.connect(":memory:")
    started = time.perf_counter()
    generate_orders(con, customers, lines)
    generated = time.perf_counter() - started
    cur = con.cursor()
    filters = Filters()
    started, cpu = time.perf_counter(), time.process_time()
    scores = seg.rfm_scores(cur, filters, as_of=AS_OF)
    rfm_seconds, rfm_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    classes = seg.abc_table(scores[["customer_id", "monetary"]].rename(columns={"monetary": "revenue"}))
    abc_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    # ABC alone in SQL (the portable version the page's ABC tab runs), for comparison.
    started = time.perf_counter()
    sql_classes = seg.abc_scores(cur, filters, as_of=AS_OF)
    abc_sql_seconds = time.perf_counter() - started
    assert (sql_classes["abc_class"].to_numpy() == classes["abc_class"].to_numpy()).all()
    frame = cur.execute("SELECT customer_id, order_id, ordered_at, amount FROM orders").df()
    started, cpu = time.perf_counter(), time.process_time()
    baseline = pandas_rfm_abc(frame, AS_OF)
    baseline_seconds = time.perf_counter() - started
    baseline_cpu = time.process_time() - cpu
    assert len(scores) == len(baseline) == customers
    assert (classes["abc_class"].value_counts().sort_index() == baseline["abc_class"].value_counts().sort_index()).all()
    total = rfm_seconds + abc_seconds
    con.close()
    size = f"{customers:,} customers / {lines:,} lines"
    return [
        {
            "benchmark": "RFM + ABC (DuckDB)",
            "size": size,
            "seconds": round(total, 3),
            "baseline_seconds": round(baseline_seconds, 3),
            "speedup": round(baseline_seconds / total, 1),
            "cpu_seconds": round(cpu_seconds, 3),
            "baseline_cpu_seconds": round(baseline_cpu, 3),
            "target_seconds": TARGET_RFM_ABC,
            "ok": total <= TARGET_RFM_ABC,
            "detail": (
                f"RFM (SQL) {rfm_seconds:.2f} s (CPU {rfm_cpu:.2f} s) + ABC on its monetary {abc_seconds:.2f} s; "
                f"ABC as its own SQL query {abc_sql_seconds:.2f} s; data generated in {generated:.1f} s"
            ),
        }
    ]


def bench_clustering(customers: int, seed: int = 0) -> list[dict]:
    """Six features of ``customers`` synthetic customers: diagnostics on a sample, MiniBatchKMeans, PCA."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, customers)
    features = pd.DataFrame(
        {
            "recency_days": rng.gamma(1.5 + kind, 40),
            "frequency": rng.poisson(1 + 3 * kind) + 1.0,
            "monetary": rng.lognormal(4 + 0.6 * kind, 0.8),
            "tenure_days": rng.uniform(0, 730, customers),
            "digital_share": rng.beta(2 + kind, 2),
            "service_contacts": rng.poisson(0.5 + kind * 0.3).astype(float),
        }
    )
    started, cpu = time.perf_counter(), time.process_time()
    X = seg.prepare_features(features)
    diagnostics = seg.cluster_diagnostics(X, seed=seed, sample_size=5000)
    k = seg.suggest_k(diagnostics).k
    labels = seg.fit_clusters(X, k, seed=seed)
    profiles = seg.cluster_profiles(features.assign(customer_id=np.arange(customers)), labels)
    seg.pca_projection(X, labels, seed=seed)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    # Baseline: full-batch k-means (Lloyd, one initialisation) over everyone at the same k.
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    started, cpu = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=1):
        KMeans(n_clusters=k, n_init=1, random_state=seed).fit(X)
    baseline_seconds = time.perf_counter() - started
    baseline_cpu = time.process_time() - cpu
    return [
        {
            "benchmark": "Clustering (diagnostics k=2..10 on 5,000, MiniBatchKMeans, PCA)",
            "size": f"{customers:,} customers x 6 features",
            "seconds": round(seconds, 3),
            "baseline_seconds": round(baseline_seconds, 3),
            "speedup": None,  # the baseline skips choosing k, so the two are not like for like
            "cpu_seconds": round(cpu_seconds, 3),
            "baseline_cpu_seconds": round(baseline_cpu, 3),
            "target_seconds": TARGET_CLUSTERING,
            "ok": seconds <= TARGET_CLUSTERING,
            "detail": f"suggested k = {k}; {len(profiles)} profiles; baseline: KMeans n_init=1 without diagnostics",
        }
    ]


def run(full: bool) -> list[dict]:
    """Run the Segments benchmarks; ``full`` uses the target size (1 M customers, 10 M lines)."""
    customers, lines = (1_000_000, 10_000_000) if full else (100_000, 1_000_000)
    return bench_rfm_abc(customers, lines) + bench_clustering(customers)


def load_average() -> str:
    """The 1-minute load average (other work on the machine inflates wall-clock times)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1 M customers and 10 M order lines")
    args = parser.parse_args()
    print(f"load average before: {load_average()} on {os.cpu_count()} cores")
    rows = run(args.full)
    print(f"load average after: {load_average()}")
    table = pd.DataFrame(rows)
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
