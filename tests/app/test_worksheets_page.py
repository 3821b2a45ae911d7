"""Worksheets page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import pytest

from tests.conftest import app_test


@pytest.fixture
def page(app_db, monkeypatch):
    """A factory of fresh sessions of the page file (run directly, as after app.py has routed once)."""
    from ui import nav

    monkeypatch.setattr(nav, "ROUTER_STARTED", True)

    def open_page(worksheet_id: str | None = None):
        at = app_test("pages/worksheets.py")
        if worksheet_id:
            at.query_params["ws"] = worksheet_id
        return at.run()

    return open_page


def key(worksheet_id: str, item_id: str, part: str) -> str:
    return f"ws|{worksheet_id}|{item_id}|{part}"


def create_proximity(at, title: str = "Acme proximity"):
    at.radio(key="ws_new_kind").set_value("proximity")
    at.text_input(key="ws_new_title").input(title)
    at.selectbox(key="ws_new_account").set_value("C0000001")
    next(b for b in at.button if b.label == "Create worksheet").click()
    at.run()
    assert not at.exception
    return at.query_params["ws"][0] if isinstance(at.query_params["ws"], list) else at.query_params["ws"]


def test_page_renders_with_its_chooser(page):
    at = page()
    assert not at.exception
    assert at.title[0].value == "Worksheets"
    assert [t.label for t in at.tabs] == ["Open", "New worksheet", "New workshop"]
    assert at.selectbox(key="ws_pick").value is None


def test_create_answer_and_find_it_again_in_a_fresh_session(page):
    """Guards the core promise: an answer is saved the moment it is given, without a save button."""
    at = page()
    wid = create_proximity(at)
    assert at.header[0].value == "Acme proximity"
    at.segmented_control(key=key(wid, "A.trust", "rating")).set_value("++").run()
    at.text_area(key=key(wid, "A.trust", "text")).input("Deliveries always on time").run()
    at.text_input(key=key(wid, "A.trust", "note")).input("=1+1").run()
    assert not at.exception
    assert not at.error

    fresh = page(wid)
    assert not fresh.exception
    assert fresh.segmented_control(key=key(wid, "A.trust", "rating")).value == "++"
    assert fresh.text_area(key=key(wid, "A.trust", "text")).value == "Deliveries always on time"
    assert fresh.text_input(key=key(wid, "A.trust", "note")).value == "=1+1"


def test_views_results_history_and_print_render(page):
    at = page()
    wid = create_proximity(at)
    at.segmented_control(key=key(wid, "A.trust", "rating")).set_value("+").run()
    at.text_area(key=key(wid, "A.tone", "text")).input("<script>alert(1)</script> **loud**").run()
    for view in ("results", "history", "print"):
        at.segmented_control(key="ws_view").set_value(view).run()
        assert not at.exception, view
    # Print view: no input widgets for the answers, and the typed HTML shows as text.
    assert not [w for w in at.text_area if w.key and w.key.startswith(f"ws|{wid}|")]
    cells = [str(v) for t in at.table for v in t.value.to_numpy().ravel()]
    assert any(c.startswith("\\<script\\>alert") for c in cells)
    assert not any("<script>" in c for c in cells)


def test_level_switch_and_decision_check(page):
    at = page()
    wid = create_proximity(at)
    at.segmented_control(key=f"ws_section|{wid}").set_value("check").run()
    for level in "ABCD":
        at.segmented_control(key=key(wid, f"check.{level}", "rating")).set_value("yes").run()
    assert any("weigh all four levels" in s.value for s in at.success)


def test_a_second_facilitator_sees_a_concurrent_change(page):
    """Guards: the other facilitator's later change is shown, not silently overwritten by stale widgets."""
    first = page()
    wid = create_proximity(first)
    first.segmented_control(key=f"ws_section|{wid}").set_value("B").run()
    first.segmented_control(key=key(wid, "B.price", "rating")).set_value("+").run()
    second = page(wid)
    second.sidebar.text_input(key="ws_user").input("Ben").run()
    second.segmented_control(key=f"ws_section|{wid}").set_value("B").run()
    second.segmented_control(key=key(wid, "B.price", "rating")).set_value("--").run()
    first.run()
    assert any("Ben changed" in w.value for w in first.warning)
    assert first.segmented_control(key=key(wid, "B.price", "rating")).value == "--"


