"""Kano and priorities: survey results, comparison, template and import; requirements catalogue, MoSCoW, scoring."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import kano, priorities
from analytics.charts import kano as kano_charts
from analytics.charts import priorities as priority_charts
from ui.downloads import download_buttons
from ui.frame import cursor, page_setup
from ui.i18n import _, fmt_date, fmt_number, fmt_pct

ctx = page_setup(_("Kano and priorities"))

CATEGORY_NAMES = {
    "A": _("Attractive"),
    "O": _("One-dimensional"),
    "M": _("Must-be"),
    "I": _("Indifferent"),
    "R": _("Reverse"),
    "Q": _("Questionable"),
}
KANO_TEXT = {
    **CATEGORY_NAMES,
    "bars_title": _("Kano categories per feature"),
    "bars_x": _("Share of answers (%)"),
    "bars_y": _("Feature"),
    "bw_title": _("Better–worse diagram (bubble size: importance)"),
    "bw_x": _("Dissatisfaction if missing, |worse| (0–1)"),
    "bw_y": _("Satisfaction if present, better (0–1)"),
    "cont_title": _("Continuous Kano plot (mean score ± standard deviation)"),
    "cont_x": _("Dysfunctional score (−2 to 4)"),
    "cont_y": _("Functional score (−2 to 4)"),
    "cmp_title": _("Better–worse comparison"),
    "moved": _("moved"),
}
PRIORITY_TEXT = {
    **CATEGORY_NAMES,
    "no_kano": _("No Kano category"),
    "must": _("Must"),
    "should": _("Should"),
    "could": _("Could"),
    "won't": _("Won't"),
    "board_title": _("Planned effort by MoSCoW class"),
    "board_x": _("Share of planned effort (%)"),
    "limit": _("Limit for musts"),
    "score_title": _("Weighted score per requirement"),
    "score_title_top": _("Weighted score per requirement (top {shown} of {total})"),
    "score_x": _("Score (0–100)"),
    "score_y": _("Requirement"),
}
CRITERION_NAMES = {"effort": _("Effort"), "urgency": _("Urgency"), "importance": _("Importance"), "risk": _("Risk")}
TABLE_NAMES = {"standard": _("Standard (Kano, Berger)"), "pouliot": _("Pouliot variant")}
RULE_NAMES = {
    "hierarchy": _("Most frequent, ties M > O > A > I"),
    "mode": _("Most frequent, ties shown"),
    "strength": _("Near ties (≤ 6 points) decided M > O > A > I"),
}
ALL = "__all__"
ANSWER_PARTS = {
    "feature": _("the feature asked about"),
    "functional": _("the functional answer (feature present)"),
    "dysfunctional": _("the dysfunctional answer (feature missing)"),
}
ORDER_GROUP_NAMES = {
    1: _("Must-be / must"),
    2: _("One-dimensional / should"),
    3: _("Attractive / could"),
    4: _("Indifferent"),
    5: _("Unclassified"),
    6: _("Reverse or questionable"),
    7: _("Won't or rejected"),
}


# Every run of the page reads its tables and figures from these caches, keyed by the filters, the
# data version and the choices that shape them: a rerun with the same choices evaluates nothing,
# builds no figure and runs no SQL (only an uploaded survey file is read and previewed again).
#
# Figures are cached as data too (st.cache_data, as for every cached result; st.cache_resource is
# kept for connections and models): a rerun unpickles a copy, a few milliseconds a figure. The
# figures' texts are fixed for the process (ui.i18n.LOCALE), so they are not part of the keys.
cache_figure = st.cache_data(ttl=600, max_entries=32, show_spinner=False)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_answers(filters, version: int) -> pd.DataFrame:
    return kano.load_responses(cursor(), filters=filters)


def select_answers(answers: pd.DataFrame, wave: str, segment: str) -> pd.DataFrame:
    """Stored answers -> those of one wave and one segment (ALL keeps every one)."""
    chosen = answers
    if wave != ALL:
        chosen = chosen[chosen["wave"] == wave]
    if segment != ALL:
        chosen = chosen[chosen["segment"] == segment]
    return chosen


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def evaluate(filters, version: int, wave: str, segment: str, table: str, rule: str) -> tuple[pd.DataFrame, int, int]:
    """Stored answers of one wave and segment -> (Kano summary per feature, answer rows, respondents)."""
    chosen = select_answers(load_answers(filters, version), wave, segment)
    if chosen.empty:
        return pd.DataFrame(columns=list(kano.SUMMARY_COLUMNS)), 0, 0
    summary = kano.summarize(chosen, table=table, rule=rule, errors="drop")
    return summary, len(chosen), int(chosen["respondent_id"].nunique())


@cache_figure
def survey_charts(filters, version: int, wave: str, segment: str, table: str, rule: str) -> tuple[go.Figure, go.Figure]:
    """The category bars and the better-worse diagram of one wave and segment."""
    summary = evaluate(filters, version, wave, segment, table, rule)[0]
    return kano_charts.category_bars(summary, text=KANO_TEXT), kano_charts.better_worse(summary, text=KANO_TEXT)


@cache_figure
def continuous_chart(
    filters, version: int, wave: str, segment: str, table: str, rule: str, weighted: bool
) -> go.Figure:
    summary = evaluate(filters, version, wave, segment, table, rule)[0]
    return kano_charts.continuous(summary, weighted=weighted, text=KANO_TEXT)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def compare_groups(filters, version: int, by: str, first: str, second: str, table: str, rule: str) -> pd.DataFrame:
    return kano.compare(load_answers(filters, version), by=by, groups=(first, second), table=table, rule=rule)


@cache_figure
def comparison_chart(filters, version: int, by: str, first: str, second: str, table: str, rule: str) -> go.Figure:
    return kano_charts.comparison(compare_groups(filters, version, by, first, second, table, rule), text=KANO_TEXT)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_catalogue(version: int) -> pd.DataFrame:
    return priorities.catalogue(cursor())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def linked_catalogue(filters, version: int, wave: str, table: str, rule: str) -> pd.DataFrame:
    """The requirements catalogue with the Kano category of each linked feature in ``wave`` (ALL: every wave)."""
    survey = evaluate(filters, version, wave, ALL, table, rule)[0]
    return priorities.link_kano(load_catalogue(version), survey)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_history(version: int) -> pd.DataFrame:
    return priorities.history(cursor())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_must_limit(version: int) -> float:
    return priorities.load_must_limit(cursor())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def moscow_board(version: int, limit: int) -> tuple[pd.DataFrame, dict]:
    """The catalogue -> (effort per MoSCoW class, check of the musts' share against ``limit`` %)."""
    return priorities.moscow_board(load_catalogue(version), must_share_limit=limit / 100)


@cache_figure
def board_chart(version: int, limit: int) -> go.Figure:
    board, check = moscow_board(version, limit)
    return priority_charts.moscow_effort(board, check, text=PRIORITY_TEXT)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_criteria(version: int) -> tuple[priorities.Criterion, ...]:
    return priorities.load_criteria(cursor())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def scored_catalogue(filters, version: int, wave: str, table: str, rule: str) -> pd.DataFrame:
    """The linked catalogue with each requirement's weighted score under the stored criteria."""
    return priorities.weighted_scores(linked_catalogue(filters, version, wave, table, rule), load_criteria(version))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def suggested_order(filters, version: int, wave: str, table: str, rule: str) -> pd.DataFrame:
    return priorities.suggested_order(scored_catalogue(filters, version, wave, table, rule))


@cache_figure
def scores_chart(filters, version: int, wave: str, table: str, rule: str) -> go.Figure:
    return priority_charts.scores(scored_catalogue(filters, version, wave, table, rule), text=PRIORITY_TEXT)


def text_option(value) -> str:
    return _("All") if value == ALL else str(value)


def category_label(category) -> str:
    """Kano category code -> 'M Must-be'; '–' when a requirement has none."""
    if category is None or pd.isna(category):
        return "–"
    return f"{category} {CATEGORY_NAMES.get(str(category), '')}".strip()


def problems_table(problems: pd.DataFrame, key: str) -> None:
    """Import problems as a table with readable headers; '–' where a problem concerns no single row or column."""
    st.dataframe(
        kano.readable_problems(problems, empty=_("(empty)"), whole="–"),
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "row": _("Row"),
            "column": _("Column"),
            "value": _("Value"),
            "reason": st.column_config.TextColumn(_("Reason"), width="large"),
        },
    )


