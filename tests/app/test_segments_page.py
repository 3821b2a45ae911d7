"""Segments page through AppTest on a private copy of the demo database.

The tabs run lazily (``st.tabs(on_change="rerun")``): a test opens a tab by setting its key
``seg_tab`` in session state, as a click would.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.conftest import app_test

TABS = ["RFM", "ABC", "Clusters", "Personas", "Lifecycle", "Saved segments"]


@pytest.fixture(autouse=True)
def _router_already_started(monkeypatch):
    """Run the page file itself: the deep-link router (ui.nav) would send a bare AppTest run to the default page."""
    try:
        import ui.nav
    except ImportError:
        return
    monkeypatch.setattr(ui.nav, "ROUTER_STARTED", True, raising=False)


def open_page(tab: str | None = None):
    at = app_test("pages/segments.py", timeout=120)
    if tab:
        at.session_state["seg_tab"] = tab
    return at.run()


def frame(at, *columns: str):
    """The first table on the page that has all ``columns`` (plain st.dataframe elements carry no key here)."""
    for element in at.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with columns {columns}")


def texts(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def test_rfm_tab_shows_kpis_treemap_averages_and_actions(app_db):
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Segments"
    assert [t.label for t in at.tabs] == TABS
    assert [m.label for m in at.metric][:3] == ["Customers scored", "Net revenue", "Largest segment"]
    assert int(at.metric[0].value.replace(",", "")) > 50
    assert at.get("plotly_chart")
    summary = frame(at, "segment", "customers")
    assert list(summary["segment"])[:2] == ["Champions", "Can't lose them"]
    assert summary["customers"].sum() == int(at.metric[0].value.replace(",", ""))
    # The largest segment names itself and its share of the customers scored (not a "change" badge).
    largest = summary.sort_values("customers", ascending=False).iloc[0]
    share = largest["customers"] / summary["customers"].sum()
    assert at.metric[2].value == f"{largest['segment']} ({share:.1%})" and not at.metric[2].delta
    assert "Scores are relative to the customers in view" in texts(at)
    # Every segment with customers gets a recommended action.
    actions = [m.value for m in at.markdown if str(m.value).startswith("**") and "): " in str(m.value)]
    assert len(actions) == int((summary["customers"] > 0).sum())


def test_treemap_switches_to_revenue_share(app_db):
    """Guards the size-by control: switching must redraw, not fail."""
    at = open_page()
    at.segmented_control(key="rfm_size_by").set_value("revenue").run()
    assert not at.exception
    assert at.segmented_control(key="rfm_size_by").value == "revenue"


def test_saving_a_segment_offers_it_as_the_global_filter(app_db):
    at = open_page()
    at.selectbox(key="save_rfm_group").set_value("Champions")
    at.text_input(key="save_rfm_name").input("Best customers")
    at.button(key="FormSubmitter:save_rfm-Save segment").click().run()
    assert not at.exception
    assert "Saved 'Best customers'" in texts(at)
    assert "Best customers" in at.selectbox(key="f_saved").options
    scored_before = at.metric[0].value
    at.selectbox(key="f_saved").set_value("Best customers").run()
    assert not at.exception
    assert at.metric[0].value != scored_before
    # Re-scored within the saved group: every customer still has a segment.
    assert frame(at, "segment", "customers")["customers"].sum() == int(at.metric[0].value.replace(",", ""))
    # A second save under the same name asks for 'Replace'.
    at.selectbox(key="f_saved").set_value(None)
    at.text_input(key="save_rfm_name").input("Best customers")
    at.button(key="FormSubmitter:save_rfm-Save segment").click().run()
    assert any("exists" in e.value for e in at.error)


def test_saving_without_a_name_is_refused_and_stores_nothing(app_db):
    """Guards the review's finding: an empty name silently saved the group under its own name."""
    at = open_page()
    at.selectbox(key="save_rfm_group").set_value("Champions")
    at.text_input(key="save_rfm_name").input("   ")
    at.button(key="FormSubmitter:save_rfm-Save segment").click().run()
    assert not at.exception
    assert any("needs a name" in e.value for e in at.error)
    assert "Saved '" not in texts(at)
    assert at.selectbox(key="f_saved").options == [] or "Champions" not in at.selectbox(key="f_saved").options
    with duckdb.connect(str(app_db)) as con:
        assert con.execute("SELECT count(*) FROM saved_segments").fetchone()[0] == 0


