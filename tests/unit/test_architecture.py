"""House rules that keep the code base in shape: checked on the source, not by convention."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_analytics_never_imports_streamlit():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "analytics").rglob("*.py")
        if any(name == "streamlit" or name.startswith("streamlit.") for name in _imports(p))
    ]
    assert offenders == []


def test_no_pickle_or_joblib_anywhere_in_the_product():
    offenders = []
    for folder in ("analytics", "ui", "pages"):
        for p in (ROOT / folder).rglob("*.py"):
            if {"pickle", "joblib", "cloudpickle", "dill"} & set(_imports(p)):
                offenders.append(str(p.relative_to(ROOT)))
    assert offenders == []


SQL_TEXT = re.compile(r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\()")


def test_pages_hold_no_sql_and_no_raw_exports():
    offenders = []
    for p in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "app.py"]:
        text = p.read_text(encoding="utf-8")
        constants = [
            n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        if (
            re.search(r"\.execute\(|\.sql\(", text)
            or ".to_csv(" in text
            or ".to_excel(" in text
            or any(SQL_TEXT.search(c) for c in constants)
        ):
            offenders.append(str(p.relative_to(ROOT)))
    assert offenders == []


def test_no_html_rendering_of_user_text():
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("pages", "ui")
        for p in (ROOT / folder).glob("*.py")
        if re.search(r"unsafe_allow_html\s*=\s*True", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_server_binds_to_loopback_and_hides_error_details():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert 'address = "127.0.0.1"' in config
    assert 'showErrorDetails = "none"' in config
    assert "disableDataExport = true" in config


def test_downloads_only_through_the_sanitising_helper():
    offenders = [
        str(p.relative_to(ROOT))
        for p in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
        if p.name != "downloads.py" and "st.download_button(" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
