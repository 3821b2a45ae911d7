"""Speed of the Segments analytics at scale: RFM + ABC in DuckDB beside a pandas baseline, and clustering.

Targets (DESIGN.md, issue 4): RFM + ABC for 1 M customers from 10 M order lines <= 3 s; clustering of
1 M customers <= 20 s (k chosen on a sample, MiniBatchKMeans over everyone, PCA for the plot). The
Lifecycle tab (stage counts per month and the flows between the last two months) must fit in a page
view, <= 2 s; it is timed beside the customers × months grid it replaced (the reference definition,
``_lifecycle_grid_sql``), which must give the same numbers. The k diagnostics are timed beside
scikit-learn's silhouette_score called for each k (the same numbers).

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
from tests.unit.test_segmentation import grid_counts, grid_flows  # noqa: E402  (the grid: the reference)

AS_OF = dt.date(2025, 12, 31)
TARGET_RFM_ABC = 3.0
TARGET_CLUSTERING = 20.0
TARGET_PAGE = 2.0


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


def bench_rfm_abc(con, customers: int, lines: int, generated: float) -> list[dict]:
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


def bench_lifecycle(con, customers: int, lines: int) -> list[dict]:
    """The Lifecycle tab's analytics on the generated store: spans -> counts and flows, beside the grid."""
    cur = con.cursor()
    filters = Filters(start=AS_OF - dt.timedelta(days=364), end=AS_OF)
    rules = seg.LifecycleRules()
    started, cpu = time.perf_counter(), time.process_time()
    spans = seg.lifecycle_spans(cur, filters, rules=rules, as_of=AS_OF)
    spans_seconds = time.perf_counter() - started
    counts = seg.lifecycle_counts_from_spans(spans)
    months = sorted(pd.to_datetime(counts["month"]).dt.date.unique())
    flows = seg.lifecycle_flows_from_spans(spans, from_month=months[-2], to_month=months[-1])
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    before_counts = grid_counts(cur, filters, rules, AS_OF)
    before_flows = grid_flows(cur, filters, rules, AS_OF, months[-2], months[-1])
    baseline_seconds, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu
    same = counts.equals(before_counts) and flows.equals(before_flows)
    return [
        {
            "benchmark": "Lifecycle tab: stage counts per month + flows (spans)",
            "size": f"{customers:,} customers / {lines:,} lines",
            "seconds": round(seconds, 3),
            "baseline_seconds": round(baseline_seconds, 3),
            "speedup": round(baseline_seconds / seconds, 1),
            "cpu_seconds": round(cpu_seconds, 3),
            "baseline_cpu_seconds": round(baseline_cpu, 3),
            "target_seconds": TARGET_PAGE,
            "ok": seconds <= TARGET_PAGE and same,
            "detail": (
                f"spans query {spans_seconds:.2f} s ({len(spans.start):,} rows), counts and flows from them in NumPy; "
                f"baseline: customers x months grid with window functions; same numbers: {same}"
            ),
        }
    ]


def per_k_diagnostics(X: np.ndarray, *, seed: int, sample_size: int, silhouette_size: int = 2000) -> pd.DataFrame:
    """The k diagnostics as first written: silhouette_score (its own distance matrix) for every k."""
    from sklearn.metrics import davies_bouldin_score, silhouette_score
    from threadpoolctl import threadpool_limits

    sample = X[seg._sample_rows(len(X), sample_size, seed)]
    rows = []
    for k in range(2, 11):
        with threadpool_limits(limits=1):
            labels = seg._model("kmeans", k, seed, len(sample)).fit_predict(sample)
            size = min(silhouette_size, len(sample))
            rows.append(
                {
                    "k": k,
                    "inertia": seg._inertia(sample, labels),
                    "silhouette": float(silhouette_score(sample, labels, sample_size=size, random_state=seed)),
                    "davies_bouldin": float(davies_bouldin_score(sample, labels)),
                }
            )
    return pd.DataFrame(rows)


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
    X = seg.prepare_features(features)
    seg.cluster_diagnostics(
        X[:500], seed=seed, sample_size=500, k_values=[2]
    )  # scikit-learn's imports and thread pools
    started, cpu = time.perf_counter(), time.process_time()
    X = seg.prepare_features(features)
    diagnostics = seg.cluster_diagnostics(X, seed=seed, sample_size=5000)
    diagnostics_seconds = time.perf_counter() - started
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
    started = time.perf_counter()
    per_k = per_k_diagnostics(X, seed=seed, sample_size=5000)
    per_k_seconds = time.perf_counter() - started
    started = time.perf_counter()
    shared = seg.cluster_diagnostics(X, seed=seed, sample_size=5000)
    shared_seconds = time.perf_counter() - started
    return [
        {
            "benchmark": "Cluster diagnostics k=2..10 (one distance matrix for all k)",
            "size": "5,000 sampled customers, silhouette on 2,000",
            "seconds": round(shared_seconds, 3),
            "baseline_seconds": round(per_k_seconds, 3),
            "speedup": round(per_k_seconds / shared_seconds, 1),
            "target_seconds": None,
            "ok": per_k.equals(shared),
            "detail": f"baseline: silhouette_score for each k; identical table: {per_k.equals(shared)}",
        },
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
            "detail": (
                f"suggested k = {k} (diagnostics {diagnostics_seconds:.2f} s); {len(profiles)} profiles; "
                "baseline: KMeans n_init=1 without diagnostics"
            ),
        },
    ]


def run(full: bool) -> list[dict]:
    """Run the Segments benchmarks; ``full`` uses the target size (1 M customers, 10 M lines)."""
    customers, lines = (1_000_000, 10_000_000) if full else (100_000, 1_000_000)
    con = store.connect(":memory:")
    try:
        started = time.perf_counter()
        generate_orders(con, customers, lines)
        generated = time.perf_counter() - started
        rows = bench_rfm_abc(con, customers, lines, generated) + bench_lifecycle(con, customers, lines)
    finally:
        con.close()
    return rows + bench_clustering(customers)


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