# --- survey results ---------------------------------------------------------------------------------


def results_table(summary: pd.DataFrame) -> pd.DataFrame:
    shown = summary.copy()
    shown["category"] = shown["category"].map(lambda c: f"{c} {CATEGORY_NAMES.get(c, '')}".strip() if c else "–")
    shown["lead"] = shown["fong_significant"].map(
        lambda s: "✔ " + _("significant") if s else "○ " + _("not significant")
    )
    for c in kano.CATEGORIES:
        shown[f"share_{c}"] = shown[f"share_{c}"] * 100
    return shown


def draw_results(answers: pd.DataFrame) -> None:
    with st.container(horizontal=True):
        waves = [ALL, *sorted(answers["wave"].dropna().unique())]
        wave = st.selectbox(_("Survey wave"), waves, index=len(waves) - 1, format_func=text_option, key="k_wave")
        segments = [ALL, *sorted(answers["segment"].dropna().unique())]
        segment = st.selectbox(_("Respondent segment"), segments, format_func=text_option, key="k_segment")
        table = st.segmented_control(
            _("Evaluation table"),
            list(TABLE_NAMES),
            default="standard",
            required=True,
            format_func=TABLE_NAMES.get,
            key="k_table",
            help=_(
                "The Pouliot variant counts the same answer to both questions as questionable, except neutral twice."
            ),
        )
        rule = st.selectbox(
            _("Category rule"),
            list(RULE_NAMES),
            format_func=RULE_NAMES.get,
            key="k_rule",
            help=_("How a feature's category is chosen from its answer counts when two categories are close."),
        )
    table = table or "standard"
    summary, rows, respondents = evaluate(ctx.filters, ctx.version, wave, segment, table, rule)
    if not rows:
        st.info(_("No answers for this wave and segment."))
        return
    with st.container(horizontal=True):
        st.metric(_("Respondents"), fmt_number(respondents), border=True)
        st.metric(_("Features"), fmt_number(len(summary)), border=True)
        st.metric(_("Answer pairs"), fmt_number(int(summary["n"].sum())), border=True)
        st.metric(
            _("Significant leads"),
            fmt_number(int(summary["fong_significant"].sum())),
            border=True,
            help=_("Features whose leading category beats the second by more than chance (Fong test, 5 % level)."),
        )
    st.dataframe(
        results_table(summary),
        hide_index=True,
        width="stretch",
        height=35 * (len(summary) + 1) + 3,
        key="k_results",
        column_order=[
            "feature",
            "category",
            "lead",
            *kano.CATEGORIES,
            "n",
            *(f"share_{c}" for c in kano.CATEGORIES),
            "category_strength",
            "total_strength",
            "better",
            "worse",
            "fong_difference",
            "fong_critical",
            "mean_functional",
            "sd_functional",
            "mean_dysfunctional",
            "sd_dysfunctional",
            "importance",
        ],
        column_config={
            "feature": st.column_config.TextColumn(_("Feature"), pinned=True),
            "category": st.column_config.TextColumn(_("Category")),
            "lead": st.column_config.TextColumn(_("Lead (Fong test)")),
            **{
                f"share_{c}": st.column_config.NumberColumn(_("{c} %").format(c=c), format="%.1f %%")
                for c in kano.CATEGORIES
            },
            "category_strength": st.column_config.NumberColumn(
                _("Category strength"), format="%.2f", help=_("Top share minus second share among A, O, M, I, R.")
            ),
            "total_strength": st.column_config.NumberColumn(
                _("Total strength"), format="%.2f", help=_("Share of answers that are A, O or M.")
            ),
            "better": st.column_config.NumberColumn(
                _("Better"), format="%.2f", help=_("(A + O) / (A + O + M + I); empty when undefined.")
            ),
            "worse": st.column_config.NumberColumn(
                _("Worse"), format="%.2f", help=_("−(O + M) / (A + O + M + I); empty when undefined.")
            ),
            "fong_difference": st.column_config.NumberColumn(_("Lead (answers)"), format="%.0f"),
            "fong_critical": st.column_config.NumberColumn(_("Needed lead"), format="%.2f"),
            "mean_functional": st.column_config.NumberColumn(_("Functional score"), format="%.2f"),
            "sd_functional": st.column_config.NumberColumn(_("± sd"), format="%.2f"),
            "mean_dysfunctional": st.column_config.NumberColumn(_("Dysfunctional score"), format="%.2f"),
            "sd_dysfunctional": st.column_config.NumberColumn(_("± sd "), format="%.2f"),
            "importance": st.column_config.NumberColumn(_("Importance (1–9)"), format="%.1f"),
        },
    )
    download_buttons(summary, "kano_results", key="kano_results")
    bars, better_worse = survey_charts(ctx.filters, ctx.version, wave, segment, table, rule)
    st.plotly_chart(bars, width="stretch", key="k_bars")
    st.plotly_chart(better_worse, width="stretch", key="k_bw")
    weighted = st.toggle(
        _("Weight the continuous scores by importance"),
        key="k_weighted",
        help=_("Each respondent's scores count in proportion to the importance they gave the feature."),
    )
    st.plotly_chart(
        continuous_chart(ctx.filters, ctx.version, wave, segment, table, rule, weighted), width="stretch", key="k_cont"
    )
    with st.expander(_("Evaluation table in use")):
        grid = kano.evaluation_table(table=table)
        labels = {
            "like": _("like"),
            "expect": _("expect"),
            "neutral": _("neutral"),
            "tolerate": _("tolerate"),
            "dislike": _("dislike"),
        }
        st.dataframe(grid.rename(index=labels, columns=labels), width="content")
        st.caption(
            _(
                "Rows: answer to the functional question (feature present). Columns: answer to the dysfunctional question (feature missing)."
            )
        )


