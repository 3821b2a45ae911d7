"""Churn and value page through AppTest on a private copy of the demo database."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.conftest import app_test

TRAIN = "FormSubmitter:churn_train_form-Train both models"


@pytest.fixture
def page(app_db, monkeypatch):
    """The page file run directly (as after app.py has routed once), on the demo database copy."""
    from ui import nav

    monkeypatch.setattr(nav, "ROUTER_STARTED", True)
    return app_test("pages/churn.py", timeout=240).run()


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


RUN_ID = re.compile(r"\bR[0-9a-f]{12}\b")


def figure(at, title):
    """The plotly figure (as a dict) whose title is ``title``."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s for s in specs if s["layout"]["title"]["text"] == title)


def table_with(at, column):
    """The dataframe element that has ``column`` and its column config (a dict by column name)."""
    element = next(d for d in at.dataframe if column in d.value.columns)
    config = json.loads(element.proto.columns or "{}")
    return element.value, {name: c.get("type_config", {}) for name, c in config.items()}


def open_tab(at, label):
    """Switch the page's lazy tabs (only the open tab runs) as a click on the tab would."""
    at.session_state["churn_tab"] = label
    return at.run()


def test_page_renders_definition_rates_and_customer_value(page):
    assert not page.exception
    assert page.title[0].value == "Churn and value"
    labels = [m.label for m in page.metric]
    for expected in ("Suggested horizon", "Active at period start", "Churn rate of the period"):
        assert expected in labels
    assert len(page.get("plotly_chart")) >= 3
    assert [t.label for t in page.tabs] == ["Churn rate", "Models", "Risk list", "Stored runs", "Customer value"]
    # Hidden tabs do not run: the first render computes no customer value.
    assert "Average historical value" not in labels
    page = open_tab(page, "Customer value")
    assert not page.exception
    labels = [m.label for m in page.metric]
    assert "Average historical value" in labels
    assert "Predicted value, next 12 months (mean)" in labels
    assert "Active at period start" not in labels
    assert len(page.get("plotly_chart")) >= 4
    page = open_tab(page, "Risk list")
    assert any("Train a model" in i.value for i in page.info)


def test_horizon_changes_the_churn_rate(page):
    before = metric(page, "Churn rate of the period")
    key = next(n.key for n in page.number_input if n.key.startswith("churn_horizon_"))
    page.number_input(key=key).set_value(30).run()
    assert not page.exception
    assert metric(page, "Churn rate of the period") != before


def test_segment_filter_narrows_the_churn_rate_base(page):
    before = metric(page, "Active at period start")
    segment = page.multiselect(key="f_segment")
    page = segment.set_value([segment.options[0]]).run()
    assert not page.exception
    assert int(metric(page, "Active at period start").replace(",", "")) < int(before.replace(",", ""))


def test_training_stores_two_runs_and_fills_models_risk_list_and_what_if(page):
    """Regression guard: after training, the runs appear at once (the cached run list must refresh)."""
    page = open_tab(page, "Models")
    page.button(key=TRAIN).click().run()
    assert not page.exception
    assert not page.error
    labels = [m.label for m in page.metric]
    assert sum(label.startswith("ROC AUC") for label in labels) == 2
    assert "Best threshold" in labels
    # Models are named by model and training date, never by the internal run id.
    today = dt.date.today().strftime("%d %b %Y")
    assert "ROC AUC · Logistic regression · " + today in labels
    assert not any(RUN_ID.search(label) for label in labels)
    roc_names = [trace["name"] for trace in figure(page, "ROC curve (validation)")["data"]]
    assert not any(RUN_ID.search(name) for name in roc_names)
    # The outcome table counts with thousands separators, whole numbers.
    _outcomes, config = table_with(page, "Contacted")
    assert config["Contacted"] == {"type": "number", "format": "localized", "step": 1}
    roc = [float(m.value) for m in page.metric if m.label.startswith("ROC AUC")]
    assert all(0.5 < v <= 1 for v in roc)
    page.number_input(key="churn_offer_cost").set_value(500.0).run()
    assert not page.exception
    assert page.get("download_button")
    page = open_tab(page, "Risk list")
    assert not page.exception
    labels = [m.label for m in page.metric]
    assert "Value at risk" in labels and "Churn probability now" in labels
    _risk, config = table_with(page, "Value at risk (€)")
    for money in ("Predicted value (€)", "Value at risk (€)", "Expected saving (€)"):
        assert config[money] == {"type": "number", "format": "euro", "step": 1}  # whole euros, no cents
    # Revenue is entered in thousands (a number input cannot group digits); unchanged, the model
    # sees the exact revenue, so nothing moves.
    assert metric(page, "With these changes") == metric(page, "Churn probability now")
    revenue = page.number_input(key="wi_monetary_k")
    assert revenue.label == "Net revenue so far (thousand €)" and revenue.help.startswith("Now €")
    before = metric(page, "With these changes")
    page.number_input(key="wi_recency").set_value(400.0).run()
    assert not page.exception
    assert metric(page, "With these changes") != before
    page.toggle(key="churn_risk_download").set_value(True).run()
    assert not page.exception
    assert page.get("download_button")
    page.button(key="churn_store_scores").click().run()
    assert any(s.value.startswith("Stored ") for s in page.success)
    page.button(key="FormSubmitter:churn_segment_form-Save segment").click().run()
    assert not page.exception
    assert any("as the segment" in s.value for s in page.success)


