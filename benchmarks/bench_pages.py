"""Page render times (server side, through AppTest) and peak memory at scale.

For each page: the first render on a cold cache and reruns from the cache (median of five), and for
pages with lazy tabs the first open of every other tab after that, over a generated
database of 1 M customers and 10 M interactions (``--full``; default 20 000 customers), beside the
same page on the 5 000-customer demo as the baseline in the same run. Peak memory is the process's
maximum resident set size after all renders.

Run: ``python -m benchmarks.bench_pages [--full]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _make_db(folder: Path, customers: int, interactions: int | None) -> Path:
    """The demo generator's database ``bench_<customers>.duckdb`` in ``folder`` (seed 7), made if missing.

    Generated in a separate process, so the generator's memory does not count in a benchmark's peak;
    bench_funnel uses the same files.
    """
    path = folder / f"bench_{customers}.duckdb"
    if not path.exists():
        wanted = [] if interactions is None else ["--interactions", str(interactions)]
        subprocess.run(
            [sys.executable, "-m", "analytics.demo", "--db", str(path), "--customers", str(customers), "--seed", "7"]
            + wanted,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    return path


# Pages whose tabs are lazy (only the open tab runs) -> the session-state key of their tab bar.
LAZY_TABS = {
    "pages/segments.py": "seg_tab",
    "pages/journeys.py": "j_tab",
    "pages/churn.py": "churn_tab",
    "pages/data.py": "data_tab",
}
RERUNS = 5


def _render_times(db: Path) -> tuple[dict[str, tuple[float, float, bool]], dict[str, tuple[float, bool]]]:
    """(page title -> (first render, median rerun of RERUNS, failed),
    "page · tab" -> (first open of that tab after the page's first render, failed))."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui import nav
    from ui.nav import available_pages

    nav.ROUTER_STARTED = True  # AppTest is the router here: run each page file itself.
    os.environ["WORKBENCH_DB"] = str(db)
    st.cache_data.clear()
    st.cache_resource.clear()
    # Open the store once so that connection start-up is not billed to the first page.
    AppTest.from_file(str(ROOT / "pages" / "overview.py"), default_timeout=600).run()
    results, tabs = {}, {}
    for file, title, _icon, _url_path, _section in available_pages():
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / file), default_timeout=600)
        t0 = time.perf_counter()
        at.run()
        first = time.perf_counter() - t0
        reruns = []
        for _ in range(RERUNS):
            t0 = time.perf_counter()
            at.run()
            reruns.append(time.perf_counter() - t0)
        results[title] = (first, statistics.median(reruns), bool(at.exception))
        key = LAZY_TABS.get(file)
        if key is None:
            continue
        for label in [t.label for t in at.tabs][1:]:
            at.session_state[key] = label
            t0 = time.perf_counter()
            at.run()
            tabs[f"{title} · {label}"] = (time.perf_counter() - t0, bool(at.exception))
    return results, tabs


def run(full: bool = False) -> list[dict]:
    """Rows {benchmark, size, seconds, baseline_seconds, ...} for the runner's table."""
    folder = Path(os.environ.get("WORKBENCH_BENCH_DIR") or tempfile.mkdtemp(prefix="wb-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    customers, interactions = (1_000_000, 10_000_000) if full else (20_000, None)
    small = _make_db(folder, 5_000, None)
    large = _make_db(folder, customers, interactions)
    baseline, baseline_tabs = _render_times(small)
    measured, measured_tabs = _render_times(large)
    rows = []
    for title, (first, rerun, failed) in measured.items():
        base_first, base_rerun, _ = baseline.get(title, (float("nan"), float("nan"), False))
        rows.append(
            {
                "benchmark": f"page '{title}' first render",
                "size": f"{customers:,} customers",
                "seconds": round(first, 3),
                "baseline_seconds": round(base_first, 3),
                "baseline": "same page, 5,000 customers",
                "target": "<= 2 s",
                "note": "ERROR" if failed else "",
            }
        )
        rows.append(
            {
                "benchmark": f"page '{title}' rerun from cache (median of {RERUNS})",
                "size": f"{customers:,} customers",
                "seconds": round(rerun, 3),
                "baseline_seconds": round(base_rerun, 3),
                "baseline": "same page, 5,000 customers",
                "target": "<= 0.3 s",
                "note": "",
            }
        )
    for name, (seconds, failed) in measured_tabs.items():
        base_seconds, _ = baseline_tabs.get(name, (float("nan"), False))
        rows.append(
            {
                "benchmark": f"tab '{name}' first open",
                "size": f"{customers:,} customers",
                "seconds": round(seconds, 3),
                "baseline_seconds": round(base_seconds, 3),
                "baseline": "same tab, 5,000 customers",
                "target": "<= 2 s",
                "note": "ERROR" if failed else "",
            }
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(
        {
            "benchmark": "peak memory of the app process",
            "size": f"{customers:,} customers",
            "seconds": None,
            "baseline_seconds": None,
            "baseline": "",
            "target": "<= 3 GB",
            "note": f"{peak_mb:,.0f} MB",
        }
    )
    if not os.environ.get("WORKBENCH_BENCH_DIR"):
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1 M customers and 10 M interactions")
    args = parser.parse_args()
    for row in run(args.full):
        print(" | ".join(f"{v}" for v in row.values()))


if __name__ == "__main__":
    main()
