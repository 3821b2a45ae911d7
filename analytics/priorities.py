"""Requirements catalogue: storage with change history, MoSCoW board, weighted scoring, suggested order.

A requirement has a source (interview, survey, feedback, market research), a type (functional,
non-functional, business), background, description (its content) and goal, a MoSCoW class
(must, should, could, won't), a status, 1..5 ratings of urgency, importance and risk, an effort
(person-days) and, through ``kano_feature``, the Kano category that the survey found for it.

Sources
-------
- Clegg, D., Barker, R. (1994). Case Method Fast-Track: A RAD Approach. Addison-Wesley. (MoSCoW)
- DSDM Consortium / Agile Business Consortium (2014). The DSDM Agile Project Framework, ch. 10
  "MoSCoW prioritisation": Must Haves should not exceed 60 % of the effort of a project or
  timebox. (the 60 % default of :func:`moscow_board`)
- Weighted scoring (weighted-sum model): Triantaphyllou, E. (2000). Multi-Criteria Decision Making
  Methods: A Comparative Study. Springer, ch. 2. (criteria rescaled to 0..1, cost criteria
  inverted, weighted mean)
- Berger et al. (1993), Kano's methods...: fix must-be gaps first, then one-dimensional, then
  attractive qualities. (the order of :func:`suggested_order`); a requirement the survey has not
  classified takes the place its MoSCoW class stands for (must with must-be, should with
  one-dimensional, could with attractive), and won't-haves and rejected requirements come last.

Every change to the catalogue is written to ``audit_log`` (action ``requirement.add``,
``requirement.update`` or ``requirement.delete``, subject the requirement id, details JSON of
the changed fields with old and new values) in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics import store
from analytics.schema import REQUIREMENTS

SOURCES: tuple[str, ...] = ("interview", "survey", "feedback", "market research")
TYPES: tuple[str, ...] = ("functional", "non-functional", "business")
MOSCOW: tuple[str, ...] = ("must", "should", "could", "won't")
STATUSES: tuple[str, ...] = ("proposed", "accepted", "in progress", "done", "rejected")
RATINGS: tuple[str, ...] = ("urgency", "importance", "risk")

#: Columns of the catalogue, as stored (``import_id`` left out).
COLUMNS: tuple[str, ...] = tuple(c for c in REQUIREMENTS.column_names if c != "import_id")
EDITABLE: tuple[str, ...] = tuple(c for c in COLUMNS if c not in ("requirement_id", "updated_at"))
NUMERIC: tuple[str, ...] = ("effort", "urgency", "importance", "risk")

#: Kano categories in the order the suggested order takes them; anything else comes after.
KANO_ORDER: tuple[str, ...] = ("M", "O", "A", "I")

#: Groups of the suggested order, first to last (``order_group`` of :func:`suggested_order` is the
#: 1-based position in this tuple).
ORDER_GROUPS: tuple[str, ...] = (
    "must",  # Kano must-be, or no Kano category and MoSCoW must
    "should",  # Kano one-dimensional, or no Kano category and MoSCoW should
    "could",  # Kano attractive, or no Kano category and MoSCoW could
    "indifferent",  # Kano indifferent
    "unclassified",  # neither a Kano category nor a MoSCoW class
    "reverse",  # Kano reverse or questionable
    "last",  # MoSCoW won't or status rejected, whatever the Kano category
)
_GROUP_OF_KANO = {c: i + 1 for i, c in enumerate(KANO_ORDER)}
_GROUP_OF_MOSCOW = {"must": 1, "should": 2, "could": 3}

#: Default share of the total effort the musts may take (DSDM: 60 %).
MUST_SHARE_LIMIT = 0.6

_MOSCOW_ALIASES = {
    "must": "must",
    "must have": "must",
    "m": "must",
    "muss": "must",
    "should": "should",
    "should have": "should",
    "s": "should",
    "soll": "should",
    "sollte": "should",
    "could": "could",
    "could have": "could",
    "c": "could",
    "kann": "could",
    "könnte": "could",
    "won't": "won't",
    "wont": "won't",
    "won't have": "won't",
    "won't have this time": "won't",
    "wont have": "won't",
    "will not": "won't",
    "will not have": "won't",
    "would": "won't",
    "w": "won't",
    "nicht": "won't",
    "wird nicht": "won't",
}


class RequirementError(ValueError):
    """A requirement value that cannot be stored; ``field`` and ``value`` name it."""

    def __init__(self, field: str, value: Any, reason: str):
        super().__init__(f"{field} {value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


def normalise_moscow(value: Any) -> str | None:
    """'Must have' / 'M' / 'wont' / 'Soll' ... -> 'must', 'should', 'could', "won't"; None stays None; unknown raises."""
    if _is_missing(value) or str(value).strip() == "":
        return None
    text = str(value).strip().lower().replace("\u2019", "'")
    text = re.sub(r"\s+", " ", text)
    if text in _MOSCOW_ALIASES:
        return _MOSCOW_ALIASES[text]
    raise RequirementError("moscow", value, f"must be one of {', '.join(MOSCOW)}")


def moscow_or_none(value: Any) -> str | None:
    """Like :func:`normalise_moscow`, but blank or unknown words -> None (for readers that report them)."""
    try:
        return normalise_moscow(value)
    except RequirementError:
        return None


def clean_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values as typed by a user -> values to store (trimmed text, floats, MoSCoW normalised).

    Raises :class:`RequirementError` for an unknown field, an empty title, a MoSCoW class, type,
    source or status outside its list, a rating outside 1..5, or a negative effort.
    """
    out: dict[str, Any] = {}
    for field, value in values.items():
        if field not in EDITABLE:
            raise RequirementError(field, value, "is not a field of a requirement")
        if field in NUMERIC:
            if _is_missing(value) or str(value).strip() == "":
                out[field] = None
                continue
            try:
                number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                raise RequirementError(field, value, "is not a number") from None
            if field == "effort" and number < 0:
                raise RequirementError(field, value, "cannot be negative")
            if field in RATINGS and not 1 <= number <= 5:
                raise RequirementError(field, value, "must be between 1 and 5")
            out[field] = number
            continue
        text = None if _is_missing(value) else str(value).strip() or None
        if field == "moscow":
            text = normalise_moscow(text)
        elif field in ("type", "source", "status") and text is not None:
            allowed = {"type": TYPES, "source": SOURCES, "status": STATUSES}[field]
            lowered = text.lower()
            if lowered not in allowed:
                raise RequirementError(field, value, f"must be one of {', '.join(allowed)}")
            text = lowered
        elif field == "title" and text is None:
            raise RequirementError(field, value, "a requirement needs a title")
        out[field] = text
    return out


