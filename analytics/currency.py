"""Money in one reporting currency.

The store keeps every order line in the reporting currency (EUR), so sums over customers, months
and countries are always like with like. The currency a customer actually paid in stays in
``orders.currency`` for reference. Imports convert ``unit_price`` and ``amount`` from the file's
currency with the rates below (units of the currency per 1 EUR); rows in a currency without a
rate are rejected with a clear reason. The rates are a setting (``fx_rates``, JSON) so a company
can store its own booking rates; the defaults are rounded reference rates of autumn 2026.
"""

from __future__ import annotations

import json
import re

import duckdb

from analytics import store

REPORTING_CURRENCY = "EUR"

#: Units of each currency per 1 EUR (rounded reference rates).
DEFAULT_RATES: dict[str, float] = {
    "EUR": 1.0,
    "GBP": 0.86,
    "CHF": 0.94,
    "USD": 1.09,
    "PLN": 4.30,
    "SEK": 11.40,
    "DKK": 7.46,
    "NOK": 11.60,
    "CZK": 25.0,
    "JPY": 165.0,
}

_CODE = re.compile(r"^[A-Z]{3}$")


def rates(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The stored rates (setting ``fx_rates``) or the defaults: {ISO code: units per 1 EUR}."""
    stored = store.get_setting(con, "fx_rates")
    if not stored:
        return dict(DEFAULT_RATES)
    parsed = json.loads(stored)
    return {code: float(rate) for code, rate in parsed.items() if _CODE.match(code) and float(rate) > 0}


def set_rates(con: duckdb.DuckDBPyConnection, new_rates: dict[str, float]) -> None:
    """Store rates (ISO code -> units per 1 EUR); EUR is always 1. Raises ValueError on a bad entry."""
    clean = {}
    for code, rate in new_rates.items():
        code = str(code).strip().upper()
        if not _CODE.match(code):
            raise ValueError(f"'{code}' is not a three-letter currency code")
        if not float(rate) > 0:
            raise ValueError(f"The rate for {code} must be a positive number")
        clean[code] = float(rate)
    clean[REPORTING_CURRENCY] = 1.0
    store.set_setting(con, "fx_rates", json.dumps(clean))


def rate_sql(column: str, known: dict[str, float]) -> str:
    """SQL expression: units of ``column``'s currency per 1 EUR; NULL currency -> 1 (already EUR); unknown -> NULL."""
    whens = " ".join(f"WHEN '{code}' THEN {float(rate)!r}" for code, rate in sorted(known.items()) if _CODE.match(code))
    return f"(CASE WHEN {column} IS NULL THEN 1.0 ELSE (CASE upper(trim({column})) {whens} END) END)"


def to_reporting(amount: float, currency: str | None, known: dict[str, float] | None = None) -> float:
    """One amount in ``currency`` -> EUR (for tests and single values)."""
    table = known or DEFAULT_RATES
    if currency is None:
        return amount
    return amount / table[currency.strip().upper()]
