"""User-facing text and number/date formats, in one place.

Wrap every string the user reads in ``_()``: the English text is the key. A German catalogue
comes later; until then ``_()`` returns the English text. Numbers and dates go through the
``fmt_*`` helpers so a locale switch changes them everywhere at once.
"""

from __future__ import annotations

import datetime as dt
import math
import os

LOCALE = os.environ.get("WORKBENCH_LOCALE", "en")

_CATALOGUES: dict[str, dict[str, str]] = {"en": {}}


def _(text: str) -> str:
    """Translate ``text`` (English source) into the current locale."""
    return _CATALOGUES.get(LOCALE, {}).get(text, text)


def _separators() -> tuple[str, str]:
    return (",", ".") if LOCALE == "de" else (".", ",")


def fmt_number(value: float | int | None, decimals: int = 0) -> str:
    """1234567.8 -> '1,234,568' (en) or '1.234.568' (de); None/NaN -> '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    decimal_sep, group_sep = _separators()
    return text.replace(",", "\0").replace(".", decimal_sep).replace("\0", group_sep)


def fmt_money(value: float | None, currency: str = "€", decimals: int = 0) -> str:
    """12345.6 -> '€12,346' (en) or '12.346 €' (de)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = fmt_number(value, decimals)
    return f"{number} {currency}" if LOCALE == "de" else f"{currency}{number}"


def fmt_pct(share: float | None, decimals: int = 1) -> str:
    """0.1234 -> '12.3%' (en) or '12,3 %' (de)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    number = fmt_number(share * 100, decimals)
    return f"{number} %" if LOCALE == "de" else f"{number}%"


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    """A date as '25 Nov 2026' (en) or '25.11.2026' (de)."""
    if value is None:
        return "–"
    return value.strftime("%d.%m.%Y") if LOCALE == "de" else value.strftime("%d %b %Y")


def fmt_signed(value: float | None, formatter=fmt_number) -> str:
    """A change with its sign in front: -150163 with fmt_money -> '-€150,163', 12 -> '+12'.

    Streamlit reads the direction of a metric's delta from a leading '-', so the sign must come
    before any currency symbol.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return ("-" if value < 0 else "+") + formatter(abs(value))