# --- reading ---------------------------------------------------------------------------------------


def catalogue(cur) -> pd.DataFrame:
    """The stored catalogue -> DataFrame with ``COLUMNS``, ordered by requirement id."""
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    frame = cur.execute(f"SELECT {names} FROM requirements ORDER BY requirement_id").df()
    for column in NUMERIC:
        frame[column] = frame[column].astype("float64")
    return frame


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def history(cur, requirement_id: str | None = None) -> pd.DataFrame:
    """Audit entries of the catalogue -> DataFrame (occurred_at, actor, action, requirement_id, field, old, new).

    One row per changed field, newest first; old and new as text (8.0 -> '8', None stays None).
    An added requirement lists its filled fields with old None, a deleted one its last values
    with new None.
    """
    sql = "SELECT occurred_at, actor, action, subject, details FROM audit_log WHERE action LIKE 'requirement.%'"
    params: list[Any] = []
    if requirement_id is not None:
        sql += " AND subject = ?"
        params.append(requirement_id)
    raw = cur.execute(sql + " ORDER BY event_id DESC", params).df()
    rows = []
    for entry in raw.itertuples(index=False):
        try:
            details = json.loads(entry.details or "{}")
        except json.JSONDecodeError:
            details = {}
        action = entry.action.split(".", 1)[1]
        changes = details.get("changes") or {}
        if not changes:
            rows.append((entry.occurred_at, entry.actor, action, entry.subject, None, None, None))
        for field, (old, new) in changes.items():
            rows.append((entry.occurred_at, entry.actor, action, entry.subject, field, _as_text(old), _as_text(new)))
    return pd.DataFrame(rows, columns=["occurred_at", "actor", "action", "requirement_id", "field", "old", "new"])


# --- writing ---------------------------------------------------------------------------------------


