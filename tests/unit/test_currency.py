"""Money lands in the reporting currency (EUR); unknown currencies are rejected with a reason."""

from __future__ import annotations

import io

import pytest

from analytics import currency, ingest


@pytest.fixture
def con(mem_con):
    mem_con.execute("INSERT INTO customers (customer_id) VALUES ('c1'), ('c2')")
    return mem_con


CSV = (
    "order_id,customer_id,ordered_at,product,quantity,unit_price,currency\n"
    "o1,c1,2026-01-05,p1,2,8.60,GBP\n"  # 2 x 8.60 GBP = 17.20 GBP = 20.00 EUR at 0.86 GBP per EUR
    "o2,c2,2026-01-06,p1,1,10.90,usd\n"  # 10.90 USD = 10.00 EUR at 1.09; lower-case code accepted
    "o3,c2,2026-01-07,p2,3,5.00,EUR\n"  # already EUR: 15.00
    "o4,c2,2026-01-08,p2,1,5.00,\n"  # no currency given: taken as EUR
    "o5,c1,2026-01-09,p2,1,5.00,XYZ\n"  # no rate: rejected
)


def test_order_money_is_converted_into_euros(con):
    report = ingest.load(con, "orders", io.BytesIO(CSV.encode()), file_name="orders.csv")
    assert report.rows_loaded == 4
    rows = con.execute("SELECT order_id, unit_price, amount, currency FROM orders ORDER BY order_id").fetchall()
    assert rows == [
        ("o1", 10.0, 20.0, "GBP"),
        ("o2", 10.0, 10.0, "USD"),
        ("o3", 5.0, 15.0, "EUR"),
        ("o4", 5.0, 5.0, None),
    ]


def test_a_currency_without_rate_is_rejected_with_a_reason(con):
    report = ingest.load(con, "orders", io.BytesIO(CSV.encode()), file_name="orders.csv")
    assert report.rows_rejected == 1
    reject = report.rejects.iloc[0]
    assert (reject["row"], reject["value"]) == (5, "XYZ")
    assert "No exchange rate" in reject["reason"]


def test_stored_rates_replace_the_defaults(con):
    currency.set_rates(con, {"GBP": 0.5, "xyz": 2})
    assert currency.rates(con) == {"GBP": 0.5, "XYZ": 2.0, "EUR": 1.0}
    report = ingest.load(con, "orders", io.BytesIO(CSV.encode()), file_name="orders.csv")
    # USD now has no rate; XYZ has one.
    assert report.rows_loaded == 4
    assert con.execute("SELECT amount FROM orders WHERE order_id = 'o1'").fetchone()[0] == 34.4


@pytest.mark.parametrize("bad", [{"EURO": 1}, {"GBP": 0}, {"GBP": -1}])
def test_bad_rates_are_refused(con, bad):
    with pytest.raises(ValueError):
        currency.set_rates(con, bad)


def test_to_reporting():
    assert currency.to_reporting(8.6, "GBP") == pytest.approx(10.0)
    assert currency.to_reporting(5.0, None) == 5.0
