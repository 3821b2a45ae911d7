"""Kano and priorities page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import json
from contextlib import contextmanager

import duckdb
import pytest

from analytics import kano, priorities
from analytics.charts import kano as kano_charts
from analytics.charts import priorities as priority_charts
from tests.conftest import FIXTURES, app_test, requires_shared_data


@pytest.fixture
def kano_page(app_db, monkeypatch):
    """The page file run directly (as after app.py has routed once), on the demo database copy."""
    from ui import nav

    monkeypatch.setattr(nav, "ROUTER_STARTED", True)
    return app_test("pages/kano.py").run()


@contextmanager
def open_store(path):
    """A second handle on the database the app has open in this process (no hardening: it is locked there)."""
    con = duckdb.connect(str(path))
    try:
        yield con
    finally:
        con.close()


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def frame_with(at, column):
    """The first table on the page that has ``column`` (AppTest exposes keys of editors only)."""
    return next(e.value for e in at.dataframe if column in e.value.columns)


def results(at):
    return frame_with(at, "lead")


def test_page_renders_its_key_elements(kano_page):
    """Guards the storyboard: title, six tabs, results table with every figure, all charts."""
    at = kano_page
    assert not at.exception
    assert at.title[0].value == "Kano and priorities"
    assert [t.label for t in at.tabs] == [
        "Survey results",
        "Compare",
        "Template and import",
        "Requirements",
        "MoSCoW board",
        "Scoring and order",
    ]
    assert metric(at, "Features") == "12"
    table = results(at)
    for column in (
        "A",
        "O",
        "M",
        "I",
        "R",
        "Q",
        "n",
        "category",
        "lead",
        "better",
        "worse",
        "category_strength",
        "total_strength",
        "mean_functional",
        "sd_dysfunctional",
    ):
        assert column in table.columns
    assert table["lead"].str.contains("significant").all()
    assert len(at.get("plotly_chart")) >= 6  # bars, better-worse, continuous, comparison, MoSCoW, scores
    assert len(at.data_editor) == 2  # catalogue and criteria
    assert at.get("download_button")


def test_a_rerun_takes_every_table_and_chart_from_the_caches(kano_page, monkeypatch):
    """Guards the rerun time (DESIGN: at most 0.3 s at 1 M customers) without timing it: a rerun with
    the same choices reads nothing from the store, evaluates nothing and builds no chart."""
    calls = []

    def counted(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for name in ("load_responses", "summarize", "compare"):
        counted(kano, name)
    for name in (
        "catalogue",
        "history",
        "link_kano",
        "moscow_board",
        "weighted_scores",
        "suggested_order",
        "load_criteria",
        "load_must_limit",
    ):
        counted(priorities, name)
    for name in ("category_bars", "better_worse", "continuous", "comparison"):
        counted(kano_charts, name)
    for name in ("moscow_effort", "scores"):
        counted(priority_charts, name)

    at = kano_page.run()
    assert not at.exception
    assert calls == []
    # A new choice is computed (so the counting above does see the page's work).
    at.segmented_control(key="k_table").set_value("pouliot").run()
    assert not at.exception
    assert {"summarize", "category_bars", "better_worse", "continuous", "link_kano", "scores"} <= set(calls)
    assert "load_responses" not in calls and "moscow_effort" not in calls  # the table choice changes neither


def test_demo_survey_holds_every_category_and_a_moved_feature(kano_page):
    categories = set(results(kano_page)["category"].str[0])
    assert {"A", "O", "M", "I", "R"} <= categories
    assert int(metric(kano_page, "Features that moved category")) >= 1


def test_evaluation_table_and_rule_react(kano_page):
    """Switching to the Pouliot table can only move answers into Q; the rule changes no counts."""
    at = kano_page
    before = results(at).set_index("feature")
    at.segmented_control(key="k_table").set_value("pouliot").run()
    assert not at.exception
    after = results(at).set_index("feature")
    assert (after["Q"] >= before["Q"]).all() and after["Q"].sum() > before["Q"].sum()
    assert (after["n"] == before["n"]).all()
    at.selectbox(key="k_rule").set_value("mode").run()
    assert not at.exception


def test_wave_and_segment_select_other_answers(kano_page):
    at = kano_page
    newest = results(at)["n"].sum()
    at.selectbox(key="k_wave").set_value("2025").run()
    assert not at.exception
    at.selectbox(key="k_segment").set_value("SME").run()
    assert not at.exception
    assert results(at)["n"].sum() < newest
    at.toggle(key="k_weighted").set_value(True).run()
    assert not at.exception


def test_comparison_by_segment(kano_page):
    at = kano_page
    at.segmented_control(key="k_cmp_by").set_value("segment").run()
    assert not at.exception
    assert at.selectbox(key="k_cmp_a_segment").value != at.selectbox(key="k_cmp_b_segment").value


def test_template_layout_switch(kano_page):
    at = kano_page
    at.segmented_control(key="k_tpl_layout").set_value("wide").run()
    assert not at.exception
    assert not at.checkbox(key="k_tpl_dys_first").disabled


def test_import_of_a_wide_german_file_stores_the_answers(kano_page, app_db):
    """Guards the wide-layout import: dysfunctional column first, German texts, stored and counted."""
    at = kano_page
    at.file_uploader(key="k_upload").upload(
        "answers.csv", (FIXTURES / "kano_answers_wide_de.csv").read_bytes(), "text/csv"
    ).run()
    assert not at.exception
    assert metric(at, "Valid answer pairs") == "6"
    assert metric(at, "Problems") == "0"
    at.button(key="k_import_go").click().run()
    assert not at.exception
    assert any("6 answer pairs stored" in s.value for s in at.success)
    assert metric(at.run(), "Features") == "14"  # the newest wave now also holds Chat and Eco
    with open_store(app_db) as con:
        stored = con.execute(
            "SELECT count(*) FROM kano_responses WHERE feature IN ('Chat', 'Eco') AND wave = '2026'"
        ).fetchone()[0]
    assert stored == 6


def test_the_same_survey_file_twice_is_refused_unless_allowed(kano_page, app_db):
    """Guards the repeat check: a second upload of one file is refused in plain words that name the
    first import and the switch; with the switch on (worded as on the Data page) it is stored."""
    at = kano_page
    data = (FIXTURES / "kano_answers_wide_de.csv").read_bytes()

    at.file_uploader(key="k_upload").upload("answers.csv", data, "text/csv").run()
    switch = at.checkbox(key="k_import_allow_same_file")
    assert switch.label == "Load it even if the same file was loaded before"
    assert switch.value is False
    at.button(key="k_import_go").click().run()
    assert not at.exception
    assert any("6 answer pairs stored" in s.value for s in at.success)
    with open_store(app_db) as con:
        (first,) = con.execute(
            "SELECT import_id FROM imports WHERE table_name = 'kano_responses' AND status = 'loaded'"
        ).fetchone()

    at.file_uploader(key="k_upload").upload("answers.csv", data, "text/csv").run()
    at.button(key="k_import_go").click().run()
    assert not at.exception
    assert not any("answer pairs stored" in s.value for s in at.success)
    (refusal,) = [e.value for e in at.error if "stored before" in e.value]
    assert f"stored before, by import {first} on" in refusal
    assert "Nothing was stored this time" in refusal
    assert "“Load it even if the same file was loaded before”" in refusal
    assert "kano_responses" not in refusal  # business words, not the table's name

    at.checkbox(key="k_import_allow_same_file").check().run()
    at.button(key="k_import_go").click().run()
    assert not at.exception
    assert not any("stored before" in e.value for e in at.error)
    assert any("6 answer pairs stored" in s.value for s in at.success)
    with open_store(app_db) as con:
        loaded = con.execute(
            "SELECT count(*) FROM imports WHERE table_name = 'kano_responses' AND status = 'loaded'"
        ).fetchone()[0]
        stored = con.execute("SELECT count(*) FROM kano_responses WHERE feature IN ('Chat', 'Eco')").fetchone()[0]
    assert loaded == 2
    assert stored == 6  # stored again by respondent, feature and wave: the same six answer pairs


def test_import_reports_bad_rows(kano_page):
    at = kano_page
    data = b"respondent_id,feature,functional,dysfunctional\nR1,Chat,1,5\nR2,Chat,9,5\nR1,Chat,2,5\n"
    at.file_uploader(key="k_upload").upload("bad.csv", data, "text/csv").run()
    assert not at.exception
    assert metric(at, "Problems") == "2"
    assert at.button(key="k_import_go").disabled
    problems = frame_with(at, "reason")
    assert problems["row"].tolist() == ["2", "3"]


def column_labels(element) -> dict:
    """Column name -> header label of an st.dataframe element (from its column configuration)."""
    config = json.loads(element.proto.columns or "{}")
    return {name: (value or {}).get("label") for name, value in config.items() if not name.startswith("_")}


def test_a_file_that_is_not_a_kano_survey_is_refused_with_what_it_lacks(kano_page, app_db):
    """Guards the review's finding: the Telco churn file only drew a warning ("the rest is evaluated")
    with 0 answer pairs; it must be a blocking error naming the missing columns, with nothing stored."""
    at = kano_page
    with open_store(app_db) as con:
        before = con.execute("SELECT count(*) FROM kano_responses").fetchone()[0]
    data = requires_shared_data("WA_Fn-UseC_-Telco-Customer-Churn.csv").read_bytes()
    at.file_uploader(key="k_upload").upload("telco.csv", data, "text/csv").run()
    assert not at.exception
    (refusal,) = [e.value for e in at.error if "not a Kano answers file" in e.value]
    for part in ("the feature asked about", "the functional answer", "the dysfunctional answer"):
        assert part in refusal
    assert "Nothing was stored" in refusal
    assert not any("the rest is evaluated" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "k_import_go"]  # nothing to store
    with open_store(app_db) as con:
        assert con.execute("SELECT count(*) FROM kano_responses").fetchone()[0] == before


def test_import_problems_have_readable_headers_and_no_none(kano_page):
    """Guards the review's finding: raw lower-case headers and "None" in the problems table."""
    at = kano_page
    data = b"respondent_id,feature,functional,dysfunctional\nR1,Chat,,5\nR2,Chat,1,5\n"
    at.file_uploader(key="k_upload").upload("gap.csv", data, "text/csv").run()
    assert not at.exception
    element = next(e for e in at.dataframe if "reason" in e.value.columns)
    assert column_labels(element) == {"row": "Row", "column": "Column", "value": "Value", "reason": "Reason"}
    assert element.value.values.tolist() == [["1", "functional", "(empty)", "answer is empty"]]
    # A file without any usable row blocks as well, and still lists its reasons.
    only_gaps = b"respondent_id,feature,functional,dysfunctional\nR1,Chat,,5\n"
    at.file_uploader(key="k_upload").upload("gaps.csv", only_gaps, "text/csv").run()
    assert any("nothing can be stored" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "k_import_go"]


