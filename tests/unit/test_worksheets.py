"""Worksheets: templates, saving, append-only history, concurrent edits, scoring, export, demo examples."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import threading

import openpyxl
import pandas as pd
import pytest

from analytics import store
from analytics import worksheets as ws
from analytics.export import to_csv_bytes
from tests.conftest import ROOT


def _history_rows(con, wid):
    return con.execute("SELECT * FROM worksheet_history WHERE worksheet_id = ? ORDER BY history_id", [wid]).fetchall()


# --- templates ------------------------------------------------------------------------------------


def test_templates_are_the_four_worksheets():
    assert ws.templates() == ["buying_centre", "moscow", "orientation", "proximity"]


@pytest.mark.parametrize("name", ["buying_centre", "moscow", "orientation", "proximity"])
def test_template_item_ids_are_unique_and_kinds_known(name):
    spec = ws.template(name)
    ids = [item["id"] for section in spec["sections"] for item in section["items"]]
    assert len(ids) == len(set(ids))
    assert {item["kind"] for s in spec["sections"] for item in s["items"]} <= {"rated", "check", "text"}
    assert isinstance(spec["version"], int)


def test_proximity_template_has_four_levels_the_scale_three_steps_and_a_decision_check():
    spec = ws.template("proximity")
    sections = {s["id"]: s for s in spec["sections"]}
    assert list(sections) == ["A", "B", "C", "D", "check"]
    assert spec["scale"] == ["--", "-", "+", "++"]
    assert len(spec["steps"]) == 3
    for level in "ABCD":
        assert len(sections[level]["items"]) >= 5
        assert f"check.{level}" in {i["id"] for i in sections["check"]["items"]}


def test_orientation_template_has_three_areas_with_measures():
    spec = ws.template("orientation")
    assert [s["id"] for s in spec["sections"]] == ["culture", "future", "team"]
    for section in spec["sections"]:
        kinds = [i["kind"] for i in section["items"]]
        assert kinds.count("text") == 1 and kinds.count("check") >= 5


def test_buying_centre_roles_say_what_they_care_about_and_how_to_address_them():
    roles = ws.template("buying_centre")["roles"]
    assert [r["id"] for r in roles] == ["user", "buyer", "influencer", "decision_maker", "gatekeeper"]
    assert all(r["cares"] and r["approach"] for r in roles)


def test_unknown_template_is_refused(mem_con):
    with pytest.raises(ws.WorksheetError):
        ws.create(mem_con, "../secrets", title="x")


# --- saving and history ---------------------------------------------------------------------------


def test_answer_round_trip(mem_con):
    wid = ws.create(mem_con, "proximity", title="Acme", account="C1", workshop="Spring")
    ws.answer(mem_con, wid, "A.trust", rating="++", text="They rely on us.", by="Ann")
    ws.answer(mem_con, wid, "A.trust", note="check again in May", by="Ann")
    ws.answer(mem_con, wid, "check.A", checked=True, by="Ben")
    frame = ws.load(mem_con, wid).set_index("item_id")
    assert frame.loc["A.trust", "rating"] == "++"
    assert frame.loc["A.trust", "answer"] == "They rely on us."
    assert frame.loc["A.trust", "note"] == "check again in May"
    assert frame.loc["A.trust", "value"] == 2
    assert frame.loc["A.trust", "updated_by"] == "Ann"
    assert bool(frame.loc["check.A", "checked"]) is True
    assert pd.isna(frame.loc["A.tone", "rating"])
    sheet = ws.get(mem_con, wid)
    assert (sheet["account"], sheet["workshop"], sheet["kind"]) == ("C1", "Spring", "proximity")


def test_answers_survive_reopening_in_a_new_process(empty_db):
    con = store.connect(empty_db)
    wid = ws.create(con, "orientation", title="Check", account="C7")
    ws.answer(con, wid, "culture.values", checked=True, by="Ann")
    ws.answer(con, wid, "team.measures", text="Clean the database", by="Ann")
    con.close()
    script = (
        "import json, sys; from analytics import store, worksheets as ws; "
        f"con = store.connect({str(empty_db)!r}); f = ws.load(con, {wid!r}).set_index('item_id'); "
        "print(json.dumps([bool(f.loc['culture.values', 'checked']), f.loc['team.measures', 'answer']]))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, "Clean the database"]


def test_history_only_grows_and_keeps_every_value(mem_con):
    wid = ws.create(mem_con, "proximity", title="Acme")
    ws.answer(mem_con, wid, "B.price", rating="-", by="Ann")
    before = _history_rows(mem_con, wid)
    ws.answer(mem_con, wid, "B.price", rating="+", by="Ben")
    ws.answer(mem_con, wid, "B.price", rating="+", by="Ben")  # unchanged: no new row
    ws.answer(mem_con, wid, "B.price", text="They compare every year", by="Ann")
    after = _history_rows(mem_con, wid)
    assert after[: len(before)] == before
    assert len(after) == len(before) + 2
    hist = ws.history(mem_con, wid)
    changes = hist[hist["item_id"] == "B.price"]
    assert list(changes["rating"]) == ["-", "+", "+"]
    assert list(changes["changed_by"]) == ["Ann", "Ben", "Ann"]
    assert changes["previous_rating"].iloc[1] == "-"
    assert hist["item_id"].iloc[0] == "_created"


def test_undo_puts_back_the_previous_value_as_a_new_change(mem_con):
    wid = ws.create(mem_con, "proximity", title="Acme")
    ws.answer(mem_con, wid, "C.logistics", rating="-", by="Ann")
    ws.answer(mem_con, wid, "C.logistics", rating="++", by="Ann")
    rows = len(_history_rows(mem_con, wid))
    assert ws.undo(mem_con, wid, by="Ann") == "C.logistics"
    assert ws.load(mem_con, wid).set_index("item_id").loc["C.logistics", "rating"] == "-"
    assert len(_history_rows(mem_con, wid)) == rows + 1
    # Undoing the very first answer of an item clears it.
    ws.answer(mem_con, wid, "C.channels", text="portal", by="Ann")
    ws.undo(mem_con, wid)
    assert pd.isna(ws.load(mem_con, wid).set_index("item_id").loc["C.channels", "answer"])


def test_undo_with_nothing_to_undo(mem_con):
    wid = ws.create(mem_con, "orientation", title="Empty")
    assert ws.undo(mem_con, wid) is None


def test_concurrent_edit_is_detected_and_last_writer_wins(mem_con):
    wid = ws.create(mem_con, "proximity", title="Acme")
    ws.answer(mem_con, wid, "A.trust", rating="+", by="Ann")
    seen_by_ben = ws.load(mem_con, wid).set_index("item_id").loc["A.trust", "updated_at"]
    # Ann changes the answer again after Ben loaded the worksheet ...
    ann = ws.save(mem_con, wid, "A.trust", rating="++", by="Ann", seen_at=seen_by_ben)
    assert ann.changed and not ann.conflict
    # ... so Ben's change overwrites a version he never saw: saved, but flagged.
    ben = ws.save(mem_con, wid, "A.trust", rating="-", by="Ben", seen_at=seen_by_ben)
    assert ben.conflict and ben.overwritten_by == "Ann" and ben.overwritten_at == ann.updated_at
    assert ws.load(mem_con, wid).set_index("item_id").loc["A.trust", "rating"] == "-"
    ratings = ws.history(mem_con, wid).query("item_id == 'A.trust'")["rating"].tolist()
    assert ratings == ["+", "++", "-"]
    # Ben now knows the latest state: his next save is no conflict.
    again = ws.save(mem_con, wid, "A.trust", rating="--", by="Ben", seen_at=ben.updated_at)
    assert not again.conflict


def test_an_answer_added_by_someone_else_after_loading_is_a_conflict(mem_con):
    wid = ws.create(mem_con, "proximity", title="Acme")
    ws.answer(mem_con, wid, "D.quality", rating="+", by="Ann")
    result = ws.save(mem_con, wid, "D.quality", rating="++", by="Ben", seen_at=ws.NEVER)
    assert result.conflict


def test_changed_since_lists_items_newer_than_seen(mem_con):
    wid = ws.create(mem_con, "proximity", title="Acme")
    ws.answer(mem_con, wid, "A.trust", rating="+", by="Ann")
    seen = {row.item_id: row.updated_at for row in ws.load(mem_con, wid).itertuples() if row.updated_at is not None}
    assert ws.changed_since(mem_con, wid, seen).empty
    ws.answer(mem_con, wid, "A.tone", rating="-", by="Ben")
    changed = ws.changed_since(mem_con, wid, seen)
    assert list(changed["item_id"]) == ["A.tone"] and list(changed["updated_by"]) == ["Ben"]


def test_two_threads_answering_at_once_lose_nothing(empty_db):
    con = store.connect(empty_db)
    wid = ws.create(con, "proximity", title="Busy")
    items = [i["id"] for i in ws._static_items("proximity") if i["kind"] == "rated"]
    errors = []

    def facilitator(name, steps):
        try:
            for item, rating in steps:
                ws.answer(con, wid, item, rating=rating, by=name)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = [(item, "+") for item in items[:12]] + [("A.trust", "+")]
    second = [(item, "-") for item in items[12:]] + [("A.trust", "-")]
    threads = [threading.Thread(target=facilitator, args=(n, s)) for n, s in (("Ann", first), ("Ben", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    frame = ws.load(con, wid).set_index("item_id")
    assert frame.loc[items[1:12], "rating"].eq("+").all()
    assert frame.loc[items[12:], "rating"].eq("-").all()
    assert frame.loc["A.trust", "rating"] in {"+", "-"}
    # Every change is in the history: each item at least once, and both writers of the shared item.
    history = ws.history(con, wid)
    assert set(history["item_id"]) - {"_created"} == set(items)
    assert set(history.loc[history["item_id"] == "A.trust", "changed_by"]) == {"Ann", "Ben"}
    con.close()


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "kwargs"),
    [
        ("A.nonsense", {"rating": "+"}),
        ("A.trust", {"rating": "+++"}),
        ("A.trust", {"checked": True}),
        ("check.A", {"rating": "++"}),
        ("check.A", {"text": "free text on a tick"}),
        ("A.trust", {"text": "x" * 100_000}),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(mem_con, item, kwargs):
    wid = ws.create(mem_con, "proximity", title="Acme")
    rows = len(_history_rows(mem_con, wid))
    with pytest.raises(ws.WorksheetError):
        ws.answer(mem_con, wid, item, **kwargs)
    assert len(_history_rows(mem_con, wid)) == rows
    assert mem_con.execute("SELECT count(*) FROM worksheet_answers").fetchone()[0] == 0


def test_unknown_worksheet_is_a_clear_error(mem_con):
    with pytest.raises(ws.WorksheetError, match="no worksheet"):
        ws.answer(mem_con, "does-not-exist", "A.trust", rating="+")


def test_html_in_answers_is_stored_as_typed_and_escaped_for_display(mem_con):
    wid = ws.create(mem_con, "proximity", title="<b>Acme</b>")
    evil = "<script>alert('x')</script> **bold** :red[x] $x$"
    ws.answer(mem_con, wid, "A.special", text=evil)
    assert ws.load(mem_con, wid).set_index("item_id").loc["A.special", "answer"] == evil
    shown = ws.escape_markdown(evil)
    assert "<" not in shown.replace("\\<", "")
    assert "**" not in shown and ":red[" not in shown and "$x$" not in shown


def test_answers_to_questions_a_newer_template_dropped_are_still_loaded(mem_con):
    wid = ws.create(mem_con, "proximity", title="Old")
    mem_con.execute(
        "INSERT INTO worksheet_answers VALUES (?, 'A.old_question', 'an old answer', '+', NULL, now()::TIMESTAMP, 'Ann')",
        [wid],
    )
    frame = ws.load(mem_con, wid).set_index("item_id")
    assert frame.loc["A.old_question", "section"] == "retired"
    assert frame.loc["A.old_question", "answer"] == "an old answer"
    assert ws.level_profile(frame.reset_index())["rated"].sum() == 0  # retired answers do not score


# --- scoring (hand-worked) -------------------------------------------------------------------------


def _rated(con, ratings):
    wid = ws.create(con, "proximity", title="Scored")
    for item, rating in ratings.items():
        ws.answer(con, wid, item, rating=rating)
    return ws.load(con, wid)


def test_level_profile_means_and_counts(mem_con):
    frame = _rated(
        mem_con,
        {"A.trust": "++", "A.tone": "+", "B.turnover": "+", "B.price": "-", "B.image": "++", "C.logistics": "--"},
    )
    profile = ws.level_profile(frame).set_index("level")
    # A: (2 + 1) / 2 = 1.5; B: (1 - 1 + 2) / 3 = 2/3; C: -2 / 1; D: nothing rated.
    assert profile.loc["A", "score"] == pytest.approx(1.5)
    assert profile.loc["B", "score"] == pytest.approx(2 / 3)
    assert profile.loc["C", "score"] == pytest.approx(-2)
    assert pd.isna(profile.loc["D", "score"])
    assert profile.loc["B", ["strengths", "weaknesses", "rated", "questions"]].tolist() == [2, 1, 3, 7]
    assert profile.loc["C", "--"] == 1
    assert ws.relationship(profile.reset_index())["placement"] == "unknown"
    sides = ws.strengths_weaknesses(frame)
    assert sides.loc[sides["side"] == "strength", "item_id"].tolist()[:2] == ["A.trust", "B.image"]
    assert set(sides.loc[sides["side"] == "weakness", "item_id"]) == {"B.price", "C.logistics"}


def _profile(a, b, c, d):
    return pd.DataFrame({"level": list("ABCD"), "score": [a, b, c, d]})


def test_relationship_happily_connected():
    # A 1.5, B 2/3, C -2, D 5/3 (++, ++, +).
    rel = ws.relationship(_profile(1.5, 2 / 3, -2, 5 / 3))
    voluntary = (1.5 + 2 / 3) / 2  # 1.0833
    assert rel["voluntary"] == pytest.approx(voluntary)
    assert rel["power"] == pytest.approx(5 / 3)
    assert rel["economic_value"] == pytest.approx((2 / 3 - 2) / 2)  # -0.6667
    assert rel["stability"] == pytest.approx((1.5 + 5 / 3) / 2)  # 1.5833
    assert rel["lean"] == pytest.approx((5 / 3 - voluntary) / 4)  # 0.1458
    assert rel["placement"] == "happily_connected"  # voluntary >= 1, power only 0.58 above


def test_relationship_committed_when_power_dominates():
    rel = ws.relationship(_profile(-1, 1, 0, 2))  # voluntary 0, power 2: a full step and more above
    assert rel["lean"] == pytest.approx(0.5)
    assert rel["placement"] == "committed"


def test_relationship_loosely_connected_when_nothing_holds():
    rel = ws.relationship(_profile(1, -1, 1, -1))  # voluntary 0, power -1
    assert rel["lean"] == pytest.approx(-0.25)
    assert rel["placement"] == "loosely_connected"


def test_decision_check_names_the_levels_not_weighed(mem_con):
    wid = ws.create(mem_con, "proximity", title="Check")
    for level in "ABD":
        ws.answer(mem_con, wid, f"check.{level}", checked=True)
    ws.answer(mem_con, wid, "check.C", checked=False)
    verdict = ws.decision_check(ws.load(mem_con, wid))
    assert verdict["missing"] == ["C"] and not verdict["all"]
    ws.answer(mem_con, wid, "check.C", checked=True)
    assert ws.decision_check(ws.load(mem_con, wid))["all"]


def test_orientation_score_per_area(mem_con):
    wid = ws.create(mem_con, "orientation", title="Check")
    for item in ("culture.matter", "culture.values", "culture.management"):
        ws.answer(mem_con, wid, item, checked=True)
    ws.answer(mem_con, wid, "culture.own_example", checked=False)
    for item in [i["id"] for i in ws._static_items("orientation") if i["section"] == "team" and i["kind"] == "check"]:
        ws.answer(mem_con, wid, item, checked=True)
    ws.answer(mem_con, wid, "future.measures", text="Training in May")
    scores = ws.orientation_scores(ws.load(mem_con, wid)).set_index("area")
    assert scores.loc["culture", ["ticked", "statements"]].tolist() == [3, 5]
    assert scores.loc["culture", "score"] == pytest.approx(0.6)
    assert scores.loc["future", "score"] == 0 and scores.loc["future", "measures"] == "Training in May"
    assert scores.loc["team", "score"] == 1


def test_profile_over_time_replays_the_history(mem_con):
    wid = ws.create(mem_con, "proximity", title="Trend")
    day1, day2 = dt.datetime(2026, 3, 1, 10), dt.datetime(2026, 4, 1, 10)
    ws._write(mem_con, wid, "A.trust", {"rating": "-"}, by="Ann", at=day1)
    ws._write(mem_con, wid, "A.tone", {"rating": "+"}, by="Ann", at=day1 + dt.timedelta(minutes=1))
    ws._write(mem_con, wid, "A.trust", {"rating": "++"}, by="Ann", at=day2)
    trend = ws.profile_over_time(ws.history(mem_con, wid), ws.load(mem_con, wid))
    a = trend[trend["level"] == "A"].set_index("date")["score"]
    assert a[dt.date(2026, 3, 1)] == pytest.approx(0.0)  # (-1 + 1) / 2
    assert a[dt.date(2026, 4, 1)] == pytest.approx(1.5)  # (2 + 1) / 2


def test_compare_proximity_one_row_per_worksheet(mem_con):
    first = ws.create(mem_con, "proximity", title="One", account="C1")
    second = ws.create(mem_con, "proximity", title="Two", account="C2")
    ws.answer(mem_con, first, "A.trust", rating="++")
    ws.answer(mem_con, second, "A.trust", rating="--")
    table = ws.compare_proximity(mem_con).set_index("account")
    assert table.loc["C1", "A"] == 2 and table.loc["C2", "A"] == -2


# --- buying centre and MoSCoW ---------------------------------------------------------------------


def test_buying_centre_people_and_missing_roles(mem_con):
    wid = ws.create(mem_con, "buying_centre", title="BC", account="C1")
    pid = ws.add_person(mem_con, wid, name="Head of purchasing", role="buyer")
    ws.answer(mem_con, wid, f"person.{pid}.influence", rating="high")
    ws.answer(mem_con, wid, f"person.{pid}.attitude", rating="sceptical")
    with pytest.raises(ws.WorksheetError):
        ws.answer(mem_con, wid, f"person.{pid}.attitude", rating="furious")
    people = ws.buying_centre(ws.load(mem_con, wid))
    row = people.iloc[0]
    assert (row["name"], row["role"], row["influence_value"], row["attitude_value"]) == (
        "Head of purchasing",
        "buyer",
        3,
        -1,
    )
    assert row["approach"]
    assert ws.missing_roles(people) == ["user", "influencer", "decision_maker", "gatekeeper"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", "must"),
        ("Must have", "must"),
        ("should", "should"),
        ("c", "could"),
        ("Won't", "won't"),
        ("wont", "won't"),
        ("x", None),
    ],
)
def test_normalise_moscow(raw, expected):
    assert ws.normalise_moscow(raw) == expected


def test_moscow_sorting_writes_through_to_the_requirements_catalogue(mem_con):
    mem_con.execute(
        "INSERT INTO requirements (requirement_id, title, moscow) VALUES ('R1', 'Login', 'Must'), ('R2', 'Export', NULL)"
    )
    wid = ws.create(mem_con, "moscow", title="Sort")
    ws.answer(mem_con, wid, "req.R2", rating="could", by="Ann")
    assert mem_con.execute("SELECT moscow FROM requirements WHERE requirement_id = 'R2'").fetchone()[0] == "could"
    frame = ws.load(mem_con, wid).set_index("item_id")
    assert frame.loc["req.R1", "rating"] == "must"  # read from the catalogue
    assert frame.loc["req.R2", "rating"] == "could"
    counts = ws.moscow_counts(frame.reset_index()).set_index("moscow")["requirements"]
    assert (counts["must"], counts["could"], counts["unsorted"]) == (1, 1, 0)
    with pytest.raises(ws.WorksheetError):
        ws.answer(mem_con, wid, "req.R404", rating="must")
    rid = ws.add_requirement(mem_con, "Dark mode", by="Ann")
    assert f"req.{rid}" in set(ws.load(mem_con, wid)["item_id"])


# --- workshops and lists ----------------------------------------------------------------------------


def test_workshops_and_worksheet_list_with_progress(mem_con):
    ws.create_workshop(mem_con, "Spring review", date=dt.date(2026, 4, 2), facilitator="Ann", account="C1")
    with pytest.raises(ws.WorksheetError):
        ws.create_workshop(mem_con, "Spring review")
    wid = ws.create(mem_con, "orientation", title="Check", account="C1", workshop="Spring review")
    ws.answer(mem_con, wid, "culture.values", checked=True)
    ws.answer(mem_con, wid, "team.measures", text="Plan")
    shops = ws.workshops(mem_con).set_index("name")
    assert shops.loc["Spring review", "date"] == "2026-04-02"
    assert shops.loc["Spring review", "facilitator"] == "Ann"
    assert shops.loc["Spring review", "worksheets"] == 1
    listed = ws.worksheets(mem_con, workshop="Spring review")
    assert listed["worksheet_id"].tolist() == [wid]  # the workshop record itself is not a worksheet
    assert listed["filled"].iloc[0] == 2 and listed["items"].iloc[0] == 21
    assert listed["progress"].iloc[0] == pytest.approx(2 / 21)


# --- export -----------------------------------------------------------------------------------------


def test_export_neutralises_formulas(mem_con):
    wid = ws.create(mem_con, "proximity", title="=HYPERLINK(1)")
    ws.answer(mem_con, wid, "A.trust", rating="+", note="=1+1", text="@SUM(A1)")
    table = ws.export_frame(ws.load(mem_con, wid))
    csv_text = to_csv_bytes(table).decode("utf-8-sig")
    assert "'=1+1" in csv_text and "'@SUM(A1)" in csv_text
    book = openpyxl.load_workbook(io.BytesIO(ws.workbook_bytes(mem_con, [wid])))
    values = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert "'=1+1" in values and "=1+1" not in values
    assert book.sheetnames == ["HYPERLINK(1)"]


def test_workbook_has_one_sheet_per_worksheet(mem_con):
    ids = [ws.create(mem_con, "orientation", title="Same"), ws.create(mem_con, "proximity", title="Same")]
    book = openpyxl.load_workbook(io.BytesIO(ws.workbook_bytes(mem_con, ids)))
    assert len(book.sheetnames) == 2 and len(set(book.sheetnames)) == 2


# --- demo examples ----------------------------------------------------------------------------------


def test_demo_examples_are_filled_in_and_idempotent(mem_con):
    mem_con.execute(
        "INSERT INTO customers (customer_id, customer_type) VALUES ('C2', 'B2C'), ('C1', 'B2B'), ('C3', 'B2B')"
    )
    ids = ws.create_demo_examples(mem_con)
    counts = [
        mem_con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("worksheets", "worksheet_answers", "worksheet_history")
    ]
    assert ws.create_demo_examples(mem_con) == ids
    again = [
        mem_con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("worksheets", "worksheet_answers", "worksheet_history")
    ]
    assert counts == again and counts[0] == 2
    proximity = ws.load(mem_con, ids[0])
    assert ws.get(mem_con, ids[0])["account"] == "C1" and ws.get(mem_con, ids[1])["account"] == "C3"
    assert ws.relationship(ws.level_profile(proximity))["placement"] != "unknown"
    assert ws.profile_over_time(ws.history(mem_con, ids[0]), proximity)["date"].nunique() == 2
    assert ws.orientation_scores(ws.load(mem_con, ids[1]))["ticked"].sum() > 0


# --- charts -----------------------------------------------------------------------------------------


def test_charts_draw_the_plain_data_and_escape_typed_names(mem_con):
    from analytics.charts import worksheets as charts

    frame = _rated(mem_con, {"A.trust": "++", "B.price": "-", "D.quality": "+"})
    profile = ws.level_profile(frame)
    radar = charts.proximity_radar({"<i>Acme</i>": profile}, level_names={})
    assert list(radar.data[0].r) == [2.0, -1.0, None, 1.0, 2.0]  # closed line, C unrated
    assert radar.data[0].name == "&lt;i&gt;Acme&lt;/i&gt;"
    # The scale (−− .. ++) is legible and runs between two levels, not along B's spoke next to its name.
    radial = radar.layout.polar.radialaxis
    assert radial.tickfont.size >= 11 and list(radial.ticktext) == ["\u2212\u2212", "\u2212", "0", "+", "++"]
    levels = len(profile)
    spokes = [(radar.layout.polar.angularaxis.rotation - k * 360 / levels) % 360 for k in range(levels)]
    assert radial.angle is not None and radial.tickangle == radial.angle  # labels upright, not along the line
    assert min(min(abs(radial.angle - s) % 360, 360 - abs(radial.angle - s) % 360) for s in spokes) >= 30
    rel = ws.relationship(profile)
    positions = pd.DataFrame([{"name": "<b>x</b>", **rel}])
    assert charts.relationship_map(positions, quadrant_labels={}).data[0].text[0] == "&lt;b&gt;x&lt;/b&gt;"
    assert charts.connection_scale(positions).data[0].x[0] == pytest.approx(rel["lean"])
    people = pd.DataFrame([{"name": "<a href='x'>y</a>", "role": "buyer", "influence_value": 3, "attitude_value": -1}])
    fig = charts.buying_centre_map(people, role_names={"buyer": "Buyer"})
    assert "<a" not in fig.data[0].text[0] and (fig.data[0].x[0], fig.data[0].y[0]) == (-1, 3)
    scores = ws.orientation_scores(ws.load(mem_con, ws.create(mem_con, "orientation", title="o")))
    assert list(charts.orientation_bars(scores).data[0].x) == [0, 0, 0]
