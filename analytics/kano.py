"""Kano survey evaluation: answers -> categories, counts, rules, coefficients, Fong test, continuous scores.

Every feature in a Kano questionnaire is asked twice: the *functional* question (how would you feel
if the feature were there?) and the *dysfunctional* question (... if it were not there?). Both take
one of five answers, coded here as

====  ===========================  =================================
code  English                      German (common wordings)
====  ===========================  =================================
1     I like it                    Das würde mich sehr freuen
2     I expect it                  Das setze ich voraus
3     I am neutral                 Das ist mir egal
4     I can tolerate it            Das nehme ich in Kauf
5     I dislike it                 Das würde mich sehr stören
====  ===========================  =================================

The pair is looked up in an evaluation table and gives one of six categories: A attractive,
O one-dimensional, M must-be, I indifferent, R reverse, Q questionable.

Sources
-------
- Kano, N., Seraku, N., Takahashi, F., Tsuji, S. (1984). Attractive quality and must-be quality.
  Journal of the Japanese Society for Quality Control 14(2), 39-48. (evaluation table)
- Berger, C., Blauth, R., Boger, D., et al. (1993). Kano's methods for understanding
  customer-defined quality. Center for Quality of Management Journal 2(4), 3-36. (evaluation table,
  better/worse satisfaction coefficients, DuMouchel's continuous analysis with its answer scores)
- Pouliot, F. (1993). Theoretical issues of Kano's methods. Center for Quality of Management
  Journal 2(4). (variant table: the same answer twice is questionable, except neutral/neutral)
- Fong, D. (1996). Using the self-stated importance questionnaire to interpret Kano
  questionnaire results. Center for Quality of Management Journal 5(3), 21-24. (significance of
  the leading category)
- Lee, Y.-C., Huang, S.-Y. (2009) and Sauerwein, E. et al. (1996). The Kano model: how to
  delight your customers. (category strength, total strength, the M > O > A > I evaluation rule)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: The six categories in the order the tables show them.
CATEGORIES: tuple[str, ...] = ("A", "O", "M", "I", "R", "Q")

#: Tie-break order of the "hierarchy" rule (Berger et al. 1993: M > O > A > I), extended by R > Q.
HIERARCHY: tuple[str, ...] = ("M", "O", "A", "I", "R", "Q")

#: Categories the category strength and the strength rule rank (Q is left out).
RANKED: tuple[str, ...] = ("A", "O", "M", "I", "R")

#: Answer codes in questionnaire order.
ANSWERS: tuple[int, ...] = (1, 2, 3, 4, 5)
ANSWER_KEYS: dict[int, str] = {1: "like", 2: "expect", 3: "neutral", 4: "tolerate", 5: "dislike"}

#: Continuous analysis scores (DuMouchel, in Berger et al. 1993, p. 20).
FUNCTIONAL_SCORES: dict[int, float] = {1: 4.0, 2: 2.0, 3: 0.0, 4: -1.0, 5: -2.0}
DYSFUNCTIONAL_SCORES: dict[int, float] = {1: -2.0, 2: -1.0, 3: 0.0, 4: 2.0, 5: 4.0}

# Rows: functional answer 1..5, columns: dysfunctional answer 1..5 (Kano et al. 1984; Berger et al. 1993).
_STANDARD = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)
# Pouliot (1993): the same answer twice is questionable, except neutral/neutral, which stays I.
_POULIOT = (
    ("Q", "A", "A", "A", "O"),
    ("R", "Q", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "Q", "M"),
    ("R", "R", "R", "R", "Q"),
)
TABLES: dict[str, tuple[tuple[str, ...], ...]] = {"standard": _STANDARD, "pouliot": _POULIOT}
RULES: tuple[str, ...] = ("mode", "hierarchy", "strength")

#: Share difference at or below which the "strength" rule treats the top two categories as tied.
STRENGTH_THRESHOLD = 0.06

#: Fong (1996) critical value (one-sided 5 %, normal approximation).
FONG_Z = 1.65

# Answer texts (lower case, whitespace collapsed, final punctuation dropped) -> code. Several
# common English and German wordings of each answer.
ANSWER_TEXTS: dict[str, int] = {}
_WORDINGS: dict[int, tuple[str, ...]] = {
    1: (
        "like",
        "like it",
        "i like it",
        "i like it that way",
        "i like it this way",
        "i would like it",
        "i'd like it",
        "i would like it that way",
        "i would be pleased",
        "i enjoy it",
        "delighted",
        "satisfied",
        "das würde mich sehr freuen",
        "würde mich sehr freuen",
        "das würde mich freuen",
        "würde mich freuen",
        "das freut mich",
        "freut mich",
        "das gefällt mir",
        "gefällt mir",
        "gefällt mir sehr",
        "finde ich gut",
        "das finde ich gut",
        "sehr gut",
    ),
    2: (
        "expect",
        "expect it",
        "i expect it",
        "i expect it that way",
        "i expect it to be that way",
        "it must be that way",
        "it must be",
        "must be",
        "must-be",
        "it is a must",
        "that's a basic requirement",
        "das setze ich voraus",
        "setze ich voraus",
        "das erwarte ich",
        "erwarte ich",
        "das muss so sein",
        "muss so sein",
        "das ist selbstverständlich",
        "selbstverständlich",
        "setze ich als selbstverständlich voraus",
    ),
    3: (
        "neutral",
        "i am neutral",
        "i'm neutral",
        "i don't care",
        "i do not care",
        "don't care",
        "doesn't matter",
        "it doesn't matter",
        "indifferent",
        "i am indifferent",
        "das ist mir egal",
        "ist mir egal",
        "mir egal",
        "egal",
        "das ist mir gleichgültig",
        "gleichgültig",
        "neutral",
    ),
    4: (
        "tolerate",
        "tolerate it",
        "i can tolerate it",
        "can tolerate it",
        "i can live with it",
        "i can live with it that way",
        "live with it",
        "i can accept it",
        "acceptable",
        "das nehme ich in kauf",
        "nehme ich in kauf",
        "das könnte ich hinnehmen",
        "könnte ich hinnehmen",
        "das kann ich hinnehmen",
        "kann ich hinnehmen",
        "damit kann ich leben",
        "das toleriere ich",
        "toleriere ich",
        "kann ich akzeptieren",
        "das kann ich akzeptieren",
    ),
    5: (
        "dislike",
        "dislike it",
        "i dislike it",
        "i dislike it that way",
        "i don't like it",
        "i do not like it",
        "i don't like it that way",
        "i would dislike it",
        "it bothers me",
        "das würde mich sehr stören",
        "würde mich sehr stören",
        "das würde mich stören",
        "würde mich stören",
        "das stört mich",
        "stört mich",
        "das gefällt mir nicht",
        "gefällt mir nicht",
        "finde ich schlecht",
        "das finde ich schlecht",
        "das ärgert mich",
    ),
}
for _code, _texts in _WORDINGS.items():
    for _text in _texts:
        ANSWER_TEXTS[_text] = _code

_PREFIXED_CODE = re.compile(r"^([1-5])\s*(?:[-=:.)]\s*.*)?$")


def _normalise_text(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text.strip().lower())
    return text.strip(" .!,;")


def answer_code(value: Any) -> int | None:
    """One answer (code 1..5 as int/float/str, or an English/German answer text) -> code 1..5 or None.

    ``"1 - I like it"`` style answers (code, separator, text) are read by their code.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if 1 <= int(value) <= 5 else None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or not float(value).is_integer():
            return None
        return int(value) if 1 <= int(value) <= 5 else None
    if not isinstance(value, str):
        return None
    text = _normalise_text(value)
    if not text:
        return None
    if re.fullmatch(r"[1-5](?:[.,]0+)?", text):
        return int(text[0])
    match = _PREFIXED_CODE.match(text)
    if match:
        return int(match.group(1))
    return ANSWER_TEXTS.get(text)