def draw_comparison(answers: pd.DataFrame) -> None:
    by = st.segmented_control(
        _("Compare"),
        ["wave", "segment"],
        default="wave",
        required=True,
        format_func=lambda v: _("Survey waves") if v == "wave" else _("Segments"),
        key="k_cmp_by",
    )
    groups = sorted(answers[by].dropna().unique())
    if len(groups) < 2:
        st.info(_("The stored answers have fewer than two groups to compare."))
        return
    with st.container(horizontal=True):
        first = st.selectbox(_("First group"), groups, index=0, key=f"k_cmp_a_{by}")
        second = st.selectbox(_("Second group"), groups, index=len(groups) - 1, key=f"k_cmp_b_{by}")
    if first == second:
        st.warning(_("Pick two different groups."))
        return
    table = st.session_state.get("k_table") or "standard"
    rule = st.session_state.get("k_rule") or "hierarchy"
    result = compare_groups(ctx.filters, ctx.version, by, first, second, table, rule)
    moved = int(result["moved"].sum())
    st.metric(_("Features that moved category"), fmt_number(moved), border=True)
    shown = result.copy()
    shown["moved"] = shown["moved"].map(lambda m: "⚠ " + _("moved") if m else "")
    st.dataframe(
        shown.style.apply(lambda row: ["background-color: #fef3c7" if row["moved"] else "" for _cell in row], axis=1),
        hide_index=True,
        width="stretch",
        height=35 * (len(shown) + 1) + 3,
        column_order=[
            "feature",
            "moved",
            "category_a",
            "category_b",
            "n_a",
            "n_b",
            "better_a",
            "better_b",
            "worse_a",
            "worse_b",
        ],
        column_config={
            "feature": _("Feature"),
            "moved": _("Change"),
            "category_a": _("Category {group}").format(group=first),
            "category_b": _("Category {group}").format(group=second),
            "n_a": _("Answers {group}").format(group=first),
            "n_b": _("Answers {group}").format(group=second),
            "better_a": st.column_config.NumberColumn(_("Better {group}").format(group=first), format="%.2f"),
            "better_b": st.column_config.NumberColumn(_("Better {group}").format(group=second), format="%.2f"),
            "worse_a": st.column_config.NumberColumn(_("Worse {group}").format(group=first), format="%.2f"),
            "worse_b": st.column_config.NumberColumn(_("Worse {group}").format(group=second), format="%.2f"),
        },
    )
    download_buttons(result, f"kano_comparison_{by}", key="kano_comparison")
    st.plotly_chart(
        comparison_chart(ctx.filters, ctx.version, by, first, second, table, rule), width="stretch", key="k_cmp_chart"
    )


