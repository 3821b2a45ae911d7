"""Kano evaluation: every number against a value worked out by hand (the working is in the comments)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import kano
from analytics.charts import kano as kano_charts
from tests.conftest import FIXTURES

# --- evaluation tables, cell by cell ----------------------------------------------------------------

# The table: rows functional like..dislike, columns dysfunctional like..dislike.
STANDARD = [
    "Q A A A O",
    "R I I I M",
    "R I I I M",
    "R I I I M",
    "R R R R Q",
]
POULIOT = [
    "Q A A A O",
    "R Q I I M",
    "R I I I M",
    "R I I Q M",
    "R R R R Q",
]


@pytest.mark.parametrize("table, grid", [("standard", STANDARD), ("pouliot", POULIOT)])
@pytest.mark.parametrize("functional", range(1, 6))
@pytest.mark.parametrize("dysfunctional", range(1, 6))
def test_evaluation_table_cell_by_cell(table, grid, functional, dysfunctional):
    expected = grid[functional - 1].split()[dysfunctional - 1]
    assert kano.classify(functional, dysfunctional, table=table) == expected
    assert kano.evaluation_table(table=table).iloc[functional - 1, dysfunctional - 1] == expected


def test_pouliot_differs_from_standard_only_on_expect_and_tolerate_twice():
    diff = kano.evaluation_table(table="standard") != kano.evaluation_table(table="pouliot")
    assert [(r, c) for r in diff.index for c in diff.columns if diff.loc[r, c]] == [
        ("expect", "expect"),
        ("tolerate", "tolerate"),
    ]
    assert kano.classify(3, 3, table="pouliot") == "I"


def test_default_table_is_standard():
    assert kano.classify(2, 2) == "I"


@pytest.mark.parametrize("bad", [0, 6, -1, 2.5, "7", "maybe", "", None, True, float("nan")])
def test_answers_outside_one_to_five_or_unknown_texts_are_refused(bad):
    with pytest.raises(ValueError):
        kano.classify(bad, 1)
    with pytest.raises(ValueError):
        kano.classify(1, bad)


def test_unknown_table_is_refused():
    with pytest.raises(ValueError, match="table"):
        kano.classify(1, 5, table="kano2000")


# --- answer texts ----------------------------------------------------------------------------------

ENGLISH = {
    1: ["I like it", "I like it that way", "like", "I would like it"],
    2: ["I expect it", "It must be that way", "Must-be", "I expect it to be that way"],
    3: ["I am neutral", "I'm neutral", "I don't care", "Neutral"],
    4: ["I can tolerate it", "I can live with it", "I can live with it that way", "Tolerate"],
    5: ["I dislike it", "I dislike it that way", "I don't like it", "Dislike"],
}
GERMAN = {
    1: ["Das würde mich sehr freuen", "Würde mich freuen", "Das gefällt mir", "Finde ich gut"],
    2: ["Das setze ich voraus", "Das erwarte ich", "Das muss so sein", "Selbstverständlich"],
    3: ["Das ist mir egal", "Ist mir egal", "Gleichgültig", "neutral"],
    4: ["Das nehme ich in Kauf", "Das könnte ich hinnehmen", "Damit kann ich leben", "Kann ich akzeptieren"],
    5: ["Das würde mich sehr stören", "Das stört mich", "Das gefällt mir nicht", "Würde mich stören"],
}


@pytest.mark.parametrize("wordings", [ENGLISH, GERMAN], ids=["english", "german"])
def test_answer_texts_in_both_languages_read_as_their_codes(wordings):
    for code, texts in wordings.items():
        for text in texts:
            assert kano.answer_code(text) == code, text


def test_answer_texts_ignore_case_spacing_and_typographic_apostrophes():
    assert kano.answer_code("  i DON\u2019T   care. ") == 3
    assert kano.answer_code("DAS SETZE ICH VORAUS!") == 2


def test_codes_as_numbers_strings_and_prefixed_texts():
    assert kano.answer_code(4) == 4
    assert kano.answer_code(np.int64(5)) == 5
    assert kano.answer_code(2.0) == 2
    assert kano.answer_code("3") == 3
    assert kano.answer_code("1,0") == 1
    assert kano.answer_code("1 - I like it") == 1
    assert kano.answer_code("5 = Das würde mich sehr stören") == 5


def test_text_pairs_classify_like_their_codes():
    assert kano.classify("I like it", "I dislike it") == "O"
    assert kano.classify("Das setze ich voraus", "Das würde mich sehr stören") == "M"
    assert kano.classify("Das würde mich sehr freuen", "Das ist mir egal") == "A"
    assert kano.classify("I'm neutral", "I can live with it") == "I"
    assert kano.classify("Das würde mich sehr stören", "Das würde mich sehr freuen") == "R"
    assert kano.classify("1", "1") == "Q"


# --- coefficients (Berger et al. 1993) --------------------------------------------------------------


def test_better_and_worse_on_worked_counts():
    # A=10, O=20, M=30, I=40 (R=5, Q=5 stay out): better = (10+20)/100 = 0.30, worse = -(20+30)/100 = -0.50.
    better, worse = kano.coefficients({"A": 10, "O": 20, "M": 30, "I": 40, "R": 5, "Q": 5})
    assert better == pytest.approx(0.30)
    assert worse == pytest.approx(-0.50)


def test_reverse_and_questionable_do_not_change_the_coefficients():
    base = kano.coefficients({"A": 3, "O": 1, "M": 2, "I": 2})
    assert kano.coefficients({"A": 3, "O": 1, "M": 2, "I": 2, "R": 50, "Q": 7}) == base
    # (3+1)/8 = 0.5 and -(1+2)/8 = -0.375
    assert base == pytest.approx((0.5, -0.375))


@pytest.mark.parametrize("counts", [{}, {"R": 4, "Q": 2}, {"A": 0, "O": 0, "M": 0, "I": 0, "R": 1}])
def test_coefficients_are_undefined_not_zero_without_a_o_m_i_answers(counts):
    better, worse = kano.coefficients(counts)
    assert math.isnan(better) and math.isnan(worse)


def test_coefficients_of_only_indifferent_answers_are_zero_not_undefined():
    # A+O+M+I = 5 > 0: better = 0/5 = 0, worse = -0/5 = 0.
    assert kano.coefficients({"I": 5}) == (0.0, 0.0)


def test_missing_keys_count_as_zero():
    # Only A=3: better = 3/3 = 1, worse = -0/3 = 0.
    assert kano.coefficients({"A": 3}) == (1.0, 0.0)


# --- Fong test (1996) ------------------------------------------------------------------------------


def test_fong_significant_lead():
    # a = M = 50, b = O = 30, n = 100: 1.65 * sqrt(80 * (200 - 80) / 200) = 1.65 * sqrt(48) = 11.4315;
    # |50 - 30| = 20 >= 11.43 -> significant.
    result = kano.fong_test({"M": 50, "O": 30, "A": 10, "I": 8, "R": 2})
    assert (result["a"], result["b"]) == (50, 30)
    assert result["critical"] == pytest.approx(11.43154, abs=1e-5)
    assert result["significant"] is True


def test_fong_lead_too_small():
    # a = 40, b = 35, n = 100: 1.65 * sqrt(75 * 125 / 200) = 1.65 * 6.84653 = 11.29678 > 5 -> not significant.
    result = kano.fong_test({"M": 40, "O": 35, "A": 15, "I": 10})
    assert result["critical"] == pytest.approx(11.29678, abs=1e-5)
    assert result["difference"] == 5
    assert result["significant"] is False


def test_fong_counts_questionable_answers_in_n():
    # M=10, O=5. With Q=10, n=25: 1.65 * sqrt(15 * 35 / 50) = 1.65 * 3.24037 = 5.34661 > 5 -> not significant.
    # Without Q, n=15: 1.65 * sqrt(15 * 15 / 30) = 1.65 * 2.73861 = 4.51871 <= 5 -> significant.
    with_q = kano.fong_test({"M": 10, "O": 5, "Q": 10})
    without_q = kano.fong_test({"M": 10, "O": 5})
    assert with_q["critical"] == pytest.approx(5.34661, abs=1e-5)
    assert without_q["critical"] == pytest.approx(4.51871, abs=1e-5)
    assert (with_q["significant"], without_q["significant"]) == (False, True)


def test_fong_takes_reverse_among_the_two_largest():
    # R=30, I=10, n=40: 1.65 * sqrt(40 * 40 / 80) = 1.65 * sqrt(20) = 7.37902; 20 >= 7.38.
    result = kano.fong_test({"R": 30, "I": 10})
    assert (result["a"], result["b"]) == (30, 10)
    assert result["critical"] == pytest.approx(7.37902, abs=1e-5)
    assert result["significant"] is True


def test_fong_with_nothing_to_lead_is_not_significant():
    assert kano.fong_test({})["significant"] is False
    assert kano.fong_test({"Q": 5})["significant"] is False


# --- rules and strengths ------------------------------------------------------------------------------


def test_rules_on_an_exact_tie():
    counts = {"A": 10, "O": 10, "M": 5, "I": 5}
    assert kano.dominant_category(counts, rule="mode") == "A/O"
    assert kano.dominant_category(counts, rule="hierarchy") == "O"  # O before A
    assert kano.dominant_category(counts, rule="strength") == "O"


def test_rules_on_a_near_tie():
    # A .34, M .30: difference .04 <= .06 -> strength takes M (M before A); mode and hierarchy take A.
    counts = {"A": 34, "M": 30, "I": 20, "O": 16}
    assert kano.dominant_category(counts, rule="mode") == "A"
    assert kano.dominant_category(counts, rule="hierarchy") == "A"
    assert kano.dominant_category(counts, rule="strength") == "M"


def test_strength_rule_at_and_beyond_the_threshold():
    # Exactly .06 apart (36 vs 30 of 100) still counts as a near tie; .10 apart does not.
    assert kano.dominant_category({"A": 36, "M": 30, "O": 20, "I": 14}, rule="strength") == "M"
    assert kano.dominant_category({"A": 40, "M": 30, "O": 20, "I": 10}, rule="strength") == "A"


def test_hierarchy_order_m_o_a_i():
    assert kano.dominant_category({"A": 5, "M": 5}, rule="hierarchy") == "M"
    assert kano.dominant_category({"A": 5, "I": 5}, rule="hierarchy") == "A"
    assert kano.dominant_category({"I": 4, "R": 4}, rule="hierarchy") == "I"
    assert kano.dominant_category({"O": 2, "M": 2, "A": 2, "I": 2}, rule="hierarchy") == "M"


def test_questionable_can_be_the_mode_but_the_strength_rule_ranks_without_it():
    # Q .50 leads, but the strength rule ranks A .30, O .20 (difference .10) -> A.
    counts = {"Q": 50, "A": 30, "O": 20}
    assert kano.dominant_category(counts, rule="mode") == "Q"
    assert kano.dominant_category(counts, rule="hierarchy") == "Q"
    assert kano.dominant_category(counts, rule="strength") == "A"


def test_strength_rule_with_reverse_near_the_top():
    # R .35, A .34: difference .01 -> the higher in M > O > A > I > R, A.
    assert kano.dominant_category({"R": 35, "A": 34, "I": 31}, rule="strength") == "A"


def test_no_answers_no_category_and_unknown_rule_refused():
    assert kano.dominant_category({}, rule="hierarchy") is None
    with pytest.raises(ValueError, match="rule"):
        kano.dominant_category({"A": 1}, rule="median")


def test_category_and_total_strength():
    # A .34, M .30 -> category strength .04; total strength (34 + 16 + 30) / 100 = .80.
    counts = {"A": 34, "M": 30, "I": 20, "O": 16}
    assert kano.category_strength(counts) == pytest.approx(0.04)
    assert kano.total_strength(counts) == pytest.approx(0.80)
    # Q counts in n but is not ranked: A 6/20 = .30, O 3/20 = .15 -> .15; total (6 + 3) / 20 = .45.
    assert kano.category_strength({"A": 6, "O": 3, "Q": 11}) == pytest.approx(0.15)
    assert kano.total_strength({"A": 6, "O": 3, "Q": 11}) == pytest.approx(0.45)
    # A=10, O=20, M=30, I=40, R=5, Q=5: (10 + 20 + 30) / 110 = 0.545454...
    assert kano.total_strength({"A": 10, "O": 20, "M": 30, "I": 40, "R": 5, "Q": 5}) == pytest.approx(60 / 110)
    assert math.isnan(kano.category_strength({})) and math.isnan(kano.total_strength({}))


# --- summarize on a hand-made survey -------------------------------------------------------------------

# Chat: ten answer pairs -> O O M A I R Q M O M: A=1, O=3, M=3, I=1, R=1, Q=1, n=10.
CHAT = [(1, 5), (1, 5), (2, 5), (1, 3), (3, 3), (5, 1), (1, 1), (2, 5), (1, 5), (4, 5)]
CHAT_IMPORTANCE = [9, 1, 1, 1, 1, 1, 1, 1, 1, 1]


def hand_made() -> pd.DataFrame:
    rows = []
    for i, ((f, d), w) in enumerate(zip(CHAT, CHAT_IMPORTANCE, strict=True), start=1):
        rows.append({"respondent_id": f"R{i}", "feature": "Chat", "functional": f, "dysfunctional": d, "importance": w})
    for i in range(1, 5):  # Eco: four times like / neutral -> A
        rows.append({"respondent_id": f"R{i}", "feature": "Eco", "functional": 1, "dysfunctional": 3, "importance": 5})
    # Odd: one reverse (dislike / like) and one questionable (dislike / dislike)
    rows.append({"respondent_id": "R1", "feature": "Odd", "functional": 5, "dysfunctional": 1, "importance": None})
    rows.append({"respondent_id": "R2", "feature": "Odd", "functional": 5, "dysfunctional": 5, "importance": None})
    return pd.DataFrame(rows)


@pytest.fixture
def summary():
    return kano.summarize(hand_made()).set_index("feature")


def test_summary_counts_and_shares(summary):
    chat = summary.loc["Chat"]
    assert [chat[c] for c in kano.CATEGORIES] == [1, 3, 3, 1, 1, 1]
    assert chat["n"] == 10
    assert chat["share_O"] == pytest.approx(0.3)
    assert list(summary.index) == ["Chat", "Eco", "Odd"]  # order of first appearance


def test_summary_category_coefficients_and_strengths(summary):
    chat = summary.loc["Chat"]
    assert chat["category"] == "M"  # O and M tie at 3, hierarchy: M
    # better = (1 + 3) / (1 + 3 + 3 + 1) = 0.5; worse = -(3 + 3) / 8 = -0.75
    assert chat["better"] == pytest.approx(0.5)
    assert chat["worse"] == pytest.approx(-0.75)
    assert chat["category_strength"] == pytest.approx(0.0)
    assert chat["total_strength"] == pytest.approx(0.7)  # (1 + 3 + 3) / 10


def test_summary_fong_columns(summary):
    # Chat: a = b = 3, n = 10: 1.65 * sqrt(6 * 14 / 20) = 1.65 * 2.04939 = 3.38149 > 0 -> not significant.
    chat = summary.loc["Chat"]
    assert chat["fong_critical"] == pytest.approx(3.38149, abs=1e-5)
    assert bool(chat["fong_significant"]) is False
    # Eco: a = 4, b = 0, n = 4: 1.65 * sqrt(4 * 4 / 8) = 2.33345 <= 4 -> significant.
    eco = summary.loc["Eco"]
    assert eco["fong_critical"] == pytest.approx(2.33345, abs=1e-5)
    assert bool(eco["fong_significant"]) is True


def test_summary_continuous_scores(summary):
    chat = summary.loc["Chat"]
    # Functional scores 4 4 2 4 0 -2 4 2 4 -1: mean 21/10 = 2.1; squared deviations sum 48.9 -> sd sqrt(48.9/9) = 2.330951.
    assert chat["mean_functional"] == pytest.approx(2.1)
    assert chat["sd_functional"] == pytest.approx(2.330951, abs=1e-6)
    # Dysfunctional scores 4 4 4 0 0 -2 -2 4 4 4: mean 20/10 = 2.0; squared deviations sum 64 -> sd 8/3.
    assert chat["mean_dysfunctional"] == pytest.approx(2.0)
    assert chat["sd_dysfunctional"] == pytest.approx(8 / 3)
    # Importance 9 on the first pair, 1 on the others: functional (9*4 + 17) / 18 = 53/18,
    # dysfunctional (9*4 + 16) / 18 = 52/18; mean importance 18/10 = 1.8.
    assert chat["weighted_functional"] == pytest.approx(53 / 18)
    assert chat["weighted_dysfunctional"] == pytest.approx(52 / 18)
    assert chat["importance"] == pytest.approx(1.8)


def test_summary_of_a_feature_without_a_o_m_i(summary):
    odd = summary.loc["Odd"]
    assert math.isnan(odd["better"]) and math.isnan(odd["worse"])
    assert odd["category"] == "R"  # R and Q tie at 1: R before Q
    assert bool(odd["fong_significant"]) is False
    assert math.isnan(odd["importance"]) and math.isnan(odd["weighted_functional"])
    # Two answers: functional -2, -2 -> sd 0; dysfunctional -2 (like) and 4 (dislike) -> mean 1.
    assert odd["mean_dysfunctional"] == pytest.approx(1.0)


def test_summary_rules_and_tables_are_options():
    responses = hand_made()
    assert kano.summarize(responses, rule="mode").set_index("feature").loc["Chat", "category"] == "O/M"
    two = pd.DataFrame({"feature": ["X", "X"], "functional": [2, 4], "dysfunctional": [2, 4]})
    assert kano.summarize(two).iloc[0]["I"] == 2
    assert kano.summarize(two, table="pouliot").iloc[0]["Q"] == 2


def test_summary_of_texts_equals_summary_of_codes():
    codes = hand_made()
    english = {1: "I like it", 2: "I expect it", 3: "I am neutral", 4: "I can tolerate it", 5: "I dislike it"}
    german = {
        1: "Das würde mich sehr freuen",
        2: "Das setze ich voraus",
        3: "Das ist mir egal",
        4: "Das nehme ich in Kauf",
        5: "Das würde mich sehr stören",
    }
    texts = codes.assign(functional=codes["functional"].map(english), dysfunctional=codes["dysfunctional"].map(german))
    pd.testing.assert_frame_equal(kano.summarize(texts), kano.summarize(codes))


def test_summary_without_importance_or_respondent():
    frame = pd.DataFrame({"feature": ["X"] * 3, "functional": [1, 1, 2], "dysfunctional": [5, 3, 5]})
    result = kano.summarize(frame).iloc[0]
    assert (result["O"], result["A"], result["M"], result["n"]) == (1, 1, 1, 3)
    assert math.isnan(result["importance"])


def test_summary_of_nothing_has_the_columns():
    empty = kano.summarize(pd.DataFrame(columns=["feature", "functional", "dysfunctional"]))
    assert list(empty.columns) == list(kano.SUMMARY_COLUMNS)
    assert empty.empty


# --- bad input ---------------------------------------------------------------------------------------


def bad_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "respondent_id": ["R1", "R2", "R3", "R4", "R1", "R5", "R6"],
            "feature": ["Chat", "Chat", "Chat", "Chat", "Chat", "Chat", ""],
            "functional": ["1", "6", "maybe", "I like it", "2", "2", "1"],
            "dysfunctional": ["5", "5", "5", "", "5", "5", "5"],
            "importance": ["3", "", "", "", "", "12", ""],
        }
    )


def test_bad_rows_are_reported_per_row_and_valid_rows_still_evaluated():
    valid, problems = kano.validate(bad_rows())
    reported = {(int(r.row), r.column): r.reason for r in problems.itertuples()}
    assert reported == {
        (2, "functional"): "answer is not 1..5 or a known answer text",
        (3, "functional"): "answer is not 1..5 or a known answer text",
        (4, "dysfunctional"): "answer is empty",
        (5, "respondent_id"): "duplicate answer of this respondent for this feature (first in row 1)",
        (6, "importance"): "importance is outside 1..9",
        (7, "feature"): "feature name is empty",
    }
    assert list(valid["respondent_id"]) == ["R1"]
    assert list(valid["functional"]) == ["1"] and list(valid["dysfunctional"]) == ["5"]
    summary = kano.summarize(bad_rows(), errors="drop")
    assert summary.iloc[0]["O"] == 1 and summary.iloc[0]["n"] == 1


def test_summarize_raises_on_bad_rows_by_default():
    with pytest.raises(ValueError, match="row 2"):
        kano.summarize(bad_rows())


def test_duplicates_in_different_waves_are_not_duplicates():
    frame = pd.DataFrame(
        {
            "respondent_id": ["R1", "R1"],
            "feature": ["X", "X"],
            "functional": [1, 2],
            "dysfunctional": [5, 5],
            "wave": ["2025", "2026"],
        }
    )
    valid, problems = kano.validate(frame)
    assert problems.empty and len(valid) == 2


def test_missing_answer_column_is_reported():
    valid, problems = kano.validate(pd.DataFrame({"feature": ["X"], "functional": [1]}))
    assert valid.empty
    assert list(problems["column"]) == ["dysfunctional"]


# --- layouts ---------------------------------------------------------------------------------------------


def test_wide_with_dysfunctional_first_reads_by_name_not_position():
    wide = pd.DataFrame(
        {
            "Respondent": ["A", "B"],
            "Chat_dysfunctional": [5, 3],
            "Chat_functional": [1, 1],
            "Eco (dysfunktional)": ["Das ist mir egal", "Das würde mich sehr stören"],
            "Eco (funktional)": ["Das würde mich sehr freuen", "Das setze ich voraus"],
        }
    )
    valid, problems = kano.prepare(wide)
    assert problems.empty
    got = {(r.respondent_id, r.feature): (r.functional, r.dysfunctional) for r in valid.itertuples()}
    assert got == {
        ("A", "Chat"): ("1", "5"),
        ("B", "Chat"): ("1", "3"),
        ("A", "Eco"): ("1", "3"),
        ("B", "Eco"): ("2", "5"),
    }
    summary = kano.summarize(valid).set_index("feature")
    assert summary.loc["Chat", "O"] == 1 and summary.loc["Chat", "A"] == 1
    assert summary.loc["Eco", "A"] == 1 and summary.loc["Eco", "M"] == 1


def test_wide_feature_with_only_one_column_is_reported_and_the_rest_evaluated():
    wide = pd.DataFrame({"id": ["1"], "Chat_functional": ["1"], "Chat_dysfunctional": ["5"], "Eco_functional": ["1"]})
    valid, problems = kano.prepare(wide)
    assert list(valid["feature"]) == ["Chat"]
    assert problems.iloc[0]["value"] == "Eco"
    assert problems.iloc[0]["reason"] == "feature has no dysfunctional column"


def test_wide_without_respondent_column_numbers_the_rows_and_reports_file_rows():
    wide = pd.DataFrame({"functional: Chat": [1, 9], "dysfunctional: Chat": [5, 5], "Chat importance": [7, 3]})
    valid, problems = kano.prepare(wide)
    assert list(valid["respondent_id"]) == ["1"]
    assert valid["importance"].tolist() == [7.0]
    assert problems.iloc[0]["row"] == 2  # the second row of the file


@pytest.mark.parametrize(
    "columns, missing",
    [
        # A customer list (the Telco churn file's first columns): nothing of a Kano survey.
        (["customerID", "gender", "SeniorCitizen", "tenure", "Churn"], ("feature", "functional", "dysfunctional")),
        # Long layout without the answer to the "feature missing" question.
        (["respondent", "feature", "functional"], ("dysfunctional",)),
        # Wide layout with only functional columns: the features are in the names.
        (["id", "Chat_functional", "Eco_functional"], ("dysfunctional",)),
        # Usable layouts, long (German synonyms too) and wide.
        (["respondent_id", "feature", "functional", "dysfunctional"], ()),
        (["id", "Chat_dysfunctional", "Chat_functional"], ()),
    ],
)
def test_missing_parts_name_what_a_file_lacks_to_be_kano_answers(columns, missing):
    """Guards the import's blocking check: a file that is no Kano survey is named as such, not half-evaluated."""
    assert kano.missing_parts(pd.DataFrame(columns=columns)) == missing