def _table(table: str) -> tuple[tuple[str, ...], ...]:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"table must be one of {sorted(TABLES)}, not {table!r}") from None


def classify(functional, dysfunctional, *, table: str = "standard") -> str:
    """One answer pair -> category 'A', 'O', 'M', 'I', 'R' or 'Q'.

    Parameters
    ----------
    functional, dysfunctional : int or str
        Answers as codes 1..5 (like, expect, neutral, tolerate, dislike) or answer texts
        (English or German, several wordings; see ``ANSWER_TEXTS``).
    table : {"standard", "pouliot"}, default="standard"
        Evaluation table: Kano et al. (1984) / Berger et al. (1993), or Pouliot (1993).

    Raises
    ------
    ValueError
        For an answer that is not 1..5 or a known text, or an unknown table.
    """
    grid = _table(table)
    f = answer_code(functional)
    d = answer_code(dysfunctional)
    if f is None:
        raise ValueError(f"functional answer {functional!r} is not 1..5 or a known answer text")
    if d is None:
        raise ValueError(f"dysfunctional answer {dysfunctional!r} is not 1..5 or a known answer text")
    return grid[f - 1][d - 1]


def evaluation_table(*, table: str = "standard") -> pd.DataFrame:
    """Table name -> 5 x 5 DataFrame of categories (index: functional answer, columns: dysfunctional)."""
    grid = _table(table)
    keys = [ANSWER_KEYS[a] for a in ANSWERS]
    return pd.DataFrame([list(row) for row in grid], index=pd.Index(keys, name="functional"), columns=keys)


# --- counts, rules, strengths ----------------------------------------------------------------


def _count(counts: Mapping[str, float], key: str) -> float:
    value = counts.get(key, 0) if hasattr(counts, "get") else counts[key]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0.0
    return float(value)


def coefficients(counts: Mapping[str, float]) -> tuple[float, float]:
    """Category counts (A, O, M, I; R and Q ignored) -> (better, worse) satisfaction coefficients.

    better = (A + O) / (A + O + M + I) in [0, 1]; worse = -(O + M) / (A + O + M + I) in [-1, 0]
    (Berger et al. 1993). Reverse and questionable answers stay out of the denominator. Both are
    NaN (undefined, not zero) when A + O + M + I is 0. Missing keys count as 0.
    """
    a, o, m, i = (_count(counts, k) for k in ("A", "O", "M", "I"))
    denominator = a + o + m + i
    if denominator <= 0:
        return math.nan, math.nan
    better = (a + o) / denominator
    worse = -(o + m) / denominator if (o + m) else 0.0
    return better, worse


def fong_test(counts: Mapping[str, float], *, z: float = FONG_Z) -> dict[str, float | bool]:
    """Category counts -> Fong (1996) test of the leading category.

    a and b are the two largest counts among M, O, A, I, R; n counts all answers including Q. The
    lead is *not* significant when |a - b| < z * sqrt((a + b)(2n - a - b) / (2n)), z = 1.65.

    Returns
    -------
    dict
        a, b, difference (a - b), critical (the right-hand side), significant (bool). With n = 0
        or no answer among M, O, A, I, R nothing can lead: significant is False, critical NaN.
    """
    values = sorted((_count(counts, k) for k in RANKED), reverse=True)
    a, b = values[0], values[1]
    n = sum(_count(counts, k) for k in CATEGORIES)
    if n <= 0 or a <= 0:
        return {"a": a, "b": b, "difference": a - b, "critical": math.nan, "significant": False}
    critical = z * math.sqrt((a + b) * (2 * n - a - b) / (2 * n))
    return {"a": a, "b": b, "difference": a - b, "critical": critical, "significant": bool(abs(a - b) >= critical)}