def test_persona_cards_label_spend_orders_and_order_value_as_medians(app_db):
    """Guards the review's finding: a card mixed a median spend with mean orders and order value."""
    at = open_page("Personas")
    spend = [str(m.value) for m in at.markdown if "per order" in str(m.value)]
    assert spend and all("Medians per customer: spends €" in line for line in spend)


def test_per_customer_tables_are_built_only_when_opened(app_db):
    """The expanders with one row per customer run lazily: closed, no table; opened, every scored customer."""
    at = open_page()
    assert not any({"customer_id", "r", "f", "m"} <= set(d.value.columns) for d in at.dataframe)
    at.session_state["rfm_scores_open"] = True
    at.run()
    assert not at.exception
    scores = frame(at, "customer_id", "r", "f", "m")
    assert len(scores) == int(at.metric[0].value.replace(",", ""))
    assert at.get("download_button")
    at.session_state["seg_tab"] = "ABC"
    at.session_state["abc_customers_open"] = True
    at.run()
    assert not at.exception
    classes = frame(at, "customer_id", "abc_class")
    assert len(classes) == len(scores)


def test_abc_tab_classes_and_adjustable_cut_offs(app_db):
    at = open_page("ABC")
    assert not at.exception
    assert [m.label for m in at.metric] == ["Class A", "Class B", "Class C"]
    before = at.metric[0].value
    at.slider(key="abc_a").set_value(60).run()
    assert not at.exception and at.metric[0].value != before
    at.slider(key="abc_b").set_value(60).run()
    assert any("larger than the first" in e.value for e in at.error)


