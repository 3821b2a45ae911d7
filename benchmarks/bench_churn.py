"""Benchmark: churn features (DuckDB vs a pandas baseline), training both calibrated models, scoring, CLV fits.

Targets (issue 6 and DESIGN.md): features + training for 100 k customers <= 30 s; features for
100 k customers <= 10 s; scoring 1 M customers <= 10 s; BG/NBD fit on 100 k customers <= 10 s;
the Customer value tab's analytics <= 2 s (a page view). The BG/NBD and Gamma-Gamma fits are
timed beside the straightforward fits with row-wise likelihoods (the reference implementations of
tests/unit/test_clv.py), which must give the same parameters; value_overview beside the tab's
earlier way (historical_clv + store_summary + those fits).
Scoring is also timed through the plain calibrated pipeline (``ChurnModel.plain_predict_proba``,
no target) with the largest difference to the fast path, which must stay at 0 (at most 1e-9).

Data: a synthetic store generated in DuckDB SQL (customers, interactions, orders with the demo
schema; customers stop for good after a random lifetime). Run standalone:

    /work/venv/bin/python benchmarks/bench_churn.py          # quick (10 k customers)
    /work/venv/bin/python benchmarks/bench_churn.py --full   # 100 k customers, 1 M scored rows
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import churn, clv, schema, store  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from tests.unit.test_clv import reference_fit_bgnbd, reference_fit_gamma_gamma  # noqa: E402

END = dt.date(2026, 10, 31)

_EVENTS = [
    ("ad_impression", "awareness"),
    ("site_visit", "interest"),
    ("product_view", "consideration"),
    ("add_to_cart", "intent"),
    ("purchase", "purchase"),
    ("service_contact", "service"),
    ("complaint", "service"),
    ("review_written", "loyalty"),
    ("upsell_purchase", "expansion"),
]


def synthetic_store(
    con, *, customers: int, seed: int = 7, end: dt.date = END, events_per_customer: float = 10.0
) -> None:
    """Fill an empty store with ``customers`` synthetic customers, ~``events_per_customer`` interactions each, and their orders."""
    con.execute("SELECT setseed(?)", [seed / 100.0])
    start = end - dt.timedelta(days=730)
    channels = list(schema.CHANNELS)
    segments = ["Enterprise", "SME", "Premium consumer", "Value consumer"]
    countries = ["DE", "AT", "CH", "GB", "FR", "NL", "IT", "ES", "PL", "US"]
    con.execute(
        """
        CREATE TEMP TABLE syn_c AS
        SELECT i, 'C' || lpad(i::VARCHAR, 7, '0') AS customer_id,
               $segments[1 + (hash(i, 1) % 4)::INT] AS segment,
               $countries[1 + (hash(i, 2) % 10)::INT] AS country,
               $channels[1 + (hash(i, 3) % len($channels))::INT] AS channel,
               $start::DATE + (random() * 600)::INT AS signup,
               (hash(i, 4) % 5 = 0) AS unhappy,
               -ln(random() + 1e-9) * CASE WHEN hash(i, 4) % 5 = 0 THEN 150 ELSE 500 END AS lifetime,
               0.3 + random() * 1.7 AS intensity
        FROM range(1, $n + 1) t(i)
        """,
        {"segments": segments, "countries": countries, "channels": channels, "start": start, "n": customers},
    )
    con.execute(
        """
        INSERT INTO customers
        SELECT customer_id, 'Customer ' || i, 'c' || i || '@example.com',
               CASE WHEN segment IN ('Enterprise', 'SME') THEN 'B2B' ELSE 'B2C' END, country, NULL, NULL,
               CASE WHEN segment IN ('Enterprise', 'SME') THEN 'retail' END, channel, segment, signup,
               NULL, CASE WHEN segment = 'Enterprise' THEN 500 WHEN segment = 'SME' THEN 40 END, NULL
        FROM syn_c
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE syn_e AS
        SELECT c.customer_id, c.unhappy, c.channel AS home_channel, g.k,
               c.signup::TIMESTAMP + to_seconds((random() * least(c.lifetime, date_diff('day', c.signup, $end)) * 86400)::BIGINT)
                   AS occurred_at,
               random() AS u, random() AS v
        FROM syn_c c, LATERAL (SELECT unnest(range(1, 1 + (c.intensity * $per)::INT)) AS k) g
        """,
        {"end": end, "per": events_per_customer},
    )
    con.execute(
        """
        INSERT INTO interactions
        SELECT 'I' || row_number() OVER (), customer_id, occurred_at, ev[1], ev[2],
               CASE WHEN v < 0.5 THEN home_channel ELSE $channels[1 + (v * 1000)::INT % len($channels)] END, NULL, NULL
        FROM (
            SELECT *, CASE
                WHEN u < 0.20 THEN ['ad_impression', 'awareness'] WHEN u < 0.38 THEN ['site_visit', 'interest']
                WHEN u < 0.55 THEN ['product_view', 'consideration'] WHEN u < 0.65 THEN ['add_to_cart', 'intent']
                WHEN u < 0.85 THEN ['purchase', 'purchase']
                WHEN u < 0.90 OR (unhappy AND u < 0.95) THEN ['service_contact', 'service']
                WHEN u < 0.93 OR unhappy THEN ['complaint', 'service']
                WHEN u < 0.97 THEN ['review_written', 'loyalty'] ELSE ['upsell_purchase', 'expansion'] END AS ev
            FROM syn_e WHERE occurred_at < $end_ts
        )
        """,
        {"channels": channels, "end_ts": dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)},
    )
    con.execute(
        """
        INSERT INTO orders
        SELECT 'O' || i.interaction_id, 1, i.customer_id, i.occurred_at, 'SKU' || (hash(i.interaction_id) % 500),
               'Item', CASE WHEN hash(i.interaction_id, 9) % 40 = 0 THEN -1 ELSE 1 + hash(i.interaction_id, 7) % 3 END,
               10 + (hash(i.interaction_id, 8) % 9000) / 100.0, 0, 'EUR', 'online shop', NULL, NULL
        FROM interactions i WHERE i.event IN ('purchase', 'upsell_purchase')
        """
    )
    con.execute("UPDATE orders SET amount = quantity * unit_price")
    con.execute("DROP TABLE syn_c")
    con.execute("DROP TABLE syn_e")


def pandas_features(con, *, cutoff: dt.date, lookback_days: int) -> pd.DataFrame:
    """The straightforward pandas version of churn.features (the baseline): load rows, filter, group."""
    cut = pd.Timestamp(cutoff)
    inter = con.execute("SELECT customer_id, occurred_at, channel, stage, event FROM interactions").df()
    orders = con.execute("SELECT customer_id, order_id, ordered_at, quantity, amount FROM orders").df()
    customers = con.execute("SELECT * FROM customers").df().set_index("customer_id")
    inter = inter[inter["occurred_at"] < cut]
    orders = orders[orders["ordered_at"] < cut]
    act = pd.concat(
        [
            inter[["customer_id", "occurred_at"]].rename(columns={"occurred_at": "t"}),
            orders[["customer_id", "ordered_at"]].rename(columns={"ordered_at": "t"}),
        ]
    )
    g = act.groupby("customer_id")["t"]
    out = pd.DataFrame({"last_t": g.max(), "first_t": g.min()})
    out["recency_days"] = (cut - out["last_t"]).dt.total_seconds() / 86400
    out = out[out["recency_days"] <= lookback_days]
    act["last30"] = act["t"] >= cut - pd.Timedelta(days=30)
    act["prev90"] = (act["t"] >= cut - pd.Timedelta(days=120)) & ~act["last30"]
    out["events_last_30d"] = act.groupby("customer_id")["last30"].sum()
    out["events_prev_90d"] = act.groupby("customer_id")["prev90"].sum()
    pos = orders[orders["amount"] > 0]
    out["frequency"] = pos.groupby("customer_id")["order_id"].nunique()
    out["monetary"] = orders.groupby("customer_id")["amount"].sum()
    out["returns"] = orders[orders["quantity"] < 0].groupby("customer_id").size()
    channels = pd.crosstab(inter["customer_id"], inter["channel"]).add_prefix("ch_")
    stages = pd.crosstab(inter["customer_id"], inter["stage"]).add_prefix("st_")
    out["service_contacts"] = inter[inter["event"] == "service_contact"].groupby("customer_id").size()
    out = out.join(channels).join(stages).join(customers[["segment", "country", "acquisition_channel", "signup_date"]])
    return out.fillna({c: 0 for c in out.columns if c.startswith(("ch_", "st_"))})


def customer_value_before(cur, f: Filters, as_of: dt.date) -> dict:
    """The Customer value tab as it was computed before value_overview: two per-customer tables, row-wise fits."""
    history = clv.historical_clv(cur, f, as_of=as_of, margin=1.0)
    summary = clv.store_summary(cur, f, end=as_of, unit_days=7.0)
    bg, gg = reference_fit_bgnbd(summary), reference_fit_gamma_gamma(summary)
    clv.value_histogram(history["clv"], cap_quantile=0.99)
    clv.spend_independence(summary)
    predicted = clv.predict_clv(summary, bg, gg, horizon=52.0)
    by_segment = predicted.join(summary[["segment"]]).groupby("segment")["clv"].mean()
    return {"bgnbd": bg, "gg": gg, "by_segment": by_segment}


def _timed(fn):
    """Run fn -> (value, wall seconds, process CPU seconds); CPU shows the work on a shared machine."""
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - started, time.process_time() - cpu


def run(full: bool = False) -> list[dict]:
    """Run the benchmark: 100 k customers when ``full`` (else 10 k) -> rows work, customers, seconds, cpu_seconds, target_seconds, ok."""
    n = 100_000 if full else 10_000
    rows: list[dict] = []

    def record(work, customers, fn, target=None):
        value, wall, cpu = _timed(fn)
        rows.append(
            {"work": work, "customers": customers, "seconds": wall, "cpu_seconds": cpu, "target_seconds": target}
        )
        return value

    with tempfile.TemporaryDirectory() as folder:
        con = store.connect(Path(folder) / "bench.duckdb")
        record("generate synthetic store", n, lambda: synthetic_store(con, customers=n))
        events = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
        rows[-1]["work"] += f" ({events:,} interactions)"
        cur = con.cursor()
        horizon = 90
        _, last = churn.activity_span(cur)
        train_cut, valid_cut = churn.default_cutoffs(last, horizon)
        f = Filters()

        def both_cutoffs():
            return (
                churn.dataset(cur, f, cutoff=train_cut, horizon_days=horizon),
                churn.dataset(cur, f, cutoff=valid_cut, horizon_days=horizon),
            )

        (X_train, y_train), (X_valid, y_valid) = record(
            "features + labels, two cutoffs (DuckDB)", n, both_cutoffs, 10.0
        )
        record(
            "features one cutoff (DuckDB)",
            len(X_train),
            lambda: churn.features(cur, f, cutoff=train_cut, lookback_days=horizon),
        )
        record(
            "features one cutoff (pandas baseline)",
            len(X_train),
            lambda: pandas_features(cur, cutoff=train_cut, lookback_days=horizon),
        )
        models = {}
        for kind in churn.MODELS:
            models[kind] = record(
                f"train {kind} + calibration",
                len(X_train),
                lambda kind=kind: churn.train(X_train, y_train, model=kind, validation=(X_valid, y_valid)),
            )
            rows[-1]["work"] += f" (validation ROC AUC {models[kind].metrics['roc_auc']:.3f})"
        total = rows[1]["seconds"] + rows[4]["seconds"] + rows[5]["seconds"]
        total_cpu = rows[1]["cpu_seconds"] + rows[4]["cpu_seconds"] + rows[5]["cpu_seconds"]
        rows.append(
            {
                "work": "features + training both models",
                "customers": n,
                "seconds": total,
                "cpu_seconds": total_cpu,
                "target_seconds": 30.0,
            }
        )
        scored = 1_000_000 if full else 100_000
        reps = int(np.ceil(scored / len(X_valid)))
        big = pd.concat([X_valid] * reps, ignore_index=True).head(scored)
        for kind, model in models.items():
            fast = record(
                f"score {kind}", len(big), lambda model=model: model.churn_probability(big), 10.0 if full else None
            )
            plain = record(
                f"score {kind}, plain pipeline (reference)",
                len(big),
                lambda model=model: model.plain_predict_proba(big)[:, 1],
            )
            rows[-1]["work"] += f" (max |difference| {np.abs(fast - plain).max():.1e})"
        summary = clv.store_summary(cur, f, end=last)
        fitted = record("BG/NBD fit", len(summary), lambda: clv.fit_bgnbd(summary), 10.0 if full else None)
        _, rows[-1]["baseline_seconds"], _ = _timed(lambda: reference_fit_bgnbd(summary))
        rows[-1]["work"] += (
            f" (baseline: row-wise likelihood, np.unique; same parameters: {fitted == reference_fit_bgnbd(summary)})"
        )
        repeat = int((summary["frequency"] > 0).sum())
        fitted = record("Gamma-Gamma fit", repeat, lambda: clv.fit_gamma_gamma(summary))
        _, rows[-1]["baseline_seconds"], _ = _timed(lambda: reference_fit_gamma_gamma(summary))
        rows[-1]["work"] += (
            f" (baseline: row-wise likelihood; same parameters: {fitted == reference_fit_gamma_gamma(summary)})"
        )
        overview = record(
            "Customer value tab: value_overview (history, summary, both fits, predictions)",
            len(summary),
            lambda: clv.value_overview(cur, f, as_of=last),
            2.0,
        )
        _, rows[-1]["baseline_seconds"], _ = _timed(lambda: customer_value_before(cur, f, last))
        rows[-1]["work"] += " (baseline: historical_clv + store_summary + row-wise fits, as the tab did)"
        rows[-1]["customers"] = overview["customers"]  # customers with orders
        con.close()
    for row in rows:
        row["seconds"] = round(row["seconds"], 2)
        row["cpu_seconds"] = round(row["cpu_seconds"], 2)
        if "baseline_seconds" in row:
            row["baseline_seconds"] = round(row["baseline_seconds"], 2)
        row["ok"] = None if row["target_seconds"] is None else row["seconds"] <= row["target_seconds"]
    return rows


if __name__ == "__main__":
    import os

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    result = pd.DataFrame(run(full="--full" in sys.argv))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    with pd.option_context("display.max_colwidth", 120, "display.width", 250):
        print(result.to_string(index=False))