def category_strength(counts: Mapping[str, float]) -> float:
    """Category counts -> top share minus second share among A, O, M, I, R (shares of n incl. Q); NaN if n = 0."""
    n = sum(_count(counts, k) for k in CATEGORIES)
    if n <= 0:
        return math.nan
    shares = sorted((_count(counts, k) / n for k in RANKED), reverse=True)
    return shares[0] - shares[1]


def total_strength(counts: Mapping[str, float]) -> float:
    """Category counts -> (A + O + M) / n, n all answers incl. R and Q; NaN if n = 0."""
    n = sum(_count(counts, k) for k in CATEGORIES)
    if n <= 0:
        return math.nan
    return (_count(counts, "A") + _count(counts, "O") + _count(counts, "M")) / n


def dominant_category(counts: Mapping[str, float], *, rule: str = "hierarchy") -> str | None:
    """Category counts -> the feature's category under ``rule``; None when there are no answers.

    Rules
    -----
    ``"mode"``
        The most frequent of A, O, M, I, R, Q. Ties are not hidden: every tied category is
        returned, joined by "/" in the order A, O, M, I, R, Q (e.g. ``"A/M"``).
    ``"hierarchy"``
        The most frequent of the six; ties broken M > O > A > I > R > Q (Berger et al. 1993:
        the category with the larger effect on the product wins).
    ``"strength"``
        Rank A, O, M, I, R by share of all answers. If the top share minus the second is
        <= 0.06, the higher of the two in M > O > A > I > R; otherwise the mode (its tie cannot
        happen here, a tie differs by 0).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}, not {rule!r}")
    values = {k: _count(counts, k) for k in CATEGORIES}
    n = sum(values.values())
    if n <= 0:
        return None
    if rule == "mode":
        top = max(values.values())
        return "/".join(k for k in CATEGORIES if values[k] == top)
    if rule == "hierarchy":
        top = max(values.values())
        return next(k for k in HIERARCHY if values[k] == top)
    ranked = sorted(RANKED, key=lambda k: (-values[k], HIERARCHY.index(k)))
    first, second = ranked[0], ranked[1]
    if values[first] <= 0:
        # Only questionable answers: nothing among A, O, M, I, R can lead.
        return "Q"
    if (values[first] - values[second]) / n <= STRENGTH_THRESHOLD + 1e-12:
        return min(first, second, key=HIERARCHY.index)
    return first


# --- validation and layouts --------------------------------------------------------------------

LONG_COLUMNS: tuple[str, ...] = (
    "respondent_id",
    "feature",
    "functional",
    "dysfunctional",
    "importance",
    "segment",
    "wave",
)
PROBLEM_COLUMNS: tuple[str, ...] = ("row", "column", "value", "reason")

_KIND_WORDS = {
    "functional": "functional",
    "funktional": "functional",
    "func": "functional",
    "dysfunctional": "dysfunctional",
    "dysfunktional": "dysfunctional",
    "dysfunc": "dysfunctional",
    "importance": "importance",
    "wichtigkeit": "importance",
    "bedeutung": "importance",
}
_KIND = "|".join(sorted(_KIND_WORDS, key=len, reverse=True))
_SUFFIX = re.compile(rf"^(?P<feature>.+?)[\s_\-:|/]*[(\[]?(?P<kind>{_KIND})[)\]]?$", re.IGNORECASE)
_PREFIX = re.compile(rf"^[(\[]?(?P<kind>{_KIND})[)\]]?[\s_\-:|/]+(?P<feature>.+)$", re.IGNORECASE)
_ID_COLUMNS = {
    "respondent_id": ("respondent_id", "respondent", "respondent id", "response id", "teilnehmer", "befragter", "id"),
    "segment": ("segment", "group", "gruppe"),
    "wave": ("wave", "survey wave", "survey", "welle", "befragungswelle"),
    "customer_id": ("customer_id", "customer id", "customerid", "kundennummer"),
}


def _blank_to_none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _problem(row: Any, column: str, value: Any, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "value": None if value is None else str(value), "reason": reason}


def _problems_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))


def split_wide_column(name: str) -> tuple[str, str] | None:
    """Wide column header -> (feature, kind) with kind 'functional', 'dysfunctional' or 'importance'; else None.

    Reads ``<feature>_functional``, ``<feature> (dysfunktional)``, ``functional: <feature>`` and the
    like. The kind is read from the name, never from the column position.
    """
    text = str(name).strip()
    for pattern in (_SUFFIX, _PREFIX):
        match = pattern.match(text)
        if match:
            feature = match.group("feature").strip(" _-:|/")
            if feature:
                return feature, _KIND_WORDS[match.group("kind").lower()]
    return None


def is_wide(frame: pd.DataFrame) -> bool:
    """True when ``frame`` has no feature column but ``<feature>_functional``-style columns."""
    lower = {str(c).strip().lower() for c in frame.columns}
    if {"feature", "merkmal", "attribute", "eigenschaft"} & lower:
        return False
    return any(split_wide_column(c) for c in frame.columns)


def wide_to_long(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide answers (one row per respondent, ``<feature>_functional`` / ``_dysfunctional`` columns) -> (long, problems).

    long has respondent_id, feature, functional, dysfunctional, importance[, segment, wave,
    customer_id] with one row per respondent and feature, in the order features first appear.
    Column order does not matter (a file may put the dysfunctional column first). A feature with
    only one of its two columns is reported in ``problems`` (row None: it concerns every row) and
    left out. Both answers empty means the respondent skipped the feature: no row. A missing
    respondent id becomes the 1-based row number. ``importance`` comes from
    ``<feature>_importance`` if present, else from a single ``importance`` column.
    """
    features: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {}
    for column in frame.columns:
        lowered = str(column).strip().lower()
        matched = next((key for key, names in _ID_COLUMNS.items() if lowered in names), None)
        if matched and matched not in extra:
            extra[matched] = column
            continue
        if lowered in ("importance", "wichtigkeit"):
            extra["importance"] = column
            continue
        parsed = split_wide_column(column)
        if parsed is None:
            continue
        feature, kind = parsed
        features.setdefault(feature, {})[kind] = column
    problems: list[dict[str, Any]] = []
    parts: list[pd.DataFrame] = []
    if "respondent_id" in extra:
        ids = frame[extra["respondent_id"]].astype("string")
    else:
        ids = pd.Series([str(i + 1) for i in range(len(frame))], index=frame.index, dtype="string")
    for feature, kinds in features.items():
        missing = [k for k in ("functional", "dysfunctional") if k not in kinds]
        if missing:
            present = next(iter(kinds.values()))
            problems.append(_problem(None, str(present), feature, f"feature has no {missing[0]} column"))
            continue
        part = pd.DataFrame(
            {
                "source_row": np.arange(1, len(frame) + 1),
                "respondent_id": ids.to_numpy(),
                "feature": feature,
                "functional": frame[kinds["functional"]].to_numpy(),
                "dysfunctional": frame[kinds["dysfunctional"]].to_numpy(),
            }
        )
        if "importance" in kinds:
            part["importance"] = frame[kinds["importance"]].to_numpy()
        elif "importance" in extra:
            part["importance"] = frame[extra["importance"]].to_numpy()
        for key in ("segment", "wave", "customer_id"):
            if key in extra:
                part[key] = frame[extra[key]].to_numpy()
        parts.append(part)
    if not features:
        problems.append(_problem(None, "", "", "no <feature>_functional / <feature>_dysfunctional columns found"))
    if not parts:
        return pd.DataFrame(columns=["source_row", *LONG_COLUMNS]), _problems_frame(problems)
    long = pd.concat(parts, ignore_index=True)
    # A respondent who skipped a feature (both answers empty) has no answer pair for it.
    skipped = long["functional"].map(_blank_to_none).isna() & long["dysfunctional"].map(_blank_to_none).isna()
    long = long.loc[~skipped].sort_values(["source_row"], kind="stable").reset_index(drop=True)
    return long, _problems_frame(problems)