def next_id(existing: Sequence[str], *, prefix: str = "REQ-") -> str:
    """Existing ids ('REQ-007', 'REQ-012', ...) -> the next free id ('REQ-013'); 'REQ-001' for none.

    The prefix and digit width of the existing ids with the highest number are kept.
    """
    best = None
    for value in existing:
        match = re.fullmatch(r"(.*?)(\d+)", str(value))
        if match and (best is None or int(match.group(2)) > best[1]):
            best = (match.group(1), int(match.group(2)), len(match.group(2)))
    if best is None:
        return f"{prefix}001"
    return f"{best[0]}{best[1] + 1:0{best[2]}d}"


def _json_value(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    return str(value)


def _same(old: Any, new: Any) -> bool:
    if _is_missing(old) and _is_missing(new):
        return True
    if _is_missing(old) or _is_missing(new):
        return False
    if isinstance(new, float) or isinstance(old, float):
        try:
            return float(old) == float(new)
        except (TypeError, ValueError):
            return False
    return str(old) == str(new)


def _add(cur, values: Mapping[str, Any], actor: str) -> str:
    clean = clean_values({k: v for k, v in values.items() if k != "requirement_id"})
    if "title" not in clean:
        raise RequirementError("title", None, "a requirement needs a title")
    existing = [r[0] for r in cur.execute("SELECT requirement_id FROM requirements").fetchall()]
    requirement_id = values.get("requirement_id")
    if _is_missing(requirement_id) or not str(requirement_id).strip():
        requirement_id = next_id(existing)
    requirement_id = str(requirement_id).strip()
    if requirement_id in existing:
        raise RequirementError("requirement_id", requirement_id, "is already taken")
    fields = ["requirement_id", *clean.keys(), "updated_at"]
    placeholders = ", ".join(["?"] * (len(fields) - 1) + ["now()"])
    cur.execute(
        f"INSERT INTO requirements ({', '.join(fields)}) VALUES ({placeholders})",
        [requirement_id, *clean.values()],
    )
    changes = {k: [None, _json_value(v)] for k, v in clean.items() if v is not None}
    store.audit(cur, "requirement.add", requirement_id, json.dumps({"changes": changes}), actor=actor)
    return requirement_id


def _update(cur, requirement_id: str, values: Mapping[str, Any], actor: str) -> bool:
    clean = clean_values(values)
    names = ", ".join(f'"{c}"' for c in EDITABLE)
    row = cur.execute(f"SELECT {names} FROM requirements WHERE requirement_id = ?", [requirement_id]).fetchone()
    if row is None:
        raise RequirementError("requirement_id", requirement_id, "does not exist")
    old = dict(zip(EDITABLE, row, strict=True))
    changed = {k: v for k, v in clean.items() if not _same(old[k], v)}
    if not changed:
        return False
    assignments = ", ".join(f'"{k}" = ?' for k in changed)
    cur.execute(
        f"UPDATE requirements SET {assignments}, updated_at = now() WHERE requirement_id = ?",
        [*changed.values(), requirement_id],
    )
    changes = {k: [_json_value(old[k]), _json_value(v)] for k, v in changed.items()}
    store.audit(cur, "requirement.update", requirement_id, json.dumps({"changes": changes}), actor=actor)
    return True


def _delete(cur, requirement_id: str, actor: str) -> bool:
    names = ", ".join(f'"{c}"' for c in EDITABLE)
    row = cur.execute(f"SELECT {names} FROM requirements WHERE requirement_id = ?", [requirement_id]).fetchone()
    if row is None:
        return False
    cur.execute("DELETE FROM requirements WHERE requirement_id = ?", [requirement_id])
    changes = {k: [_json_value(v), None] for k, v in zip(EDITABLE, row, strict=True) if not _is_missing(v)}
    store.audit(cur, "requirement.delete", requirement_id, json.dumps({"changes": changes}), actor=actor)
    return True


def add_requirement(con, values: Mapping[str, Any], *, actor: str = "local user") -> str:
    """Field values (title required; requirement_id optional) -> id of the stored requirement (history kept)."""
    return store.run_write(con, lambda cur: _add(cur, values, actor))


def update_requirement(con, requirement_id: str, values: Mapping[str, Any], *, actor: str = "local user") -> bool:
    """Changed fields of one requirement -> True when something changed (each change in the history)."""
    return store.run_write(con, lambda cur: _update(cur, requirement_id, values, actor))


def delete_requirement(con, requirement_id: str, *, actor: str = "local user") -> bool:
    """Requirement id -> True when it existed and was deleted (its last values kept in the history)."""
    return store.run_write(con, lambda cur: _delete(cur, requirement_id, actor))


@dataclass(frozen=True)
class EditResult:
    """What one save of the catalogue editor did."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


def apply_edits(
    con,
    source: pd.DataFrame,
    *,
    edited_rows: Mapping[int | str, Mapping[str, Any]] | None = None,
    added_rows: Sequence[Mapping[str, Any]] = (),
    deleted_rows: Sequence[int] = (),
    actor: str = "local user",
) -> EditResult:
    """The editor's source frame and its edit state (``st.data_editor`` session value) -> one atomic save.

    ``edited_rows`` maps a row position of ``source`` to changed fields, ``added_rows`` lists new
    rows, ``deleted_rows`` row positions. Everything commits together or, on the first invalid
    value (:class:`RequirementError`), nothing does.
    """
    edited_rows = edited_rows or {}
    ids = source["requirement_id"].tolist()

    def work(cur) -> EditResult:
        updated, added, deleted = [], [], []
        for position, changes in edited_rows.items():
            requirement_id = ids[int(position)]
            fields = {k: v for k, v in changes.items() if k in EDITABLE}
            if fields and _update(cur, requirement_id, fields, actor):
                updated.append(requirement_id)
        for row in added_rows:
            values = {k: v for k, v in row.items() if k in EDITABLE or k == "requirement_id"}
            if not any(not _is_missing(v) and str(v).strip() for v in values.values()):
                continue
            added.append(_add(cur, values, actor))
        for position in deleted_rows:
            if _delete(cur, ids[int(position)], actor):
                deleted.append(ids[int(position)])
        return EditResult(tuple(added), tuple(updated), tuple(deleted))

    return store.run_write(con, work)


# --- Kano link, MoSCoW board, scoring, order ------------------------------------------------------------


def link_kano(requirements: pd.DataFrame, kano_summary: pd.DataFrame) -> pd.DataFrame:
    """Requirements (kano_feature) + Kano summary (feature, category[, better, worse]) -> copy with kano_category, better, worse.

    Features match ignoring case and surrounding spaces; requirements without a matching
    feature get None / NaN.
    """
    out = requirements.copy()
    if kano_summary is None or kano_summary.empty or "kano_feature" not in out.columns:
        out["kano_category"] = None
        out["kano_better"] = np.nan
        out["kano_worse"] = np.nan
        return out
    key = kano_summary["feature"].astype(str).str.strip().str.lower()
    lookup = kano_summary.assign(_key=key).drop_duplicates("_key").set_index("_key")
    keys = out["kano_feature"].map(lambda v: None if _is_missing(v) else str(v).strip().lower())
    out["kano_category"] = keys.map(lambda k: lookup["category"].get(k) if k is not None else None)
    out["kano_better"] = keys.map(
        lambda k: lookup["better"].get(k, np.nan) if k is not None and "better" in lookup else np.nan
    )
    out["kano_worse"] = keys.map(
        lambda k: lookup["worse"].get(k, np.nan) if k is not None and "worse" in lookup else np.nan
    )
    out["kano_category"] = out["kano_category"].astype(object).where(out["kano_category"].notna(), None)
    return out


def moscow_board(
    requirements: pd.DataFrame,
    *,
    must_share_limit: float = MUST_SHARE_LIMIT,
    include_wont: bool = False,
    exclude_statuses: Sequence[str] = ("rejected",),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Requirements (moscow, effort, status) -> (board: one row per MoSCoW class, check of the musts' effort share).

    board columns: moscow, requirements, effort, share_of_effort (of the total effort), listed,
    listed_effort. The total is the effort of must, should and could (won't is not planned, unless
    ``include_wont``); requirements, effort and share count only the requirements that are not in
    ``exclude_statuses``, while listed and listed_effort count every requirement of the class,
    whatever its status (what a board column lists). Requirements without a class are left out; a
    missing effort counts as 0. check: must_effort, total_effort, must_share (NaN for no effort),
    limit, within_limit (True when must_share <= limit), unestimated (planned requirements without
    effort).
    """
    frame = requirements.copy()
    frame["moscow"] = frame["moscow"].map(lambda v: normalise_moscow(v) if not _is_missing(v) else None)
    listed = frame["moscow"]
    listed_effort = pd.to_numeric(frame["effort"], errors="coerce").fillna(0)
    if "status" in frame.columns and exclude_statuses:
        frame = frame[~frame["status"].isin(list(exclude_statuses))]
    frame = frame[frame["moscow"].notna()]
    effort = pd.to_numeric(frame["effort"], errors="coerce")
    planned_classes = MOSCOW if include_wont else MOSCOW[:3]
    rows = []
    for cls in MOSCOW:
        mask = frame["moscow"] == cls
        rows.append({"moscow": cls, "requirements": int(mask.sum()), "effort": float(effort[mask].fillna(0).sum())})
    board = pd.DataFrame(rows)
    board["listed"] = [int((listed == cls).sum()) for cls in MOSCOW]
    board["listed_effort"] = [float(listed_effort[listed == cls].sum()) for cls in MOSCOW]
    total = float(board.loc[board["moscow"].isin(planned_classes), "effort"].sum())
    board["share_of_effort"] = [
        (e / total if total > 0 and m in planned_classes else np.nan)
        for m, e in zip(board["moscow"], board["effort"], strict=True)
    ]
    must_effort = float(board.loc[board["moscow"] == "must", "effort"].iloc[0])
    must_share = must_effort / total if total > 0 else math.nan
    check = {
        "must_effort": must_effort,
        "total_effort": total,
        "must_share": must_share,
        "limit": float(must_share_limit),
        "within_limit": bool(math.isnan(must_share) or must_share <= must_share_limit + 1e-12),
        "unestimated": int((frame["moscow"].isin(planned_classes) & effort.isna()).sum()),
    }
    return board, check


@dataclass(frozen=True)
class Criterion:
    """One scoring criterion: a numeric column, its weight, and whether more is better ("benefit") or worse ("cost")."""

    name: str
    weight: float
    direction: str = "benefit"


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion("importance", 0.35, "benefit"),
    Criterion("urgency", 0.30, "benefit"),
    Criterion("effort", 0.20, "cost"),
    Criterion("risk", 0.15, "cost"),
)