def test_readable_problems_show_dashes_for_the_whole_file_and_empty_cells():
    problems = pd.DataFrame(
        {
            "row": [None, 3, 4.0],
            "column": ["feature", "functional", "importance"],
            "value": [None, None, "12"],
            "reason": ["column missing", "answer is empty", "importance is outside 1..9"],
        }
    )
    shown = kano.readable_problems(problems, empty="(empty)", whole="–")
    assert shown.columns.tolist() == ["row", "column", "value", "reason"]
    assert shown["row"].tolist() == ["–", "3", "4"]
    assert shown["value"].tolist() == ["(empty)", "(empty)", "12"]
    assert "None" not in shown.to_string() and "nan" not in shown.to_string()
    assert problems["row"].isna().iloc[0]  # input untouched


def test_wide_column_names():
    assert kano.split_wide_column("Same-day delivery_dysfunctional") == ("Same-day delivery", "dysfunctional")
    assert kano.split_wide_column("Same-day delivery_functional") == ("Same-day delivery", "functional")
    assert kano.split_wide_column("Merkmal X (Funktional)") == ("Merkmal X", "functional")
    assert kano.split_wide_column("importance - Chat") == ("Chat", "importance")
    assert kano.split_wide_column("segment") is None


def test_long_to_wide_and_back_round_trip():
    long = hand_made()
    long["functional"] = long["functional"].astype(str)
    long["dysfunctional"] = long["dysfunctional"].astype(str)
    wide = kano.long_to_wide(long, dysfunctional_first=True)
    assert list(wide.columns[:4]) == ["respondent_id", "Chat_dysfunctional", "Chat_functional", "Chat_importance"]
    back, problems = kano.prepare(wide)
    assert problems.empty
    pd.testing.assert_frame_equal(kano.summarize(back), kano.summarize(long))