def long_to_wide(responses: pd.DataFrame, *, dysfunctional_first: bool = False) -> pd.DataFrame:
    """Long answers (respondent_id, feature, functional, dysfunctional[, importance]) -> one row per respondent.

    Columns: respondent_id, then per feature ``<feature>_functional`` and ``<feature>_dysfunctional``
    (in that order, or dysfunctional first), then ``<feature>_importance`` when importance exists.
    """
    features = list(dict.fromkeys(responses["feature"]))
    ids = list(dict.fromkeys(responses["respondent_id"]))
    wide = pd.DataFrame({"respondent_id": ids})
    kinds = ["dysfunctional", "functional"] if dysfunctional_first else ["functional", "dysfunctional"]
    if "importance" in responses.columns:
        kinds.append("importance")
    indexed = responses.drop_duplicates(["respondent_id", "feature"]).set_index(["respondent_id", "feature"])
    for feature in features:
        for kind in kinds:
            values = [indexed[kind].get((rid, feature)) for rid in ids]
            wide[f"{feature}_{kind}"] = values
    return wide


def validate(responses: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long answers (any wording) -> (valid rows with codes '1'..'5', problems: row, column, value, reason).

    Checks every row: a feature name, both answers readable (code 1..5 or a known English or German
    text), importance empty or a number in 1..9, and no second row for the same respondent, feature
    (and wave). Rows with a problem are left out of ``valid``; the first of duplicate rows is kept.
    ``row`` is the 1-based data row of the file (``source_row`` when the frame came from the wide
    layout). Valid answers are returned as codes so that texts and codes count alike.
    """
    missing = [c for c in ("feature", "functional", "dysfunctional") if c not in responses.columns]
    if missing:
        problems = [_problem(None, c, None, "column missing") for c in missing]
        return pd.DataFrame(columns=list(LONG_COLUMNS)), _problems_frame(problems)
    frame = responses.reset_index(drop=True).copy()
    rows = (
        frame["source_row"] if "source_row" in frame.columns else pd.Series(np.arange(1, len(frame) + 1))
    ).to_numpy()
    # Vectorised: each distinct value is read once (surveys repeat a handful of answer values).
    problems: list[tuple[int, int, dict[str, Any]]] = []  # (row, order of checks, problem)
    bad = np.zeros(len(frame), dtype=bool)

    def report(
        mask: np.ndarray, column: str, values: pd.Series, reason: str | Callable[[int], str], order: int
    ) -> None:
        for i in np.flatnonzero(mask):
            value = values.iat[i]
            text = reason(int(i)) if callable(reason) else reason
            problems.append(
                (
                    int(rows[i]),
                    order,
                    _problem(int(rows[i]), column, None if _blank_to_none(value) is None else value, text),
                )
            )
        bad[mask] = True

    blank_feature = _blank(frame["feature"])
    features = frame["feature"].astype("string").str.strip().astype(object).where(~blank_feature, None)
    report(blank_feature, "feature", frame["feature"], "feature name is empty", 0)
    for order, column in enumerate(("functional", "dysfunctional"), start=1):
        values = frame[column].astype(object)
        codes = _codes(values)
        missing = codes.isna().to_numpy()
        empty = _blank(values)
        report(missing & empty, column, values, "answer is empty", order)
        report(missing & ~empty, column, values, "answer is not 1..5 or a known answer text", order)
        text_codes = np.array([None, "1", "2", "3", "4", "5"], dtype=object)
        frame[column] = text_codes[codes.fillna(0).astype(int).to_numpy()]
    if "importance" in frame.columns:
        raw = frame["importance"].astype(object)
        given = ~_blank(raw)
        if pd.api.types.is_numeric_dtype(frame["importance"]):
            weights = frame["importance"].astype("float64")
        else:
            text = raw.astype("string").str.strip().str.replace(",", ".", regex=False)
            weights = pd.to_numeric(text, errors="coerce").astype("float64")
        report(given & weights.isna().to_numpy(), "importance", raw, "importance is not a number", 3)
        outside = given & weights.notna().to_numpy() & ~weights.between(1, 9).to_numpy()
        report(outside, "importance", raw, "importance is outside 1..9", 3)
        frame["importance"] = weights.astype("float64")
    else:
        frame["importance"] = np.nan
    frame["feature"] = features.map(lambda v: None if v is None else str(v)).astype(object)
    for column in ("respondent_id", "segment", "wave", "customer_id"):
        if column in frame.columns:
            frame[column] = (
                frame[column].astype("string").str.strip().astype(object).where(~_blank(frame[column]), None)
            )
    if "respondent_id" in frame.columns:
        key = ["respondent_id", "feature"] + (["wave"] if "wave" in frame.columns else [])
        keyed = frame[key].astype("string").fillna("")
        duplicated = keyed.duplicated(keep="first").to_numpy() & (keyed["respondent_id"] != "").to_numpy()
        if duplicated.any():
            tuples = list(keyed.itertuples(index=False, name=None))
            first_row: dict[tuple, int] = {}
            for i, values in enumerate(tuples):
                first_row.setdefault(values, int(rows[i]))
            report(
                duplicated,
                "respondent_id",
                frame["respondent_id"],
                lambda i: f"duplicate answer of this respondent for this feature (first in row {first_row[tuples[i]]})",
                4,
            )
    valid = frame.loc[~bad].drop(columns=["source_row"], errors="ignore").reset_index(drop=True)
    order = [c for c in LONG_COLUMNS if c in valid.columns] + [c for c in valid.columns if c not in LONG_COLUMNS]
    problems_frame = _problems_frame([p for _row, _order, p in sorted(problems, key=lambda item: (item[0], item[1]))])
    return valid[order], problems_frame


#: What a Kano answers file needs, in either layout: the feature asked about and the two answers.
REQUIRED_PARTS: tuple[str, ...] = ("feature", "functional", "dysfunctional")


def missing_parts(frame: pd.DataFrame) -> tuple[str, ...]:
    """Uploaded table -> the parts of a Kano answers file it lacks, from ``REQUIRED_PARTS``; () when it has them all.

    Long layout: a column for the feature, the functional and the dysfunctional answer (named as
    :func:`prepare` reads them). Wide layout (``<feature>_functional`` columns): the feature is in
    the column names, so only an answer kind that no column holds is missing. A table that is
    neither (say, a customer list) lacks all three. An empty tuple does not promise usable rows:
    :func:`prepare` still checks every row.
    """
    renamed = frame.rename(columns=_canonical_long_names(frame.columns))
    if is_wide(renamed):
        kinds = {kind for parsed in map(split_wide_column, frame.columns) if parsed for kind in parsed[1:]}
        return tuple(k for k in REQUIRED_PARTS[1:] if k not in kinds)
    return tuple(p for p in REQUIRED_PARTS if p not in renamed.columns)


def readable_problems(problems: pd.DataFrame, *, empty: str = "(empty)", whole: str = "–") -> pd.DataFrame:
    """Problems (row, column, value, reason) -> the same rows as text for a table: no row -> ``whole``, no value -> ``empty``.

    A problem without a row concerns the whole file or a whole column; a missing value was an
    empty cell. Row numbers become text ('12') so that both kinds fit one column.
    """
    out = problems.reindex(columns=list(PROBLEM_COLUMNS)).copy()
    out["row"] = [whole if _blank_to_none(r) is None else str(int(float(r))) for r in out["row"]]
    out["column"] = [whole if _blank_to_none(c) is None else str(c) for c in out["column"]]
    out["value"] = [empty if _blank_to_none(v) is None else str(v) for v in out["value"]]
    out["reason"] = out["reason"].map(lambda r: "" if _blank_to_none(r) is None else str(r))
    return out.reset_index(drop=True)


def prepare(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Uploaded answers in long or wide layout -> (valid long rows ready to store, problems per row)."""
    renamed = frame.rename(columns=_canonical_long_names(frame.columns))
    if is_wide(renamed):
        long, layout_problems = wide_to_long(frame)
        valid, problems = validate(long)
        problems = pd.concat([layout_problems, problems], ignore_index=True) if not layout_problems.empty else problems
        return valid, problems
    return validate(renamed)


def _canonical_long_names(columns: Iterable[Any]) -> dict[Any, str]:
    from analytics.schema import KANO_RESPONSES

    mapping: dict[Any, str] = {}
    taken: set[str] = set()
    for column in columns:
        lowered = str(column).strip().lower()
        for target in KANO_RESPONSES.columns:
            if target.name in taken:
                continue
            if lowered == target.name or lowered in target.synonyms:
                mapping[column] = target.name
                taken.add(target.name)
                break
    return mapping


# --- evaluation ----------------------------------------------------------------------------------


def _codes(values: pd.Series) -> pd.Series:
    """Answers -> float codes 1..5 (NaN where unreadable); each distinct value is read once."""
    values = values.astype(object)
    lookup = {v: answer_code(v) for v in pd.unique(values[values.notna()])}
    return values.map(lambda v: lookup.get(v) if v is not None and v == v else None).astype("float64")


def _blank(values: pd.Series) -> np.ndarray:
    """Series -> boolean array, True where the cell is missing or only spaces."""
    text = values.astype("string").str.strip()
    return (text.isna() | (text == "")).to_numpy(dtype=bool)


def classify_frame(responses: pd.DataFrame, *, table: str = "standard") -> pd.Series:
    """Long answers (functional, dysfunctional as codes or texts) -> Series of categories (same index).

    Raises ValueError naming the first row whose answer cannot be read.
    """
    grid = np.array(_table(table))
    f = _codes(responses["functional"])
    d = _codes(responses["dysfunctional"])
    bad = f.isna() | d.isna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"row {position + 1}: answers {responses['functional'].iloc[position]!r} / "
            f"{responses['dysfunctional'].iloc[position]!r} are not 1..5 or known answer texts"
        )
    return pd.Series(
        grid[f.astype(int).to_numpy() - 1, d.astype(int).to_numpy() - 1], index=responses.index, name="category"
    )