def criteria_to_json(criteria: Sequence[Criterion]) -> str:
    """Criteria -> JSON text (for ``store.set_setting``)."""
    return json.dumps([asdict(c) for c in criteria])


def criteria_from_json(text: str | None) -> tuple[Criterion, ...]:
    """JSON text (or None) -> criteria; DEFAULT_CRITERIA when empty or unreadable."""
    if not text:
        return DEFAULT_CRITERIA
    try:
        items = json.loads(text)
        return tuple(Criterion(str(i["name"]), float(i["weight"]), str(i.get("direction", "benefit"))) for i in items)
    except (ValueError, KeyError, TypeError):
        return DEFAULT_CRITERIA


def weighted_scores(requirements: pd.DataFrame, criteria: Sequence[Criterion] = DEFAULT_CRITERIA) -> pd.DataFrame:
    """Requirements with the criteria columns -> copy with ``score_<criterion>`` (0..1) and ``score`` (0..100).

    Weighted-sum model: each criterion is rescaled over the catalogue to 0..1,
    (x - min) / (max - min) for a benefit, (max - x) / (max - min) for a cost, 0.5 when all values
    are equal; score = 100 * sum(w * s) / sum(w) over the criteria the requirement has a value for
    (a missing value neither helps nor hurts). Negative weights are refused; with no positive
    weight every score is NaN.
    """
    out = requirements.copy()
    active = [c for c in criteria if c.weight > 0]
    for c in criteria:
        if c.weight < 0:
            raise ValueError(f"weight of {c.name!r} cannot be negative")
        if c.direction not in ("benefit", "cost"):
            raise ValueError(f"direction of {c.name!r} must be 'benefit' or 'cost'")
        if c.name not in out.columns:
            raise ValueError(f"requirements have no column {c.name!r}")
    weighted = pd.Series(0.0, index=out.index)
    weights = pd.Series(0.0, index=out.index)
    for c in active:
        values = pd.to_numeric(out[c.name], errors="coerce").astype("float64")
        low, high = values.min(), values.max()
        if pd.isna(low):
            scaled = pd.Series(np.nan, index=out.index)
        elif high == low:
            scaled = values.where(values.isna(), 0.5)
        elif c.direction == "benefit":
            scaled = (values - low) / (high - low)
        else:
            scaled = (high - values) / (high - low)
        out[f"score_{c.name}"] = scaled
        present = scaled.notna()
        weighted = weighted + (scaled.fillna(0) * c.weight)
        weights = weights + present * c.weight
    out["score"] = (100 * weighted / weights).where(weights > 0, np.nan)
    return out