def test_must_limit_warns(kano_page, app_db):
    at = kano_page
    at.slider(key="req_must_limit").set_value(20).run()
    assert not at.exception
    assert any("more than the 20% allowed" in w.value for w in at.warning)
    with open_store(app_db) as con:
        assert priorities.load_must_limit(con) == pytest.approx(0.2)


def test_catalogue_editor_shows_the_stored_catalogue(kano_page):
    """The editor's source is the stored catalogue itself (never its own output fed back in).

    AppTest cannot edit cells or call the editor's on_change; saving is covered by the unit tests
    of ``priorities.apply_edits`` and by hand in a browser.
    """
    editor = kano_page.data_editor[0].value
    assert len(editor) == 25
    assert editor["requirement_id"].iloc[0] == "REQ-001"
    order = frame_with(kano_page, "rank")
    assert order["rank"].tolist() == list(range(1, 26))
    assert order["kano_category"].iloc[0] in ("M Must-be", "–")  # must-be (or an unclassified must) first
    assert order["order_group"].iloc[0] == "Must-be / must"


def test_suggested_order_puts_wont_and_rejected_last_and_shows_no_none(kano_page):
    """Guards the review's finding: a won't (score 25) ranked above unclassified musts (93, 81)."""
    order = frame_with(kano_page, "rank")
    last = order["moscow"].eq("Won't") | order["status"].eq("rejected")
    assert last.any()
    assert last.iloc[-int(last.sum()) :].all()  # every won't or rejected one after all the others
    unclassified_musts = order[order["moscow"].eq("Must") & order["kano_category"].eq("–") & ~last]
    assert (unclassified_musts["order_group"] == "Must-be / must").all()
    assert "None" not in order.astype(str).to_numpy()