def test_unknown_worksheet_in_the_link_is_a_clear_message(page):
    at = page("not-a-worksheet")
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)


def test_saving_over_an_unseen_change_warns(page):
    """Guards: last writer wins, but the writer is told whose newer answer they replaced."""
    first = page()
    wid = create_proximity(first)
    second = page(wid)
    second.sidebar.text_input(key="ws_user").input("Ben").run()
    second.segmented_control(key=key(wid, "A.trust", "rating")).set_value("++").run()
    # The first session has not rerun since; its change replaces Ben's newer one.
    first.segmented_control(key=key(wid, "A.trust", "rating")).set_value("-").run()
    assert any("Ben had changed this answer" in w.value for w in first.warning)
    first.segmented_control(key="ws_view").set_value("history").run()
    assert not first.exception


@pytest.mark.parametrize("kind", ["orientation", "buying_centre", "moscow"])
def test_other_worksheets_fill_results_and_print(page, kind):
    at = page()
    at.radio(key="ws_new_kind").set_value(kind)
    next(b for b in at.button if b.label == "Create worksheet").click()
    at.run()
    wid = at.query_params["ws"][0] if isinstance(at.query_params["ws"], list) else at.query_params["ws"]
    if kind == "orientation":
        at.segmented_control(key=key(wid, "culture.values", "rating")).set_value("yes").run()
        assert at.metric[0].value == "20%"  # one of five statements
    if kind == "buying_centre":
        at.text_input(key=f"ws_new_person|{wid}").input("Head of purchasing")
        at.radio(key=f"ws_new_role|{wid}").set_value("buyer")
        next(b for b in at.button if b.label == "Add person").click()
        at.run()
        assert any("Head of purchasing" in m.value for m in at.markdown)
    if kind == "moscow":
        first_req = next(s for s in at.segmented_control if s.key and s.key.startswith(f"ws|{wid}|req."))
        first_req.set_value("must").run()
    for view in ("results", "history", "print", "fill"):
        at.segmented_control(key="ws_view").set_value(view).run()
        assert not at.exception, (kind, view)
        assert not at.error, (kind, view)


def make_workshop(at, name: str) -> None:
    at.text_input(key="ws_new_wshop_name").input(name)
    at.text_input(key="ws_new_wshop_facilitator").input("Ann")
    next(b for b in at.button if b.label == "Create workshop").click()
    at.run()
    assert not at.exception and not at.error


def create_in_workshop(at, kind: str, workshop: str) -> str:
    at.radio(key="ws_new_kind").set_value(kind)
    at.selectbox(key="ws_new_workshop").set_value(workshop)
    next(b for b in at.button if b.label == "Create worksheet").click()
    at.run()
    return at.query_params["ws"][0] if isinstance(at.query_params["ws"], list) else at.query_params["ws"]


def test_workshops_are_created_and_filter_the_list(page):
    at = page()
    make_workshop(at, "North")
    assert at.selectbox(key="ws_workshop").value == "North"
    assert any("facilitator Ann" in c.value for c in at.caption)
    create_in_workshop(at, "orientation", "North")
    assert list(at.dataframe[0].value.iloc[:, 3]) == ["North"]


def test_a_link_to_a_worksheet_of_another_workshop_says_so(page):
    at = page()
    make_workshop(at, "North")
    make_workshop(at, "South")
    north = create_in_workshop(at, "orientation", "North")
    create_in_workshop(at, "proximity", "South")
    at.selectbox(key="ws_workshop").set_value("South").run()
    at.query_params["ws"] = north
    at.run()
    assert not at.exception
    assert any("belongs to workshop “North”" in w.value for w in at.warning)
    assert at.header[0].value.startswith("Customer orientation check")