# --- questionnaire and import ---------------------------------------------------------------------------


def draw_template(features: list[str]) -> None:
    st.subheader(_("Questionnaire template"))
    text = st.text_area(
        _("Features to ask about (one per line)"),
        value="\n".join(features),
        key="k_tpl_features",
        height=160,
    )
    chosen = [line.strip() for line in text.splitlines() if line.strip()]
    with st.container(horizontal=True):
        layout = st.segmented_control(
            _("Layout"),
            ["long", "wide"],
            default="long",
            required=True,
            format_func=lambda v: (
                _("Long: one row per respondent and feature") if v == "long" else _("Wide: one row per respondent")
            ),
            key="k_tpl_layout",
        )
        respondents = st.number_input(_("Rows for respondents"), min_value=1, max_value=500, value=3, key="k_tpl_n")
        dysfunctional_first = st.checkbox(
            _("Dysfunctional column first"), key="k_tpl_dys_first", disabled=layout != "wide"
        )
    if not chosen:
        st.info(_("Enter at least one feature."))
        return
    sheet = kano.template(chosen, layout=layout, respondents=int(respondents), dysfunctional_first=dysfunctional_first)
    st.dataframe(sheet.head(12), hide_index=True, width="stretch")
    download_buttons(sheet, f"kano_answers_{layout}", key=f"kano_template_{layout}")
    questions = pd.DataFrame(
        {
            _("Feature"): chosen,
            _("Functional question"): [
                _("How would you feel if {feature} were offered?").format(feature=f) for f in chosen
            ],
            _("Dysfunctional question"): [
                _("How would you feel if {feature} were not offered?").format(feature=f) for f in chosen
            ],
        }
    )
    answers = pd.DataFrame(
        {
            _("Code"): list(kano.ANSWERS),
            _("Answer"): [
                _("I like it"),
                _("I expect it"),
                _("I am neutral"),
                _("I can tolerate it"),
                _("I dislike it"),
            ],
            _("German answer"): [
                "Das würde mich sehr freuen",
                "Das setze ich voraus",
                "Das ist mir egal",
                "Das nehme ich in Kauf",
                "Das würde mich sehr stören",
            ],
        }
    )
    with st.expander(_("Questions and answer options to hand out")):
        st.dataframe(questions, hide_index=True, width="stretch")
        download_buttons(questions, "kano_questions", key="kano_questions")
        st.dataframe(answers, hide_index=True, width="content")
        st.caption(
            _(
                "Answers may be entered as codes 1–5 or as answer texts in English or German. Importance: 1 (unimportant) to 9 (very important)."
            )
        )


