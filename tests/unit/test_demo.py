"""The demo generator keeps the contract of docs/DEMO_DATA.md, is deterministic and replaces cleanly."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest

from analytics import demo, schema, store

N = 300
END = date(2026, 10, 31)
START = date(2024, 11, 1)
DEMO = ("customers", "interactions", "orders", "kano_responses", "requirements")

# Standard Kano evaluation table: rows functional answer 1..5, columns dysfunctional answer 1..5
# (1 like, 2 expect, 3 neutral, 4 tolerate, 5 dislike).
KANO_TABLE = (
    "QAAAO",
    "RIIIM",
    "RIIIM",
    "RIIIM",
    "RRRRQ",
)

EVENT_STAGE = {
    "ad_impression": "awareness",
    "search_result_click": "awareness",
    "pr_mention": "awareness",
    "word_of_mouth": "awareness",
    "site_visit": "interest",
    "newsletter_signup": "interest",
    "social_follow": "interest",
    "product_view": "consideration",
    "compare_products": "consideration",
    "request_quote": "consideration",
    "add_to_cart": "intent",
    "checkout_started": "intent",
    "purchase": "purchase",
    "service_contact": "service",
    "complaint": "service",
    "review_written": "loyalty",
    "loyalty_signup": "loyalty",
    "referral": "loyalty",
    "upsell_purchase": "expansion",
    "cross_sell_purchase": "expansion",
}


def kano_category(functional: str, dysfunctional: str) -> str:
    return KANO_TABLE[int(functional) - 1][int(dysfunctional) - 1]


@pytest.fixture(scope="module")
def con():
    c = store.connect(":memory:")
    demo.generate(c, customers=N, seed=7)
    yield c
    c.close()


def frame(con, sql: str, params=None) -> pd.DataFrame:
    return con.cursor().execute(sql, params or []).df()


def scalar(con, sql: str, params=None):
    return con.cursor().execute(sql, params or []).fetchone()[0]


def snapshot(con) -> dict[str, pd.DataFrame]:
    keys = {t: ", ".join(schema.TABLES[t].key) for t in DEMO}
    return {t: frame(con, f'SELECT * FROM "{t}" ORDER BY {keys[t]}') for t in DEMO}


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize("customers", [0, -3])
def test_rejects_fewer_than_one_customer(mem_con, customers):
    with pytest.raises(ValueError, match="at least one customer"):
        demo.generate(mem_con, customers=customers)
    assert scalar(mem_con, "SELECT count(*) FROM customers") == 0


def test_one_customer_is_enough(mem_con):
    demo.generate(mem_con, customers=1, seed=3)
    assert scalar(mem_con, "SELECT count(*) FROM customers") == 1
    assert scalar(mem_con, "SELECT count(*) FROM interactions") >= 1


# --- determinism and replacement ------------------------------------------------------------


def test_same_seed_gives_identical_tables(con):
    other = store.connect(":memory:")
    demo.generate(other, customers=N, seed=7)
    a, b = snapshot(con), snapshot(other)
    for table in DEMO:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)


def test_different_seed_gives_different_tables(con):
    other = store.connect(":memory:")
    demo.generate(other, customers=N, seed=8)
    a, b = snapshot(con), snapshot(other)
    for table in ("customers", "interactions", "orders", "kano_responses"):
        assert not a[table].equals(b[table]), table


def test_regenerating_replaces_and_is_audited(mem_con):
    demo.generate(mem_con, customers=120, seed=1)
    demo.generate(mem_con, customers=80, seed=2)
    fresh = store.connect(":memory:")
    demo.generate(fresh, customers=80, seed=2)
    for table in DEMO:
        assert scalar(mem_con, f'SELECT count(*) FROM "{table}"') == scalar(fresh, f'SELECT count(*) FROM "{table}"')
    for table in DEMO:
        key = ", ".join(schema.TABLES[table].key)
        dupes = scalar(mem_con, f'SELECT count(*) FROM (SELECT {key} FROM "{table}" GROUP BY ALL HAVING count(*) > 1)')
        assert dupes == 0, table
    log = frame(mem_con, "SELECT action, details FROM audit_log WHERE action = 'demo data generated' ORDER BY event_id")
    assert len(log) == 2
    assert json.loads(log.details[1])["replaced_customers"] == 120


def test_interactions_per_customer_scales_volume(mem_con):
    few = demo.build(customers=200, seed=5, interactions_per_customer=8).interactions.num_rows
    many = demo.build(customers=200, seed=5, interactions_per_customer=32).interactions.num_rows
    assert 5 * 200 <= few <= 12 * 200
    assert 2.5 < many / few < 5.5


def test_command_line(tmp_path, capsys):
    path = tmp_path / "cli.duckdb"
    assert demo.main(["--customers", "40", "--seed", "3", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "customers 40" in out and " s" in out
    c = store.connect(path)
    assert scalar(c, "SELECT count(*) FROM customers") == 40
    c.close()


# --- customers --------------------------------------------------------------------------------


def test_row_counts(con):
    assert scalar(con, "SELECT count(*) FROM customers") == N
    n_int = scalar(con, "SELECT count(*) FROM interactions")
    assert 15 * N <= n_int <= 25 * N
    assert scalar(con, "SELECT count(*) FROM kano_responses") == 12 * 300 * 2
    assert 20 <= scalar(con, "SELECT count(*) FROM requirements") <= 30
    assert scalar(con, "SELECT count(*) FROM worksheets") == 2  # the two filled-in examples


def test_customer_columns(con):
    c = frame(con, "SELECT * FROM customers")
    assert c.customer_id.str.fullmatch(r"C\d{7}").all() and c.customer_id.is_unique
    assert set(c.customer_type) == {"B2B", "B2C"}
    assert 0.2 < (c.customer_type == "B2B").mean() < 0.4
    assert set(c.country) <= {"DE", "AT", "CH", "GB", "FR", "NL", "IT", "ES", "PL", "US"}
    assert c.country.value_counts().index[0] == "DE"
    assert c.region.notna().all() and c.city.notna().all() and c.name.notna().all()
    assert c.email.str.fullmatch(r"[a-z0-9.]+@example\.(com|org)").all()
    assert set(c.acquisition_channel) <= set(schema.CHANNELS)
    b2b, b2c = c[c.customer_type == "B2B"], c[c.customer_type == "B2C"]
    assert set(b2b.industry) <= {"manufacturing", "retail", "IT services", "healthcare", "finance", "logistics"}
    assert b2c.industry.isna().all()
    assert set(b2b.segment) == {"Enterprise", "SME"} and set(b2c.segment) == {"Premium consumer", "Value consumer"}
    assert b2b.employees.notna().all() and b2b.birth_year.isna().all()
    assert b2c.birth_year.between(1930, 2010).all() and b2c.employees.isna().all()
    assert (b2b[b2b.segment == "Enterprise"].employees >= 250).all()
    signup = pd.to_datetime(c.signup_date)
    assert signup.min() >= pd.Timestamp(START) and signup.max() <= pd.Timestamp(END)
    autumn = signup.dt.month.isin([9, 10, 11]).mean()
    assert autumn > 3 / 12  # more sign-ups in autumn than an even spread


# --- interactions -----------------------------------------------------------------------------


def test_interaction_values(con):
    i = frame(con, "SELECT * FROM interactions")
    assert i.interaction_id.str.fullmatch(r"I\d{9}").all() and i.interaction_id.is_unique
    assert set(i.stage) <= set(schema.STAGES) and set(i.stage) == set(schema.STAGES)
    assert set(i.channel) <= set(schema.CHANNELS)
    assert set(i.event) == set(EVENT_STAGE)
    assert (i.event.map(EVENT_STAGE) == i.stage).all()
    assert i.occurred_at.min() >= pd.Timestamp(START)
    assert i.occurred_at.max() < pd.Timestamp(END) + pd.Timedelta(days=1)
    assert i.channel[i.channel.isin(schema.DIGITAL_CHANNELS)].size > 0
    assert i.channel[i.channel.isin(schema.ANALOGUE_CHANNELS)].size > 0


def test_interactions_are_stored_by_customer_and_numbered_in_time_order(con):
    """Rows in storage order (rowid) run customer by customer, each in time order; ids follow time."""
    stored = frame(con, "SELECT customer_id, occurred_at, interaction_id FROM interactions ORDER BY rowid")
    by_customer = stored.sort_values(["customer_id", "occurred_at", "interaction_id"], kind="stable")
    assert stored.index.equals(by_customer.index)
    by_id = stored.sort_values("interaction_id")
    assert by_id["occurred_at"].is_monotonic_increasing


def test_funnel_drops_off_stage_by_stage(con):
    counts = frame(con, "SELECT stage, count(*) AS n FROM interactions GROUP BY stage").set_index("stage").n
    funnel = [counts[s] for s in schema.STAGES[:5]]
    assert all(a > b for a, b in zip(funnel, funnel[1:], strict=False))
    ratios = [b / a for a, b in zip(funnel, funnel[1:], strict=False)]
    assert all(0.35 < r < 0.8 for r in ratios), ratios


def test_properties(con):
    i = frame(con, "SELECT event, properties FROM interactions WHERE properties IS NOT NULL")
    props = i.properties.map(json.loads)
    purchases = props[i.event == "purchase"]
    assert len(purchases) == scalar(con, "SELECT count(*) FROM interactions WHERE event = 'purchase'")
    assert purchases.map(lambda p: isinstance(p["online_research"], bool) and p["order_id"].startswith("O")).all()
    assert {p["online_research"] for p in purchases} == {True, False}
    reviews = props[i.event == "review_written"]
    assert len(reviews) > 0 and reviews.map(lambda p: p["rating"] in {1, 2, 3, 4, 5}).all()
    service = props[i.event.isin(["service_contact", "complaint"])]
    assert set(service.map(lambda p: p["topic"])) == {"delivery", "billing", "product", "returns"}


def test_every_purchase_has_its_order_at_the_same_moment(con):
    missing = scalar(
        con,
        """
        SELECT count(*) FROM interactions i
        WHERE i.event IN ('purchase', 'upsell_purchase', 'cross_sell_purchase')
          AND NOT EXISTS (SELECT 1 FROM orders o
                          WHERE o.order_id = json_extract_string(i.properties, '$.order_id')
                            AND o.customer_id = i.customer_id AND o.ordered_at = i.occurred_at)
        """,
    )
    assert missing == 0
    # and every order line belongs to a purchase or a return contact at the same moment
    orphans = scalar(
        con,
        """
        SELECT count(*) FROM orders o
        WHERE NOT EXISTS (SELECT 1 FROM interactions i
                          WHERE json_extract_string(i.properties, '$.order_id') = o.order_id
                            AND i.occurred_at = o.ordered_at)
        """,
    )
    assert orphans == 0


def test_customer_ids_are_referentially_intact(con):
    for table in ("interactions", "orders", "kano_responses"):
        gaps = scalar(
            con,
            f"SELECT count(*) FROM {table} t WHERE t.customer_id IS NOT NULL "
            "AND t.customer_id NOT IN (SELECT customer_id FROM customers)",
        )
        assert gaps == 0, table
    # no activity before sign-up
    early = scalar(
        con,
        "SELECT count(*) FROM interactions i JOIN customers c USING (customer_id) WHERE i.occurred_at < c.signup_date",
    )
    assert early == 0


def test_churners_stop_for_good(con):
    last = frame(
        con,
        """
        SELECT c.customer_id, c.signup_date, max(i.occurred_at) AS last_seen, count(i.occurred_at) AS n
        FROM customers c LEFT JOIN interactions i USING (customer_id) GROUP BY ALL
        """,
    )
    cutoff = pd.Timestamp(END) - pd.Timedelta(days=120)
    churned = last[(last.last_seen < cutoff) & (last.n > 1)]
    assert 0.1 * N < len(churned) < 0.6 * N
    assert (last.last_seen >= cutoff).sum() > 0.3 * N


def test_churners_complain_more(mem_con):
    demo.generate(mem_con, customers=1500, seed=11)
    rates = (
        frame(
            mem_con,
            """
        WITH per AS (
            SELECT customer_id, max(occurred_at) AS last_seen,
                   count(*) FILTER (WHERE stage = 'service') AS service, count(*) AS n
            FROM interactions GROUP BY customer_id)
        SELECT last_seen < TIMESTAMP '2026-10-31' - INTERVAL 120 DAY AS churned, sum(service) / sum(n) AS share
        FROM per GROUP BY ALL
        """,
        )
        .set_index("churned")
        .share
    )
    assert rates[True] > 1.5 * rates[False]


def test_q4_peak_and_weekly_rhythm(con):
    by_month = (
        frame(
            con,
            """
        SELECT month(occurred_at) AS m, count(*) AS n FROM interactions
        WHERE occurred_at >= TIMESTAMP '2025-01-01' AND occurred_at < TIMESTAMP '2026-01-01' GROUP BY m
        """,
        )
        .set_index("m")
        .n
    )
    assert by_month[[11, 12]].mean() > 1.3 * by_month[[5, 6, 7, 8]].mean()
    weekend = (
        frame(
            con,
            """
        SELECT c.customer_type, avg(CASE WHEN isodow(i.occurred_at) >= 6 THEN 1 ELSE 0 END) AS share
        FROM interactions i JOIN customers c USING (customer_id) GROUP BY ALL
        """,
        )
        .set_index("customer_type")
        .share
    )
    assert weekend["B2B"] < 0.15 < weekend["B2C"]


# --- orders -----------------------------------------------------------------------------------


def test_order_lines(con):
    o = frame(con, "SELECT o.*, c.country AS customer_country FROM orders o JOIN customers c USING (customer_id)")
    assert o.order_id.str.fullmatch(r"O\d{8}").all()
    assert ((o.amount - o.quantity * o.unit_price).abs() < 0.006).all()
    assert (o.unit_price > 0).all()
    sales = o[o.quantity > 0]
    lines = sales.groupby("order_id").line_no.agg(["min", "max", "count"])
    assert (lines["min"] == 1).all() and (lines["max"] == lines["count"]).all()
    assert lines["count"].between(1, 5).all() and lines["count"].max() > 1
    expected = o.customer_country.map({"GB": "GBP", "CH": "CHF", "US": "USD"}).fillna("EUR")
    assert (o.currency == expected).all()
    assert set(o.currency) == {"EUR", "GBP", "CHF", "USD"}
    assert (o.country == o.customer_country).all()
    assert set(o.channel) <= set(schema.CHANNELS)
    assert 20 <= o["product"].nunique() <= 45
    assert o.groupby("product").description.nunique().max() == 1


def test_returns_are_negative_lines_after_the_sale(con):
    returns = frame(con, "SELECT * FROM orders WHERE quantity < 0")
    assert len(returns) > 0
    contacts = frame(
        con,
        "SELECT json_extract_string(properties, '$.order_id') AS order_id, "
        "json_extract_string(properties, '$.returned_order_id') AS sold, occurred_at "
        "FROM interactions WHERE json_extract_string(properties, '$.topic') = 'returns' "
        "AND json_extract_string(properties, '$.returned_order_id') IS NOT NULL",
    )
    assert set(returns.order_id) == set(contacts.order_id)
    sold = frame(con, "SELECT order_id AS sold, min(ordered_at) AS sold_at FROM orders GROUP BY 1")
    linked = contacts.merge(sold, on="sold")
    assert len(linked) == len(contacts) and (linked.occurred_at > linked.sold_at).all()


def test_repeat_purchases_with_varied_spend(mem_con):
    demo.generate(mem_con, customers=2000, seed=4)
    per = frame(
        mem_con,
        """
        SELECT customer_id, count(*) AS orders, avg(value) AS spend FROM (
            SELECT customer_id, order_id, sum(amount) AS value FROM orders WHERE quantity > 0 GROUP BY ALL)
        GROUP BY customer_id
        """,
    )
    assert (per.orders >= 2).mean() > 0.25
    assert per.orders.max() >= 8
    repeaters = per[per.orders >= 2]
    assert abs(repeaters.orders.corr(repeaters.spend)) < 0.3  # spend roughly independent of frequency
    assert per.spend.quantile(0.9) > 3 * per.spend.quantile(0.1)


# --- Kano and requirements -------------------------------------------------------------------


def test_kano_survey(con):
    k = frame(con, "SELECT * FROM kano_responses")
    assert k.feature.nunique() == 12
    assert set(k.wave) == {"2025", "2026"}
    assert (k.groupby(["wave", "feature"]).respondent_id.nunique() == 300).all()
    assert set(k.functional) <= set("12345") and set(k.dysfunctional) <= set("12345")
    assert k.importance.between(1, 9).all()
    assert set(k.segment) <= set(demo.SEGMENTS)
    k["category"] = [kano_category(f, d) for f, d in zip(k.functional, k.dysfunctional, strict=True)]
    assert set(k.category) == set("AOMIRQ")
    dominant = k.groupby(["wave", "feature"]).category.agg(lambda s: s.value_counts().index[0]).unstack("wave")
    assert set("AOMIR") <= set(dominant["2025"]) | set(dominant["2026"])
    assert (dominant["2025"] != dominant["2026"]).sum() >= 1


def test_requirements_catalogue(con):
    r = frame(con, "SELECT * FROM requirements")
    filled = [c for c in schema.TABLES["requirements"].column_names if c not in ("import_id", "kano_feature")]
    assert r[filled].notna().all().all()
    assert r.requirement_id.is_unique
    assert set(r.moscow) == {"must", "should", "could", "won't"}
    assert set(r.source) == {"interview", "survey", "feedback", "market research"}
    assert set(r.type) == {"functional", "non-functional", "business"}
    assert set(r.status) <= {"proposed", "accepted", "in progress", "done", "rejected"}
    for col in ("urgency", "importance", "risk"):
        assert r[col].between(1, 5).all()
    assert (r.effort > 0).all()
    features = set(frame(con, "SELECT DISTINCT feature FROM kano_responses").feature)
    assert set(r.kano_feature.dropna()) <= features and r.kano_feature.notna().sum() >= 10
    musts = r.loc[r.moscow == "must", "effort"].sum() / r.effort.sum()
    assert musts < 0.6


def test_timestamps_are_naive_and_in_the_window(con):
    first, last = con.cursor().execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
    assert isinstance(first, datetime) and first >= datetime(2024, 11, 1) and last < datetime(2026, 11, 1)


def test_demo_includes_two_filled_in_example_worksheets(mem_con):
    demo.generate(mem_con, customers=50, seed=3)
    demo.generate(mem_con, customers=50, seed=3)  # again: the examples are not duplicated
    kinds = frame(mem_con, "SELECT kind FROM worksheets WHERE worksheet_id LIKE 'demo-%' ORDER BY kind").kind.tolist()
    assert kinds == ["orientation", "proximity"]
    answered = scalar(
        mem_con, "SELECT count(DISTINCT worksheet_id) FROM worksheet_answers WHERE worksheet_id LIKE 'demo-%'"
    )
    assert answered == 2


def test_money_is_in_the_reporting_currency(mem_con):
    """Lines paid in GBP, CHF or USD carry EUR prices, so revenue sums are like with like."""
    demo.generate(mem_con, customers=300, seed=7)
    # Same product, same day of discount rules: the list price per product does not depend on the currency.
    spread = scalar(
        mem_con,
        "SELECT max(n) FROM (SELECT product, count(DISTINCT currency) AS n FROM orders WHERE quantity > 0 GROUP BY product)",
    )
    assert spread > 1
    mismatched = scalar(
        mem_con, "SELECT count(*) FROM orders WHERE abs(amount - round(quantity * unit_price, 2)) > 0.011"
    )
    assert mismatched == 0
