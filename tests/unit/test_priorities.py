"""Requirements catalogue: storage with history, MoSCoW board, weighted scores, suggested order (hand-worked values)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analytics import priorities
from analytics.charts import priorities as priority_charts
from analytics.priorities import Criterion, RequirementError

# --- values -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("Must have", "must"),
        ("M", "must"),
        ("should", "should"),
        ("Could Have", "could"),
        ("wont", "won't"),
        ("Won\u2019t", "won't"),
        ("Soll", "should"),
    ],
)
def test_moscow_classes_are_normalised(typed, stored):
    assert priorities.normalise_moscow(typed) == stored


def test_unknown_moscow_class_is_refused():
    with pytest.raises(RequirementError) as info:
        priorities.normalise_moscow("maybe")
    assert info.value.field == "moscow"


@pytest.mark.parametrize(
    "values, field",
    [
        ({"urgency": 7}, "urgency"),
        ({"risk": 0}, "risk"),
        ({"effort": -1}, "effort"),
        ({"effort": "a lot"}, "effort"),
        ({"type": "technical"}, "type"),
        ({"status": "someday"}, "status"),
        ({"source": "rumour"}, "source"),
        ({"title": "  "}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_name_their_field(values, field):
    with pytest.raises(RequirementError) as info:
        priorities.clean_values(values)
    assert info.value.field == field


def test_values_are_cleaned():
    clean = priorities.clean_values(
        {"title": "  Chat ", "effort": "2,5", "type": "Functional", "moscow": "S", "owner": ""}
    )
    assert clean == {"title": "Chat", "effort": 2.5, "type": "functional", "moscow": "should", "owner": None}


def test_next_id():
    assert priorities.next_id([]) == "REQ-001"
    assert priorities.next_id(["REQ-007", "REQ-012", "misc"]) == "REQ-013"
    assert priorities.next_id(["R9"]) == "R10"


# --- catalogue and history ------------------------------------------------------------------------------


def test_add_update_delete_keep_a_history(mem_con):
    first = priorities.add_requirement(
        mem_con, {"title": "Live chat", "moscow": "Must have", "effort": 5, "urgency": 4}
    )
    second = priorities.add_requirement(mem_con, {"title": "Video demos", "moscow": "could"})
    assert (first, second) == ("REQ-001", "REQ-002")
    assert priorities.update_requirement(mem_con, first, {"status": "accepted", "effort": 8}) is True
    assert priorities.update_requirement(mem_con, first, {"effort": 8.0}) is False  # nothing changed
    assert priorities.delete_requirement(mem_con, second) is True
    catalogue = priorities.catalogue(mem_con.cursor())
    assert catalogue["requirement_id"].tolist() == ["REQ-001"]
    row = catalogue.iloc[0]
    assert (row["moscow"], row["status"], row["effort"], row["urgency"]) == ("must", "accepted", 8.0, 4.0)
    assert row["updated_at"] is not None
    history = priorities.history(mem_con.cursor())
    update = history[(history["action"] == "update") & (history["field"] == "effort")].iloc[0]
    assert (update["requirement_id"], update["old"], update["new"]) == ("REQ-001", "5", "8")
    assert set(history["action"]) == {"add", "update", "delete"}
    deleted = history[history["action"] == "delete"]
    assert set(deleted["field"]) == {"title", "moscow"}  # the last values are kept
    assert len(priorities.history(mem_con.cursor(), "REQ-002")) == 2 + 2  # add: title, moscow; delete: title, moscow


def test_bad_value_stores_nothing(mem_con):
    with pytest.raises(RequirementError):
        priorities.add_requirement(mem_con, {"title": "Chat", "urgency": 9})
    assert priorities.catalogue(mem_con.cursor()).empty
    assert priorities.history(mem_con.cursor()).empty


def test_taken_id_is_refused(mem_con):
    priorities.add_requirement(mem_con, {"requirement_id": "X-1", "title": "A"})
    with pytest.raises(RequirementError):
        priorities.add_requirement(mem_con, {"requirement_id": "X-1", "title": "B"})


def test_editor_edits_are_saved_together(mem_con):
    for title in ("A", "B", "C"):
        priorities.add_requirement(mem_con, {"title": title})
    source = priorities.catalogue(mem_con.cursor())
    result = priorities.apply_edits(
        mem_con,
        source,
        edited_rows={0: {"status": "done"}, "2": {"moscow": "could"}},
        added_rows=[{"title": "D", "effort": 3}, {}],
        deleted_rows=[1],
    )
    assert result == priorities.EditResult(added=("REQ-004",), updated=("REQ-001", "REQ-003"), deleted=("REQ-002",))
    catalogue = priorities.catalogue(mem_con.cursor()).set_index("requirement_id")
    assert list(catalogue.index) == ["REQ-001", "REQ-003", "REQ-004"]
    assert catalogue.loc["REQ-001", "status"] == "done" and catalogue.loc["REQ-003", "moscow"] == "could"


def test_editor_save_is_all_or_nothing(mem_con):
    priorities.add_requirement(mem_con, {"title": "A"})
    source = priorities.catalogue(mem_con.cursor())
    with pytest.raises(RequirementError):
        priorities.apply_edits(
            mem_con, source, edited_rows={0: {"status": "done"}}, added_rows=[{"title": "B", "risk": 6}]
        )
    catalogue = priorities.catalogue(mem_con.cursor())
    assert catalogue["requirement_id"].tolist() == ["REQ-001"] and catalogue.iloc[0]["status"] is None


# --- Kano link, board, scores, order ------------------------------------------------------------------------


def test_link_kano_matches_features_ignoring_case():
    requirements = pd.DataFrame(
        {"requirement_id": ["R1", "R2", "R3"], "kano_feature": [" live CHAT ", None, "Unknown"]}
    )
    summary = pd.DataFrame({"feature": ["Live chat"], "category": ["O"], "better": [0.6], "worse": [-0.4]})
    linked = priorities.link_kano(requirements, summary)
    assert linked["kano_category"].tolist() == ["O", None, None]
    assert linked.loc[0, "kano_better"] == 0.6 and math.isnan(linked.loc[1, "kano_worse"])
    assert "kano_category" not in requirements.columns  # input untouched


def board_input() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "moscow": ["must", "must", "should", "could", "won't", None, "must"],
            "effort": [30, 100, 15, 5, 50, 7, np.nan],
            "status": ["accepted", "rejected", "proposed", "proposed", "proposed", "proposed", "proposed"],
        }
    )


def test_moscow_board_effort_share():
    # Planned: must 30 (+ one unestimated must) + should 15 + could 5 = 50; the rejected must (100),
    # the won't (50) and the unclassified row (7) are not planned. Musts: 30 / 50 = 60 % <= 60 %.
    board, check = priorities.moscow_board(board_input())
    assert board.set_index("moscow")["effort"].to_dict() == {"must": 30.0, "should": 15.0, "could": 5.0, "won't": 50.0}
    assert board.set_index("moscow")["requirements"].to_dict() == {"must": 2, "should": 1, "could": 1, "won't": 1}
    assert check["total_effort"] == 50 and check["must_share"] == pytest.approx(0.6)
    assert check["within_limit"] is True and check["unestimated"] == 1
    assert board.set_index("moscow")["share_of_effort"].iloc[:3].tolist() == pytest.approx([0.6, 0.3, 0.1])
    assert math.isnan(board.set_index("moscow").loc["won't", "share_of_effort"])


def test_moscow_board_limit_and_wont_option():
    _, strict = priorities.moscow_board(board_input(), must_share_limit=0.5)
    assert strict["within_limit"] is False
    # Counting won't as planned: total 100, musts 30 / 100 = 30 %.
    _, wide = priorities.moscow_board(board_input(), include_wont=True)
    assert wide["must_share"] == pytest.approx(0.3)


def test_moscow_board_without_effort():
    board, check = priorities.moscow_board(pd.DataFrame({"moscow": ["must"], "effort": [None], "status": [None]}))
    assert math.isnan(check["must_share"]) and check["within_limit"] is True


def scoring_input() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "requirement_id": ["R1", "R2", "R3"],
            "title": ["one", "two", "three"],
            "importance": [5, 3, 1],
            "urgency": [3, 5, 1],
            "effort": [10, 20, 30],
            "risk": [1, 3, 5],
        }
    )


def test_weighted_scores_by_hand():
    # Scaled: importance 1, .5, 0; urgency .5, 1, 0; effort (cost) 1, .5, 0; risk (cost) 1, .5, 0.
    # R1 = .35*1 + .30*.5 + .20*1 + .15*1 = .85; R2 = .35*.5 + .30*1 + .20*.5 + .15*.5 = .65; R3 = 0.
    scored = priorities.weighted_scores(scoring_input())
    assert scored["score"].tolist() == pytest.approx([85.0, 65.0, 0.0])
    assert scored["score_effort"].tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_missing_values_neither_help_nor_hurt():
    # R4: no importance; urgency 5 -> 1, effort 10 -> 1, risk 1 -> 1: (.30 + .20 + .15) / .65 = 1 -> 100.
    frame = pd.concat(
        [
            scoring_input(),
            pd.DataFrame(
                [{"requirement_id": "R4", "title": "four", "importance": None, "urgency": 5, "effort": 10, "risk": 1}]
            ),
        ]
    )
    scored = priorities.weighted_scores(frame.reset_index(drop=True))
    assert scored["score"].tolist() == pytest.approx([85.0, 65.0, 0.0, 100.0])


def test_editable_criteria():
    # Effort alone, less is better: 10 -> 100, 20 -> 50, 30 -> 0.
    scored = priorities.weighted_scores(scoring_input(), [Criterion("effort", 1.0, "cost")])
    assert scored["score"].tolist() == pytest.approx([100.0, 50.0, 0.0])
    # Equal values score the middle: everyone 50.
    same = scoring_input().assign(urgency=3)
    assert priorities.weighted_scores(same, [Criterion("urgency", 2.0)])["score"].tolist() == [50.0, 50.0, 50.0]
    with pytest.raises(ValueError):
        priorities.weighted_scores(scoring_input(), [Criterion("effort", -1.0)])
    with pytest.raises(ValueError):
        priorities.weighted_scores(scoring_input(), [Criterion("colour", 1.0)])
    assert priorities.weighted_scores(scoring_input(), [Criterion("effort", 0.0)])["score"].isna().all()


def test_criteria_round_trip_and_storage(mem_con):
    criteria = (Criterion("risk", 0.5, "cost"), Criterion("importance", 1.5, "benefit"))
    assert priorities.criteria_from_json(priorities.criteria_to_json(criteria)) == criteria
    assert priorities.criteria_from_json("not json") == priorities.DEFAULT_CRITERIA
    assert priorities.load_criteria(mem_con) == priorities.DEFAULT_CRITERIA
    priorities.save_criteria(mem_con, criteria)
    assert priorities.load_criteria(mem_con) == criteria
    with pytest.raises(RequirementError):
        priorities.save_criteria(mem_con, [Criterion("colour", 1.0)])
    assert (
        json.loads(mem_con.execute("SELECT details FROM audit_log WHERE action = 'priorities.criteria'").fetchone()[0])[
            0
        ]["name"]
        == "risk"
    )


def test_must_limit_setting(mem_con):
    assert priorities.load_must_limit(mem_con) == 0.6
    priorities.save_must_limit(mem_con, 0.5)
    assert priorities.load_must_limit(mem_con) == 0.5
    with pytest.raises(RequirementError):
        priorities.save_must_limit(mem_con, 1.5)


def test_suggested_order_must_be_then_one_dimensional_then_attractive_then_score():
    frame = pd.DataFrame(
        {
            "requirement_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
            "kano_category": ["A", "M", "O", None, "M", "R", "I"],
            "score": [90, 10, 50, 99, 40, 100, 0],
        }
    )
    ordered = priorities.suggested_order(frame)
    assert ordered["requirement_id"].tolist() == ["R5", "R2", "R3", "R1", "R7", "R4", "R6"]
    assert ordered["rank"].tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_suggested_order_places_unclassified_by_moscow_and_wont_or_rejected_last():
    """Guards the review's finding: a won't (score 25) ranked above unclassified musts (93, 81)."""
    frame = pd.DataFrame(
        {
            "requirement_id": ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09", "R10", "R11"],
            "kano_category": ["A", "M", "O", None, None, "I", None, "M", "R", None, None],
            "moscow": ["could", "must", None, "must", "Must have", "won't", None, "should", None, "could", "should"],
            "status": ["proposed"] * 7 + ["rejected"] + ["proposed"] * 3,
            "score": [90, 10, 50, 93, 81, 25, 99, 70, 100, 60, 40],
        }
    )
    # Groups by hand: 1 must-be or must: R04 (93), R05 (81), R02 (10); 2 one-dimensional or should:
    # R03 (50), R11 (40); 3 attractive or could: R01 (90), R10 (60); 4 indifferent: none (R06 is a
    # won't); 5 unclassified: R07; 6 reverse: R09; 7 won't or rejected: R08 (70, rejected must-be),
    # R06 (25, won't).
    ordered = priorities.suggested_order(frame)
    assert ordered["requirement_id"].tolist() == [
        "R04", "R05", "R02", "R03", "R11", "R01", "R10", "R07", "R09", "R08", "R06"
    ]  # fmt: skip
    assert ordered["order_group"].tolist() == [1, 1, 1, 2, 2, 3, 3, 5, 6, 7, 7]
    assert priorities.ORDER_GROUPS[ordered["order_group"].iloc[-1] - 1] == "last"


@pytest.mark.parametrize(
    "kano_category, moscow, status, group",
    [
        ("M", "could", None, 1),  # the survey's category decides over the MoSCoW class
        (None, "must", "accepted", 1),
        (None, None, None, 5),
        ("Q", "must", None, 6),
        ("M", "wont", None, 7),
        (None, "must", "Rejected", 7),
    ],
)
def test_order_group(kano_category, moscow, status, group):
    assert priorities.order_group(kano_category, moscow, status) == group


def test_moscow_board_lists_every_requirement_of_a_class_beside_the_planned_ones():
    """Guards the board header: its figures must match the requirements listed under it."""
    board = priorities.moscow_board(board_input())[0].set_index("moscow")
    # must: 30 (accepted) + 100 (rejected) + unestimated = 3 listed, 130 person-days; planned 2, 30.
    assert board["listed"].to_dict() == {"must": 3, "should": 1, "could": 1, "won't": 1}
    assert board["listed_effort"].to_dict() == {"must": 130.0, "should": 15.0, "could": 5.0, "won't": 50.0}
    assert board.loc["must", "requirements"] == 2 and board.loc["must", "effort"] == 30.0


# --- chart twins ------------------------------------------------------------------------------------------------


def test_moscow_effort_data():
    board, check = priorities.moscow_board(board_input())
    data = priority_charts.moscow_effort_data(board)
    assert data["moscow"].tolist() == ["must", "should", "could"]  # won't is not planned
    assert data["share"].tolist() == pytest.approx([60.0, 30.0, 10.0])
    assert data["start"].tolist() == pytest.approx([0.0, 60.0, 90.0])
    fig = priority_charts.moscow_effort(board, check)
    assert fig.layout.shapes[0].x0 == pytest.approx(60.0)


def test_scores_data_top_first():
    scored = priorities.weighted_scores(scoring_input())
    data = priority_charts.scores_data(scored, top=2)
    assert data["requirement_id"].tolist() == ["R1", "R2"]
    assert data["label"].tolist() == ["R1 one", "R2 two"]
    assert data["score"].tolist() == pytest.approx([85.0, 65.0])


def test_scores_chart_labels_end_long_titles_in_an_ellipsis():
    title = "Customers can pause their subscription for up to three months"  # 62 characters
    scored = pd.DataFrame({"requirement_id": ["R1", "R2"], "title": [title, None], "score": [50.0, 40.0]})
    data = priority_charts.scores_data(scored)
    assert data["label"].tolist() == ["R1 Customers can pause their subscription…", "R2"]
    # The first 39 characters end in a space, which is dropped before the "…": 38 + 1 <= 40.
    assert len(data["label"].iloc[0]) == len("R1 ") + 39


def test_scores_chart_title_says_when_it_shows_only_the_top():
    """Guards the review's finding: 20 of 25 requirements drawn without a word about the other 5."""
    scored = pd.DataFrame(
        {
            "requirement_id": [f"R{i:02d}" for i in range(25)],
            "title": ["t"] * 25,
            "score": [float(i) for i in range(25)],
        }
    )
    fig = priority_charts.scores(scored, top=20)
    assert len(fig.data[0].x) == 20
    assert "(top 20 of 25)" in fig.layout.title.text
    assert priority_charts.scores_data(scored).attrs["total"] == 25
    everything = priority_charts.scores(scored.head(3), top=20)
    assert "top" not in everything.layout.title.text


def test_scores_chart_has_one_trace_per_kano_category_including_none():
    scored = pd.DataFrame(
        {
            "requirement_id": ["a", "b", "c"],
            "title": ["x", "y", "z"],
            "score": [50.0, 40.0, 30.0],
            "kano_category": ["M", None, "M"],
        }
    )
    fig = priority_charts.scores(scored)
    assert [(t.name, list(t.x)) for t in fig.data] == [("Must-be", [50.0, 30.0]), ("No Kano category", [40.0])]
    assert list(fig.layout.yaxis.categoryarray) == ["a x", "b y", "c z"]  # highest score on top
