"""Shared fixtures: empty stores, a small demo store, and a clean Streamlit state for AppTest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analytics import store

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = ROOT / "tests" / "fixtures"

DEMO_CUSTOMERS = 600
DEMO_SEED = 7


@pytest.fixture(autouse=True)
def _private_key_file(tmp_path, monkeypatch):
    """Keep every test's pseudonymisation key in its own folder, never in data/."""
    monkeypatch.setenv("WORKBENCH_KEY_FILE", str(tmp_path / "workbench.key"))


@pytest.fixture
def mem_con():
    """A migrated, hardened, empty in-memory store."""
    con = store.connect(":memory:")
    yield con
    con.close()


@pytest.fixture
def empty_db(tmp_path):
    """Path of a migrated, empty database file (connection closed)."""
    path = tmp_path / "empty.duckdb"
    store.connect(path).close()
    return path


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory) -> Path:
    """A demo database (600 customers, seed 7) built once per test session; copy it before writing."""
    from analytics import demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    con = store.connect(path)
    demo.generate(con, customers=DEMO_CUSTOMERS, seed=DEMO_SEED)
    con.close()
    return path


@pytest.fixture
def demo_con(demo_db_path, tmp_path):
    """A private, writable copy of the demo database."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    con = store.connect(path)
    yield con
    con.close()


def _clear_streamlit_state() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_db(demo_db_path, tmp_path, monkeypatch):
    """Point the app at a private copy of the demo database and start from clean Streamlit caches."""
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db_path, path)
    monkeypatch.setenv("WORKBENCH_DB", str(path))
    _clear_streamlit_state()
    yield path
    _clear_streamlit_state()


def app_test(page: str, *, timeout: float = 60):
    """AppTest for ``page`` (a path relative to the project, e.g. 'pages/overview.py').

    AppTest runs the page file as the main script; mark the router as started so that
    ``page_setup`` draws this page instead of handing over to the navigation (which would run the
    default page).
    """
    from streamlit.testing.v1 import AppTest

    from ui import nav

    nav.ROUTER_STARTED = True

    return AppTest.from_file(str(ROOT / page), default_timeout=timeout)


def requires_shared_data(name: str) -> Path:
    """Path of a file in ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{name} not found in ../shared/data (public data sets live beside the project)")
    return path
