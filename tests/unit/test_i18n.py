"""Number formats the UI shows, including signed changes that Streamlit colours by their first character."""

from __future__ import annotations

from ui.i18n import fmt_money, fmt_number, fmt_pct, fmt_signed


def test_plain_formats():
    assert fmt_number(1234567.8) == "1,234,568"
    assert fmt_number(0.125, 2) == "0.12" or fmt_number(0.125, 2) == "0.13"
    assert fmt_money(12345.6) == "€12,346"
    assert fmt_pct(0.1234) == "12.3%"
    assert fmt_number(None) == "–"


def test_a_fall_in_money_starts_with_the_minus_sign():
    """Guards the green up-arrow on a revenue drop ('€-150,163' read as a rise)."""
    assert fmt_signed(-150163, fmt_money) == "-€150,163"
    assert fmt_signed(2500, fmt_money) == "+€2,500"
    assert fmt_signed(-3) == "-3"
    assert fmt_signed(0) == "+0"
    assert fmt_signed(None) == "–"