def test_stored_runs_table_is_readable_for_business_users(page):
    """Regression guard: raw model names, midnight timestamps, 0.2331 churn rates, run ids on the chart axis."""
    page = open_tab(page, "Models")
    page.button(key=TRAIN).click().run()
    assert not page.exception
    page = open_tab(page, "Stored runs")
    assert not page.exception
    table, config = table_with(page, "Run id")
    assert len(table) == 2
    today = dt.date.today().strftime("%d %b %Y")
    assert set(table["Run"]) == {"Logistic regression · " + today, "Gradient boosting · " + today}
    assert "scikit-learn" not in table.columns  # kept in the download only
    assert list(table.columns)[-1] == "Run id" and all(RUN_ID.fullmatch(r) for r in table["Run id"])
    assert all(isinstance(d, dt.date) for d in table["Training cutoff"])
    assert config["Training cutoff"]["format"] == "D MMM YYYY"
    assert config["Churn rate"]["format"] == "percent"
    assert config["Validation customers"] == {"type": "number", "format": "localized", "step": 1}
    assert set(table["Validation"]) == {"Later cutoff (out of time)"}
    chart = figure(page, "Stored runs compared")
    assert not any(RUN_ID.search(x) for trace in chart["data"] for x in trace["x"])
    assert sorted(chart["data"][0]["x"]) == sorted(table["Run"])


def test_coefficients_chart_uses_the_plain_feature_names_and_a_colour_key(page):
    """Regression guard: coefficients named 'industry_retail', 'ch_website' next to plain names, colours unexplained."""
    page = open_tab(page, "Models")
    page.button(key=TRAIN).click().run()
    focus = page.selectbox(key="churn_focus")
    logistic = next(o for o in focus.options if o.startswith("Logistic regression"))
    page = focus.set_value(logistic).run()
    assert not page.exception
    chart = figure(page, "Logistic regression coefficients")
    assert [trace["name"] for trace in chart["data"]] == ["Raises churn risk", "Lowers churn risk"]
    names = [y for trace in chart["data"] for y in trace["y"]]
    assert names and not any("_" in name for name in names)  # no 'industry_retail', 'ch_website'
    assert not any(name.endswith(": nan") for name in names)  # numeric features carry no category
    # The same words as the permutation chart beside it (which shows its top 15 only).
    importance = set(figure(page, "Permutation importance (validation)")["data"][0]["y"])
    plain = {name.split(": ")[0] for name in names}
    assert len(plain & importance) >= 3


def test_cutoffs_in_the_wrong_order_are_refused_with_a_message(page):
    page = open_tab(page, "Models")
    page.date_input(key="churn_valid_cutoff").set_value(
        page.date_input(key="churn_train_cutoff").value - dt.timedelta(days=1)
    )
    page.button(key=TRAIN).click().run()
    assert not page.exception
    assert any("validation cutoff must come after" in e.value for e in page.error)


def test_a_horizon_running_past_the_data_is_explained(page):
    page = open_tab(page, "Models")
    last = page.date_input(key="churn_valid_cutoff").max
    page.date_input(key="churn_valid_cutoff").set_value(last)
    page.button(key=TRAIN).click().run()
    assert not page.exception
    assert any("runs past the last recorded activity" in e.value for e in page.error)


