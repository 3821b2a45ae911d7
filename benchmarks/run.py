"""Run every benchmark module (``benchmarks/bench_*.py`` exposing ``run(full) -> list[dict]``) and print one table.

Usage: ``python benchmarks/run.py [--full] [--only ingest funnel ...]``. Modules without such a
``run`` are listed as skipped; a module that fails is reported in the table instead of stopping
the others.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def discover(only: list[str] | None = None) -> list[Path]:
    """Benchmark files in this folder, optionally only those whose name contains one of ``only``."""
    files = sorted(HERE.glob("bench_*.py"))
    if only:
        files = [f for f in files if any(word in f.stem for word in only)]
    return files


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_one(path: Path, full: bool) -> list[dict]:
    """Rows of one module; a failure or a missing ``run(full)`` becomes one explanatory row."""
    try:
        module = load_module(path)
        run = getattr(module, "run", None)
        if run is None or "full" not in inspect.signature(run).parameters:
            return [{"module": path.stem, "benchmark": "(skipped: no run(full) entry point)"}]
        start = time.perf_counter()
        rows = run(full=full)
        elapsed = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others.
        traceback.print_exc()
        return [{"module": path.stem, "benchmark": f"(failed: {type(exc).__name__}: {exc})"}]
    return [{"module": path.stem, **row, "module_seconds": round(elapsed, 1)} for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="target sizes (slow)")
    parser.add_argument("--only", nargs="*", help="run only modules whose name contains one of these words")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; full={args.full}")
    rows: list[dict] = []
    for path in discover(args.only):
        print(f"running {path.stem} …", flush=True)
        rows.extend(run_one(path, args.full))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    table = pd.DataFrame(rows)
    with pd.option_context("display.max_colwidth", 100, "display.width", 250, "display.max_columns", 30):
        print(table.to_string(index=False))
    failed = any(str(r.get("benchmark", "")).startswith("(failed") for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