def test_long_file_with_german_headers_is_recognised():
    frame = pd.DataFrame(
        {"Teilnehmer": ["1"], "Merkmal": ["Chat"], "Funktional": ["1"], "Dysfunktional": ["5"], "Welle": ["2026"]}
    )
    valid, problems = kano.prepare(frame)
    assert problems.empty
    assert valid.iloc[0].to_dict()["wave"] == "2026"


def test_template_long_and_wide():
    long = kano.template(["Chat", "Eco"], layout="long", respondents=2)
    assert list(long.columns) == list(kano.LONG_COLUMNS)
    assert len(long) == 4 and list(long["respondent_id"]) == ["R001", "R001", "R002", "R002"]
    wide = kano.template(["Chat"], layout="wide", respondents=3, dysfunctional_first=True)
    assert list(wide.columns) == [
        "respondent_id",
        "segment",
        "wave",
        "Chat_dysfunctional",
        "Chat_functional",
        "Chat_importance",
    ]
    assert len(wide) == 3
    with pytest.raises(ValueError):
        kano.template(["Chat"], layout="diagonal")


def test_fixture_files_read_in_both_layouts():
    long = kano.read_answers((FIXTURES / "kano_answers_long.csv").read_bytes(), file_name="kano_answers_long.csv")
    wide = kano.read_answers((FIXTURES / "kano_answers_wide_de.csv").read_bytes(), file_name="kano_answers_wide_de.csv")
    long_valid, long_problems = kano.prepare(long)
    wide_valid, wide_problems = kano.prepare(wide)
    assert long_problems.empty and wide_problems.empty
    # Both files hold the same six answer pairs: Chat O, O, M; Eco A, I, R.
    expected = {"Chat": {"O": 2, "M": 1}, "Eco": {"A": 1, "I": 1, "R": 1}}
    for valid in (long_valid, wide_valid):
        summary = kano.summarize(valid).set_index("feature")
        for feature, counts in expected.items():
            assert {c: int(summary.loc[feature, c]) for c in kano.CATEGORIES if summary.loc[feature, c]} == counts