def draw_import() -> None:
    st.subheader(_("Import answers"))
    upload = st.file_uploader(
        _("Survey answers (CSV or Excel, long or wide layout)"),
        type=["csv", "xlsx"],
        key="k_upload",
        max_upload_size=50,
    )
    if upload is None:
        st.caption(
            _(
                "Long layout: respondent_id, feature, functional, dysfunctional, and optionally importance, segment, wave. Wide layout: one row per respondent with <feature>_functional and <feature>_dysfunctional columns, in any order."
            )
        )
        return
    try:
        raw = kano.read_answers(upload.getvalue(), file_name=upload.name)
    except ValueError:
        st.error(_("The file could not be read as a table. Save it as CSV (UTF-8) or Excel and try again."))
        return
    missing = kano.missing_parts(raw)
    if missing:
        st.error(
            _(
                "This is not a Kano answers file: no column was found for {missing}. Nothing was stored. "
                "A Kano answers file has one row per respondent and feature with the columns feature, "
                "functional and dysfunctional (long layout), or one row per respondent with "
                "<feature>_functional and <feature>_dysfunctional columns (wide layout); the template above "
                "has the right columns."
            ).format(missing=", ".join(ANSWER_PARTS[p] for p in missing)),
            icon=":material/block:",
        )
        return
    valid, problems = kano.prepare(raw)
    with st.container(horizontal=True):
        st.metric(_("Rows in the file"), fmt_number(len(raw)), border=True)
        st.metric(_("Valid answer pairs"), fmt_number(len(valid)), border=True)
        st.metric(_("Problems"), fmt_number(len(problems)), border=True)
    if valid.empty:
        st.error(
            _("None of the rows in this file holds a usable answer pair, so nothing can be stored. The reasons:"),
            icon=":material/block:",
        )
    elif not problems.empty:
        st.warning(_("Some rows cannot be used. They are listed below with the reason; the rest is evaluated."))
    if not problems.empty:
        problems_table(problems, "k_problems")
        download_buttons(problems, "kano_import_problems", key="kano_problems")
    if valid.empty:
        return
    wave_default = "" if "wave" in valid.columns and valid["wave"].notna().all() else str(pd.Timestamp.today().year)
    wave = st.text_input(_("Survey wave for rows without one"), value=wave_default, key="k_import_wave")
    if wave.strip():
        if "wave" not in valid.columns:
            valid["wave"] = None
        valid["wave"] = valid["wave"].where(valid["wave"].notna(), wave.strip())
    preview = kano.summarize(valid, errors="drop")
    st.caption(_("Evaluation of the valid rows in this file (standard table):"))
    st.dataframe(
        preview[["feature", "category", "n", "better", "worse", "fong_significant"]], hide_index=True, width="stretch"
    )
    mode = st.segmented_control(
        _("How to store"),
        ["upsert", "replace"],
        default="upsert",
        required=True,
        format_func=lambda v: (
            _("Add (same respondent, feature and wave is updated)")
            if v == "upsert"
            else _("Replace all stored answers")
        ),
        key="k_import_mode",
    )
    partial_ok = True
    if not problems.empty:
        partial_ok = st.checkbox(_("Store the valid rows and leave out the problem rows"), key="k_import_partial")
    # Worded as on the Data page, whose import makes the same check.
    same_file_label = _("Load it even if the same file was loaded before")
    allow_same_file = st.checkbox(
        same_file_label,
        key="k_import_allow_same_file",
        help=_(
            "A file with exactly the same content as a loaded import is refused, as it is usually the same file twice."
        ),
    )
    store_label = _("Store answers")
    if st.button(store_label, type="primary", disabled=not partial_ok, key="k_import_go", icon=":material/upload:"):
        try:
            result = kano.import_answers(
                ctx.con, valid, mode=mode, file_name=upload.name, allow_same_file=allow_same_file
            )
        except Exception:  # Anything unexpected is shown in plain words; the store rolls back.
            st.error(_("The answers could not be stored. Nothing was changed."))
            return
        if result.rows_loaded:
            st.success(_("{rows} answer pairs stored.").format(rows=fmt_number(result.rows_loaded)))
        elif result.earlier_import is not None:
            st.error(
                _(
                    "These answers were stored before, by import {number} on {date} (listed in the import log on "
                    "the Data page), from a file with the same content. Nothing was stored this time. To store "
                    "them again anyway, tick “{switch}” and click “{store}” once more."
                ).format(
                    number=result.earlier_import,
                    date=fmt_date(result.earlier_import_at),
                    switch=same_file_label,
                    store=store_label,
                )
            )
        elif result.error:
            st.error(_("Nothing was stored: {reason}").format(reason=result.error))
        if len(result.rejects):
            st.warning(
                _("The import refused these rows (row numbers count the answer pairs, one per respondent and feature):")
            )
            problems_table(result.rejects, "k_import_rejects")