def labelled_csv(rows: int = 300) -> bytes:
    """A made-up customer table with a Churn column that depends on tenure and contract."""
    import numpy as np

    rng = np.random.default_rng(1)
    tenure = rng.integers(0, 72, rows)
    contract = rng.choice(["monthly", "yearly"], rows)
    churned = (rng.random(rows) < np.where(contract == "monthly", 0.5, 0.1) * np.where(tenure < 12, 1.5, 0.7)).astype(
        int
    )
    lines = ["customerID,tenure,Contract,Churn"] + [
        f"C{i},{t},{c},{'Yes' if y else 'No'}"
        for i, (t, c, y) in enumerate(zip(tenure, contract, churned, strict=True))
    ]
    return "\n".join(lines).encode()


def test_an_uploaded_labelled_table_is_cross_validated(page):
    page = open_tab(page, "Models")
    page.file_uploader(key="churn_labelled_upload").upload("customers.csv", labelled_csv(), "text/csv").run()
    assert not page.exception
    assert page.selectbox(key="churn_upload_label").value == "Churn"
    assert page.selectbox(key="churn_upload_id").value == "customerID"
    page.button(key="churn_upload_train").click().run()
    assert not page.exception
    values = [float(m.value) for m in page.metric if m.label.startswith("ROC AUC")]
    assert len(values) == 2 and all(0.5 < v < 1 for v in values)


def test_a_short_early_period_renders_without_errors(page):
    """Regression guard: default cutoffs before the first data day must not break the date inputs."""
    first = page.date_input(key="f_period").min
    page.date_input(key="f_period").set_value((first, first + dt.timedelta(days=20))).run()
    assert not page.exception
    assert page.title[0].value == "Churn and value"
    page = open_tab(page, "Models")
    page.button(key=TRAIN).click().run()
    assert not page.exception
    assert page.error  # too little history: a message, not a crash


def test_customer_value_scales_with_the_margin_and_offers_the_holdout_and_download(page):
    page = open_tab(page, "Customer value")
    revenue = float(metric(page, "Average historical value").replace("€", "").replace(",", ""))
    page.slider(key="clv_margin").set_value(0.5).run()
    assert not page.exception
    halved = float(metric(page, "Average historical value").replace("€", "").replace(",", ""))
    assert halved == pytest.approx(revenue / 2, abs=1)
    charts = len(page.get("plotly_chart"))
    page.toggle(key="clv_holdout").set_value(True).run()
    assert not page.exception
    assert len(page.get("plotly_chart")) == charts + 1
    buttons = len(page.get("download_button"))
    page.toggle(key="clv_download").set_value(True).run()
    assert not page.exception
    assert len(page.get("download_button")) == buttons + 2


def test_customer_value_tab_shows_the_fits_of_the_per_customer_summary(app_db, monkeypatch):
    """The tab's customers and model parameters = historical_clv and the fits on store_summary.

    Gamma-Gamma within a few parts in a million: the spend means are DuckDB double sums, whose
    last bit can move between runs (see tests/unit/test_clv.py).
    """
    from analytics import churn, clv, store
    from analytics.filters import Filters
    from ui import nav

    con = store.connect(app_db)
    try:
        last_day = churn.activity_span(con)[1]
        history = clv.historical_clv(con, Filters(), as_of=last_day)
        summary = clv.store_summary(con, Filters(), end=last_day)
    finally:
        con.close()
    bg, gg = clv.fit_bgnbd(summary), clv.fit_gamma_gamma(summary)
    monkeypatch.setattr(nav, "ROUTER_STARTED", True)
    page = open_tab(app_test("pages/churn.py", timeout=240).run(), "Customer value")
    assert not page.exception
    assert page.date_input(key="f_period").value[1] == last_day  # the default period ends on the last day
    assert metric(page, "Customers with orders") == f"{len(history):,}"
    table = next(t.value for t in page.dataframe if "Parameter" in t.value.columns)
    estimates = dict(zip(table["Parameter"], table["Estimate"], strict=True))
    assert [estimates[k] for k in ("r", "alpha", "a", "b")] == [bg["r"], bg["alpha"], bg["a"], bg["b"]]
    assert [estimates[k] for k in ("p", "q", "v")] == pytest.approx([gg["p"], gg["q"], gg["v"]], rel=1e-6)