def _sd(values: pd.Series) -> float:
    return float(values.std(ddof=1)) if values.count() > 1 else math.nan


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    mask = values.notna() & weights.notna() & (weights > 0)
    if not mask.any():
        return math.nan
    return float(np.average(values[mask], weights=weights[mask]))


SUMMARY_COLUMNS: tuple[str, ...] = (
    "feature",
    *CATEGORIES,
    "n",
    *(f"share_{c}" for c in CATEGORIES),
    "category",
    "category_strength",
    "total_strength",
    "better",
    "worse",
    "fong_a",
    "fong_b",
    "fong_difference",
    "fong_critical",
    "fong_significant",
    "mean_functional",
    "sd_functional",
    "mean_dysfunctional",
    "sd_dysfunctional",
    "importance",
    "weighted_functional",
    "weighted_dysfunctional",
)


def summarize(
    responses: pd.DataFrame,
    *,
    table: str = "standard",
    rule: str = "hierarchy",
    errors: str = "raise",
) -> pd.DataFrame:
    """Long answers (feature, functional, dysfunctional[, importance, respondent_id]) -> one row per feature.

    Parameters
    ----------
    responses : DataFrame
        One row per respondent and feature; answers as codes 1..5 or English/German texts;
        ``importance`` (1..9) optional.
    table : {"standard", "pouliot"}, default="standard"
        Evaluation table (see :func:`classify`).
    rule : {"mode", "hierarchy", "strength"}, default="hierarchy"
        How the feature's category is chosen (see :func:`dominant_category`).
    errors : {"raise", "drop"}, default="raise"
        On unreadable answers or duplicate respondent rows: raise ``ValueError``, or leave those
        rows out (use :func:`validate` to see them).

    Returns
    -------
    DataFrame
        Columns ``SUMMARY_COLUMNS``: counts A, O, M, I, R, Q and n; shares of n; category;
        category_strength; total_strength; better and worse (Berger et al. 1993; NaN when
        undefined); Fong (1996) a, b, difference, critical value, fong_significant; DuMouchel's
        continuous scores (mean and sample standard deviation of the functional and dysfunctional
        scores); mean self-stated importance and importance-weighted mean scores. Features keep the
        order in which they first appear.
    """
    if errors not in ("raise", "drop"):
        raise ValueError("errors must be 'raise' or 'drop'")
    _table(table)
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}, not {rule!r}")
    valid, problems = validate(responses)
    if not problems.empty and errors == "raise":
        first = problems.iloc[0]
        where = f"row {first['row']}: " if first["row"] is not None and not pd.isna(first["row"]) else ""
        raise ValueError(f"{where}{first['column']} {first['value']!r}: {first['reason']}")
    if valid.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    valid = valid.copy()
    valid["category"] = classify_frame(valid, table=table)
    f_code = valid["functional"].astype(int)
    d_code = valid["dysfunctional"].astype(int)
    valid["f_score"] = f_code.map(FUNCTIONAL_SCORES)
    valid["d_score"] = d_code.map(DYSFUNCTIONAL_SCORES)
    records = []
    for feature, group in valid.groupby("feature", sort=False):
        counts = {c: int((group["category"] == c).sum()) for c in CATEGORIES}
        n = sum(counts.values())
        better, worse = coefficients(counts)
        fong = fong_test(counts)
        weights = group["importance"]
        record = {
            "feature": feature,
            **counts,
            "n": n,
            **{f"share_{c}": counts[c] / n for c in CATEGORIES},
            "category": dominant_category(counts, rule=rule),
            "category_strength": category_strength(counts),
            "total_strength": total_strength(counts),
            "better": better,
            "worse": worse,
            "fong_a": fong["a"],
            "fong_b": fong["b"],
            "fong_difference": fong["difference"],
            "fong_critical": fong["critical"],
            "fong_significant": fong["significant"],
            "mean_functional": float(group["f_score"].mean()),
            "sd_functional": _sd(group["f_score"]),
            "mean_dysfunctional": float(group["d_score"].mean()),
            "sd_dysfunctional": _sd(group["d_score"]),
            "importance": float(weights.mean()) if weights.notna().any() else math.nan,
            "weighted_functional": _weighted_mean(group["f_score"], weights),
            "weighted_dysfunctional": _weighted_mean(group["d_score"], weights),
        }
        records.append(record)
    out = pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))
    for c in (*CATEGORIES, "n"):
        out[c] = out[c].astype("int64")
    out["fong_significant"] = out["fong_significant"].astype(bool)
    return out