# --- requirements ---------------------------------------------------------------------------------------


def save_catalogue_edits(source: pd.DataFrame, editor_key: str) -> None:
    state = st.session_state.get(editor_key) or {}
    try:
        result = priorities.apply_edits(
            ctx.con,
            source,
            edited_rows=state.get("edited_rows", {}),
            added_rows=state.get("added_rows", []),
            deleted_rows=state.get("deleted_rows", []),
        )
    except priorities.RequirementError as exc:
        st.session_state["req_message"] = (
            "error",
            _("Not saved: {field} “{value}” {reason}.").format(field=exc.field, value=exc.value, reason=exc.reason),
        )
        return
    changed = len(result.added) + len(result.updated) + len(result.deleted)
    st.session_state["req_message"] = ("success", _("Saved ({n} changed).").format(n=changed))
    st.session_state["req_revision"] = st.session_state.get("req_revision", 0) + 1


def draw_catalogue(catalogue: pd.DataFrame) -> None:
    st.caption(
        _(
            "Edit cells directly; every change is saved at once and kept in the history. Add rows at the bottom, delete them with the row menu."
        )
    )
    editor_key = f"req_editor_{st.session_state.get('req_revision', 0)}"
    options = {
        "moscow": st.column_config.SelectboxColumn(_("MoSCoW"), options=list(priorities.MOSCOW)),
        "type": st.column_config.SelectboxColumn(_("Type"), options=list(priorities.TYPES)),
        "source": st.column_config.SelectboxColumn(_("Source"), options=list(priorities.SOURCES)),
        "status": st.column_config.SelectboxColumn(_("Status"), options=list(priorities.STATUSES)),
    }
    st.data_editor(
        catalogue,
        key=editor_key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        on_change=save_catalogue_edits,
        args=(catalogue, editor_key),
        height=560,
        disabled=["requirement_id", "updated_at", "kano_category"],
        column_order=[
            "requirement_id",
            "title",
            "moscow",
            "status",
            "kano_feature",
            "kano_category",
            "effort",
            "urgency",
            "importance",
            "risk",
            "type",
            "source",
            "owner",
            "description",
            "background",
            "goal",
            "updated_at",
        ],
        column_config={
            "requirement_id": st.column_config.TextColumn(_("ID"), pinned=True),
            "title": st.column_config.TextColumn(_("Title"), required=True),
            "kano_category": st.column_config.TextColumn(
                _("Kano category"), help=_("From the newest survey wave, through the Kano feature.")
            ),
            "description": st.column_config.TextColumn(_("Content")),
            "background": st.column_config.TextColumn(_("Background")),
            "goal": st.column_config.TextColumn(_("Goal")),
            "kano_feature": st.column_config.TextColumn(_("Kano feature")),
            "effort": st.column_config.NumberColumn(_("Effort (person-days)"), min_value=0, format="%.1f"),
            "urgency": st.column_config.NumberColumn(_("Urgency (1–5)"), min_value=1, max_value=5, step=1),
            "importance": st.column_config.NumberColumn(_("Importance (1–5)"), min_value=1, max_value=5, step=1),
            "risk": st.column_config.NumberColumn(_("Risk (1–5)"), min_value=1, max_value=5, step=1),
            "owner": st.column_config.TextColumn(_("Owner")),
            "updated_at": st.column_config.DatetimeColumn(_("Last change"), format="D MMM YYYY, HH:mm"),
            **options,
        },
    )
    message = st.session_state.pop("req_message", None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    download_buttons(
        catalogue.drop(columns=["kano_better", "kano_worse"], errors="ignore"), "requirements", key="requirements"
    )
    with st.expander(_("Change history")):
        changes = load_history(ctx.version)
        if changes.empty:
            st.caption(_("No changes yet."))
        else:
            st.dataframe(
                changes,
                hide_index=True,
                width="stretch",
                key="req_history",
                column_config={
                    "occurred_at": st.column_config.DatetimeColumn(_("When"), format="D MMM YYYY, HH:mm"),
                    "actor": _("Who"),
                    "action": _("Change"),
                    "requirement_id": _("ID"),
                    "field": _("Field"),
                    "old": _("Before"),
                    "new": _("After"),
                },
            )
            download_buttons(changes, "requirements_history", key="requirements_history")


def board_header(row: pd.Series) -> str:
    """One MoSCoW class of the board -> its header: what the column lists, and what of it is planned."""
    cls = row["moscow"]
    listed = _("**{cls}** · {n} listed · {effort} person-days").format(
        cls=PRIORITY_TEXT[cls], n=fmt_number(row["listed"]), effort=fmt_number(row["listed_effort"], 1)
    )
    if cls == "won't":
        return listed + " · " + _("not planned")
    if row["requirements"] == row["listed"]:
        return listed + " · " + _("all planned")
    return (
        listed
        + " · "
        + _("planned: {n} · {effort} person-days (rejected ones do not count)").format(
            n=fmt_number(row["requirements"]), effort=fmt_number(row["effort"], 1)
        )
    )


def draw_board(catalogue: pd.DataFrame) -> None:
    limit = st.slider(
        _("Largest share of the planned effort the musts may take (%)"),
        min_value=10,
        max_value=100,
        value=int(round(load_must_limit(ctx.version) * 100)),
        step=5,
        key="req_must_limit",
        on_change=lambda: priorities.save_must_limit(ctx.con, st.session_state["req_must_limit"] / 100),
        help=_(
            "A common rule of thumb keeps musts at or below 60 % of the planned effort, so shoulds and coulds leave room for surprises."
        ),
    )
    board, check = moscow_board(ctx.version, limit)
    with st.container(horizontal=True):
        st.metric(_("Share of effort in musts"), fmt_pct(check["must_share"]), border=True)
        st.metric(_("Planned effort (person-days)"), fmt_number(check["total_effort"], 1), border=True)
        st.metric(_("Limit"), fmt_pct(check["limit"], 0), border=True)
    if not check["within_limit"]:
        st.warning(
            _(
                "The musts take {share} of the planned effort, more than the {limit} allowed. Move some to should or could."
            ).format(share=fmt_pct(check["must_share"]), limit=fmt_pct(check["limit"], 0)),
            icon=":material/warning:",
        )
    else:
        st.success(_("The musts stay within the limit."), icon=":material/check_circle:")
    if check["unestimated"]:
        st.info(_("{n} planned requirements have no effort estimate and count as 0.").format(n=check["unestimated"]))
    st.plotly_chart(board_chart(ctx.version, limit), width="stretch", key="req_board_chart")
    cells = [cell for _row in range(2) for cell in st.columns(2)]
    for cell, cls in zip(cells, priorities.MOSCOW, strict=True):
        with cell, st.container(border=True):
            items = catalogue[catalogue["moscow"] == cls].assign(
                kano_category=lambda frame: frame["kano_category"].map(category_label)
            )
            st.markdown(board_header(board[board["moscow"] == cls].iloc[0]))
            st.dataframe(
                items[["requirement_id", "title", "effort", "status", "kano_category"]],
                hide_index=True,
                width="stretch",
                height=35 * (min(len(items), 10) + 1) + 3,
                column_config={
                    "requirement_id": _("ID"),
                    "title": st.column_config.TextColumn(_("Title"), width="medium"),
                    "effort": st.column_config.NumberColumn(_("Effort"), format="%.1f"),
                    "status": _("Status"),
                    "kano_category": _("Kano"),
                },
            )


def save_criteria_edits(source: pd.DataFrame, editor_key: str) -> None:
    state = st.session_state.get(editor_key) or {}
    frame = source.copy()
    for position, changes in (state.get("edited_rows") or {}).items():
        for field, value in changes.items():
            frame.loc[int(position), field] = value
    added = pd.DataFrame(state.get("added_rows") or [], columns=frame.columns)
    frame = pd.concat([frame.drop(index=list(state.get("deleted_rows") or [])), added], ignore_index=True)
    frame = frame.dropna(subset=["name"])
    try:
        criteria = [
            priorities.Criterion(str(r.name), float(r.weight or 0), str(r.direction or "benefit"))
            for r in frame.itertuples(index=False)
        ]
        priorities.save_criteria(ctx.con, criteria)
    except (priorities.RequirementError, ValueError, TypeError):
        st.session_state["crit_message"] = _(
            "Not saved: each criterion needs a column, a weight of 0 or more and a direction."
        )
        return
    st.session_state["crit_revision"] = st.session_state.get("crit_revision", 0) + 1


def draw_scoring(wave: str, table: str, rule: str) -> None:
    criteria = load_criteria(ctx.version)
    source = pd.DataFrame([{"name": c.name, "weight": c.weight, "direction": c.direction} for c in criteria])
    st.caption(
        _(
            "Criteria and weights: each criterion is scaled from 0 (worst in the catalogue) to 1 (best); the score is the weighted mean × 100. For effort and risk less is better."
        )
    )
    editor_key = f"crit_editor_{st.session_state.get('crit_revision', 0)}"
    st.data_editor(
        source,
        key=editor_key,
        num_rows="dynamic",
        hide_index=True,
        width="content",
        on_change=save_criteria_edits,
        args=(source, editor_key),
        column_config={
            "name": st.column_config.SelectboxColumn(
                _("Criterion"),
                options=list(priorities.NUMERIC),
                format_func=lambda v: CRITERION_NAMES.get(v, v),
                required=True,
            ),
            "weight": st.column_config.NumberColumn(
                _("Weight"), min_value=0.0, step=0.05, format="%.2f", required=True
            ),
            "direction": st.column_config.SelectboxColumn(
                _("Direction"),
                options=["benefit", "cost"],
                format_func=lambda v: _("more is better") if v == "benefit" else _("less is better"),
                required=True,
            ),
        },
    )
    message = st.session_state.pop("crit_message", None)
    if message:
        st.error(message)
    ordered = suggested_order(ctx.filters, ctx.version, wave, table, rule)
    st.plotly_chart(scores_chart(ctx.filters, ctx.version, wave, table, rule), width="stretch", key="req_scores_chart")
    st.subheader(_("Suggested order"))
    st.caption(
        _(
            "Must-be features first, then one-dimensional, then attractive (Kano category from the survey), each by "
            "score. A requirement without a Kano category takes the place of its MoSCoW class (must with must-be, "
            "should with one-dimensional, could with attractive); won't-haves and rejected requirements come last."
        )
    )
    shown_order = ordered.assign(
        kano_category=ordered["kano_category"].map(category_label),
        order_group=ordered["order_group"].map(ORDER_GROUP_NAMES),
        moscow=ordered["moscow"].map(lambda m: PRIORITY_TEXT.get(m, "–") if isinstance(m, str) else "–"),
    )
    st.dataframe(
        shown_order[["rank", "requirement_id", "title", "order_group", "kano_category", "moscow", "score", "status"]],
        hide_index=True,
        width="stretch",
        height=35 * (min(len(ordered), 25) + 1) + 3,
        key="req_order",
        column_config={
            "rank": _("Rank"),
            "requirement_id": _("ID"),
            "title": _("Title"),
            "order_group": st.column_config.TextColumn(_("Ranked among"), width="medium"),
            "kano_category": _("Kano category"),
            "moscow": _("MoSCoW"),
            "score": st.column_config.ProgressColumn(_("Score"), min_value=0, max_value=100, format="%.0f"),
            "status": _("Status"),
        },
    )
    download_buttons(ordered, "requirements_prioritised", key="requirements_prioritised")


# --- page -------------------------------------------------------------------------------------------------

answers = load_answers(ctx.filters, ctx.version)
# The requirements take their Kano category from the newest wave, evaluated as chosen on the results tab.
waves = sorted(answers["wave"].dropna().unique()) if not answers.empty else []
newest = waves[-1] if waves else ALL
chosen_table = st.session_state.get("k_table") or "standard"
chosen_rule = st.session_state.get("k_rule") or "hierarchy"
linked = linked_catalogue(ctx.filters, ctx.version, newest, chosen_table, chosen_rule)
st.caption(
    _(
        "Survey answers follow the segment, country and channel filters through the respondents' customer numbers; the period does not apply to surveys."
    )
)

survey_tab, compare_tab, collect_tab, catalogue_tab, board_tab, scoring_tab = st.tabs(
    [
        _("Survey results"),
        _("Compare"),
        _("Template and import"),
        _("Requirements"),
        _("MoSCoW board"),
        _("Scoring and order"),
    ]
)
with survey_tab:
    if answers.empty:
        st.info(
            _(
                "No survey answers yet (or none for the customers in the filter). Download the template and import answers on the next tab."
            )
        )
    else:
        draw_results(answers)
with compare_tab:
    if answers.empty:
        st.info(_("No survey answers to compare yet."))
    else:
        draw_comparison(answers)
with collect_tab:
    draw_template(
        list(dict.fromkeys(answers["feature"]))
        if not answers.empty
        else [_("Same-day delivery"), _("Live chat support")]
    )
    draw_import()
with catalogue_tab:
    draw_catalogue(linked)
with board_tab:
    draw_board(linked)
with scoring_tab:
    if waves:
        st.caption(_("Kano categories come from the newest survey wave, {wave}.").format(wave=waves[-1]))
    draw_scoring(newest, chosen_table, chosen_rule)