def order_group(kano_category: Any, moscow: Any = None, status: Any = None) -> int:
    """Kano category, MoSCoW class and status of one requirement -> its group in the suggested order (1..7).

    See :data:`ORDER_GROUPS`: a won't-have or rejected requirement is last (7) whatever the survey
    says; otherwise the Kano category decides (M 1, O 2, A 3, I 4, reverse or questionable 6); a
    requirement without one takes its MoSCoW class's place (must 1, should 2, could 3), or 5
    without a class either.
    """
    if moscow_or_none(moscow) == "won't" or (not _is_missing(status) and str(status).strip().lower() == "rejected"):
        return len(ORDER_GROUPS)
    if not _is_missing(kano_category):
        return _GROUP_OF_KANO.get(str(kano_category).strip(), ORDER_GROUPS.index("reverse") + 1)
    return _GROUP_OF_MOSCOW.get(moscow_or_none(moscow), ORDER_GROUPS.index("unclassified") + 1)


def suggested_order(requirements: pd.DataFrame) -> pd.DataFrame:
    """Requirements with kano_category and score[, moscow, status] -> copy sorted by :func:`order_group`, then score.

    Adds ``rank`` (1-based) and ``order_group`` (1..7, see :data:`ORDER_GROUPS`). Must-be first,
    then one-dimensional, attractive and indifferent (Berger et al. 1993); a requirement the survey
    has not classified joins the group of its MoSCoW class (must with must-be, should with
    one-dimensional, could with attractive) and is ranked there by score like the others; without a
    class it follows the indifferent ones; reverse and questionable ones follow; won't-haves and
    rejected requirements come last. Within a group the higher score comes first, a missing score
    last; ties keep the id order.
    """
    out = requirements.copy()
    moscow = out["moscow"] if "moscow" in out.columns else pd.Series(None, index=out.index, dtype=object)
    status = out["status"] if "status" in out.columns else pd.Series(None, index=out.index, dtype=object)
    out["order_group"] = [order_group(k, m, s) for k, m, s in zip(out["kano_category"], moscow, status, strict=True)]
    out["_score"] = pd.to_numeric(out.get("score"), errors="coerce").fillna(-np.inf)
    out = out.sort_values(["order_group", "_score", "requirement_id"], ascending=[True, False, True], kind="stable")
    out = out.drop(columns=["_score"]).reset_index(drop=True)
    out["order_group"] = out["order_group"].astype("int64")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