def test_excel_is_read():
    buffer = io.BytesIO()
    pd.DataFrame({"feature": ["Chat"], "functional": [1], "dysfunctional": [5]}).to_excel(buffer, index=False)
    frame = kano.read_answers(buffer.getvalue(), file_name="answers.xlsx")
    assert kano.summarize(frame).iloc[0]["O"] == 1


def test_latin1_semicolon_csv_is_read():
    data = "Merkmal;Funktional;Dysfunktional\nChat;Das würde mich sehr freuen;Das würde mich sehr stören\n".encode(
        "latin-1"
    )
    valid, problems = kano.prepare(kano.read_answers(data, file_name="answers.csv"))
    assert problems.empty
    assert kano.summarize(valid).iloc[0]["O"] == 1


# --- comparison -----------------------------------------------------------------------------------------


def two_waves() -> pd.DataFrame:
    rows = []
    # 2025: Chat A A O (-> A); Eco M M (-> M). 2026: Chat O O A (-> O); Eco M M M (-> M).
    for wave, chat, eco in (
        ("2025", [(1, 3), (1, 3), (1, 5)], [(2, 5), (2, 5)]),
        ("2026", [(1, 5), (1, 5), (1, 3)], [(2, 5)] * 3),
    ):
        for i, (f, d) in enumerate(chat):
            rows.append(
                {"respondent_id": f"{wave}-{i}", "feature": "Chat", "functional": f, "dysfunctional": d, "wave": wave}
            )
        for i, (f, d) in enumerate(eco):
            rows.append(
                {"respondent_id": f"{wave}-{i}", "feature": "Eco", "functional": f, "dysfunctional": d, "wave": wave}
            )
    return pd.DataFrame(rows)