def test_clusters_tab_suggests_k_and_reacts_to_the_method(app_db):
    at = open_page("Clusters")
    assert not at.exception
    assert any("Suggested k" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2  # diagnostics and PCA
    assert not frame(at, "name", "revenue_share").empty
    at.radio(key="cl_method").set_value("gmm").run()
    assert not at.exception
    at.multiselect(key="cl_features").set_value(["frequency", "monetary"]).run()
    assert not at.exception and any("Suggested k" in i.value for i in at.info)


def test_personas_tab_shows_a_card_per_segment_without_churn_risk(app_db):
    at = open_page("Personas")
    assert not at.exception
    cards = [m.value for m in at.markdown if str(m.value).startswith("#### ")]
    assert len(cards) >= 5
    assert "Needs:" in texts(at)
    # No churn figure is shown until the churn module provides one: only the note says so.
    assert not any("churn" in str(m.value).lower() for m in at.markdown)
    at.segmented_control(key="persona_basis").set_value("clusters").run()
    assert not at.exception
    assert [m.value for m in at.markdown if str(m.value).startswith("#### ")]


def test_lifecycle_tab_draws_stages_and_flows_and_checks_rules(app_db):
    at = open_page("Lifecycle")
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2  # stacked area and Sankey
    at.number_input(key="lc_active").set_value(200)
    at.number_input(key="lc_lost").set_value(100)
    at.button(key="FormSubmitter:lifecycle_rules-Save rules").click().run()
    assert any("Not saved" in e.value for e in at.error)


def test_lifecycle_tab_shows_the_counts_and_flows_of_the_reference_grid(app_db):
    """The page's counts and default flows (last two months) = the customers × months grid definition."""
    from analytics import overview, store
    from analytics import segmentation as seg
    from analytics.filters import Filters

    con = store.connect(app_db)  # before the page opens its own connection to the file
    try:
        first, last = overview.filter_options(con)["period"]
        start = max(first, last - dt.timedelta(days=364))  # the sidebar's default period ends on the last day
        sql, params = seg._lifecycle_grid_sql(Filters(start=start, end=last), seg.LifecycleRules(), last)
        grid = con.execute(f"SELECT month, stage, count(*) AS n FROM ({sql}) GROUP BY ALL", params).df()
        months = sorted(grid["month"].unique())
        flows = con.execute(
            f"""
            WITH s AS ({sql})
            SELECT coalesce(x.stage, 'not yet a customer') AS from_stage, y.stage AS to_stage, count(*) AS customers
            FROM (SELECT * FROM s WHERE month = $b) y LEFT JOIN (SELECT * FROM s WHERE month = $a) x USING (customer_id)
            GROUP BY ALL ORDER BY from_stage, to_stage
            """,
            {**params, "a": months[-2], "b": months[-1]},
        ).df()
    finally:
        con.close()
    at = open_page("Lifecycle")
    assert not at.exception
    assert tuple(at.date_input(key="f_period").value) == (start, last)
    assert at.date_input(key="seg_as_of").value == last
    wide = frame(at, *seg.LIFECYCLE_STAGES)
    expected = grid.pivot(index="month", columns="stage", values="n").reindex(columns=list(seg.LIFECYCLE_STAGES))
    assert wide.to_numpy().tolist() == expected.fillna(0).astype(int).to_numpy().tolist()
    shown = frame(at, "from_stage", "to_stage", "customers")
    assert shown.values.tolist() == flows.values.tolist()


def test_saved_segments_tab_lists_and_deletes(app_db):
    con = duckdb.connect(str(app_db))
    con.execute("INSERT INTO saved_segments VALUES ('Pilot group', 'test', ['C0000001', 'C0000002'], now())")
    con.close()
    at = open_page("Saved segments")
    assert not at.exception
    assert frame(at, "name", "description")["name"].tolist() == ["Pilot group"]
    assert "2 customers" in texts(at)
    at.button(key="saved_delete").click().run()
    assert not at.exception
    assert "Removed 'Pilot group'" in texts(at)


def test_an_empty_period_says_so_instead_of_failing(app_db):
    at = open_page()
    first = at.date_input(key="f_period").min
    at.date_input(key="f_period").set_value((first, first)).run()
    assert not at.exception
    assert at.info or at.metric


def test_missing_amounts_and_orders_after_the_reference_date_are_explained(app_db):
    con = duckdb.connect(str(app_db))
    con.execute(
        "UPDATE orders SET amount = NULL WHERE order_id IN (SELECT order_id FROM orders ORDER BY ordered_at DESC LIMIT 3)"
    )
    last = con.execute("SELECT max(ordered_at)::DATE FROM orders").fetchone()[0]
    con.close()
    at = open_page()
    assert not at.exception
    assert any("have no amount" in w.value for w in at.warning)
    at.date_input(key="seg_as_of").set_value(last - dt.timedelta(days=30)).run()
    assert not at.exception
    assert any("after the reference date" in w.value for w in at.warning)


def test_no_orders_at_all_gives_a_message(app_db):
    con = duckdb.connect(str(app_db))
    con.execute("DELETE FROM orders")
    con.close()
    at = open_page()
    assert not at.exception
    assert any("No orders" in i.value for i in at.info)


def test_a_new_period_end_resets_the_reference_date(app_db):
    """Guards against recency counted to a stale day after the period changes."""
    at = open_page()
    first = at.date_input(key="f_period").min
    end = first + dt.timedelta(days=200)
    at.date_input(key="f_period").set_value((first, end)).run()
    assert not at.exception
    assert at.date_input(key="seg_as_of").value == end


def test_the_segment_map_can_be_edited_saved_and_restored(app_db):
    """AppTest cannot type into st.data_editor: the edit is seeded as the editor's state, as a user edit would be."""
    at = open_page()
    at.session_state["rfm_map_editor"] = {
        "edited_rows": {0: {"segment": "Top fans"}, 4: {"r_min": 4}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="FormSubmitter:rfm_map_form-Save map").click().run()
    assert not at.exception
    message = texts(at)
    assert "Segment map saved." in message
    # Widening New customers (row 4) to R 4-5 swallows Promising (R 4, F 1): the page says so.
    assert "can never apply because earlier rules catch all their customers: Promising" in message
    assert frame(at, "segment", "customers")["segment"].iloc[0] == "Top fans"
    at.button(key="FormSubmitter:rfm_map_form-Restore the default map").click().run()
    assert "The default segment map is back." in texts(at)
    assert frame(at, "segment", "customers")["segment"].iloc[0] == "Champions"