def compare(
    responses: pd.DataFrame,
    *,
    by: str,
    groups: Sequence[str],
    table: str = "standard",
    rule: str = "hierarchy",
) -> pd.DataFrame:
    """Long answers with a ``by`` column (segment or wave) -> one row per feature comparing two groups.

    Columns: feature; for each group g in ``groups`` (exactly two): n_g, category_g, better_g,
    worse_g, fong_significant_g; then ``moved`` (True when both groups have answers and the
    categories differ), ``better_change`` and ``worse_change`` (second minus first). Invalid
    rows are left out (as ``summarize(errors="drop")``).
    """
    if len(groups) != 2:
        raise ValueError("compare needs exactly two groups")
    if by not in responses.columns:
        raise ValueError(f"responses have no column {by!r}")
    first, second = (str(g) for g in groups)
    keys = responses[by].astype("string")
    parts = []
    for label, name in (("a", first), ("b", second)):
        summary = summarize(responses.loc[keys == name], table=table, rule=rule, errors="drop")
        part = summary[["feature", "n", "category", "better", "worse", "fong_significant"]].rename(
            columns={c: f"{c}_{label}" for c in ("n", "category", "better", "worse", "fong_significant")}
        )
        parts.append(part)
    merged = parts[0].merge(parts[1], on="feature", how="outer", sort=False)
    order = list(dict.fromkeys(responses["feature"]))
    merged["_order"] = merged["feature"].map({f: i for i, f in enumerate(order)})
    merged = merged.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    for label in ("a", "b"):
        merged[f"n_{label}"] = merged[f"n_{label}"].fillna(0).astype("int64")
    merged["moved"] = (
        merged["category_a"].notna() & merged["category_b"].notna() & (merged["category_a"] != merged["category_b"])
    ).astype(bool)
    merged["better_change"] = merged["better_b"] - merged["better_a"]
    merged["worse_change"] = merged["worse_b"] - merged["worse_a"]
    merged.attrs["groups"] = (first, second)
    return merged