def test_compare_waves_marks_features_that_moved():
    result = kano.compare(two_waves(), by="wave", groups=("2025", "2026")).set_index("feature")
    assert (result.loc["Chat", "category_a"], result.loc["Chat", "category_b"]) == ("A", "O")
    assert bool(result.loc["Chat", "moved"]) is True
    assert bool(result.loc["Eco", "moved"]) is False
    # Chat worse: 2025 -(1)/3, 2026 -(2)/3 -> change -1/3; better 1 in both -> change 0.
    assert result.loc["Chat", "worse_change"] == pytest.approx(-1 / 3)
    assert result.loc["Chat", "better_change"] == pytest.approx(0.0)
    assert (result.loc["Eco", "n_a"], result.loc["Eco", "n_b"]) == (2, 3)


def test_compare_needs_two_groups_and_the_column():
    with pytest.raises(ValueError):
        kano.compare(two_waves(), by="wave", groups=("2025",))
    with pytest.raises(ValueError):
        kano.compare(two_waves(), by="segment", groups=("a", "b"))


def test_compare_feature_only_in_one_group_has_not_moved():
    frame = pd.concat(
        [
            two_waves(),
            pd.DataFrame(
                [{"respondent_id": "x", "feature": "New", "functional": 1, "dysfunctional": 3, "wave": "2026"}]
            ),
        ]
    )
    result = kano.compare(frame, by="wave", groups=("2025", "2026")).set_index("feature")
    assert bool(result.loc["New", "moved"]) is False
    assert result.loc["New", "n_a"] == 0