def test_moscow_board_headers_match_the_listed_requirements(kano_page):
    """Guards the review's finding: "Won't · 0 planned · 0.0 person-days" above two listed items (43 days)."""
    at = kano_page
    catalogue = kano_page.data_editor[0].value
    headers = {m.value.split("**")[1]: m.value for m in at.markdown if str(m.value).startswith("**")}
    for cls, name in (("must", "Must"), ("should", "Should"), ("could", "Could"), ("won't", "Won't")):
        listed = catalogue[catalogue["moscow"] == cls]
        effort = listed["effort"].fillna(0).sum()
        assert f"· {len(listed)} listed · {effort:,.1f} person-days" in headers[name], headers[name]
    assert headers["Won't"].endswith("not planned")
    boards = [e.value for e in at.dataframe if {"kano_category", "effort"} <= set(e.value.columns)]
    assert len(boards) >= 4
    assert all("None" not in board["kano_category"].astype(str).tolist() for board in boards)


def test_sidebar_segment_filter_narrows_the_respondents(kano_page):
    """Survey answers follow the global customer filters through their customer numbers."""
    at = kano_page
    everyone = int(metric(at, "Respondents").replace(",", ""))
    segment = at.multiselect(key="f_segment")
    at = segment.set_value([segment.options[0]]).run()
    assert not at.exception
    assert 0 < int(metric(at, "Respondents").replace(",", "")) < everyone


def test_page_without_survey_answers_or_requirements(app_db, monkeypatch):
    """A store without a survey or a catalogue shows guidance instead of failing."""
    from ui import nav

    with open_store(app_db) as con:
        con.execute("DELETE FROM kano_responses")
        con.execute("DELETE FROM requirements")
    monkeypatch.setattr(nav, "ROUTER_STARTED", True)
    at = app_test("pages/kano.py").run()
    assert not at.exception
    assert any("No survey answers yet" in i.value for i in at.info)
    assert len(at.data_editor) == 2