# --- questionnaire template ------------------------------------------------------------------------


def template(
    features: Sequence[str], *, layout: str = "long", respondents: int = 3, dysfunctional_first: bool = False
) -> pd.DataFrame:
    """Feature names -> empty answer sheet to fill in (long: one row per respondent and feature; wide: one per respondent).

    Long columns: respondent_id, feature, functional, dysfunctional, importance, segment, wave.
    Wide columns: respondent_id, segment, wave, then per feature ``<feature>_functional``,
    ``<feature>_dysfunctional`` (or dysfunctional first) and ``<feature>_importance``. Answer
    cells are empty; respondent ids are 'R001', 'R002', ...
    """
    if layout not in ("long", "wide"):
        raise ValueError("layout must be 'long' or 'wide'")
    ids = [f"R{i:03d}" for i in range(1, respondents + 1)]
    if layout == "long":
        rows = [
            {
                "respondent_id": rid,
                "feature": f,
                "functional": "",
                "dysfunctional": "",
                "importance": "",
                "segment": "",
                "wave": "",
            }
            for rid in ids
            for f in features
        ]
        return pd.DataFrame(rows, columns=list(LONG_COLUMNS))
    wide = pd.DataFrame({"respondent_id": ids, "segment": "", "wave": ""})
    kinds = (
        ("dysfunctional", "functional", "importance")
        if dysfunctional_first
        else ("functional", "dysfunctional", "importance")
    )
    for feature in features:
        for kind in kinds:
            wide[f"{feature}_{kind}"] = ""
    return wide


# --- store -------------------------------------------------------------------------------------------


def load_responses(cur, *, filters=None, wave: str | None = None) -> pd.DataFrame:
    """Stored answers -> DataFrame (respondent_id, feature, functional, dysfunctional, importance, customer_id, segment, wave).

    ``filters`` (``analytics.filters.Filters``) restricts to answers linked to customers in scope;
    answers without a customer id are kept only when the filters restrict no customers. The
    period filter does not apply (a survey wave has no date per answer).
    """
    from analytics.filters import customer_scope

    conditions, params = [], []
    if filters is not None and filters.restricts_customers:
        scope, scope_params = customer_scope(filters)
        conditions.append(scope)
        params.extend(scope_params)
    if wave is not None:
        conditions.append("wave = ?")
        params.append(wave)
    where = " AND ".join(conditions) if conditions else "TRUE"
    return cur.execute(
        "SELECT respondent_id, feature, functional, dysfunctional, importance, customer_id, segment, wave "
        f"FROM kano_responses WHERE {where} ORDER BY wave, feature, respondent_id",
        params,
    ).df()


