"""Overview KPIs against a tiny store whose answers are worked out by hand below."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import overview
from analytics.filters import Filters

MARCH = Filters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))


@pytest.fixture
def con(mem_con):
    cur = mem_con.cursor()
    cur.execute(
        """
        INSERT INTO customers (customer_id, segment, country, acquisition_channel, signup_date) VALUES
        ('a', 'X', 'DE', 'search', DATE '2025-01-01'),
        ('b', 'Y', 'DE', 'store', DATE '2025-06-01'),
        ('c', 'X', 'FR', 'search', DATE '2026-03-15'),
        ('d', 'Y', 'DE', 'store', DATE '2026-05-01'),
        ('e', 'Y', 'FR', 'email', NULL)
        """
    )
    cur.execute(
        """
        INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount) VALUES
        ('o1', 1, 'a', TIMESTAMP '2026-01-15 10:00', 100),
        ('o2', 1, 'a', TIMESTAMP '2026-03-10 12:00', 30),
        ('o2', 2, 'a', TIMESTAMP '2026-03-10 12:00', 20),
        ('o3', 1, 'b', TIMESTAMP '2025-12-20 09:00', 200),
        ('o4', 1, 'e', TIMESTAMP '2025-06-01 09:00', 40)
        """
    )
    cur.execute(
        """
        INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage, channel) VALUES
        ('i1', 'a', TIMESTAMP '2026-03-02 08:00', 'ad_impression', 'awareness', 'search'),
        ('i2', 'a', TIMESTAMP '2026-03-10 12:00', 'purchase', 'purchase', 'online shop'),
        ('i3', 'b', TIMESTAMP '2025-12-20 09:00', 'purchase', 'purchase', 'store'),
        ('i4', 'c', TIMESTAMP '2026-03-16 18:00', 'ad_impression', 'awareness', 'social media')
        """
    )
    return mem_con


def test_kpis_for_march_match_hand_worked_values(con):
    # customers: a, b, c and e (no sign-up date); d signs up after the period.
    # active: a (order and interactions in March), c (interaction on 16 March).
    # revenue: a's March order lines 30 + 20.
    # churn: at start a (15 Jan) and b (20 Dec) were active within 90 days before 1 March;
    #        b's last activity is more than 90 days before 1 April, so 1 of 2 is lost.
    # CLV: a 150, b 200, e 40 -> 130.
    # conversion: a and c became aware in March; a bought after -> 1 of 2.
    values = overview.kpi_values(con.cursor(), MARCH)
    assert values == {
        "customers": 4,
        "active_customers": 2,
        "revenue": 50,
        "churn_rate": 0.5,
        "average_clv": 130,
        "conversion_rate": 0.5,
    }


def test_previous_period_is_the_31_days_before(con):
    previous = MARCH.previous()
    assert (previous.start, previous.end) == (dt.date(2026, 1, 29), dt.date(2026, 2, 28))
    values = overview.kpi_values(con.cursor(), previous)
    assert values["customers"] == 3
    assert values["active_customers"] == 0
    assert values["revenue"] == 0
    assert values["churn_rate"] == 0.0
    assert values["average_clv"] == pytest.approx(340 / 3)
    # Nobody became aware in that period: the rate is undefined, not zero.
    assert values["conversion_rate"] is None


def test_segment_filter_restricts_every_kpi(con):
    values = overview.kpi_values(con.cursor(), Filters(start=MARCH.start, end=MARCH.end, segments=("X",)))
    assert values == {
        "customers": 2,
        "active_customers": 2,
        "revenue": 50,
        "churn_rate": 0.0,
        "average_clv": 150,
        "conversion_rate": 0.5,
    }


def test_country_and_channel_filters(con):
    cur = con.cursor()
    de = overview.kpi_values(cur, Filters(start=MARCH.start, end=MARCH.end, countries=("DE",)))
    assert de["customers"] == 2  # a and b; d signs up later
    assert de["churn_rate"] == 0.5
    store_channel = overview.kpi_values(cur, Filters(start=MARCH.start, end=MARCH.end, channels=("store",)))
    assert store_channel["revenue"] == 0
    assert store_channel["average_clv"] == 200


def test_saved_segment_filter(con):
    con.execute("INSERT INTO saved_segments VALUES ('vip', '', ['b', 'e'], now())")
    values = overview.kpi_values(con.cursor(), Filters(start=MARCH.start, end=MARCH.end, saved_segment="vip"))
    assert values["customers"] == 2
    assert values["average_clv"] == 120


def test_kpis_carry_previous_value_change_and_monthly_trend(con):
    tiles = {k.name: k for k in overview.kpis(con.cursor(), MARCH, trend_months=3)}
    assert list(tiles) == list(overview.KPI_NAMES)
    assert tiles["revenue"].value == 50 and tiles["revenue"].previous == 0
    assert tiles["revenue"].change == 50
    # Trend: January (100), February (0), March (50).
    assert tiles["revenue"].trend == [100, 0, 50]
    assert tiles["conversion_rate"].change is None


def test_a_window_that_ends_before_it_starts_is_refused(con):
    with pytest.raises(ValueError, match="cannot end before it starts"):
        overview.kpi_series(con.cursor(), Filters(), [(dt.date(2026, 3, 31), dt.date(2026, 3, 1))])


def test_month_windows_cut_the_last_month_at_the_end_date():
    assert overview.month_windows(dt.date(2026, 3, 20), 3) == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 20)),
    ]


def test_monthly_revenue_table(con):
    frame = overview.monthly_revenue(con.cursor(), Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)))
    assert frame["revenue"].tolist() == [100, 50]
    assert frame["orders"].tolist() == [1, 1]


def test_filter_options_list_values_and_span(con):
    options = overview.filter_options(con.cursor())
    assert options["segments"] == ["X", "Y"]
    assert options["countries"] == ["DE", "FR"]
    assert options["period"] == [dt.date(2025, 6, 1), dt.date(2026, 3, 16)]


def test_kpis_on_demo_data_match_a_plain_pandas_reading_of_the_definitions(demo_con):
    """An independent, row-by-row reading of the README definitions gives the same six numbers."""
    import pandas as pd

    start, end = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    s, e = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    inactive = pd.Timedelta(days=90)
    cur = demo_con.cursor()
    customers = cur.execute("SELECT customer_id, signup_date FROM customers").df()
    orders = cur.execute("SELECT customer_id, ordered_at AS t, amount FROM orders").df()
    inter = cur.execute("SELECT customer_id, occurred_at AS t, stage FROM interactions").df()
    activity = pd.concat([orders[["customer_id", "t"]], inter[["customer_id", "t"]]])

    expected_customers = int((customers.signup_date.isna() | (pd.to_datetime(customers.signup_date) < e)).sum())
    expected_active = activity[(activity.t >= s) & (activity.t < e)].customer_id.nunique()
    expected_revenue = orders[(orders.t >= s) & (orders.t < e)].amount.sum()
    last_start = activity[activity.t < s].groupby("customer_id").t.max()
    at_start = set(last_start[last_start >= s - inactive].index)
    last_end = activity[activity.t < e].groupby("customer_id").t.max()
    lost = {c for c in at_start if last_end[c] < e - inactive}
    value = orders[orders.t < e].groupby("customer_id").amount.sum()
    aware = inter[(inter.stage == "awareness") & (inter.t >= s) & (inter.t < e)].groupby("customer_id").t.min()
    purchases = inter[(inter.stage == "purchase") & (inter.t < e)]
    converted = {c for c, t in aware.items() if ((purchases.customer_id == c) & (purchases.t >= t)).any()}

    got = overview.kpi_values(cur, Filters(start=start, end=end))
    assert got["customers"] == expected_customers
    assert got["active_customers"] == expected_active
    assert got["revenue"] == pytest.approx(expected_revenue)
    assert got["churn_rate"] == pytest.approx(len(lost) / len(at_start))
    assert got["average_clv"] == pytest.approx(value.mean())
    assert got["conversion_rate"] == pytest.approx(len(converted) / len(aware))
    assert 0 < got["churn_rate"] < 1 and 0 < got["conversion_rate"] < 1
