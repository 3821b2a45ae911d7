"""Churn and value: churn definition and rates, two churn models, risk list, what-if, stored runs, CLV."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics import churn, clv
from analytics.charts import churn as charts
from ui.downloads import download_buttons
from ui.frame import cursor, page_setup
from ui.i18n import _, fmt_date, fmt_money, fmt_number, fmt_pct

ctx = page_setup(_("Churn and value"))
f = ctx.filters

MODEL_NAMES = {"logistic": _("Logistic regression"), "gradient_boosting": _("Gradient boosting")}
STEPS = {
    "prepare": _("preparing the features"),
    "cross-validate": _("cross-validating"),
    "fit": _("fitting and calibrating"),
    "evaluate": _("checking on the validation cutoff"),
    "done": _("done"),
}
ERRORS = {
    "single_class": _(
        "At this cutoff every customer has the same outcome (all stayed or all left), so there is nothing to learn. Choose another cutoff or horizon."
    ),
    "too_few_customers": _(
        "Too few customers to train a model: at least 50 active customers and 10 of each outcome are needed. Widen the filters or choose another cutoff."
    ),
    "horizon_after_data": _(
        "The horizon after this cutoff runs past the last recorded activity, so nobody can be labelled yet. Choose an earlier cutoff or a shorter horizon."
    ),
    "no_activity": _("There is no activity in the data yet. Load orders or interactions on the Data page."),
    "unreadable_table": _("This file could not be read as a table. Save it as CSV or Excel and try again."),
    "no_label_column": _("The chosen outcome column is not in the table."),
    "missing_features": _("This stored model expects columns the current data does not have. Train a new model."),
}


FEATURE_LABELS = {
    "recency_days": _("days since last activity"),
    "tenure_days": _("days as a customer"),
    "frequency": _("orders"),
    "monetary": _("net revenue"),
    "average_order_value": _("average order value"),
    "orders_last_90d": _("orders in the last 90 days"),
    "events_last_30d": _("activities in the last 30 days"),
    "events_prev_90d": _("activities in the 90 days before"),
    "activity_trend": _("activity trend"),
    "interactions": _("interactions"),
    "service_contacts": _("service contacts"),
    "complaints": _("complaints"),
    "returns": _("returns"),
    "returned_value": _("returned value"),
    "employees": _("employees"),
    "segment": _("segment"),
    "customer_type": _("customer type"),
    "country": _("country"),
    "acquisition_channel": _("acquisition channel"),
    "industry": _("industry"),
    **{
        name: _("contacts via {channel}").format(channel=_(channel)) for name, channel in churn.CHANNEL_FEATURES.items()
    },
    **{name: _("{stage} interactions").format(stage=_(stage)) for name, stage in churn.STAGE_FEATURES.items()},
}


VALIDATION_NAMES = {
    "out_of_time": _("Later cutoff (out of time)"),
    "holdout": _("Held-out share"),
}


def feature_label(name: str) -> str:
    return FEATURE_LABELS.get(name, name)


def coefficient_label(source: str, category: str | None) -> str:
    """An encoded column in the words of the permutation chart: ('industry', 'retail') -> 'industry: retail'."""
    if category is None or pd.isna(category):  # numeric columns (None reads back from pandas as NaN)
        return feature_label(source)
    value = _("other (rare values)") if category == churn.INFREQUENT else category
    return _("{feature}: {value}").format(feature=feature_label(source), value=value)


def validation_name(kind: str | None) -> str:
    if not isinstance(kind, str):  # runs stored without the entry read back as None or NaN
        return ""
    if kind.endswith("-fold"):
        return _("{k}-fold cross-validation").format(k=kind.removesuffix("-fold"))
    return VALIDATION_NAMES.get(kind, kind)


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """run_id -> readable label (model name and training date, the time or id only where two would match)."""
    labels = churn.run_labels(runs, names=MODEL_NAMES, format_date=fmt_date)
    return dict(zip(runs["run_id"], labels, strict=True))


def driver_labels(drivers: str) -> str:
    return ", ".join(feature_label(d) for d in drivers.split(", ") if d)


def explain(error: Exception) -> str:
    return ERRORS.get(
        str(error), _("The analysis could not run on this selection. Change the filters or the settings and try again.")
    )


# --- cached reads (arguments: filters, version, settings; never session state) --------------


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def load_span(version: int):
    return churn.activity_span(cursor())


QUANTILES = (0.8, 0.9, 0.95)
RISK_ROWS_SHOWN = 1000  # rows of the risk list sent to the browser; the download holds all


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_gaps(filters, version: int, before: dt.date):
    """Gap chart rows and the suggested horizon per quantile: small results, the gaps stay here."""
    gaps = churn.purchase_gaps(cursor(), filters, before=before)
    return churn.gap_table(gaps), {q: churn.suggest_horizon(gaps, quantile=q) for q in QUANTILES}


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_rates(filters, version: int, horizon: int):
    return churn.churn_rates(cursor(), filters, inactive_days=horizon)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_dataset(filters, version: int, cutoff: dt.date, horizon: int):
    return churn.dataset(cursor(), filters, cutoff=cutoff, horizon_days=horizon)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_today_features(filters, version: int, as_of: dt.date, lookback: int):
    return churn.features(cursor(), filters, cutoff=as_of, lookback_days=lookback)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_value(filters, version: int, as_of: dt.date):
    return churn.value_for_risk(cursor(), filters, as_of=as_of)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def load_runs(version: int):
    return churn.list_runs(cursor())


@st.cache_resource(max_entries=16, show_spinner=False)
def load_model(run_id: str):
    return churn.load_run(cursor(), run_id)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def evaluate_run(run_id: str, filters, version: int):
    """Validation labels and probabilities of a stored run, rebuilt at its validation cutoff."""
    model, info = load_model(run_id)
    cutoff = dt.date.fromisoformat(info["params"]["validation_cutoff"])
    X, y = load_dataset(filters, version, cutoff, int(info["horizon_days"]))
    return y.to_numpy(), model.churn_probability(X)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_importance(run_id: str, filters, version: int):
    model, info = load_model(run_id)
    cutoff = dt.date.fromisoformat(info["params"]["validation_cutoff"])
    X, y = load_dataset(filters, version, cutoff, int(info["horizon_days"]))
    return churn.importance_table(model, X, y)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_risk(run_id: str, filters, version: int, as_of: dt.date):
    model, info = load_model(run_id)
    X = load_today_features(filters, version, as_of, int(info["horizon_days"]))
    value = load_value(filters, version, as_of - dt.timedelta(days=1))
    return churn.risk_list(model, X, value)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_clv(filters, version: int, as_of: dt.date):
    """Screen-sized customer value results at margin 1; the page scales money by the margin (all are linear in it).

    The margin is no cache key, so moving the slider never refits the models.
    """
    return clv.value_overview(cursor(), filters, as_of=as_of, unit_days=7.0, horizon=52.0)


@st.cache_data(ttl=600, max_entries=4, show_spinner=False)
def load_clv_predictions(filters, version: int, as_of: dt.date):
    """Predicted value per customer at margin 1 (a large table: built only when a download is asked for)."""
    summary = clv.store_summary(cursor(), filters, end=as_of, unit_days=7.0)
    fit = load_clv(filters, version, as_of)
    predicted = clv.predict_clv(summary, fit["bgnbd"], fit["gg"], horizon=52.0).join(summary[["segment"]])
    return predicted.reset_index().rename(columns={"index": "customer_id"})


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_holdout(filters, version: int, calibration_end: dt.date, holdout_end: dt.date):
    try:
        return clv.holdout_check(cursor(), filters, calibration_end=calibration_end, holdout_end=holdout_end)
    except ValueError:
        return None


# --- the page -------------------------------------------------------------------------------

first_day, last_day = load_span(ctx.version)
if last_day is None:
    st.info(ERRORS["no_activity"])
    st.stop()
as_of = min(f.end or last_day, last_day)

st.caption(
    _(
        "A customer who was active in the horizon before a cutoff date has churned when they show no activity at all "
        "(no order, no interaction) in the horizon after it. Only data before the cutoff describes the customer."
    )
)

with st.container(border=True):
    st.subheader(_("Churn definition"))
    gap_rows, suggestions = load_gaps(f, ctx.version, as_of + dt.timedelta(days=1))
    left, right = st.columns([1, 2])
    with left:
        quantile = st.select_slider(
            _("Suggest the horizon from this share of repeat-purchase gaps"),
            options=list(QUANTILES),
            value=0.9,
            format_func=lambda q: fmt_pct(q, 0),
            key="churn_quantile",
        )
        suggested = suggestions[quantile]
        horizon = int(
            st.number_input(
                _("Horizon N (days without activity)"),
                min_value=14,
                max_value=365,
                value=suggested,
                step=1,
                key=f"churn_horizon_{suggested}",
                help=_(
                    "Suggested: {share} of all gaps between two purchases of the same customer are shorter than {days} days."
                ).format(share=fmt_pct(quantile, 0), days=fmt_number(suggested)),
            )
        )
        st.metric(_("Suggested horizon"), _("{days} days").format(days=fmt_number(suggested)), border=True)
    with right:
        if gap_rows.empty:
            st.info(_("No customer has bought twice yet, so there are no gaps to learn the horizon from."))
        else:
            st.plotly_chart(charts.gap_histogram(gap_rows, horizon_days=horizon), width="stretch", key="chart_gaps")

# Lazy tabs: only the open tab runs, so a first visit computes the churn rates alone.
tab_rate, tab_model, tab_risk, tab_runs, tab_value = st.tabs(
    [_("Churn rate"), _("Models"), _("Risk list"), _("Stored runs"), _("Customer value")],
    key="churn_tab",
    on_change="rerun",
)

# --- churn rate ---------------------------------------------------------------------------------
if tab_rate.open:
    with tab_rate:
        monthly, by_segment = load_rates(f, ctx.version, horizon)
        active = int(by_segment["active_at_start"].sum())
        lost = int(by_segment["lost"].sum())
        with st.container(horizontal=True):
            st.metric(
                _("Active at period start"),
                fmt_number(active),
                border=True,
                help=_("Customers with activity in the horizon before the period start."),
            )
            st.metric(
                _("Lost in the period"),
                fmt_number(lost),
                border=True,
                help=_("Of those, customers whose last activity is more than the horizon before the period end."),
            )
            st.metric(_("Churn rate of the period"), fmt_pct(lost / active if active else None), border=True)
        st.plotly_chart(charts.churn_by_month(monthly), width="stretch", key="chart_churn_month")
        download_buttons(monthly, "churn_rate_by_month")
        st.plotly_chart(charts.churn_by_segment(by_segment), width="stretch", key="chart_churn_segment")
        download_buttons(by_segment, "churn_rate_by_segment")

# --- training and evaluation ----------------------------------------------------------------------
if tab_model.open:
    with tab_model:
        default_train, default_valid = (max(first_day, d) for d in churn.default_cutoffs(as_of, horizon))
        st.write(
            _(
                "Both models learn from the customers active at the training cutoff and are checked on a later cutoff they never saw (out-of-time validation)."
            )
        )
        with st.form("churn_train_form", border=True):
            c1, c2, c3 = st.columns(3)
            train_cutoff = c1.date_input(
                _("Training cutoff"),
                value=default_train,
                min_value=first_day,
                max_value=as_of,
                key="churn_train_cutoff",
            )
            valid_cutoff = c2.date_input(
                _("Validation cutoff"),
                value=default_valid,
                min_value=first_day,
                max_value=as_of,
                key="churn_valid_cutoff",
            )
            folds = c3.selectbox(
                _("Cross-validation on the training cutoff"),
                [None, 5],
                format_func=lambda k: _("Off") if k is None else _("{k} folds").format(k=k),
                key="churn_cv",
                help=_("Adds k-fold cross-validated scores to the out-of-time check (slower)."),
            )
            submitted = st.form_submit_button(_("Train both models"), type="primary", icon=":material/model_training:")
        if submitted:
            if valid_cutoff <= train_cutoff:
                st.error(_("The validation cutoff must come after the training cutoff."))
            else:
                with st.status(_("Training the churn models…"), expanded=True) as status:
                    bar = st.progress(0.0, text=_("Building features as of the cutoffs"))
                    try:
                        X_train, y_train = load_dataset(f, ctx.version, train_cutoff, horizon)
                        X_valid, y_valid = load_dataset(f, ctx.version, valid_cutoff, horizon)
                        trained = []
                        for index, kind in enumerate(churn.MODELS):

                            def report(fraction, step, index=index, kind=kind):
                                bar.progress(
                                    min(1.0, (index + fraction) / len(churn.MODELS)),
                                    text=_("{model}: {step}").format(
                                        model=MODEL_NAMES[kind], step=STEPS.get(step, step)
                                    ),
                                )

                            model = churn.train(
                                X_train, y_train, model=kind, validation=(X_valid, y_valid), progress=report
                            )
                            if folds:
                                cv_model = churn.train(X_train, y_train, model=kind, cv=folds)
                                model.metrics["cv_roc_auc"] = cv_model.metrics["roc_auc"]
                                model.metrics["cv_pr_auc"] = cv_model.metrics["pr_auc"]
                            trained.append(model)
                        # Store only when both models trained: a failure leaves no half-written pair.
                        extra = {"validation_cutoff": valid_cutoff, "lookback_days": horizon, "filters": repr(f)}
                        new_runs = [
                            churn.save_run(
                                ctx.con, model, cutoff=train_cutoff, horizon_days=horizon, extra_params=extra
                            )
                            for model in trained
                        ]
                        st.session_state["churn_runs"] = new_runs
                        bar.progress(1.0, text=_("Done"))
                        status.update(label=_("Both models are trained and stored."), state="complete", expanded=False)
                        st.session_state["churn_just_trained"] = True
                        st.rerun()
                    except churn.ChurnDataError as exc:
                        status.update(label=_("Training stopped"), state="error")
                        st.error(explain(exc))

        if st.session_state.pop("churn_just_trained", False):
            st.success(
                _("Both models are trained and stored. Their validation results follow."),
                icon=":material/check_circle:",
            )
        runs = load_runs(ctx.version)
        chosen = [r for r in st.session_state.get("churn_runs", []) if r in set(runs["run_id"])]
        if not chosen and not runs.empty:
            chosen = list(runs["run_id"].head(2))
        if not chosen:
            st.info(_("No model yet. Pick the cutoffs and train both models."))
        else:
            evaluations = {}
            chosen_labels = run_labels(runs[runs["run_id"].isin(chosen)])
            for run_id in chosen:
                model, info = load_model(run_id)
                try:
                    y_val, p_val = evaluate_run(run_id, f, ctx.version)
                except churn.ChurnDataError as exc:
                    st.warning(explain(exc))
                    continue
                evaluations[chosen_labels[run_id]] = (
                    run_id,
                    model,
                    info,
                    y_val,
                    p_val,
                )
            if evaluations:
                with st.container(horizontal=True):
                    for label, (_run, _model, _info, y_val, p_val) in evaluations.items():
                        s = churn.scores(y_val, p_val)
                        st.metric(_("ROC AUC · {model}").format(model=label), fmt_number(s["roc_auc"], 3), border=True)
                        st.metric(_("PR AUC · {model}").format(model=label), fmt_number(s["pr_auc"], 3), border=True)
                        st.metric(
                            _("Brier score · {model}").format(model=label),
                            fmt_number(s["brier"], 3),
                            border=True,
                            help=_("Mean squared gap between probability and outcome; lower is better."),
                        )
                base = float(next(iter(evaluations.values()))[3].mean())
                st.caption(
                    _(
                        "Validation: {n} customers active at {cutoff}, of whom {rate} churned (the no-skill line of the precision chart)."
                    ).format(
                        n=fmt_number(len(next(iter(evaluations.values()))[3])),
                        cutoff=fmt_date(
                            dt.date.fromisoformat(next(iter(evaluations.values()))[2]["params"]["validation_cutoff"])
                        ),
                        rate=fmt_pct(base),
                    )
                )
                roc_tables = {k: churn.roc_table(v[3], v[4]) for k, v in evaluations.items()}
                pr_tables = {k: churn.pr_table(v[3], v[4]) for k, v in evaluations.items()}
                cal_tables = {k: churn.calibration_table(v[3], v[4]) for k, v in evaluations.items()}
                lift_tables = {k: churn.lift_table(v[3], v[4]) for k, v in evaluations.items()}
                c1, c2 = st.columns(2)
                c1.plotly_chart(charts.roc(roc_tables), width="stretch", key="chart_roc")
                c2.plotly_chart(charts.precision_recall(pr_tables, base_rate=base), width="stretch", key="chart_pr")
                c1.plotly_chart(charts.calibration(cal_tables), width="stretch", key="chart_calibration")
                c2.plotly_chart(charts.gains(lift_tables), width="stretch", key="chart_gains")
                st.plotly_chart(charts.lift(lift_tables), width="stretch", key="chart_lift")
                lift_frame = pd.concat([t.assign(model=k) for k, t in lift_tables.items()], ignore_index=True)
                download_buttons(lift_frame, "churn_lift_by_decile")

                focus = st.selectbox(_("Explain this model"), list(evaluations), key="churn_focus")
                run_id, model, info, y_val, p_val = evaluations[focus]
                c1, c2 = st.columns(2)
                importance = load_importance(run_id, f, ctx.version).assign(
                    feature=lambda t: t["feature"].map(feature_label)
                )
                c1.plotly_chart(charts.importance(importance), width="stretch", key="chart_importance")
                if model.kind == "logistic":
                    coefficients = model.coefficients()
                    coefficients["label"] = [
                        coefficient_label(source, category)
                        for source, category in zip(coefficients["source"], coefficients["category"], strict=True)
                    ]
                    c2.plotly_chart(charts.coefficients(coefficients), width="stretch", key="chart_coefficients")
                else:
                    c2.dataframe(importance, hide_index=True, width="stretch")

                st.subheader(_("Contact threshold from costs"))
                mean_value = float(load_value(f, ctx.version, as_of).clip(lower=0).mean() or 0.0)
                c1, c2, c3 = st.columns(3)
                offer_cost = c1.number_input(
                    _("Cost of one offer (€)"), min_value=0.0, value=25.0, step=1.0, key="churn_offer_cost"
                )
                save_rate = c2.slider(
                    _("Chance the offer keeps a churner"), 0.0, 1.0, 0.25, 0.05, key="churn_save_rate"
                )
                value = c3.number_input(
                    _("Value of a kept customer (€)"),
                    min_value=0.0,
                    value=round(mean_value, 0) or 100.0,
                    step=10.0,
                    key="churn_value",
                    help=_("Default: the average predicted value of the next 12 months."),
                )
                curve = churn.profit_curve(y_val, p_val, offer_cost=offer_cost, save_rate=save_rate, value=value)
                best = churn.best_threshold(curve)
                st.session_state["churn_threshold"] = best
                counts = churn.confusion(y_val, p_val, threshold=best)
                with st.container(horizontal=True):
                    st.metric(_("Best threshold"), fmt_pct(best, 0), border=True)
                    st.metric(
                        _("Break-even probability"),
                        fmt_pct(
                            churn.break_even_probability(offer_cost=offer_cost, save_rate=save_rate, value=value), 1
                        ),
                        border=True,
                        help=_(
                            "A contact pays when churn probability × chance to keep × value exceeds the offer cost."
                        ),
                    )
                    st.metric(
                        _("Expected net benefit (validation)"),
                        fmt_money(float(curve["net_benefit"].max())),
                        border=True,
                    )
                st.plotly_chart(charts.profit(curve, best=best), width="stretch", key="chart_profit")
                download_buttons(curve, "churn_net_benefit")
                st.write(_("At this threshold on the validation customers:"))
                st.dataframe(
                    pd.DataFrame(
                        {
                            _("Outcome"): [_("Churned"), _("Stayed")],
                            _("Contacted"): [counts["tp"], counts["fp"]],
                            _("Not contacted"): [counts["fn"], counts["tn"]],
                        }
                    ),
                    hide_index=True,
                    column_config={
                        _("Contacted"): st.column_config.NumberColumn(format="localized", step=1),
                        _("Not contacted"): st.column_config.NumberColumn(format="localized", step=1),
                    },
                )

        with st.expander(
            _("Train on your own table of customers with a known churn outcome"), icon=":material/upload_file:"
        ):
            st.write(
                _(
                    "One row per customer and one column that says whether they left (Yes/No or 1/0). Numbers are used as numbers, text as categories. The result is cross-validated (5 folds) and not stored."
                )
            )
            upload = st.file_uploader(
                _("Customer table (CSV or Excel)"), type=["csv", "xlsx"], key="churn_labelled_upload"
            )
            if upload is not None:
                try:
                    table = churn.read_labelled_table(upload, name=upload.name)
                except churn.ChurnDataError:
                    st.error(_("This file could not be read as a table. Save it as CSV or Excel and try again."))
                    table = None
                if table is not None and len(table.columns) >= 2:
                    columns = list(table.columns)
                    guess = churn.guess_label_column(columns)
                    c1, c2 = st.columns(2)
                    label_column = c1.selectbox(
                        _("Column with the churn outcome"),
                        columns,
                        index=columns.index(guess) if guess else len(columns) - 1,
                        key="churn_upload_label",
                    )
                    id_guess = next((c for c in columns if "id" in c.lower()), None)
                    id_column = c2.selectbox(
                        _("Customer id column (not a feature)"),
                        [None, *columns],
                        index=([None, *columns].index(id_guess) if id_guess else 0),
                        format_func=lambda c: _("None") if c is None else c,
                        key="churn_upload_id",
                    )
                    if st.button(
                        _("Train and cross-validate"), key="churn_upload_train", icon=":material/model_training:"
                    ):
                        try:
                            X_up, y_up = churn.features_from_table(table, label=label_column, id_column=id_column)
                            with st.spinner(_("Training both models with 5-fold cross-validation…")):
                                results = {MODEL_NAMES[k]: churn.train(X_up, y_up, model=k, cv=5) for k in churn.MODELS}
                        except churn.ChurnDataError as exc:
                            st.error(explain(exc))
                        else:
                            with st.container(horizontal=True):
                                for label, model in results.items():
                                    st.metric(
                                        _("ROC AUC · {model}").format(model=label),
                                        fmt_number(model.metrics["roc_auc"], 3),
                                        border=True,
                                    )
                                    st.metric(
                                        _("Brier score · {model}").format(model=label),
                                        fmt_number(model.metrics["brier"], 3),
                                        border=True,
                                    )
                            st.caption(
                                _("{n} customers, of whom {rate} left.").format(
                                    n=fmt_number(len(y_up)), rate=fmt_pct(float(y_up.mean()))
                                )
                            )
                            st.plotly_chart(
                                charts.roc({k: churn.roc_table(*m.validation) for k, m in results.items()}),
                                width="stretch",
                                key="chart_upload_roc",
                            )


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """list_runs rows with ``label`` -> the Stored runs table: readable names, dates as dates, the id last.

    The scikit-learn version stays in the download (it matters to whoever reloads a model, not here).
    """
    return pd.DataFrame(
        {
            _("Run"): runs["label"],
            _("Trained"): pd.to_datetime(runs["created_at"]),
            _("Training cutoff"): pd.to_datetime(runs["cutoff"]).dt.date,
            _("Validation cutoff"): pd.to_datetime(runs["validation_cutoff"]).dt.date,
            _("Horizon (days)"): runs["horizon_days"],
            _("ROC AUC"): runs["roc_auc"],
            _("PR AUC"): runs["pr_auc"],
            _("Brier score"): runs["brier"],
            _("Churn rate"): runs["base_rate"],
            _("Validation customers"): runs["n"],
            _("Validation"): runs["validation"].map(validation_name),
            _("Run id"): runs["run_id"],
        }
    )


# --- risk list and what-if ------------------------------------------------------------------------
def risk_panel(runs: pd.DataFrame) -> None:
    """The risk list, segment saving and what-if for one stored run."""
    default_run = st.session_state.get("churn_runs", [None])[-1]
    options = list(runs["run_id"])
    labels = run_labels(runs)
    run_id = st.selectbox(
        _("Model"),
        options,
        index=options.index(default_run) if default_run in options else 0,
        format_func=lambda r: labels[r],
        key="churn_risk_run",
        help=_("Stored runs, named by model and training date."),
    )
    model, info = load_model(run_id)
    score_day = as_of + dt.timedelta(days=1)
    try:
        risk = load_risk(run_id, f, ctx.version, score_day)
    except churn.ChurnDataError as exc:
        st.error(explain(exc))
        return
    c1, c2 = st.columns(2)
    offer_cost = c1.number_input(_("Cost of one offer (€)"), min_value=0.0, value=25.0, step=1.0, key="churn_risk_cost")
    save_rate = c2.slider(_("Chance the offer keeps a churner"), 0.0, 1.0, 0.25, 0.05, key="churn_risk_save")
    risk = risk.assign(expected_saving=risk["probability"] * save_rate * risk["clv"])
    risk["contact"] = risk["expected_saving"] > offer_cost
    with st.container(horizontal=True):
        st.metric(_("Customers scored"), fmt_number(len(risk)), border=True)
        st.metric(
            _("Value at risk"),
            fmt_money(float(risk["value_at_risk"].sum())),
            border=True,
            help=_("Sum of churn probability × predicted value of the next 12 months."),
        )
        st.metric(
            _("Worth contacting"),
            fmt_number(int(risk["contact"].sum())),
            border=True,
            help=_("Expected saving (probability × chance to keep × value) exceeds the offer cost."),
        )
    st.caption(
        _("Customers active in the {days} days before {day}, ranked by value at risk.").format(
            days=horizon, day=fmt_date(score_day)
        )
    )
    if len(risk) > RISK_ROWS_SHOWN:
        st.caption(
            _("The table shows the {n} customers with the most value at risk; the download holds all.").format(
                n=fmt_number(RISK_ROWS_SHOWN)
            )
        )
    top = risk.head(RISK_ROWS_SHOWN)
    shown = top.assign(drivers=top["drivers"].map(driver_labels)).rename(
        columns={
            "customer_id": _("Customer"),
            "segment": _("Segment"),
            "probability": _("Churn probability"),
            "clv": _("Predicted value (€)"),
            "value_at_risk": _("Value at risk (€)"),
            "drivers": _("Main risk drivers"),
            "expected_saving": _("Expected saving (€)"),
            "contact": _("Contact"),
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=380,
        column_config={
            # Whole euros, as on every other page (step=1 sets no decimals).
            _("Churn probability"): st.column_config.NumberColumn(format="percent"),
            _("Predicted value (€)"): st.column_config.NumberColumn(format="euro", step=1),
            _("Value at risk (€)"): st.column_config.NumberColumn(format="euro", step=1),
            _("Expected saving (€)"): st.column_config.NumberColumn(format="euro", step=1),
        },
    )
    if st.toggle(_("Prepare the whole risk list for download"), key="churn_risk_download"):
        download_buttons(risk.assign(drivers=risk["drivers"].map(driver_labels)), "churn_risk_list")
    if st.button(_("Store these scores with the model run"), icon=":material/save:", key="churn_store_scores"):
        written = churn.save_scores(ctx.con, run_id, risk)
        st.success(_("Stored {n} scores for {run}.").format(n=fmt_number(written), run=labels[run_id]))
    with st.form("churn_segment_form", border=True):
        c1, c2 = st.columns([2, 1])
        segment_name = c1.text_input(
            _("Save the customers worth contacting as a segment"),
            value=_("Churn risk {day}").format(day=score_day.isoformat()),
            key="churn_segment_name",
        )
        if c2.form_submit_button(_("Save segment"), icon=":material/bookmark_add:"):
            ids = list(risk.loc[risk["contact"], "customer_id"])
            if not ids or not segment_name.strip():
                st.warning(_("Nobody is worth contacting at these costs, or the name is empty."))
            else:
                churn.save_as_segment(
                    ctx.con,
                    segment_name.strip(),
                    ids,
                    description=_("Churn risk list of {label} (run {run})").format(label=labels[run_id], run=run_id),
                )
                st.success(
                    _("Saved {n} customers as the segment '{name}'. Pick it in the sidebar filter.").format(
                        n=fmt_number(len(ids)), name=segment_name.strip()
                    )
                )

    st.subheader(_("What if…"))
    if risk.empty:
        st.info(
            _("Nobody in this selection was active in the horizon before the period end, so there is no one to score.")
        )
        return
    features_now = load_today_features(f, ctx.version, score_day, int(info["horizon_days"]))
    customer = st.selectbox(_("Customer"), list(risk["customer_id"].head(200)), key="churn_whatif_customer")
    row = features_now.loc[[customer]]
    c1, c2, c3 = st.columns(3)
    changes = {
        "recency_days": c1.number_input(
            _("Days since last activity"),
            min_value=0.0,
            value=float(round(row["recency_days"].iloc[0], 1)),
            step=1.0,
            format="%.0f",
            key="wi_recency",
        ),
        "events_last_30d": c2.number_input(
            _("Activities in the last 30 days"),
            min_value=0.0,
            value=float(row["events_last_30d"].iloc[0]),
            step=1.0,
            format="%.0f",
            key="wi_events",
        ),
        "frequency": c3.number_input(
            _("Orders so far"),
            min_value=0.0,
            value=float(row["frequency"].iloc[0]),
            step=1.0,
            format="%.0f",
            key="wi_orders",
        ),
        "service_contacts": c1.number_input(
            _("Service contacts"),
            min_value=0.0,
            value=float(row["service_contacts"].iloc[0]),
            step=1.0,
            format="%.0f",
            key="wi_service",
        ),
        "complaints": c2.number_input(
            _("Complaints"),
            min_value=0.0,
            value=float(row["complaints"].iloc[0]),
            step=1.0,
            format="%.0f",
            key="wi_complaints",
        ),
    }
    # A number input cannot group digits ("169475"), so revenue is entered in thousands of euros
    # ("169.5"); left as it was, the exact revenue goes to the model, not its rounded thousands.
    revenue_now = float(row["monetary"].iloc[0])
    thousands_now = round(revenue_now / 1000, 1)
    thousands = c3.number_input(
        _("Net revenue so far (thousand €)"),
        value=thousands_now,
        step=1.0,
        format="%.1f",
        key="wi_monetary_k",
        help=_("Now {revenue}.").format(revenue=fmt_money(revenue_now)),
    )
    changes["monetary"] = revenue_now if thousands == thousands_now else thousands * 1000
    before, after = churn.what_if(model, row, changes)
    with st.container(horizontal=True):
        st.metric(_("Churn probability now"), fmt_pct(before), border=True)
        st.metric(
            _("With these changes"),
            fmt_pct(after),
            delta=None
            if abs(after - before) < 0.0005
            else _("{points} pts").format(points=fmt_number((after - before) * 100, 1)),
            delta_color="inverse",
            border=True,
        )


if tab_risk.open:
    with tab_risk:
        runs = load_runs(ctx.version)
        if runs.empty:
            st.info(_("Train a model on the Models tab first; the risk list scores today's customers with it."))
        else:
            risk_panel(runs)

# --- stored runs ----------------------------------------------------------------------------------
if tab_runs.open:
    with tab_runs:
        runs = load_runs(ctx.version)
        if runs.empty:
            st.info(_("No stored runs yet."))
        else:
            labels = run_labels(runs)
            shown = runs.assign(label=runs["run_id"].map(labels))
            st.plotly_chart(charts.run_comparison(shown.head(10)), width="stretch", key="chart_runs")
            st.dataframe(
                runs_table(shown),
                hide_index=True,
                width="stretch",
                column_config={
                    _("Run"): st.column_config.TextColumn(pinned=True, help=_("Model and training date.")),
                    _("Trained"): st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
                    _("Training cutoff"): st.column_config.DateColumn(format="D MMM YYYY"),
                    _("Validation cutoff"): st.column_config.DateColumn(format="D MMM YYYY"),
                    _("Horizon (days)"): st.column_config.NumberColumn(format="localized", step=1, width="small"),
                    _("ROC AUC"): st.column_config.NumberColumn(format="%.3f", width="small"),
                    _("PR AUC"): st.column_config.NumberColumn(format="%.3f", width="small"),
                    _("Brier score"): st.column_config.NumberColumn(format="%.3f", width="small"),
                    _("Churn rate"): st.column_config.NumberColumn(
                        format="percent",
                        step=0.001,
                        width="small",
                        help=_("Share of the validation customers who churned."),
                    ),
                    _("Validation customers"): st.column_config.NumberColumn(format="localized", step=1),
                    _("Run id"): st.column_config.TextColumn(help=_("Internal id of the stored run.")),
                },
            )
            download_buttons(runs, "churn_model_runs")
            picked = st.multiselect(
                _("Compare these runs on the Models tab"),
                list(runs["run_id"]),
                format_func=lambda r: labels[r],
                key="churn_compare",
            )
            if st.button(_("Compare"), key="churn_compare_button", disabled=not picked):
                st.session_state["churn_runs"] = picked
                st.rerun()

# --- customer value --------------------------------------------------------------------------------
if tab_value.open:
    with tab_value:
        margin = st.slider(
            _("Margin on revenue"),
            0.05,
            1.0,
            1.0,
            0.05,
            key="clv_margin",
            format="%.2f",
            help=_("Share of revenue that is profit; 1 shows revenue."),
        )
        data = load_clv(f, ctx.version, as_of)
        if not data["customers"]:
            st.info(_("No orders up to the end of the period, so there is no customer value to show."))
        else:
            with st.container(horizontal=True):
                st.metric(_("Customers with orders"), fmt_number(data["customers"]), border=True)
                st.metric(_("Average historical value"), fmt_money(data["mean"] * margin), border=True)
                st.metric(_("Median historical value"), fmt_money(data["median"] * margin), border=True)
            st.plotly_chart(
                charts.clv_histogram_binned(
                    data["histogram"].assign(
                        from_value=lambda t: t["from_value"] * margin, to_value=lambda t: t["to_value"] * margin
                    ),
                    cap=data["cap"] * margin,
                    cap_quantile=0.99,
                ),
                width="stretch",
                key="chart_clv_hist",
            )
            if data["error"]:
                st.warning(_("The purchase models could not be fitted on this selection (too few repeat buyers)."))
            else:
                bg, gg = data["bgnbd"], data["gg"]
                st.caption(
                    _(
                        "Time unit: weeks. BG/NBD (Fader, Hardie & Lee 2005) for purchases and the chance a customer is still active, Gamma-Gamma for spend per purchase; fitted by maximum likelihood."
                    )
                )
                with st.container(horizontal=True):
                    st.metric(
                        _("Predicted value, next 12 months (mean)"),
                        fmt_money(data["predicted_mean"]["clv"] * margin),
                        border=True,
                    )
                    st.metric(
                        _("Expected purchases, next 12 months (mean)"),
                        fmt_number(data["predicted_mean"]["expected_purchases"], 2),
                        border=True,
                    )
                    st.metric(_("Average P(alive)"), fmt_pct(data["predicted_mean"]["p_alive"]), border=True)
                st.dataframe(
                    pd.DataFrame(
                        {
                            _("Model"): ["BG/NBD"] * 4 + ["Gamma-Gamma"] * 3,
                            _("Parameter"): ["r", "alpha", "a", "b", "p", "q", "v"],
                            _("Estimate"): [bg["r"], bg["alpha"], bg["a"], bg["b"], gg["p"], gg["q"], gg["v"]],
                        }
                    ),
                    hide_index=True,
                )
                check = data["independence"]
                if not check["ok"]:
                    st.warning(
                        _(
                            "Spend per purchase and number of purchases are correlated (Spearman {rho}); Gamma-Gamma assumes they are not, so treat predicted spend with care."
                        ).format(rho=fmt_number(check["spearman"], 2))
                    )
                else:
                    st.caption(
                        _("Independence check of spend and frequency passed (Spearman {rho}).").format(
                            rho=fmt_number(check["spearman"], 2)
                        )
                    )
                by_segment = data["by_segment"].assign(
                    historical=lambda t: t["historical"] * margin, predicted=lambda t: t["predicted"] * margin
                )
                c1, c2 = st.columns(2)
                c1.plotly_chart(charts.clv_by_segment(by_segment), width="stretch", key="chart_clv_segment")
                c2.plotly_chart(charts.alive_heatmap(data["alive"]), width="stretch", key="chart_alive")
                download_buttons(by_segment, "clv_by_segment")
                calibration_end = as_of - dt.timedelta(days=182)
                # The holdout check refits the model and the download lists every customer: only on request.
                if st.toggle(
                    _("Check the purchase model on the last 26 weeks"),
                    key="clv_holdout",
                    help=_(
                        "Refits the model on the purchases before the last 26 weeks and compares with what followed."
                    ),
                ):
                    table = load_holdout(f, ctx.version, calibration_end, as_of)
                    if table is None:
                        st.info(_("Too few customers bought before the last 26 weeks to check the model."))
                    else:
                        st.plotly_chart(charts.holdout(table), width="stretch", key="chart_holdout")
                        st.caption(
                            _("Fitted on purchases up to {day}; the last 26 weeks are the holdout.").format(
                                day=fmt_date(calibration_end)
                            )
                        )
                if st.toggle(_("Prepare the predicted value of every customer for download"), key="clv_download"):
                    predicted_out = load_clv_predictions(f, ctx.version, as_of).assign(clv=lambda t: t["clv"] * margin)
                    download_buttons(predicted_out, "clv_predicted")