# --- properties ----------------------------------------------------------------------------------------

answers = st.one_of(
    st.integers(1, 5),
    st.sampled_from(["I like it", "Das setze ich voraus", "neutral", "I can live with it", "Das stört mich"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["F1", "F2", "F3"]), answers, answers), min_size=1, max_size=60),
    st.sampled_from(["standard", "pouliot"]),
    st.sampled_from(list(kano.RULES)),
)
def test_counts_add_up_to_n_and_coefficients_stay_in_range(rows, table, rule):
    frame = pd.DataFrame(rows, columns=["feature", "functional", "dysfunctional"])
    summary = kano.summarize(frame, table=table, rule=rule)
    assert summary["n"].sum() == len(frame)
    for record in summary.itertuples():
        assert (
            sum(getattr(record, c) for c in kano.CATEGORIES) == record.n == (frame["feature"] == record.feature).sum()
        )
        assert sum(getattr(record, f"share_{c}") for c in kano.CATEGORIES) == pytest.approx(1.0)
        if not math.isnan(record.better):
            assert 0 <= record.better <= 1 and -1 <= record.worse <= 0
        assert 0 <= record.total_strength <= 1 and 0 <= record.category_strength <= 1
        assert all(part in kano.CATEGORIES for part in record.category.split("/"))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(list(kano.CATEGORIES)), st.integers(0, 50)))