CRITERIA_SETTING = "priorities.criteria"
MUST_LIMIT_SETTING = "priorities.must_share_limit"


def load_criteria(con) -> tuple[Criterion, ...]:
    """Stored scoring criteria (settings) -> criteria; DEFAULT_CRITERIA until someone edits them."""
    return criteria_from_json(store.get_setting(con, CRITERIA_SETTING))


def save_criteria(con, criteria: Sequence[Criterion], *, actor: str = "local user") -> None:
    """Criteria -> stored in settings, with an audit entry (validated: known columns, weights >= 0)."""
    for c in criteria:
        if c.name not in NUMERIC:
            raise RequirementError("criterion", c.name, f"must be one of {', '.join(NUMERIC)}")
        if not c.weight >= 0:
            raise RequirementError("weight", c.weight, "cannot be negative")
        if c.direction not in ("benefit", "cost"):
            raise RequirementError("direction", c.direction, "must be benefit or cost")
    text = criteria_to_json(criteria)

    def work(cur):
        cur.execute("DELETE FROM settings WHERE name = ?", [CRITERIA_SETTING])
        cur.execute("INSERT INTO settings VALUES (?, ?, now())", [CRITERIA_SETTING, text])
        store.audit(cur, "priorities.criteria", CRITERIA_SETTING, text, actor=actor)

    store.run_write(con, work)


def load_must_limit(con) -> float:
    """Stored share of effort the musts may take -> float in (0, 1]; 0.6 by default."""
    try:
        value = float(store.get_setting(con, MUST_LIMIT_SETTING) or MUST_SHARE_LIMIT)
    except ValueError:
        return MUST_SHARE_LIMIT
    return value if 0 < value <= 1 else MUST_SHARE_LIMIT


def save_must_limit(con, share: float) -> None:
    """Share in (0, 1] -> stored as the musts' limit."""
    if not 0 < share <= 1:
        raise RequirementError("must_share_limit", share, "must be above 0 and at most 1")
    store.set_setting(con, MUST_LIMIT_SETTING, str(float(share)))
