"""Workshop worksheets: templates, answers saved at every change, append-only history, scoring, export.

Templates are JSON files in ``data/worksheet_templates`` (one per worksheet kind, with a version).
A worksheet is one row of ``worksheets``; each answered item is one row of ``worksheet_answers``
(latest state, last writer wins) and every change appends one row to ``worksheet_history`` (never
updated or deleted), so an overwritten answer always stays readable.

Item ids are stable text keys (``"A.trust"``, ``"person.p1a2.role"``, ``"req.R-12"``). A template
change never breaks an older worksheet: answers to items a newer template no longer has are still
loaded, as section ``"retired"``.

Scoring of the customer proximity worksheet (our rule, after the four levels of Rudolph & Rudolph
2000): the ratings ``--, -, +, ++`` count ``-2, -1, +1, +2``; a level's score is the mean of its
rated questions (unrated ones are left out). See :func:`relationship` for the placement between
"happily connected" and "committed".
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analytics import priorities, store
from analytics.export import sanitise_frame

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "data" / "worksheet_templates"

#: The satisfaction scale of the proximity worksheet and the numbers it counts as.
SCALE: tuple[str, ...] = ("--", "-", "+", "++")
RATING_VALUES: dict[str, int] = {"--": -2, "-": -1, "+": 1, "++": 2}
LEVELS: tuple[str, ...] = ("A", "B", "C", "D")
#: MoSCoW classes as the requirements catalogue (analytics.priorities) stores them.
MOSCOW: tuple[str, ...] = ("must", "should", "could", "won't")

#: Longest answer, note, title or name accepted (characters); longer input is refused whole.
MAX_TEXT = 5000
MAX_TITLE = 200
#: ``kind`` of the worksheets row that describes a workshop (name, date, facilitator).
WORKSHOP_KIND = "workshop"
#: ``seen_at`` for an item that did not exist when the session loaded the worksheet.
NEVER = dt.datetime(1970, 1, 1)

_PERSON_ITEM = re.compile(r"^person\.([a-z0-9]{1,16})\.(name|role|influence|attitude|note)$")
_REQ_ITEM = re.compile(r"^req\.([^\x00-\x1f]{1,64})$")
_WORKSHOP_ITEMS = {
    "date": {"kind": "text", "text": "Date"},
    "facilitator": {"kind": "text", "text": "Facilitator"},
    "notes": {"kind": "text", "text": "Notes"},
}


class WorksheetError(ValueError):
    """Input a user can correct (unknown worksheet, item or rating; text too long)."""


# --- templates ------------------------------------------------------------------------------


@functools.cache
def _read_template(name: str) -> str:
    path = TEMPLATE_DIR / f"{name}.json"
    if not re.fullmatch(r"[a-z_]{1,40}", name) or not path.exists():
        raise WorksheetError(f"unknown template: {name!r}")
    return path.read_text(encoding="utf-8")


def templates() -> list[str]:
    """-> names of the worksheet templates (file stems of data/worksheet_templates/*.json), sorted."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.json"))


def template(name: str) -> dict:
    """Template name -> its parsed description (a fresh copy: sections, items, scale, roles ...)."""
    return json.loads(_read_template(name))


def _static_items(name: str) -> list[dict]:
    """Template name -> list of item dicts (id, kind, text, section, section_title, position)."""
    if name == WORKSHOP_KIND:
        return [
            {"id": k, "section": "workshop", "section_title": "Workshop", "position": i, **v}
            for i, (k, v) in enumerate(_WORKSHOP_ITEMS.items())
        ]
    out = []
    for section in template(name)["sections"]:
        for item in section["items"]:
            out.append({**item, "section": section["id"], "section_title": section["title"], "position": len(out)})
    return out


def item_spec(name: str, item_id: str) -> dict:
    """(template, item id) -> dict with kind, options (allowed ratings or None), text, section.

    Raises :class:`WorksheetError` for an item the template does not know.
    """
    for item in _static_items(name):
        if item["id"] == item_id:
            options = SCALE if item["kind"] == "rated" else ("yes", "no") if item["kind"] == "check" else None
            return {**item, "options": options}
    if name == "buying_centre" and (m := _PERSON_ITEM.match(item_id)):
        field_name = m.group(2)
        spec = template(name)
        options = {
            "role": tuple(r["id"] for r in spec["roles"]),
            "influence": tuple(r["id"] for r in spec["influence"]),
            "attitude": tuple(r["id"] for r in spec["attitude"]),
        }.get(field_name)
        return {
            "id": item_id,
            "kind": "choice" if options else "text",
            "options": options,
            "text": field_name,
            "section": "people",
            "section_title": spec["sections"][0]["title"],
            "position": 1000,
        }
    if name == "moscow" and _REQ_ITEM.match(item_id):
        return {
            "id": item_id,
            "kind": "moscow",
            "options": MOSCOW,
            "text": item_id[4:],
            "section": "requirements",
            "section_title": template(name)["sections"][0]["title"],
            "position": 1000,
        }
    raise WorksheetError(f"the worksheet has no item {item_id!r}")


def normalise_moscow(value: object) -> str | None:
    """'M' / 'Must have' / 'must' / 'wont' / "Won't" -> 'must' ... "won't"; anything else -> None (the catalogue's reading)."""
    return priorities.moscow_or_none(value)


# --- worksheets -----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _clean_text(value: str | None, *, what: str, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise WorksheetError(f"{what} must be text")
    value = value.replace("\x00", "").strip()
    if len(value) > limit:
        raise WorksheetError(f"{what} is too long ({len(value)} characters, at most {limit})")
    return value or None


def _who(by: str | None) -> str:
    if not isinstance(by, str):
        return "unknown"
    return by.replace("\x00", "").strip()[:80] or "unknown"


def create(
    con: duckdb.DuckDBPyConnection,
    template: str,
    *,
    title: str,
    account: str | None = None,
    workshop: str | None = None,
    by: str | None = None,
    worksheet_id: str | None = None,
) -> str:
    """Template name and title -> id of a new, empty worksheet (one worksheets row, one history row)."""
    if template != WORKSHOP_KIND:
        _read_template(template)
    clean_title = _clean_text(title, what="title", limit=MAX_TITLE)
    if not clean_title:
        raise WorksheetError("a worksheet needs a title")
    account = _clean_text(account, what="account", limit=MAX_TITLE)
    workshop = _clean_text(workshop, what="workshop", limit=MAX_TITLE)
    wid = worksheet_id or uuid.uuid4().hex[:16]
    version = 1 if template == WORKSHOP_KIND else json.loads(_read_template(template)).get("version", 1)
    who = _who(by)

    def work(cur):
        now = _now()
        cur.execute(
            "INSERT INTO worksheets VALUES (?, ?, ?, ?, ?, ?, ?)",
            [wid, template, account, workshop, clean_title, now, now],
        )
        cur.execute(
            "INSERT INTO worksheet_history VALUES (nextval('history_seq'), ?, '_created', ?, NULL, NULL, ?, ?)",
            [wid, f"{template} v{version}", now, who],
        )
        store.audit(cur, "worksheet created", wid, f"{template}: {clean_title}", actor=who)

    store.run_write(con, work)
    return wid


def get(con: duckdb.DuckDBPyConnection, worksheet_id: str) -> dict:
    """Worksheet id -> dict(worksheet_id, kind, account, workshop, title, created_at, updated_at)."""
    row = (
        con.cursor()
        .execute(
            "SELECT worksheet_id, kind, account, workshop, title, created_at, updated_at FROM worksheets WHERE worksheet_id = ?",
            [str(worksheet_id)],
        )
        .fetchone()
    )
    if row is None:
        raise WorksheetError(f"there is no worksheet {worksheet_id!r}")
    keys = ("worksheet_id", "kind", "account", "workshop", "title", "created_at", "updated_at")
    return dict(zip(keys, row, strict=True))


def rename(con: duckdb.DuckDBPyConnection, worksheet_id: str, *, title: str, by: str | None = None) -> None:
    """Change a worksheet's title (the change goes into the history as item ``_title``)."""
    get(con, worksheet_id)
    clean_title = _clean_text(title, what="title", limit=MAX_TITLE)
    if not clean_title:
        raise WorksheetError("a worksheet needs a title")

    def work(cur):
        now = _now()
        cur.execute(
            "UPDATE worksheets SET title = ?, updated_at = ? WHERE worksheet_id = ?", [clean_title, now, worksheet_id]
        )
        cur.execute(
            "INSERT INTO worksheet_history VALUES (nextval('history_seq'), ?, '_title', ?, NULL, NULL, ?, ?)",
            [worksheet_id, clean_title, now, _who(by)],
        )

    store.run_write(con, work)


def worksheets(
    con: duckdb.DuckDBPyConnection,
    *,
    workshop: str | None = None,
    account: str | None = None,
    kind: str | None = None,
) -> pd.DataFrame:
    """-> one row per worksheet (not workshops): worksheet_id, kind, account, workshop, title, created_at,
    updated_at, items, filled, progress (0..1), newest first."""
    sql = (
        "SELECT worksheet_id, kind, account, workshop, title, created_at, updated_at FROM worksheets w WHERE kind <> ?"
    )
    params: list = [WORKSHOP_KIND]
    for column, value in (("workshop", workshop), ("account", account), ("kind", kind)):
        if value is not None:
            sql += f" AND w.{column} = ?"
            params.append(value)
    sql += " ORDER BY updated_at DESC, worksheet_id"
    frame = con.cursor().execute(sql, params).df()
    items, filled = [], []
    for row in frame.itertuples():
        loaded = load(con, row.worksheet_id)
        current = loaded[loaded["section"] != "retired"]
        items.append(len(current))
        filled.append(int(current["filled"].sum()))
    frame["items"] = items
    frame["filled"] = filled
    frame["progress"] = [f / n if n else 0.0 for f, n in zip(filled, items, strict=True)]
    return frame


# --- workshops ------------------------------------------------------------------------------


def create_workshop(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    date: dt.date | None = None,
    facilitator: str | None = None,
    account: str | None = None,
    by: str | None = None,
) -> str:
    """Workshop name (unique) and details -> id of its record (a worksheets row of kind 'workshop')."""
    clean = _clean_text(name, what="workshop name", limit=MAX_TITLE)
    if not clean:
        raise WorksheetError("a workshop needs a name")
    if clean in set(workshops(con)["name"]):
        raise WorksheetError(f"there is already a workshop called {clean!r}")
    wid = create(con, WORKSHOP_KIND, title=clean, account=account, workshop=clean, by=by)
    if date is not None:
        answer(con, wid, "date", text=date.isoformat(), by=by)
    if facilitator:
        answer(con, wid, "facilitator", text=facilitator, by=by)
    return wid


def workshops(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """-> one row per workshop: name, workshop_id (None when only named on worksheets), date, facilitator,
    account, worksheets (count), sorted by date (newest first) and name."""
    sql = """
        WITH recs AS (
            SELECT w.workshop AS name, w.worksheet_id AS workshop_id, w.account,
                   max(CASE WHEN a.item_id = 'date' THEN a.answer END) AS date,
                   max(CASE WHEN a.item_id = 'facilitator' THEN a.answer END) AS facilitator
            FROM worksheets w LEFT JOIN worksheet_answers a ON a.worksheet_id = w.worksheet_id
            WHERE w.kind = ? GROUP BY w.workshop, w.worksheet_id, w.account
        ), used AS (
            SELECT workshop AS name, count(*) AS worksheets FROM worksheets
            WHERE kind <> ? AND workshop IS NOT NULL GROUP BY workshop
        )
        SELECT coalesce(r.name, u.name) AS name, r.workshop_id, r.date, r.facilitator, r.account,
               coalesce(u.worksheets, 0) AS worksheets
        FROM recs r FULL OUTER JOIN used u ON u.name = r.name
        ORDER BY r.date DESC NULLS LAST, name
    """
    return con.cursor().execute(sql, [WORKSHOP_KIND, WORKSHOP_KIND]).df()


# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveResult:
    """What one save did: whether anything changed, and whether it overwrote someone's newer edit."""

    changed: bool
    updated_at: dt.datetime | None
    conflict: bool = False
    overwritten_by: str | None = None
    overwritten_at: dt.datetime | None = None


def _write(
    con: duckdb.DuckDBPyConnection,
    worksheet_id: str,
    item_id: str,
    values: dict,
    *,
    by: str | None,
    seen_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> SaveResult:
    """Set the given columns (answer, rating, note) of one item; upsert + one history row, one transaction."""
    who = _who(by)

    def work(cur):
        row = cur.execute(
            "SELECT answer, rating, note, updated_at, updated_by FROM worksheet_answers WHERE worksheet_id = ? AND item_id = ?",
            [worksheet_id, item_id],
        ).fetchone()
        old = (
            {"answer": None, "rating": None, "note": None}
            if row is None
            else dict(zip(("answer", "rating", "note"), row[:3], strict=True))
        )
        new = {**old, **values}
        if new == old:
            return SaveResult(changed=False, updated_at=row[3] if row else None)
        stamp = at or _now()
        if row is not None and row[3] is not None and stamp <= row[3] and at is None:
            stamp = row[3] + dt.timedelta(microseconds=1)
        conflict = seen_at is not None and row is not None and row[3] is not None and row[3] > seen_at
        cur.execute("DELETE FROM worksheet_answers WHERE worksheet_id = ? AND item_id = ?", [worksheet_id, item_id])
        cur.execute(
            "INSERT INTO worksheet_answers VALUES (?, ?, ?, ?, ?, ?, ?)",
            [worksheet_id, item_id, new["answer"], new["rating"], new["note"], stamp, who],
        )
        cur.execute(
            "INSERT INTO worksheet_history VALUES (nextval('history_seq'), ?, ?, ?, ?, ?, ?, ?)",
            [worksheet_id, item_id, new["answer"], new["rating"], new["note"], stamp, who],
        )
        cur.execute(
            "UPDATE worksheets SET updated_at = greatest(updated_at, ?) WHERE worksheet_id = ?", [stamp, worksheet_id]
        )
        if item_id.startswith("req.") and "rating" in values:
            _set_catalogue_moscow(cur, item_id[4:], new["rating"], who)
        return SaveResult(
            changed=True,
            updated_at=stamp,
            conflict=conflict,
            overwritten_by=row[4] if conflict else None,
            overwritten_at=row[3] if conflict else None,
        )

    return store.run_write(con, work)


def _set_catalogue_moscow(cur, requirement_id: str, moscow: str | None, who: str) -> None:
    """Write a MoSCoW class into the shared requirements catalogue (inside the caller's transaction).

    Goes through analytics.priorities, so the catalogue's own history records the change.
    """
    priorities._update(cur, requirement_id, {"moscow": moscow}, f"{who} (worksheet)")


def save(
    con: duckdb.DuckDBPyConnection,
    worksheet_id: str,
    item_id: str,
    *,
    rating: str | None = None,
    text: str | None = None,
    checked: bool | None = None,
    note: str | None = None,
    by: str | None = None,
    seen_at: dt.datetime | None = None,
) -> SaveResult:
    """Validate and save one change of one item -> :class:`SaveResult`.

    Parameters
    ----------
    rating : str, default=None
        ``--``, ``-``, ``+``, ``++`` for a rated question, a role/influence/attitude id for a buying-centre
        field, ``must``/``should``/``could``/``won't`` for a requirement; ``""`` clears it.
    text, note : str, default=None
        Free answer and note; ``""`` clears. At most :data:`MAX_TEXT` characters.
    checked : bool, default=None
        For a statement to tick.
    seen_at : datetime, default=None
        The item's ``updated_at`` when this session last read it (:data:`NEVER` if it had no answer).
        A newer stored value is still overwritten (last writer wins, the old one stays in the history),
        and the result says so with ``conflict=True``.

    Arguments left at None leave that part of the answer unchanged.
    """
    sheet = get(con, worksheet_id)
    spec = item_spec(sheet["kind"], item_id)
    values: dict = {}
    if text is not None:
        if spec["kind"] not in ("rated", "text"):
            raise WorksheetError(f"item {item_id!r} takes no free text")
        values["answer"] = _clean_text(text, what="the answer")
    if note is not None:
        values["note"] = _clean_text(note, what="the note")
    if checked is not None:
        if spec["kind"] != "check":
            raise WorksheetError(f"item {item_id!r} is not a statement to tick")
        values["rating"] = "yes" if checked else "no"
    if rating is not None:
        if spec["kind"] == "moscow":
            cleaned = normalise_moscow(rating) if rating != "" else None
            if rating != "" and cleaned is None:
                raise WorksheetError(f"{rating!r} is not a MoSCoW class (must, should, could, won't)")
        elif spec["kind"] in ("rated", "choice", "check"):
            cleaned = rating or None
            if cleaned is not None and cleaned not in spec["options"]:
                raise WorksheetError(f"{rating!r} is not a valid choice for item {item_id!r}")
        else:
            raise WorksheetError(f"item {item_id!r} takes no rating")
        values["rating"] = cleaned
    if not values:
        return SaveResult(changed=False, updated_at=None)
    if spec["kind"] == "moscow":
        found = (
            con.cursor()
            .execute("SELECT count(*) FROM requirements WHERE requirement_id = ?", [item_id[4:]])
            .fetchone()[0]
        )
        if not found:
            raise WorksheetError(f"the requirements catalogue has no requirement {item_id[4:]!r}")
    return _write(con, worksheet_id, item_id, values, by=by, seen_at=seen_at)


def answer(
    con: duckdb.DuckDBPyConnection,
    worksheet_id: str,
    item_id: str,
    *,
    rating: str | None = None,
    text: str | None = None,
    checked: bool | None = None,
    by: str | None = None,
    note: str | None = None,
) -> None:
    """Save one answer (rating, free text, tick, note) of one item; see :func:`save` for the rules."""
    save(con, worksheet_id, item_id, rating=rating, text=text, checked=checked, note=note, by=by)


def add_person(
    con: duckdb.DuckDBPyConnection, worksheet_id: str, *, name: str, role: str | None = None, by: str | None = None
) -> str:
    """Add a person to a buying-centre worksheet -> the person's id (items person.<id>.*)."""
    if get(con, worksheet_id)["kind"] != "buying_centre":
        raise WorksheetError("people can only be added to a buying-centre worksheet")
    if not _clean_text(name, what="the name"):
        raise WorksheetError("a person needs a name")
    pid = uuid.uuid4().hex[:8]
    save(con, worksheet_id, f"person.{pid}.name", text=name, by=by)
    if role:
        save(con, worksheet_id, f"person.{pid}.role", rating=role, by=by)
    return pid


def undo(con: duckdb.DuckDBPyConnection, worksheet_id: str, *, by: str | None = None) -> str | None:
    """Put back the value an item had before the worksheet's latest change -> that item id (None if
    there is nothing to undo). The undo is itself a new change: the history only grows."""
    get(con, worksheet_id)
    rows = (
        con.cursor()
        .execute(
            "SELECT history_id, item_id FROM worksheet_history WHERE worksheet_id = ? AND item_id NOT LIKE '\\_%' ESCAPE '\\' "
            "ORDER BY history_id DESC LIMIT 1",
            [worksheet_id],
        )
        .fetchone()
    )
    if rows is None:
        return None
    last_id, item_id = rows
    before = (
        con.cursor()
        .execute(
            "SELECT answer, rating, note FROM worksheet_history WHERE worksheet_id = ? AND item_id = ? AND history_id < ? "
            "ORDER BY history_id DESC LIMIT 1",
            [worksheet_id, item_id, last_id],
        )
        .fetchone()
    )
    values = dict(zip(("answer", "rating", "note"), before or (None, None, None), strict=True))
    _write(con, worksheet_id, item_id, values, by=by)
    return item_id


# --- reading --------------------------------------------------------------------------------

LOAD_COLUMNS = [
    "worksheet_id",
    "section",
    "section_title",
    "item_id",
    "kind",
    "text",
    "answer",
    "rating",
    "checked",
    "note",
    "value",
    "filled",
    "updated_at",
    "updated_by",
    "position",
]


def requirements(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """-> the requirements catalogue: requirement_id, title, description, moscow (normalised), updated_at."""
    frame = (
        con.cursor()
        .execute(
            "SELECT requirement_id, title, description, moscow, updated_at FROM requirements ORDER BY requirement_id"
        )
        .df()
    )
    frame["moscow"] = frame["moscow"].map(normalise_moscow)
    return frame


def add_requirement(
    con: duckdb.DuckDBPyConnection, title: str, *, description: str | None = None, by: str | None = None
) -> str:
    """Add a requirement to the shared catalogue -> its new id (through analytics.priorities)."""
    clean = _clean_text(title, what="the requirement", limit=MAX_TITLE)
    if not clean:
        raise WorksheetError("a requirement needs a title")
    description = _clean_text(description, what="the description")
    values = {"title": clean, "description": description, "status": "proposed"}
    return priorities.add_requirement(con, values, actor=f"{_who(by)} (worksheet)")


def load(con: duckdb.DuckDBPyConnection, worksheet_id: str) -> pd.DataFrame:
    """Worksheet id -> one row per item (template items, people or requirements, retired answers) with
    the latest answer: columns :data:`LOAD_COLUMNS`; ``value`` is the rating as -2..2, ``checked`` a bool."""
    sheet = get(con, worksheet_id)
    kind = sheet["kind"]
    answers = (
        con.cursor()
        .execute(
            "SELECT item_id, answer, rating, note, updated_at, updated_by FROM worksheet_answers WHERE worksheet_id = ?",
            [worksheet_id],
        )
        .df()
        .set_index("item_id")
    )
    rows = [{**item} for item in _static_items(kind)]
    known = {r["id"] for r in rows}
    if kind == "moscow":
        for req in requirements(con).itertuples():
            rows.append(
                {
                    "id": f"req.{req.requirement_id}",
                    "kind": "moscow",
                    "text": req.title,
                    "section": "requirements",
                    "section_title": template("moscow")["sections"][0]["title"],
                    "position": len(rows) + 1000,
                    "catalogue": req.moscow,
                    "catalogue_at": req.updated_at,
                }
            )
            known.add(f"req.{req.requirement_id}")
    for item_id in sorted(set(answers.index) - known):
        try:
            spec = item_spec(kind, item_id)
        except WorksheetError:
            spec = {"kind": "retired", "text": item_id, "section": "retired", "section_title": "Retired questions"}
        rows.append({**spec, "id": item_id, "position": 2000 + len(rows)})
    records = []
    for r in rows:
        a = answers.loc[r["id"]] if r["id"] in answers.index else None
        rating = None if a is None or pd.isna(a["rating"]) else a["rating"]
        updated_at = None if a is None or pd.isna(a["updated_at"]) else a["updated_at"].to_pydatetime()
        updated_by = None if a is None or pd.isna(a["updated_by"]) else a["updated_by"]
        if r.get("kind") == "moscow" and "catalogue" in r:
            # The catalogue is the shared truth; it may have been changed on the priorities page.
            cat_at = r.get("catalogue_at")
            cat_at = None if cat_at is None or pd.isna(cat_at) else pd.Timestamp(cat_at).to_pydatetime()
            if rating != r["catalogue"] and (updated_at is None or (cat_at is not None and cat_at > updated_at)):
                rating, updated_at, updated_by = r["catalogue"], cat_at, "requirements catalogue"
        text_answer = None if a is None or pd.isna(a["answer"]) else a["answer"]
        note = None if a is None or pd.isna(a["note"]) else a["note"]
        records.append(
            {
                "worksheet_id": worksheet_id,
                "section": r["section"],
                "section_title": r["section_title"],
                "item_id": r["id"],
                "kind": r["kind"],
                "text": r["text"],
                "answer": text_answer,
                "rating": rating,
                "checked": rating == "yes" if r["kind"] == "check" else None,
                "note": note,
                "value": RATING_VALUES.get(rating) if r["kind"] == "rated" else None,
                "filled": bool(text_answer or note or (rating if r["kind"] != "check" else rating == "yes")),
                "updated_at": updated_at,
                "updated_by": updated_by,
                "position": r["position"],
            }
        )
    frame = pd.DataFrame.from_records(records, columns=LOAD_COLUMNS)
    frame["value"] = frame["value"].astype("Float64")
    for column in ("answer", "rating", "note", "updated_by", "checked"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame.sort_values("position", kind="stable").reset_index(drop=True)


def history(con: duckdb.DuckDBPyConnection, worksheet_id: str) -> pd.DataFrame:
    """Worksheet id -> every change, oldest first: history_id, item_id, answer, rating, note, changed_at,
    changed_by, previous_answer, previous_rating, previous_note (the item's value before this change)."""
    get(con, worksheet_id)
    sql = """
        SELECT history_id, item_id, answer, rating, note, changed_at, changed_by,
               lag(answer) OVER w AS previous_answer,
               lag(rating) OVER w AS previous_rating,
               lag(note) OVER w AS previous_note
        FROM worksheet_history
        WHERE worksheet_id = ?
        WINDOW w AS (PARTITION BY item_id ORDER BY history_id)
        ORDER BY history_id
    """
    return con.cursor().execute(sql, [worksheet_id]).df()


def changed_since(con: duckdb.DuckDBPyConnection, worksheet_id: str, seen: dict[str, dt.datetime]) -> pd.DataFrame:
    """(worksheet, {item: updated_at this session saw}) -> items stored with a newer updated_at:
    item_id, updated_at, updated_by. Items absent from ``seen`` count as seen at :data:`NEVER`."""
    frame = (
        con.cursor()
        .execute("SELECT item_id, updated_at, updated_by FROM worksheet_answers WHERE worksheet_id = ?", [worksheet_id])
        .df()
    )
    if frame.empty:
        return frame

    def known(item: str) -> dt.datetime:
        value = seen.get(item)
        return NEVER if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    mask = [ts.to_pydatetime() > known(item) for item, ts in zip(frame["item_id"], frame["updated_at"], strict=True)]
    return frame[mask].reset_index(drop=True)


# --- scoring --------------------------------------------------------------------------------


def level_profile(frame: pd.DataFrame) -> pd.DataFrame:
    """load() of a proximity worksheet -> one row per level A-D: level, title, questions, answered, rated,
    score (mean of -2/-1/+1/+2, NaN when nothing is rated), strengths (+/++), weaknesses (-/--), and the
    count of each scale step (columns '--', '-', '+', '++')."""
    rated = frame[frame["kind"] == "rated"]
    out = []
    for level in LEVELS:
        part = rated[rated["section"] == level]
        values = part["value"].dropna().astype(float)
        counts = {step: int((part["rating"] == step).sum()) for step in SCALE}
        out.append(
            {
                "level": level,
                "title": part["section_title"].iloc[0] if len(part) else level,
                "questions": len(part),
                "answered": int(part["answer"].notna().sum()),
                "rated": len(values),
                "score": float(values.mean()) if len(values) else float("nan"),
                "strengths": counts["+"] + counts["++"],
                "weaknesses": counts["-"] + counts["--"],
                **counts,
            }
        )
    return pd.DataFrame(out)


def strengths_weaknesses(frame: pd.DataFrame) -> pd.DataFrame:
    """load() of a proximity worksheet -> rated questions only: level, text, answer, rating, value, side
    ('strength' for + and ++, 'weakness' for - and --), strongest first within each side."""
    part = frame[(frame["kind"] == "rated") & frame["rating"].notna()].copy()
    part["side"] = ["strength" if v > 0 else "weakness" for v in part["value"]]
    part["order"] = [-v if v > 0 else v for v in part["value"]]
    part = part.sort_values(["side", "order", "position"], ascending=[True, True, True])
    return part.rename(columns={"section": "level"})[
        ["level", "item_id", "text", "answer", "rating", "value", "side"]
    ].reset_index(drop=True)


def _mean(values: list[float]) -> float:
    present = [v for v in values if v is not None and not pd.isna(v)]
    return sum(present) / len(present) if present else float("nan")


def relationship(profile: pd.DataFrame) -> dict:
    """level_profile() -> where the relationship stands (our documented rule).

    - ``economic_value`` = mean of the B and C scores, ``stability`` = mean of the A and D scores
      (the 2×2 map; a level without ratings is left out of a mean).
    - ``voluntary`` = mean of A and B (personal and factual bond), ``power`` = D.
    - ``lean`` = (power − voluntary) / 4, from −1 (wholly happily connected) to +1 (wholly committed).
    - ``placement``: 'happily_connected' when voluntary ≥ 1 (at least "+" on average) and power does not
      exceed it by a full step; 'committed' when power ≥ 1 and exceeds voluntary by at least 1;
      otherwise 'loosely_connected'; 'unknown' while A, B or D has no rating.

    A rating on the power level says how satisfied the team is with the hold it has on the customer, so a
    high D score reads as a strong imbalance in our favour.
    """
    score = dict(zip(profile["level"], profile["score"], strict=True))
    voluntary = _mean([score.get("A"), score.get("B")])
    power = score.get("D", float("nan"))
    result = {
        "economic_value": _mean([score.get("B"), score.get("C")]),
        "stability": _mean([score.get("A"), score.get("D")]),
        "voluntary": voluntary,
        "power": power,
        "lean": float("nan"),
        "placement": "unknown",
    }
    if any(pd.isna(score.get(level, float("nan"))) for level in ("A", "B", "D")):
        return result
    result["lean"] = (power - voluntary) / 4
    if power >= 1 and power - voluntary >= 1:
        result["placement"] = "committed"
    elif voluntary >= 1:
        result["placement"] = "happily_connected"
    else:
        result["placement"] = "loosely_connected"
    return result


def decision_check(frame: pd.DataFrame) -> dict:
    """load() of a proximity worksheet -> {'A': bool, ..., 'D': bool, 'all': bool, 'missing': [levels]}:
    whether the upcoming decisions were ticked as weighing each level."""
    ticks = dict(zip(frame["item_id"], frame["checked"], strict=True))
    out = {level: bool(ticks.get(f"check.{level}")) for level in LEVELS}
    out["missing"] = [level for level in LEVELS if not out[level]]
    out["all"] = not out["missing"]
    return out


def orientation_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """load() of an orientation check -> one row per area: area, title, statements, ticked, score
    (ticked / statements, 0..1), measures (the planned measures text or None)."""
    out = []
    for area, part in frame[frame["section"] != "retired"].groupby("section", sort=False):
        checks = part[part["kind"] == "check"]
        measures = part.loc[part["kind"] == "text", "answer"].dropna()
        ticked = int(checks["checked"].fillna(False).astype(bool).sum())
        out.append(
            {
                "area": area,
                "title": part["section_title"].iloc[0],
                "statements": len(checks),
                "ticked": ticked,
                "score": ticked / len(checks) if len(checks) else float("nan"),
                "measures": measures.iloc[0] if len(measures) else None,
            }
        )
    return pd.DataFrame(out, columns=["area", "title", "statements", "ticked", "score", "measures"])


def buying_centre(frame: pd.DataFrame) -> pd.DataFrame:
    """load() of a buying-centre worksheet -> one row per person: person_id, name, role, role_title, cares,
    approach, influence, influence_value (1-3), attitude, attitude_value (-2..2), note, updated_at."""
    spec = template("buying_centre")
    roles = {r["id"]: r for r in spec["roles"]}
    influence = {r["id"]: r["value"] for r in spec["influence"]}
    attitude = {r["id"]: r["value"] for r in spec["attitude"]}
    people: dict[str, dict] = {}
    for row in frame[frame["section"] == "people"].itertuples():
        m = _PERSON_ITEM.match(row.item_id)
        if not m:
            continue
        person = people.setdefault(m.group(1), {"person_id": m.group(1), "updated_at": row.updated_at})
        person[m.group(2)] = row.answer if m.group(2) in ("name", "note") else row.rating
        if row.updated_at is not None and (person["updated_at"] is None or row.updated_at > person["updated_at"]):
            person["updated_at"] = row.updated_at
    out = []
    for p in people.values():
        role = roles.get(p.get("role") or "")
        out.append(
            {
                "person_id": p["person_id"],
                "name": p.get("name"),
                "role": p.get("role"),
                "role_title": role["title"] if role else None,
                "cares": role["cares"] if role else None,
                "approach": role["approach"] if role else None,
                "influence": p.get("influence"),
                "influence_value": influence.get(p.get("influence") or ""),
                "attitude": p.get("attitude"),
                "attitude_value": attitude.get(p.get("attitude") or ""),
                "note": p.get("note"),
                "updated_at": p["updated_at"],
            }
        )
    columns = [
        "person_id",
        "name",
        "role",
        "role_title",
        "cares",
        "approach",
        "influence",
        "influence_value",
        "attitude",
        "attitude_value",
        "note",
        "updated_at",
    ]
    frame_out = pd.DataFrame(out, columns=columns)
    return (
        frame_out.sort_values(["updated_at", "person_id"], na_position="last").reset_index(drop=True)
        if len(frame_out)
        else frame_out
    )


def missing_roles(people: pd.DataFrame) -> list[str]:
    """buying_centre() -> role ids nobody holds yet (in the template's order)."""
    held = set(people["role"].dropna()) if len(people) else set()
    return [r["id"] for r in template("buying_centre")["roles"] if r["id"] not in held]


def moscow_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """load() of a MoSCoW worksheet -> one row per class (must, should, could, won't, unsorted): moscow, requirements."""
    reqs = frame[frame["kind"] == "moscow"]
    counts = [{"moscow": cls, "requirements": int((reqs["rating"] == cls).sum())} for cls in MOSCOW]
    counts.append({"moscow": "unsorted", "requirements": int(reqs["rating"].isna().sum())})
    return pd.DataFrame(counts)


def profile_over_time(history_frame: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """(history(), load()) of one proximity worksheet -> level scores as they stood at the end of each day
    with a change: date, level, score (mean of the ratings valid then), rated."""
    levels = {row.item_id: row.section for row in frame[frame["kind"] == "rated"].itertuples()}
    changes = history_frame[history_frame["item_id"].isin(levels)].copy()
    if changes.empty:
        return pd.DataFrame(columns=["date", "level", "score", "rated"])
    changes["date"] = pd.to_datetime(changes["changed_at"]).dt.normalize()
    out = []
    for day in sorted(changes["date"].unique()):
        upto = changes[changes["date"] <= day].sort_values("history_id").groupby("item_id").tail(1)
        upto = upto.assign(value=upto["rating"].map(RATING_VALUES), level=upto["item_id"].map(levels))
        for level in LEVELS:
            values = upto.loc[upto["level"] == level, "value"].dropna()
            out.append(
                {
                    "date": pd.Timestamp(day).date(),
                    "level": level,
                    "score": float(values.mean()) if len(values) else float("nan"),
                    "rated": len(values),
                }
            )
    return pd.DataFrame(out)


def compare_proximity(con: duckdb.DuckDBPyConnection, *, workshop: str | None = None) -> pd.DataFrame:
    """-> one row per proximity worksheet: worksheet_id, title, account, workshop, updated_at, A, B, C, D
    (level scores), economic_value, stability, lean, placement."""
    sheets = worksheets(con, kind="proximity", workshop=workshop)
    out = []
    for row in sheets.itertuples():
        profile = level_profile(load(con, row.worksheet_id))
        rel = relationship(profile)
        out.append(
            {
                "worksheet_id": row.worksheet_id,
                "title": row.title,
                "account": row.account,
                "workshop": row.workshop,
                "updated_at": row.updated_at,
                **dict(zip(profile["level"], profile["score"], strict=True)),
                **{k: rel[k] for k in ("economic_value", "stability", "lean", "placement")},
            }
        )
    columns = [
        "worksheet_id",
        "title",
        "account",
        "workshop",
        "updated_at",
        *LEVELS,
        "economic_value",
        "stability",
        "lean",
        "placement",
    ]
    return pd.DataFrame(out, columns=columns)


# --- export ---------------------------------------------------------------------------------


def export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """load() -> a flat table for download: section, item_id, question, answer, rating, note, updated_at,
    updated_by (raw text; ui.downloads / :func:`workbook_bytes` neutralise formulas)."""
    return frame.rename(columns={"section_title": "section", "text": "question", "section": "section_id"})[
        ["section", "item_id", "question", "answer", "rating", "note", "updated_at", "updated_by"]
    ].reset_index(drop=True)


def workbook_bytes(con: duckdb.DuckDBPyConnection, worksheet_ids: list[str]) -> bytes:
    """Worksheet ids -> .xlsx bytes with one sheet per worksheet (formula cells neutralised)."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for wid in worksheet_ids:
            sheet = get(con, wid)
            name = re.sub(r"[\[\]:*?/\\']", " ", sheet["title"]).strip().lstrip("=+-@ ")[:28] or "worksheet"
            base, n = name, 2
            while name.lower() in used:
                name, n = f"{base[:25]} ({n})", n + 1
            used.add(name.lower())
            sanitise_frame(export_frame(load(con, wid))).to_excel(writer, index=False, sheet_name=name)
    return buffer.getvalue()


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:$~=&\"'])")


def escape_markdown(text: object) -> str:
    """Any text -> the same text safe to show with st.markdown (every markdown/HTML/directive character
    backslash-escaped, line breaks kept)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    lines = str(text).replace("\r\n", "\n").split("\n")
    return "  \n".join(_MD_SPECIAL.sub(r"\\\1", line) for line in lines)


# --- demo -----------------------------------------------------------------------------------

DEMO_PROXIMITY_ID = "demo-proximity"
DEMO_ORIENTATION_ID = "demo-orientation"
DEMO_WORKSHOP = "Spring account review (demo)"

_DEMO_PROXIMITY_EARLY = {
    "A.trust": "-",
    "A.tone": "-",
    "B.turnover": "+",
    "B.solvency": "+",
    "C.data_quality": "--",
    "D.contract_length": "++",
    "D.turnover_share": "+",
}
_DEMO_PROXIMITY = {
    "A.trust": ("+", "Deliveries have been on time for a year; the one quality issue was fixed within a week."),
    "A.own_view": ("+", "Mostly; onboarding of new sites still takes too long."),
    "A.tone": ("++", "Weekly call with the purchasing lead, friendly and open."),
    "A.personal_weight": ("+", "High: our managing director visits twice a year."),
    "A.special": ("+", "We helped them through a supply shortage in the past."),
    "B.turnover": ("++", "About 10 % growth expected next year."),
    "B.solvency": ("++", "Pays within 14 days."),
    "B.price": ("-", "Compares offers every year; price is a frequent topic."),
    "B.image": ("+", "Well-known brand in the region."),
    "B.word_of_mouth": ("+", "Recommended us to two partners."),
    "B.other_gains": ("+", "Early feedback on new features."),
    "C.data_volume": ("+", "Order history and contacts in the CRM."),
    "C.data_quality": ("-", "Contact people not updated since the reorganisation."),
    "C.channels": ("+", "Shared order portal, monthly review meeting."),
    "C.co_development": ("-", "Not yet involved in product development."),
    "D.market_share": ("-", "They are larger than we are in our main market."),
    "D.turnover_share": ("-", "They make up a large share of our turnover."),
    "D.uniqueness": ("+", "Our configuration service is hard to replace."),
    "D.contract_length": ("+", "Framework contract runs for two more years."),
}
_DEMO_ORIENTATION = {
    "culture.matter": True,
    "culture.values": True,
    "culture.new_offers": False,
    "culture.own_example": True,
    "culture.management": False,
    "future.products_fit": True,
    "future.service_fit": True,
    "future.communication": False,
    "future.advice": True,
    "future.exchange": False,
    "future.training": False,
    "team.processes": False,
    "team.database": False,
    "team.contact": True,
    "team.complaints": True,
    "team.thinking": True,
    "team.acting": False,
    "team.automation": False,
}
_DEMO_MEASURES = {
    "culture.measures": "Add customer orientation to the next update of our mission statement.",
    "future.measures": "Half-day training on consultative selling for the sales team.",
    "team.measures": "Clean up the customer database and name an owner for data quality.",
}


def _demo_accounts(con: duckdb.DuckDBPyConnection) -> list[str | None]:
    cur = con.cursor()
    rows = cur.execute(
        "SELECT customer_id FROM customers ORDER BY (lower(coalesce(customer_type, '')) LIKE '%b2b%') DESC, customer_id LIMIT 2"
    ).fetchall()
    accounts: list[str | None] = [r[0] for r in rows]
    return (accounts + [None, None])[:2]


def create_demo_examples(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Store two filled-in example worksheets (proximity, orientation check) for demo accounts -> their ids.

    Idempotent: a worksheet that already exists is left as it is. The proximity example has an earlier
    round of ratings 30 days before the current one, so the over-time comparison has something to show.
    """
    accounts = _demo_accounts(con)
    existing = {r[0] for r in con.cursor().execute("SELECT worksheet_id FROM worksheets").fetchall()}
    now = _now().replace(microsecond=0)
    if DEMO_PROXIMITY_ID not in existing:
        create(
            con,
            "proximity",
            title="Customer proximity (example)",
            account=accounts[0],
            workshop=DEMO_WORKSHOP,
            by="demo",
            worksheet_id=DEMO_PROXIMITY_ID,
        )
        early = now - dt.timedelta(days=30)
        for i, (item, rating) in enumerate(_DEMO_PROXIMITY_EARLY.items()):
            _write(con, DEMO_PROXIMITY_ID, item, {"rating": rating}, by="demo", at=early + dt.timedelta(seconds=i))
        for i, (item, (rating, text)) in enumerate(_DEMO_PROXIMITY.items()):
            _write(
                con,
                DEMO_PROXIMITY_ID,
                item,
                {"rating": rating, "answer": text},
                by="demo",
                at=now + dt.timedelta(seconds=i),
            )
        _write(
            con,
            DEMO_PROXIMITY_ID,
            "check.decisions",
            {"answer": "Price round for next year; move to the new order portal."},
            by="demo",
            at=now + dt.timedelta(minutes=1),
        )
        for i, level in enumerate(("B", "C", "D")):
            _write(
                con,
                DEMO_PROXIMITY_ID,
                f"check.{level}",
                {"rating": "yes"},
                by="demo",
                at=now + dt.timedelta(minutes=1, seconds=i + 1),
            )
    if DEMO_ORIENTATION_ID not in existing:
        create(
            con,
            "orientation",
            title="Customer orientation check (example)",
            account=accounts[1],
            workshop=DEMO_WORKSHOP,
            by="demo",
            worksheet_id=DEMO_ORIENTATION_ID,
        )
        for i, (item, ticked) in enumerate(_DEMO_ORIENTATION.items()):
            _write(
                con,
                DEMO_ORIENTATION_ID,
                item,
                {"rating": "yes" if ticked else "no"},
                by="demo",
                at=now + dt.timedelta(seconds=i),
            )
        for i, (item, text) in enumerate(_DEMO_MEASURES.items()):
            _write(
                con, DEMO_ORIENTATION_ID, item, {"answer": text}, by="demo", at=now + dt.timedelta(minutes=1, seconds=i)
            )
    return [DEMO_PROXIMITY_ID, DEMO_ORIENTATION_ID]


def account_options(con: duckdb.DuckDBPyConnection, *, limit: int = 1000) -> pd.DataFrame:
    """-> candidate customer accounts: account, industry, country, used (worksheets already on it);
    accounts with worksheets first, then business customers, then the rest, at most ``limit`` rows."""
    sql = """
        WITH used AS (
            SELECT account, count(*) AS used FROM worksheets WHERE account IS NOT NULL AND kind <> ? GROUP BY account
        )
        SELECT coalesce(c.customer_id, u.account) AS account, c.industry, c.country, coalesce(u.used, 0) AS used
        FROM customers c FULL OUTER JOIN used u ON u.account = c.customer_id
        ORDER BY coalesce(u.used, 0) DESC, (lower(coalesce(c.customer_type, '')) LIKE '%b2b%') DESC, account
        LIMIT ?
    """
    return con.cursor().execute(sql, [WORKSHOP_KIND, limit]).df()
