"""Worksheets: fill in the workshop worksheets per workshop and customer account; every change is saved at once.

Storyboard: pick (or create) a workshop, an account and a worksheet -> fill it in one section at a time
(proximity levels, orientation areas, buying-centre people, MoSCoW classes) -> see the results ->
look at the history -> print or export. Each widget saves its own item in an ``on_change`` callback;
the page compares what it last saw with the store on every run and tells the user when someone else
changed an answer in the meantime.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics import store
from analytics import worksheets as ws
from analytics.charts import worksheets as charts
from ui.downloads import download_buttons, download_file
from ui.frame import cursor, page_setup
from ui.i18n import _, fmt_date, fmt_number, fmt_pct

ctx = page_setup(_("Worksheets"), filters=False)
con = ctx.con

KIND_NAMES = {
    "proximity": _("Customer proximity"),
    "orientation": _("Customer orientation check"),
    "buying_centre": _("Buying centre"),
    "moscow": _("MoSCoW sorting"),
}
LEVEL_NAMES = {"A": _("A · Personal"), "B": _("B · Subject"), "C": _("C · Organisational"), "D": _("D · Power")}
SCALE_LABELS = {"--": "−−", "-": "−", "+": "+", "++": "++"}
PLACEMENTS = {
    "happily_connected": (
        _("Happily and voluntarily connected"),
        _("Personal and factual ties carry the relationship."),
    ),
    "committed": (
        _("Committed rather than loyal"),
        _(
            "The power level holds the customer more than the personal and factual levels do: they stay because they have to."
        ),
    ),
    "loosely_connected": (
        _("Loosely connected"),
        _("Neither the personal and factual ties nor the power level hold the customer firmly yet."),
    ),
    "unknown": (_("Not placed yet"), _("Rate at least one question on the personal, subject and power levels.")),
}
QUADRANT_LABELS = {
    "stable_valuable": _("stable and valuable"),
    "unstable_valuable": _("valuable, but unstable"),
    "stable_low_value": _("stable, little value"),
    "unstable_low_value": _("unstable, little value"),
}
VIEWS = {"fill": _("Fill in"), "results": _("Results"), "history": _("History"), "print": _("Print and export")}

state = st.session_state
state.setdefault("ws_seen", {})  # worksheet id -> {item id: updated_at as this session last saw it}
state.setdefault("ws_flash", [])  # messages from callbacks, shown once on the next run


def user_name() -> str:
    return (state.get("ws_user") or "").strip() or _("facilitator")


def flash(level: str, message: str) -> None:
    state["ws_flash"].append((level, message))


def widget_key(worksheet_id: str, item_id: str, part: str) -> str:
    return f"ws|{worksheet_id}|{item_id}|{part}"


def md(text: object) -> str:
    """Text typed by a user (or from a template) -> markdown that shows it literally."""
    return ws.escape_markdown(text)


def safe_table(frame: pd.DataFrame, *, hide_index: bool = True) -> None:
    """st.table renders markdown in its cells: show every cell (and header) literally."""
    shown = frame.copy()
    shown.columns = [md(c) for c in shown.columns]
    for column in shown.columns:
        shown[column] = [
            md(v) if isinstance(v, str) else ("" if v is None or pd.isna(v) else md(v)) for v in shown[column]
        ]
    st.table(shown, hide_index=hide_index)


def fmt_time(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    value = pd.Timestamp(value).to_pydatetime()
    return f"{fmt_date(value)} {value:%H:%M}"


def fmt_score(value: float) -> str:
    return "–" if value is None or pd.isna(value) else fmt_number(value, 2)


# --- saving (callbacks run before the script, so the store is current when the page draws) -----------


def save_item(worksheet_id: str, item_id: str, part: str) -> None:
    value = state.get(widget_key(worksheet_id, item_id, part))
    seen = state["ws_seen"].setdefault(worksheet_id, {})
    kwargs = (
        {"text": value or ""}
        if part == "text"
        else {"note": value or ""}
        if part == "note"
        else {"rating": value or ""}
    )
    try:
        result = ws.save(con, worksheet_id, item_id, by=user_name(), seen_at=seen.get(item_id, ws.NEVER), **kwargs)
    except ws.WorksheetError as exc:
        flash("error", _("Not saved: {reason}.").format(reason=str(exc)))
        return
    if result.changed:
        seen[item_id] = result.updated_at
        state["ws_last_saved"] = result.updated_at
    if result.conflict:
        flash(
            "warning",
            _(
                "{who} had changed this answer at {time}, after you opened it. Your entry replaced theirs; "
                "their version is kept in the history."
            ).format(who=result.overwritten_by, time=fmt_time(result.overwritten_at)),
        )


def sync_with_store(worksheet_id: str, frame: pd.DataFrame) -> list[tuple[str, str, object]]:
    """Remember what the store holds; for items someone else changed since this session saw them, drop the
    widget state (so the widgets show the stored value) and return (item text, who, when)."""
    first_visit = worksheet_id not in state["ws_seen"]
    seen = state["ws_seen"].setdefault(worksheet_id, {})
    changed = []
    for row in frame.itertuples():
        stored = (
            ws.NEVER
            if row.updated_at is None or pd.isna(row.updated_at)
            else pd.Timestamp(row.updated_at).to_pydatetime()
        )
        known = seen.get(row.item_id)
        if first_visit or known is None:
            seen[row.item_id] = stored
            continue
        if stored > known:
            for part in ("text", "rating", "note"):
                state.pop(widget_key(worksheet_id, row.item_id, part), None)
            seen[row.item_id] = stored
            changed.append((row.text, row.updated_by, stored))
    return changed


def init_widget(key: str, value) -> None:
    if key not in state:
        state[key] = value


def saved_caption(row) -> None:
    if row.updated_at is not None and not pd.isna(row.updated_at):
        st.caption(
            _(":material/cloud_done: Saved {time} by {who}").format(
                time=fmt_time(row.updated_at), who=md(row.updated_by or "–")
            )
        )


# --- item widgets ---------------------------------------------------------------------------------


def heading(text: str) -> None:
    size = "###" if state.get("ws_present") else "####"
    st.markdown(f"{size} {md(text)}")


def rated_item(worksheet_id: str, row) -> None:
    with st.container(border=True):
        heading(_(row.text))
        text_key = widget_key(worksheet_id, row.item_id, "text")
        rating_key = widget_key(worksheet_id, row.item_id, "rating")
        note_key = widget_key(worksheet_id, row.item_id, "note")
        init_widget(text_key, row.answer or "")
        init_widget(rating_key, row.rating)
        init_widget(note_key, row.note or "")
        st.text_area(
            _("Our answer"),
            key=text_key,
            height=90,
            max_chars=ws.MAX_TEXT,
            on_change=save_item,
            args=(worksheet_id, row.item_id, "text"),
            placeholder=_("What the team agrees on"),
        )
        st.segmented_control(
            _("How satisfied are we with this answer?"),
            ws.SCALE,
            key=rating_key,
            format_func=SCALE_LABELS.get,
            on_change=save_item,
            args=(worksheet_id, row.item_id, "rating"),
            width="stretch",
            help=_("−− the customer gets little or no attention here · ++ a clear strength"),
        )
        st.text_input(
            _("Note"),
            key=note_key,
            max_chars=ws.MAX_TEXT,
            on_change=save_item,
            args=(worksheet_id, row.item_id, "note"),
            placeholder=_("Open points, who follows up"),
        )
        saved_caption(row)


def check_item(worksheet_id: str, row, *, yes: str, no: str) -> None:
    with st.container(border=True):
        heading(_(row.text))
        key = widget_key(worksheet_id, row.item_id, "rating")
        init_widget(key, row.rating)
        st.segmented_control(
            _("Do we agree?"),
            ("yes", "no"),
            key=key,
            format_func={"yes": yes, "no": no}.get,
            on_change=save_item,
            args=(worksheet_id, row.item_id, "rating"),
            label_visibility="collapsed",
            width="stretch",
        )
        saved_caption(row)


def text_item(worksheet_id: str, row, *, height: int = 120) -> None:
    with st.container(border=True):
        heading(_(row.text))
        key = widget_key(worksheet_id, row.item_id, "text")
        init_widget(key, row.answer or "")
        st.text_area(
            _(row.text),
            key=key,
            height=height,
            max_chars=ws.MAX_TEXT,
            on_change=save_item,
            args=(worksheet_id, row.item_id, "text"),
            label_visibility="collapsed",
        )
        saved_caption(row)


def section_picker(worksheet_id: str, sections: dict[str, str], *, label: str) -> str:
    key = f"ws_section|{worksheet_id}"
    if state.get(key) not in sections:
        state[key] = next(iter(sections))
    return st.segmented_control(
        label, list(sections), key=key, format_func=sections.get, required=True, width="stretch"
    )


def next_section_button(worksheet_id: str, sections: dict[str, str], current: str) -> None:
    keys = list(sections)
    position = keys.index(current)
    if position + 1 < len(keys):
        following = keys[position + 1]

        def go_next() -> None:
            state[f"ws_section|{worksheet_id}"] = following

        st.button(
            _("Next: {section}").format(section=sections[following]),
            icon=":material/arrow_forward:",
            on_click=go_next,
            key=f"ws_next|{worksheet_id}|{current}",
            type="primary",
        )


# --- fill-in views per template -------------------------------------------------------------------


def fill_proximity(worksheet_id: str, frame: pd.DataFrame) -> None:
    spec = ws.template("proximity")
    with st.expander(_("How the facilitator works with this worksheet"), icon=":material/info:"):
        for number, step in enumerate(spec["steps"], start=1):
            st.markdown(f"**{number}\\. {md(_(step['title']))}** · {md(_(step['text']))}")
    sections = {s["id"]: (LEVEL_NAMES.get(s["id"]) or _(s["short"])) for s in spec["sections"]}
    sections["check"] = _("Decision check")
    current = section_picker(worksheet_id, sections, label=_("Level"))
    section = next(s for s in spec["sections"] if s["id"] == current)
    st.caption(md(_(section["help"])))
    for row in frame[frame["section"] == current].itertuples():
        if row.kind == "rated":
            rated_item(worksheet_id, row)
        elif row.kind == "check":
            check_item(worksheet_id, row, yes=_("Yes"), no=_("Not yet"))
        else:
            text_item(worksheet_id, row)
    if current == "check":
        verdict = ws.decision_check(frame)
        if verdict["all"]:
            st.success(_("The upcoming decisions weigh all four levels."), icon=":material/check_circle:")
        else:
            missing = ", ".join(LEVEL_NAMES[level] for level in verdict["missing"])
            st.warning(
                _("Not yet weighed in the upcoming decisions: {levels}.").format(levels=missing),
                icon=":material/balance:",
            )
    next_section_button(worksheet_id, sections, current)


def fill_orientation(worksheet_id: str, frame: pd.DataFrame) -> None:
    spec = ws.template("orientation")
    scores = ws.orientation_scores(frame).set_index("area")
    with st.container(horizontal=True):
        for s in spec["sections"]:
            st.metric(
                _(s["title"]),
                fmt_pct(scores.loc[s["id"], "score"], 0),
                help=_("Share of the statements the team ticked."),
                border=True,
            )
    sections = {s["id"]: _(s["title"]) for s in spec["sections"]}
    current = section_picker(worksheet_id, sections, label=_("Area"))
    section = next(s for s in spec["sections"] if s["id"] == current)
    st.caption(md(_(section["help"])) + " " + md(_("Tick only what the team can honestly agree with.")))
    for row in frame[frame["section"] == current].itertuples():
        if row.kind == "check":
            check_item(worksheet_id, row, yes=_("Agree"), no=_("Not yet"))
        else:
            text_item(worksheet_id, row, height=150)
    next_section_button(worksheet_id, sections, current)


def add_person_callback(worksheet_id: str) -> None:
    name = state.get(f"ws_new_person|{worksheet_id}") or ""
    role = state.get(f"ws_new_role|{worksheet_id}")
    try:
        ws.add_person(con, worksheet_id, name=name, role=role, by=user_name())
    except ws.WorksheetError as exc:
        flash("error", _("Not added: {reason}.").format(reason=str(exc)))
        return
    state[f"ws_new_person|{worksheet_id}"] = ""


def fill_buying_centre(worksheet_id: str, frame: pd.DataFrame) -> None:
    spec = ws.template("buying_centre")
    roles = {r["id"]: _(r["title"]) for r in spec["roles"]}
    influence = {r["id"]: _(r["title"]) for r in spec["influence"]}
    attitude = {r["id"]: _(r["title"]) for r in spec["attitude"]}
    with st.expander(_("The roles: what each cares about and how to address them"), icon=":material/info:"):
        safe_table(
            pd.DataFrame(
                {
                    _("Role"): [_(r["title"]) for r in spec["roles"]],
                    _("Cares about"): [_(r["cares"]) for r in spec["roles"]],
                    _("How to address them"): [_(r["approach"]) for r in spec["roles"]],
                }
            ),
            hide_index=True,
        )
    with st.form(f"ws_add_person_form|{worksheet_id}", clear_on_submit=False, border=True):
        st.markdown("#### " + md(_("Add a person")))
        st.text_input(_("Name or function"), key=f"ws_new_person|{worksheet_id}", max_chars=120)
        st.radio(_("Main role"), list(roles), format_func=roles.get, horizontal=True, key=f"ws_new_role|{worksheet_id}")
        st.form_submit_button(
            _("Add person"), icon=":material/person_add:", on_click=add_person_callback, args=(worksheet_id,)
        )
    people_rows = frame[frame["section"] == "people"]
    people = ws.buying_centre(frame)
    if people.empty:
        st.info(_("No people yet. Add everyone who takes part in the purchase decision."))
    for person in people.itertuples():
        items = {
            r.item_id.rsplit(".", 1)[1]: r
            for r in people_rows.itertuples()
            if r.item_id.startswith(f"person.{person.person_id}.")
        }
        with st.container(border=True):
            heading(person.name or _("(no name)"))
            fields = [
                ("name", "text", None),
                ("role", "rating", roles),
                ("influence", "rating", influence),
                ("attitude", "rating", attitude),
                ("note", "text", None),
            ]
            for field_name, part, options in fields:
                item_id = f"person.{person.person_id}.{field_name}"
                row = items.get(field_name)
                key = widget_key(worksheet_id, item_id, part)
                current = None if row is None else (row.answer if part == "text" else row.rating)
                init_widget(key, current if part == "rating" else (current or ""))
                label = {
                    "name": _("Name or function"),
                    "role": _("Role"),
                    "influence": _("Influence on the decision"),
                    "attitude": _("Attitude towards us"),
                    "note": _("What matters to this person, how we reach them"),
                }[field_name]
                if options:
                    st.segmented_control(
                        label,
                        list(options),
                        key=key,
                        format_func=options.get,
                        on_change=save_item,
                        args=(worksheet_id, item_id, part),
                        width="stretch",
                    )
                elif field_name == "note":
                    st.text_area(
                        label,
                        key=key,
                        height=80,
                        max_chars=ws.MAX_TEXT,
                        on_change=save_item,
                        args=(worksheet_id, item_id, part),
                    )
                else:
                    st.text_input(
                        label, key=key, max_chars=120, on_change=save_item, args=(worksheet_id, item_id, part)
                    )
            if person.role:
                st.caption(
                    md(
                        _("Cares about: {cares} · Approach: {approach}").format(
                            cares=_(person.cares), approach=_(person.approach)
                        )
                    )
                )
    missing = ws.missing_roles(people)
    if len(people) and missing:
        st.warning(
            _("Nobody named yet for: {roles}.").format(roles=", ".join(roles[r] for r in missing)),
            icon=":material/person_search:",
        )
    for row in frame[frame["section"] == "plan"].itertuples():
        text_item(worksheet_id, row)


def add_requirement_callback(worksheet_id: str) -> None:
    title = state.get(f"ws_new_req|{worksheet_id}") or ""
    try:
        ws.add_requirement(con, title, by=user_name())
    except (ws.WorksheetError, ValueError) as exc:
        flash("error", _("Not added: {reason}.").format(reason=str(exc)))
        return
    state[f"ws_new_req|{worksheet_id}"] = ""


def fill_moscow(worksheet_id: str, frame: pd.DataFrame) -> None:
    spec = ws.template("moscow")
    classes = {c["id"]: _(c["title"]) for c in spec["classes"]}
    st.caption(md(_(spec["description"])))
    with st.expander(_("What the classes mean"), icon=":material/info:"):
        for c in spec["classes"]:
            st.markdown(f"**{md(_(c['title']))}** · {md(_(c['help']))}")
    with st.form(f"ws_add_req_form|{worksheet_id}", border=True):
        st.text_input(_("New requirement for the catalogue"), key=f"ws_new_req|{worksheet_id}", max_chars=ws.MAX_TITLE)
        st.form_submit_button(
            _("Add requirement"), icon=":material/add:", on_click=add_requirement_callback, args=(worksheet_id,)
        )
    reqs = frame[frame["kind"] == "moscow"]
    if reqs.empty:
        st.info(_("The requirements catalogue is empty. Add requirements here or on the Kano and priorities page."))
    for row in reqs.itertuples():
        with st.container(border=True):
            st.markdown(f"**{md(row.item_id[4:])}** · {md(row.text)}")
            key = widget_key(worksheet_id, row.item_id, "rating")
            init_widget(key, row.rating)
            st.segmented_control(
                _("MoSCoW class"),
                list(classes),
                key=key,
                format_func=classes.get,
                on_change=save_item,
                args=(worksheet_id, row.item_id, "rating"),
                label_visibility="collapsed",
                width="stretch",
            )
            saved_caption(row)
    for row in frame[frame["section"] == "notes"].itertuples():
        text_item(worksheet_id, row)


# --- results --------------------------------------------------------------------------------------


def placement_text(rel: dict) -> tuple[str, str]:
    return PLACEMENTS[rel["placement"]]


def results_proximity(sheet: dict, frame: pd.DataFrame) -> None:
    profile = ws.level_profile(frame)
    rel = ws.relationship(profile)
    with st.container(horizontal=True):
        for row in profile.itertuples():
            st.metric(
                LEVEL_NAMES[row.level],
                fmt_score(row.score),
                help=_(
                    "Mean rating of the level (−− = −2, − = −1, + = 1, ++ = 2); {rated} of {questions} questions rated."
                ).format(rated=row.rated, questions=row.questions),
                border=True,
            )
    label, explanation = placement_text(rel)
    with st.container(border=True):
        st.markdown("### " + md(label))
        st.markdown(md(explanation))
        st.caption(
            md(
                _(
                    "Rule: the bond is voluntary when personal and subject level average at least + and the power level "
                    "is not a full step above them; committed when the power level averages at least + and is a full step "
                    "or more above the personal and subject levels; loosely connected otherwise."
                )
            )
        )
    name = sheet["account"] or sheet["title"]
    positions = pd.DataFrame([{"name": name, **{k: rel[k] for k in ("economic_value", "stability", "lean")}}])
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.proximity_radar({name: profile}, level_names=LEVEL_NAMES, title=_("Profile per level")),
            width="stretch",
            key="ws_radar",
        )
    with right:
        st.plotly_chart(
            charts.relationship_map(
                positions,
                quadrant_labels=QUADRANT_LABELS,
                title=_("Stability and economic value"),
                x_title=_("Economic value: subject and organisational level (−2..2)"),
                y_title=_("Stability: personal and power level (−2..2)"),
            ),
            width="stretch",
            key="ws_map",
        )
    st.plotly_chart(
        charts.connection_scale(
            positions,
            left_label=_("happily and voluntarily connected"),
            right_label=_("committed"),
            title=_("Voluntary bond or commitment"),
            x_title=_("Power level minus the mean of personal and subject level, divided by 4"),
        ),
        width="stretch",
        key="ws_scale",
    )
    st.subheader(_("Strengths and weaknesses"))
    sides = ws.strengths_weaknesses(frame)
    left, right = st.columns(2)
    for column, side, title in (
        (left, "strength", _("Our strengths (+ and ++)")),
        (right, "weakness", _("Our weaknesses (− and −−)")),
    ):
        with column, st.container(border=True):
            st.markdown("#### " + md(title))
            part = sides[sides["side"] == side]
            if part.empty:
                st.caption(_("None rated yet."))
            else:
                safe_table(
                    pd.DataFrame(
                        {
                            _("Level"): [LEVEL_NAMES[level] for level in part["level"]],
                            _("Question"): [_(t) for t in part["text"]],
                            _("Rating"): [SCALE_LABELS[r] for r in part["rating"]],
                        }
                    ),
                    hide_index=True,
                )
    verdict = ws.decision_check(frame)
    if verdict["all"]:
        st.success(_("The upcoming decisions weigh all four levels."), icon=":material/check_circle:")
    else:
        st.warning(
            _("Not yet weighed in the upcoming decisions: {levels}.").format(
                levels=", ".join(LEVEL_NAMES[x] for x in verdict["missing"])
            ),
            icon=":material/balance:",
        )
    st.subheader(_("Over time"))
    over_time = ws.profile_over_time(ws.history(con, sheet["worksheet_id"]), frame)
    if over_time["date"].nunique() < 2:
        st.caption(_("The level scores over time appear once ratings were changed on at least two days."))
    else:
        st.plotly_chart(
            charts.level_trend(
                over_time,
                level_names=LEVEL_NAMES,
                title=_("Level scores over time"),
                x_title=_("Date"),
                y_title=_("Score (−2..2)"),
            ),
            width="stretch",
            key="ws_trend",
        )
    st.subheader(_("Compared with other accounts"))
    compare = ws.compare_proximity(con)
    if len(compare) < 2:
        st.caption(_("Fill in a proximity worksheet for another account to compare."))
        return
    compare["name"] = [f"{a or '–'} · {t}" for a, t in zip(compare["account"], compare["title"], strict=True)]
    chosen = st.multiselect(
        _("Worksheets to compare"),
        list(compare["worksheet_id"]),
        default=list(compare["worksheet_id"])[:4],
        format_func=dict(zip(compare["worksheet_id"], compare["name"], strict=True)).get,
        key="ws_compare",
    )
    picked = compare[compare["worksheet_id"].isin(chosen)]
    profiles = {r.name: ws.level_profile(ws.load(con, r.worksheet_id)) for r in picked.itertuples()}
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.proximity_radar(profiles, level_names=LEVEL_NAMES, title=_("Profiles compared")),
            width="stretch",
            key="ws_radar_cmp",
        )
    with right:
        st.plotly_chart(
            charts.relationship_map(
                picked,
                quadrant_labels=QUADRANT_LABELS,
                title=_("Relationships compared"),
                x_title=_("Economic value (−2..2)"),
                y_title=_("Stability (−2..2)"),
            ),
            width="stretch",
            key="ws_map_cmp",
        )
    table = picked.assign(placement=[PLACEMENTS[p][0] for p in picked["placement"]])
    table = table[
        ["account", "title", "workshop", "updated_at", *ws.LEVELS, "economic_value", "stability", "placement"]
    ]
    st.dataframe(
        table.rename(
            columns={
                "account": _("Account"),
                "title": _("Worksheet"),
                "workshop": _("Workshop"),
                "updated_at": _("Last change"),
                "economic_value": _("Economic value"),
                "stability": _("Stability"),
                "placement": _("Placement"),
                **LEVEL_NAMES,
            }
        ),
        hide_index=True,
        column_config={LEVEL_NAMES[x]: st.column_config.NumberColumn(format="%.2f") for x in ws.LEVELS}
        | {
            _("Economic value"): st.column_config.NumberColumn(format="%.2f"),
            _("Stability"): st.column_config.NumberColumn(format="%.2f"),
        },
    )


def results_orientation(sheet: dict, frame: pd.DataFrame) -> None:
    scores = ws.orientation_scores(frame)
    scores["title"] = [_(t) for t in scores["title"]]
    with st.container(horizontal=True):
        for row in scores.itertuples():
            st.metric(
                row.title,
                fmt_pct(row.score, 0),
                help=_("{ticked} of {statements} statements ticked.").format(
                    ticked=row.ticked, statements=row.statements
                ),
                border=True,
            )
    st.plotly_chart(
        charts.orientation_bars(scores, title=_("Customer orientation per area"), x_title=_("Statements ticked (%)")),
        width="stretch",
        key="ws_orient",
    )
    st.subheader(_("Measures for the next three months"))
    for row in scores.itertuples():
        with st.container(border=True):
            st.markdown("#### " + md(row.title))
            st.markdown(md(row.measures) if row.measures else "_" + md(_("No measures written down yet.")) + "_")


def results_buying_centre(sheet: dict, frame: pd.DataFrame) -> None:
    spec = ws.template("buying_centre")
    roles = {r["id"]: _(r["title"]) for r in spec["roles"]}
    people = ws.buying_centre(frame)
    if people.empty:
        st.info(_("No people yet."))
        return
    st.plotly_chart(
        charts.buying_centre_map(
            people,
            role_names=roles,
            title=_("Buying centre: influence and attitude"),
            x_title=_("Attitude towards us (−2 opposed … +2 champion)"),
            y_title=_("Influence on the decision (1 low … 3 high)"),
        ),
        width="stretch",
        key="ws_bc_map",
    )
    safe_table(
        pd.DataFrame(
            {
                _("Person"): people["name"].fillna("–"),
                _("Role"): [roles.get(r, "–") for r in people["role"]],
                _("Influence"): people["influence"].fillna("–").map(lambda v: _(v.capitalize()) if v != "–" else v),
                _("Attitude"): people["attitude"].fillna("–").map(lambda v: _(v.capitalize()) if v != "–" else v),
                _("How to address them"): [_(a) if isinstance(a, str) else "–" for a in people["approach"]],
            }
        ),
        hide_index=True,
    )
    missing = ws.missing_roles(people)
    if missing:
        st.warning(
            _("Nobody named yet for: {roles}.").format(roles=", ".join(roles[r] for r in missing)),
            icon=":material/person_search:",
        )


def results_moscow(sheet: dict, frame: pd.DataFrame) -> None:
    spec = ws.template("moscow")
    classes = {c["id"]: _(c["title"]) for c in spec["classes"]} | {"unsorted": _("Not sorted yet")}
    counts = ws.moscow_counts(frame)
    st.plotly_chart(
        charts.moscow_bars(
            counts, class_names=classes, title=_("Requirements per MoSCoW class"), y_title=_("Requirements")
        ),
        width="stretch",
        key="ws_moscow",
    )


# --- history, print and export --------------------------------------------------------------------


def item_labels(frame: pd.DataFrame) -> dict[str, str]:
    labels = {row.item_id: _(row.text) for row in frame.itertuples()}
    names = (
        {f"person.{p.person_id}.": p.name or "–" for p in ws.buying_centre(frame).itertuples()}
        if "people" in set(frame["section"])
        else {}
    )
    for item_id in labels:
        for prefix, name in names.items():
            if item_id.startswith(prefix):
                labels[item_id] = f"{name}: {_(item_id[len(prefix) :])}"
    labels |= {"_created": _("(worksheet created)"), "_title": _("(title changed)")}
    return labels


def change_text(answer, rating, note) -> str:
    """One stored state of an item -> 'rating ++ · answer … · note …' for the history table."""
    parts = []
    if isinstance(rating, str):
        shown = {"yes": _("yes"), "no": _("not yet")}.get(rating, SCALE_LABELS.get(rating, rating))
        parts.append(_("choice {value}").format(value=shown))
    if isinstance(answer, str):
        parts.append(answer)
    if isinstance(note, str):
        parts.append(_("note: {note}").format(note=note))
    return " · ".join(parts) or _("(empty)")


def show_history(sheet: dict, frame: pd.DataFrame) -> None:
    hist = ws.history(con, sheet["worksheet_id"]).sort_values(["changed_at", "history_id"], ascending=False)
    labels = item_labels(frame)
    first_of_item = hist["previous_answer"].isna() & hist["previous_rating"].isna() & hist["previous_note"].isna()
    table = pd.DataFrame(
        {
            _("When"): hist["changed_at"],
            _("Who"): hist["changed_by"],
            _("Item"): [labels.get(i, i) for i in hist["item_id"]],
            _("New value"): [
                change_text(a, r, n) if not i.startswith("_") else (a or "")
                for i, a, r, n in zip(hist["item_id"], hist["answer"], hist["rating"], hist["note"], strict=True)
            ],
            _("Before"): [
                "" if first else change_text(a, r, n)
                for first, a, r, n in zip(
                    first_of_item, hist["previous_answer"], hist["previous_rating"], hist["previous_note"], strict=True
                )
            ],
        }
    )
    st.caption(_("Every change ever saved, newest first. The history is only ever added to, never changed."))
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            _("When"): st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm:ss"),
            _("Item"): st.column_config.TextColumn(width="medium"),
        },
    )
    download_buttons(table, f"worksheet_history_{sheet['worksheet_id']}", key=f"hist_{sheet['worksheet_id']}")


def answer_table(part: pd.DataFrame) -> pd.DataFrame:
    rows = {
        _("Question"): [_(t) for t in part["text"]],
        _("Answer"): [a if isinstance(a, str) else "" for a in part["answer"]],
        _("Rating"): [
            (_("yes") if r == "yes" else _("not yet") if r == "no" else SCALE_LABELS.get(r, r))
            if isinstance(r, str)
            else ""
            for r in part["rating"]
        ],
        _("Note"): [n if isinstance(n, str) else "" for n in part["note"]],
    }
    return pd.DataFrame(rows)


def summary_markdown(sheet: dict, frame: pd.DataFrame) -> str:
    """The printable summary as markdown; every user or template text escaped."""
    lines = [
        f"# {md(sheet['title'])}",
        "",
        md(
            _("{kind} · account {account} · workshop {workshop} · last change {time}").format(
                kind=KIND_NAMES.get(sheet["kind"], sheet["kind"]),
                account=sheet["account"] or "–",
                workshop=sheet["workshop"] or "–",
                time=fmt_time(sheet["updated_at"]),
            )
        ),
        "",
    ]
    if sheet["kind"] == "proximity":
        profile = ws.level_profile(frame)
        rel = ws.relationship(profile)
        lines += [f"## {md(_('Result'))}", ""]
        for row in profile.itertuples():
            lines.append(
                f"- {md(LEVEL_NAMES[row.level])}: {md(fmt_score(row.score))} ({md(_('{n} rated').format(n=row.rated))})"
            )
        lines += ["", f"**{md(placement_text(rel)[0])}** · {md(placement_text(rel)[1])}", ""]
    if sheet["kind"] == "orientation":
        lines += [f"## {md(_('Result'))}", ""]
        for row in ws.orientation_scores(frame).itertuples():
            lines.append(f"- {md(_(row.title))}: {md(fmt_pct(row.score, 0))}")
        lines.append("")
    for _section, part in frame.groupby("section", sort=False):
        lines += [f"## {md(_(part['section_title'].iloc[0]))}", ""]
        if _section == "people":
            for person in ws.buying_centre(frame).itertuples():
                bits = [person.role_title, person.influence, person.attitude]
                lines.append(
                    f"- **{md(person.name or '–')}** · {md(' · '.join(_(b) for b in bits if isinstance(b, str)))}"
                )
                if isinstance(person.note, str):
                    lines.append(f"  {md(person.note)}")
            lines.append("")
            continue
        for row in answer_table(part).itertuples(index=False):
            question, answer_text, rating, note = row
            extra = " · ".join(md(x) for x in (rating, note) if x)
            lines.append(f"- **{md(question)}**" + (f" [{extra}]" if extra else ""))
            if answer_text:
                lines.append(f"  {md(answer_text)}")
        lines.append("")
    return "\n".join(lines)


def show_print(sheet: dict, frame: pd.DataFrame) -> None:
    st.caption(
        _("A clean view without input fields. Use your browser's print command (Ctrl+P) to print it or save it as PDF.")
    )
    export = ws.export_frame(frame)
    with st.container(horizontal=True):
        download_buttons(export, f"worksheet_{sheet['worksheet_id']}", key=f"sheet_{sheet['worksheet_id']}")
        download_file(
            summary_markdown(sheet, frame).encode("utf-8"),
            f"worksheet_{sheet['worksheet_id']}.md",
            label=_("Download summary (Markdown)"),
            mime="text/markdown",
            key=f"dl_md_{sheet['worksheet_id']}",
        )
        if sheet["workshop"]:
            ids = list(ws.worksheets(con, workshop=sheet["workshop"])["worksheet_id"])
            download_file(
                ws.workbook_bytes(con, ids),
                "workshop_worksheets.xlsx",
                label=_("Whole workshop (Excel, one sheet per worksheet)"),
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                key=f"dl_ws_xlsx_{sheet['worksheet_id']}",
            )
    st.divider()
    st.markdown(f"# {md(sheet['title'])}")
    st.markdown(
        md(
            _("{kind} · account {account} · workshop {workshop} · last change {time}").format(
                kind=KIND_NAMES.get(sheet["kind"], sheet["kind"]),
                account=sheet["account"] or "–",
                workshop=sheet["workshop"] or "–",
                time=fmt_time(sheet["updated_at"]),
            )
        )
    )
    if sheet["kind"] == "proximity":
        profile = ws.level_profile(frame)
        label, explanation = placement_text(ws.relationship(profile))
        safe_table(
            pd.DataFrame(
                {
                    _("Level"): [LEVEL_NAMES[x] for x in profile["level"]],
                    _("Score (−2..2)"): [fmt_score(v) for v in profile["score"]],
                    _("Strengths"): profile["strengths"],
                    _("Weaknesses"): profile["weaknesses"],
                }
            ),
            hide_index=True,
        )
        st.markdown(f"**{md(label)}** · {md(explanation)}")
    if sheet["kind"] == "orientation":
        scores = ws.orientation_scores(frame)
        safe_table(
            pd.DataFrame(
                {
                    _("Area"): [_(t) for t in scores["title"]],
                    _("Ticked"): [f"{t} / {n}" for t, n in zip(scores["ticked"], scores["statements"], strict=True)],
                    _("Score"): [fmt_pct(s, 0) for s in scores["score"]],
                }
            ),
            hide_index=True,
        )
    for section, part in frame.groupby("section", sort=False):
        st.markdown(f"## {md(_(part['section_title'].iloc[0]))}")
        if section == "people":
            people = ws.buying_centre(frame)
            safe_table(
                pd.DataFrame(
                    {
                        _("Person"): people["name"].fillna(""),
                        _("Role"): [_(r) if isinstance(r, str) else "" for r in people["role_title"]],
                        _("Influence"): people["influence"].fillna(""),
                        _("Attitude"): people["attitude"].fillna(""),
                        _("Note"): people["note"].fillna(""),
                    }
                ),
                hide_index=True,
            )
            continue
        safe_table(answer_table(part))


# --- choosing and creating ------------------------------------------------------------------------


def open_worksheet(worksheet_id: str | None) -> None:
    if worksheet_id:
        st.query_params["ws"] = worksheet_id
    elif "ws" in st.query_params:
        del st.query_params["ws"]


def on_pick() -> None:
    open_worksheet(state.get("ws_pick"))


def create_callback() -> None:
    kind = state.get("ws_new_kind") or "proximity"
    account = state.get("ws_new_account")
    title = (state.get("ws_new_title") or "").strip() or (
        f"{KIND_NAMES[kind]} · {account}" if account else KIND_NAMES[kind]
    )
    try:
        new_id = ws.create(
            con, kind, title=title, account=account, workshop=state.get("ws_new_workshop"), by=user_name()
        )
    except ws.WorksheetError as exc:
        flash("error", _("The worksheet was not created: {reason}.").format(reason=str(exc)))
        return
    state["ws_pick"] = new_id
    state["ws_new_title"] = ""
    open_worksheet(new_id)
    flash("success", _("Worksheet created. Every answer is saved as soon as you make it."))


def create_workshop_callback() -> None:
    try:
        ws.create_workshop(
            con,
            state.get("ws_new_wshop_name") or "",
            date=state.get("ws_new_wshop_date"),
            facilitator=state.get("ws_new_wshop_facilitator"),
            account=state.get("ws_new_wshop_account"),
            by=user_name(),
        )
    except ws.WorksheetError as exc:
        flash("error", _("The workshop was not created: {reason}.").format(reason=str(exc)))
        return
    state["ws_workshop"] = (state.get("ws_new_wshop_name") or "").strip()
    flash("success", _("Workshop created. Add its worksheets below."))


def undo_callback(worksheet_id: str) -> None:
    try:
        item = ws.undo(con, worksheet_id, by=user_name())
    except ws.WorksheetError as exc:
        flash("error", str(exc))
        return
    if item is None:
        flash("info", _("Nothing to undo."))
        return
    for part in ("text", "rating", "note"):
        state.pop(widget_key(worksheet_id, item, part), None)
    state["ws_seen"].get(worksheet_id, {}).pop(item, None)
    flash("success", _("The last change was undone (the undo is in the history, too)."))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_worksheet_list(version: int) -> pd.DataFrame:
    return ws.worksheets(cursor())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_workshops(version: int) -> pd.DataFrame:
    return ws.workshops(cursor())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_accounts(version: int) -> pd.DataFrame:
    return ws.account_options(cursor())


st.sidebar.text_input(
    _("Your name"),
    key="ws_user",
    max_chars=80,
    persist_state="session",
    help=_("Shown in the history next to every change you make."),
)
st.sidebar.toggle(
    _("Presentation mode"),
    key="ws_present",
    persist_state="session",
    help=_("Larger questions and only the worksheet itself, for a projector or a tablet."),
)

for level, message in state["ws_flash"]:
    {"error": st.error, "warning": st.warning, "success": st.success, "info": st.info}[level](md(message))
state["ws_flash"] = []

all_sheets = load_worksheet_list(store.VERSION)
workshop_list = load_workshops(store.VERSION)
accounts = load_accounts(store.VERSION)
account_ids = [a for a in accounts["account"].tolist() if isinstance(a, str)]
requested = st.query_params.get("ws")
requested_sheet = None
outside_selection = False
if requested:
    match = all_sheets[all_sheets["worksheet_id"] == requested]
    if match.empty:
        st.error(
            _("The link points to a worksheet that does not exist. Pick one from the list below."),
            icon=":material/link_off:",
        )
        requested = None
    else:
        requested_sheet = match.iloc[0]

if not state.get("ws_present"):
    with st.expander(_("Workshop, account and worksheet"), icon=":material/folder_open:", expanded=not requested):
        tab_open, tab_new, tab_workshop = st.tabs([_("Open"), _("New worksheet"), _("New workshop")])
        with tab_open:
            workshop_names = [n for n in workshop_list["name"].tolist() if isinstance(n, str)]
            if state.get("ws_workshop") not in [None, *workshop_names]:
                state["ws_workshop"] = None
            cols = st.columns(2)
            with cols[0]:
                chosen_workshop = st.selectbox(
                    _("Workshop"),
                    [None, *workshop_names],
                    format_func=lambda v: _("All workshops") if v is None else v,
                    key="ws_workshop",
                )
            used_accounts = sorted({a for a in all_sheets["account"].tolist() if isinstance(a, str)})
            if state.get("ws_account") not in [None, *used_accounts]:
                state["ws_account"] = None
            with cols[1]:
                chosen_account = st.selectbox(
                    _("Customer account"),
                    [None, *used_accounts],
                    format_func=lambda v: _("All accounts") if v is None else v,
                    key="ws_account",
                )
            if chosen_workshop:
                details = workshop_list[workshop_list["name"] == chosen_workshop].iloc[0]
                st.caption(
                    md(
                        _("Date {date} · facilitator {facilitator} · account {account}").format(
                            date=details["date"] if isinstance(details["date"], str) else "–",
                            facilitator=details["facilitator"] if isinstance(details["facilitator"], str) else "–",
                            account=details["account"] if isinstance(details["account"], str) else "–",
                        )
                    )
                )
            shown = all_sheets
            if chosen_workshop:
                shown = shown[shown["workshop"] == chosen_workshop]
            if chosen_account:
                shown = shown[shown["account"] == chosen_account]
            outside_selection = requested_sheet is not None and requested not in set(shown["worksheet_id"])
            if shown.empty:
                st.info(_("No worksheets for this selection yet. Create one under “New worksheet”."))
            else:
                st.dataframe(
                    pd.DataFrame(
                        {
                            _("Worksheet"): shown["title"],
                            _("Kind"): [KIND_NAMES.get(k, k) for k in shown["kind"]],
                            _("Account"): shown["account"],
                            _("Workshop"): shown["workshop"],
                            _("Progress"): shown["progress"] * 100,
                            _("Last change"): shown["updated_at"],
                        }
                    ),
                    hide_index=True,
                    column_config={
                        _("Progress"): st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f%%"),
                        _("Last change"): st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
                    },
                )
            options = list(shown["worksheet_id"])
            if requested and requested not in options:
                options.append(requested)
            titles = dict(zip(all_sheets["worksheet_id"], all_sheets["title"], strict=True))
            kinds = dict(zip(all_sheets["worksheet_id"], all_sheets["kind"], strict=True))
            owners = dict(zip(all_sheets["worksheet_id"], all_sheets["account"], strict=True))
            if state.get("ws_pick") != requested:
                state["ws_pick"] = requested
            st.selectbox(
                _("Open worksheet"),
                [None, *options],
                format_func=lambda v: (
                    _("Choose a worksheet")
                    if v is None
                    else f"{titles[v]} · {KIND_NAMES.get(kinds[v], kinds[v])} · {owners[v] or '–'}"
                ),
                key="ws_pick",
                on_change=on_pick,
            )
        with tab_new, st.form("ws_new_form", border=False):
            st.radio(_("Worksheet"), list(KIND_NAMES), format_func=KIND_NAMES.get, horizontal=True, key="ws_new_kind")
            st.text_input(
                _("Title"),
                key="ws_new_title",
                max_chars=ws.MAX_TITLE,
                placeholder=_("Leave empty for kind and account"),
            )
            cols = st.columns(2)
            with cols[0]:
                st.selectbox(
                    _("Customer account"),
                    account_ids,
                    index=None,
                    key="ws_new_account",
                    accept_new_options=True,
                    placeholder=_("Pick a customer or type an account name"),
                )
            with cols[1]:
                st.selectbox(
                    _("Workshop"),
                    workshop_names,
                    index=workshop_names.index(chosen_workshop) if chosen_workshop in workshop_names else None,
                    key="ws_new_workshop",
                    accept_new_options=True,
                    placeholder=_("Pick or type a workshop"),
                )
            st.form_submit_button(
                _("Create worksheet"), icon=":material/add:", type="primary", on_click=create_callback
            )
        with tab_workshop, st.form("ws_new_workshop_form", border=False):
            st.text_input(_("Workshop name"), key="ws_new_wshop_name", max_chars=ws.MAX_TITLE)
            cols = st.columns(3)
            with cols[0]:
                st.date_input(_("Date"), value=dt.date.today(), key="ws_new_wshop_date")
            with cols[1]:
                st.text_input(_("Facilitator"), key="ws_new_wshop_facilitator", max_chars=80)
            with cols[2]:
                st.selectbox(
                    _("Customer account"), account_ids, index=None, key="ws_new_wshop_account", accept_new_options=True
                )
            st.form_submit_button(_("Create workshop"), icon=":material/add:", on_click=create_workshop_callback)

if not requested:
    if state.get("ws_present"):
        st.info(_("Switch presentation mode off in the sidebar to choose a worksheet."))
    st.stop()

if outside_selection:
    st.warning(
        md(
            _(
                "This worksheet belongs to workshop “{workshop}” and account “{account}”, not to the selection you chose. It is shown anyway."
            ).format(workshop=requested_sheet["workshop"] or "–", account=requested_sheet["account"] or "–")
        ),
        icon=":material/swap_horiz:",
    )

sheet = ws.get(con, requested)
frame = ws.load(con, requested)
changed_by_others = sync_with_store(requested, frame)

st.header(md(sheet["title"]), divider="gray")
with st.container(horizontal=True, vertical_alignment="center"):
    st.badge(KIND_NAMES.get(sheet["kind"], sheet["kind"]), icon=":material/edit_note:", color="blue")
    st.badge(
        _("Account: {account}").format(account=md(sheet["account"] or "–")), icon=":material/business:", color="gray"
    )
    st.badge(
        _("Workshop: {workshop}").format(workshop=md(sheet["workshop"] or "–")), icon=":material/groups:", color="gray"
    )
    last = state.get("ws_last_saved")
    st.badge(
        _("All changes saved") + (f" · {last:%H:%M:%S}" if last else ""),
        icon=":material/cloud_done:",
        color="green",
        help=_("Every answer is written to the database the moment you leave the field or click a choice."),
    )
    st.button(
        _("Undo last change"),
        icon=":material/undo:",
        on_click=undo_callback,
        args=(requested,),
        key="ws_undo",
        help=_("Puts back the value the most recently changed item had before. Clicking again re-applies it."),
    )
for text, who, when in changed_by_others:
    st.warning(
        _(
            "{who} changed “{item}” at {time}. The page now shows their version; the earlier one is in the history."
        ).format(who=md(who or "–"), item=md(_(text)), time=fmt_time(when)),
        icon=":material/sync_problem:",
    )

if state.get("ws_view") not in VIEWS:
    state["ws_view"] = "fill"
view = st.segmented_control(
    _("View"), list(VIEWS), format_func=VIEWS.get, key="ws_view", required=True, width="stretch"
)

kind = sheet["kind"]
if view == "fill":
    {
        "proximity": fill_proximity,
        "orientation": fill_orientation,
        "buying_centre": fill_buying_centre,
        "moscow": fill_moscow,
    }[kind](requested, frame)
    retired = frame[frame["section"] == "retired"]
    if not retired.empty:
        with st.expander(_("Answers to questions this template no longer asks"), icon=":material/archive:"):
            safe_table(answer_table(retired))
elif view == "results":
    {
        "proximity": results_proximity,
        "orientation": results_orientation,
        "buying_centre": results_buying_centre,
        "moscow": results_moscow,
    }[kind](sheet, frame)
elif view == "history":
    show_history(sheet, frame)
else:
    show_print(sheet, frame)