def store_responses(con, valid: pd.DataFrame, *, mode: str = "append", file_name: str = "upload") -> int:
    """Valid long answers (from :func:`prepare`) -> rows written to ``kano_responses`` in one transaction.

    Fallback for when ``analytics.ingest`` is not available. ``mode``: "upsert" (or "append")
    adds rows, a row with the same respondent, feature and wave replacing the stored one;
    "replace" empties the table first. All or nothing; one audit entry.
    """
    from analytics import store

    if mode not in ("append", "upsert", "replace"):
        raise ValueError("mode must be 'upsert', 'append' or 'replace'")
    columns = [
        "respondent_id",
        "feature",
        "functional",
        "dysfunctional",
        "importance",
        "customer_id",
        "segment",
        "wave",
    ]
    frame = valid.reindex(columns=columns).copy()
    for column in columns:
        if column != "importance":
            frame[column] = frame[column].astype("string")
    frame["importance"] = pd.to_numeric(frame["importance"], errors="coerce").astype("float64")
    names = ", ".join(columns)

    def work(cur):
        cur.register("kano_incoming", frame)
        try:
            if mode == "replace":
                cur.execute("DELETE FROM kano_responses")
            else:
                cur.execute(
                    "DELETE FROM kano_responses k USING kano_incoming i WHERE k.respondent_id = i.respondent_id "
                    "AND k.feature = i.feature AND coalesce(k.wave, '') = coalesce(i.wave, '')"
                )
            cur.execute(f"INSERT INTO kano_responses ({names}) SELECT {names} FROM kano_incoming")
            store.audit(cur, "kano.import", "kano_responses", f"{len(frame)} rows from {file_name} ({mode})")
        finally:
            cur.unregister("kano_incoming")
        return len(frame)

    return store.run_write(con, work)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Long answers -> plain UTF-8 CSV bytes (for handing to ``analytics.ingest.load``)."""
    return frame.to_csv(index=False).encode("utf-8")


@dataclass(frozen=True)
class ImportResult:
    """What storing survey answers did: rows stored, rows refused (row, column, value, reason), a message on failure.

    ``earlier_import`` and ``earlier_import_at`` name the stored import with the same content when
    the answers were refused for that reason (see ``allow_same_file`` of :func:`import_answers`).
    """

    rows_loaded: int
    rejects: pd.DataFrame
    error: str | None = None
    via_ingest: bool = False
    earlier_import: int | None = None
    earlier_import_at: Any = None


def _loaded_import_with(con, checksum: str) -> tuple[int, Any] | None:
    """Checksum of handed-over answers -> (number, finish time) of the newest loaded survey import with it, or None."""
    return (
        con.cursor()
        .execute(
            "SELECT import_id, finished_at FROM imports WHERE table_name = 'kano_responses' AND checksum = ? "
            "AND status = 'loaded' ORDER BY import_id DESC LIMIT 1",
            [checksum],
        )
        .fetchone()
    )


def import_answers(
    con,
    valid: pd.DataFrame,
    *,
    mode: str = "upsert",
    file_name: str = "upload",
    allow_same_file: bool = False,
) -> ImportResult:
    """Valid long answers (from :func:`prepare`) -> :class:`ImportResult`.

    Goes through the shared import (``analytics.ingest.load``: its checks, import log and undo)
    when that module exists; the rows handed over are the normalised long rows, so a reject's
    ``row`` counts those rows. Otherwise :func:`store_responses` writes them in one transaction.

    Parameters
    ----------
    allow_same_file : bool, default=False
        Store the answers although answers with exactly the same content were stored by an
        earlier import. By default the shared import refuses them, as it usually is the same
        file twice; the result then names that import (``earlier_import``). The fallback without
        the shared import has no import log and always stores.
    """
    import importlib.util

    columns = [c for c in (*LONG_COLUMNS, "customer_id") if c in valid.columns]
    rows = valid[columns]
    if importlib.util.find_spec("analytics.ingest") is not None:
        import io

        from analytics import ingest

        source = io.BytesIO(to_csv_bytes(rows))
        report = ingest.load(
            con,
            "kano_responses",
            source,
            mapping={c: c for c in columns},
            mode=mode,
            file_name=f"{file_name} (survey answers).csv",
            remember=False,
            allow_same_file=allow_same_file,
        )
        rejects = report.rejects if report.rejects is not None else pd.DataFrame(columns=list(PROBLEM_COLUMNS))
        # The shared import checks the content only after it has read the file (the checksum is
        # set by then); a refused file with the checksum of a loaded import was refused as a repeat.
        earlier = None
        if not report.rows_loaded and report.checksum and not allow_same_file:
            earlier = _loaded_import_with(con, report.checksum)
        return ImportResult(
            int(report.rows_loaded),
            rejects,
            report.error,
            via_ingest=True,
            earlier_import=int(earlier[0]) if earlier else None,
            earlier_import_at=earlier[1] if earlier else None,
        )
    loaded = store_responses(con, rows, mode=mode, file_name=file_name)
    return ImportResult(loaded, pd.DataFrame(columns=list(PROBLEM_COLUMNS)))


def read_answers(data: bytes, *, file_name: str) -> pd.DataFrame:
    """Uploaded file bytes (.csv in UTF-8/UTF-8 with BOM/Latin-1, ';' ',' tab or '|' separated, or .xlsx) -> DataFrame of text.

    Raises ValueError when the file cannot be read as a table.
    """
    import csv
    import io

    if file_name.lower().endswith((".xlsx", ".xlsm")):
        try:
            return pd.read_excel(io.BytesIO(data), dtype=str)
        except Exception as exc:  # openpyxl raises many kinds of errors for a broken file
            raise ValueError("the Excel file cannot be read") from exc
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=";,\t|")
        separator = dialect.delimiter
    except csv.Error:
        separator = ","
    try:
        return pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError("the file cannot be read as a table") from exc