def test_hierarchy_and_strength_pick_a_category_with_top_or_near_top_count(counts):
    n = sum(counts.values())
    if n == 0:
        assert kano.dominant_category(counts) is None
        return
    top = max(counts.values())
    assert counts.get(kano.dominant_category(counts, rule="hierarchy"), 0) == top
    chosen = kano.dominant_category(counts, rule="strength")
    ranked_top = max(counts.get(c, 0) for c in kano.RANKED)
    if ranked_top:
        assert (ranked_top - counts.get(chosen, 0)) / n <= kano.STRENGTH_THRESHOLD + 1e-9


# --- chart twins -------------------------------------------------------------------------------------------


def test_category_bars_data(summary):
    data = kano_charts.category_bars_data(summary.reset_index())
    chat = data[data["feature"] == "Chat"].set_index("category")
    assert chat.loc["O", "count"] == 3 and chat.loc["O", "share"] == pytest.approx(0.3)
    assert len(data) == 3 * 6
    assert data.groupby("feature")["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_better_worse_data_and_quadrants(summary):
    data = kano_charts.better_worse_data(summary.reset_index()).set_index("feature")
    assert "Odd" not in data.index  # undefined coefficients are not drawn
    # Chat: x = |-0.75| = 0.75, y = 0.5 -> O (both >= 0.5); Eco: x = 0, y = 1 -> A.
    assert (data.loc["Chat", "x"], data.loc["Chat", "y"], data.loc["Chat", "quadrant"]) == (0.75, 0.5, "O")
    assert data.loc["Eco", "quadrant"] == "A"
    assert data.loc["Chat", "size"] == pytest.approx(1.8)  # bubble = mean importance


def test_better_worse_figure_has_guides_at_half_and_four_quadrant_labels(summary):
    fig = kano_charts.better_worse(summary.reset_index())
    guides = {(s.x0, s.x1, s.y0, s.y1) for s in fig.layout.shapes}
    assert (0.5, 0.5, 0.0, 1.0) in guides and (0.0, 1.0, 0.5, 0.5) in guides
    labels = {a.text for a in fig.layout.annotations if a.name != "point label"}
    assert labels == {"<b>Attractive</b>", "<b>One-dimensional</b>", "<b>Must-be</b>", "<b>Indifferent</b>"}
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_continuous_data_and_error_bars(summary):
    data = kano_charts.continuous_data(summary.reset_index()).set_index("feature")
    assert data.loc["Chat", "x"] == pytest.approx(2.0) and data.loc["Chat", "y"] == pytest.approx(2.1)
    assert data.loc["Chat", "x_error"] == pytest.approx(8 / 3)
    weighted = kano_charts.continuous_data(summary.reset_index(), weighted=True).set_index("feature")
    assert weighted.loc["Chat", "y"] == pytest.approx(53 / 18)
    fig = kano_charts.continuous(summary.reset_index())
    assert list(fig.data[0].error_y.array) == pytest.approx(list(data["y_error"]))


def test_comparison_data():
    result = kano.compare(two_waves(), by="wave", groups=("2025", "2026"))
    data = kano_charts.comparison_data(result)
    chat = data[data["feature"] == "Chat"].set_index("group")
    # 2025 Chat: better 3/3 = 1, |worse| 1/3; 2026: better 1, |worse| 2/3.
    assert chat.loc["2025", "x"] == pytest.approx(1 / 3) and chat.loc["2026", "x"] == pytest.approx(2 / 3)
    assert chat["moved"].all()
    fig = kano_charts.comparison(result)
    assert len(fig.data) == 2 + 2  # one connecting line per feature, one trace per group


# --- store ------------------------------------------------------------------------------------------------


def test_store_and_load_responses_upsert_and_replace(mem_con):
    valid, _ = kano.prepare(two_waves())
    assert kano.store_responses(mem_con, valid, mode="upsert") == len(valid)
    again = valid.copy()
    again.loc[0, "functional"] = "3"
    kano.store_responses(mem_con, again.head(1), mode="upsert")
    stored = kano.load_responses(mem_con.cursor())
    assert len(stored) == len(valid)
    row = stored[
        (stored["respondent_id"] == again.loc[0, "respondent_id"])
        & (stored["wave"] == "2025")
        & (stored["feature"] == "Chat")
    ]
    assert row["functional"].tolist() == ["3"]
    kano.store_responses(mem_con, valid.head(2), mode="replace")
    assert len(kano.load_responses(mem_con.cursor())) == 2
    actions = mem_con.execute("SELECT action FROM audit_log").fetchall()
    assert actions == [("kano.import",)] * 3


def test_import_answers_loads_through_the_shared_import(mem_con):
    valid, _ = kano.prepare(two_waves())
    result = kano.import_answers(mem_con, valid, mode="upsert", file_name="test")
    assert result.rows_loaded == len(valid)
    assert len(result.rejects) == 0
    summary = kano.summarize(kano.load_responses(mem_con.cursor(), wave="2026")).set_index("feature")
    assert summary.loc["Chat", "category"] == "O"


def test_the_same_answers_twice_are_refused_unless_allowed(mem_con):
    """Guards the repeat check: a second import of identical answers names the first and stores nothing."""
    valid, _ = kano.prepare(two_waves())
    first = kano.import_answers(mem_con, valid, mode="upsert", file_name="survey.csv")
    assert first.rows_loaded == len(valid) and first.earlier_import is None
    logged = mem_con.execute("SELECT import_id FROM imports WHERE table_name = 'kano_responses'").fetchall()
    assert len(logged) == 1

    again = kano.import_answers(mem_con, valid, mode="upsert", file_name="survey.csv")
    assert again.rows_loaded == 0
    assert again.earlier_import == logged[0][0]
    assert again.earlier_import_at is not None
    assert again.error

    forced = kano.import_answers(mem_con, valid, mode="upsert", file_name="survey.csv", allow_same_file=True)
    assert forced.rows_loaded == len(valid) and forced.earlier_import is None
    assert len(kano.load_responses(mem_con.cursor())) == len(valid)  # upsert: the same rows, not twice


def test_a_refusal_for_another_reason_names_no_earlier_import(mem_con):
    """Only a repeat of loaded content points at an earlier import; other refusals keep their own message."""
    valid, _ = kano.prepare(two_waves())
    kano.import_answers(mem_con, valid, mode="upsert", file_name="survey.csv")
    changed = valid.copy()
    changed["customer_id"] = "no-such-customer"  # every row now names an unknown customer
    result = kano.import_answers(mem_con, changed, mode="upsert", file_name="survey.csv")
    assert result.rows_loaded == 0 and result.error
    assert result.earlier_import is None


def test_importance_that_is_not_a_number_is_reported():
    frame = pd.DataFrame(
        {"feature": ["X", "X"], "functional": [1, 1], "dysfunctional": [5, 5], "importance": ["very", "7,5"]}
    )
    valid, problems = kano.validate(frame)
    assert problems[["row", "column", "reason"]].values.tolist() == [[1, "importance", "importance is not a number"]]
    assert valid["importance"].tolist() == [7.5]  # decimal comma read


def test_a_failed_store_changes_nothing(mem_con, monkeypatch):
    from analytics import store

    valid, _ = kano.prepare(two_waves())
    kano.store_responses(mem_con, valid, mode="upsert")
    before = kano.load_responses(mem_con.cursor())

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    # The replace has deleted and inserted by the time the audit entry fails: all of it rolls back.
    monkeypatch.setattr(store, "audit", fail)
    with pytest.raises(RuntimeError):
        kano.store_responses(mem_con, valid.head(1), mode="replace")
    pd.testing.assert_frame_equal(kano.load_responses(mem_con.cursor()), before)
