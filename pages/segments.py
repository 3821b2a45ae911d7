"""Segments: RFM, ABC, clusters, personas and lifecycle for the filtered customers; save any group by name."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics import segmentation as seg
from analytics.charts import segments as charts
from ui.downloads import download_buttons
from ui.frame import cursor, flash_and_rerun, page_setup, show_flash
from ui.i18n import _, fmt_date, fmt_money, fmt_number, fmt_pct

ctx = page_setup(_("Segments"))
f = ctx.filters

# --- texts ---------------------------------------------------------------------------------

FEATURE_NAMES = {
    "recency_days": _("Days since last purchase"),
    "frequency": _("Orders"),
    "monetary": _("Net spend"),
    "tenure_days": _("Days as a customer"),
    "digital_share": _("Share of digital touches"),
    "service_contacts": _("Service contacts"),
}
STAGE_NAMES = {
    "new": _("new"),
    "active": _("active"),
    "loyal": _("loyal"),
    "at risk": _("at risk"),
    "lost": _("lost"),
    seg.NOT_YET: _("not yet a customer"),
}
#: Persona "what they need" for the default RFM segments (other names fall back to the map's action).
SEGMENT_NEEDS = {
    "Champions": _("To feel recognised: exclusive previews, a direct line to us, being asked for their opinion."),
    "Can't lose them": _("A personal conversation that shows we noticed they left, and a reason to trust us again."),
    "Loyal customers": _("Reliable service and rewards that grow with the relationship."),
    "At risk": _("A reminder of what they liked, and proof that we fixed what may have put them off."),
    "New customers": _("A smooth start: clear information, quick help and a good first experience."),
    "Potential loyalist": _("Suggestions that fit what they bought and a simple way into the loyalty programme."),
    "Promising": _("Orientation in the range and an easy second purchase."),
    "Need attention": _("Offers that feel made for them, at the right moment."),
    "About to sleep": _("A friendly nudge with popular products before they forget us."),
    "Hibernating": _("Little effort from us: occasional, inexpensive reminders."),
    "Lost": _("One honest win-back offer; after that, respect that they have moved on."),
}
#: Cluster trait phrases: (feature, direction) -> how a persona card describes it.
TRAIT_WORDS = {
    ("recency_days", "high"): _("bought recently"),
    ("recency_days", "low"): _("not bought for a long time"),
    ("frequency", "high"): _("orders often"),
    ("frequency", "low"): _("orders rarely"),
    ("monetary", "high"): _("spends a lot"),
    ("monetary", "low"): _("spends little"),
    ("tenure_days", "high"): _("long-standing customer"),
    ("tenure_days", "low"): _("recently joined"),
    ("digital_share", "high"): _("mostly digital"),
    ("digital_share", "low"): _("prefers personal channels"),
    ("service_contacts", "high"): _("often contacts service"),
    ("service_contacts", "low"): _("rarely needs service"),
}
TRAIT_NEEDS = {
    ("recency_days", "low"): _("A reason to come back and a check whether something went wrong."),
    ("recency_days", "high"): _("Follow-up while the last purchase is fresh: help with use, matching products."),
    ("frequency", "high"): _("Convenience for repeat orders: reordering, subscriptions, loyalty rewards."),
    ("frequency", "low"): _("Reasons for a second purchase and reminders at the right time."),
    ("monetary", "high"): _("Personal attention and premium service that matches their value."),
    ("monetary", "low"): _("Good value and entry offers; keep the cost to serve low."),
    ("tenure_days", "high"): _("Recognition of the long relationship."),
    ("tenure_days", "low"): _("A good onboarding and quick answers to first questions."),
    ("digital_share", "high"): _("Fast, self-service digital channels that work on every device."),
    ("digital_share", "low"): _("A personal contact person, phone and store service."),
    ("service_contacts", "high"): _("Problems solved at the first contact, and the causes removed."),
    ("service_contacts", "low"): _("Not to be bothered: relevant messages only."),
}
SAVE_ERRORS = {
    "empty_name": _("Not saved: the segment needs a name. Type one in the “Name” field, for example the group's name."),
    "name_too_long": _("The name is too long (at most 80 characters)."),
    "no_customers": _("This group has no customers to save."),
    "name_taken": _("A saved segment with this name exists. Tick 'Replace' to overwrite it."),
}

# --- cached reads --------------------------------------------------------------------------


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_checks(filters, version: int, as_of: dt.date) -> dict:
    return seg.order_checks(cursor(), filters, as_of=as_of)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def load_map(version: int) -> list[seg.SegmentRule]:
    return seg.load_segment_map(cursor())


# Two levels for the per-customer tables: the large frame (hundreds of thousands of rows) is cached
# once, and the screen-sized results built from it are cached separately. A rerun then only reads
# the small entries (st.cache_data copies every value it returns); the large frame is read again
# only when a per-customer table is opened or a group is saved.


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_rfm(filters, version: int, as_of: dt.date, rules: tuple) -> pd.DataFrame:
    return seg.rfm_scores(cursor(), filters, as_of=as_of, segment_map=rules)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_rfm_summary(filters, version: int, as_of: dt.date, rules: tuple) -> tuple[pd.DataFrame, int, float]:
    """(segment summary, customers scored, net revenue) of the RFM scores."""
    scores = load_rfm(filters, version, as_of, rules)
    return seg.segment_summary(scores, segment_map=rules), len(scores), float(scores["monetary"].sum())


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_abc(filters, version: int, as_of: dt.date, rules: tuple, cutoffs: tuple[float, float]) -> pd.DataFrame:
    # Revenue per customer is the RFM table's monetary value: rank it instead of scanning the orders again.
    scores = load_rfm(filters, version, as_of, rules)
    return seg.abc_table(scores[["customer_id", "monetary"]].rename(columns={"monetary": "revenue"}), cutoffs=cutoffs)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def load_abc_summary(
    filters, version: int, as_of: dt.date, rules: tuple, cutoffs: tuple[float, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(class summary, Pareto curve) of the ABC classes."""
    classes = load_abc(filters, version, as_of, rules, cutoffs)
    return seg.abc_summary(classes), seg.pareto_curve(classes)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_features(filters, version: int, as_of: dt.date) -> pd.DataFrame:
    return seg.customer_features(cursor(), filters, as_of=as_of)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_diagnostics(filters, version: int, as_of: dt.date, columns: tuple, method: str, seed: int) -> pd.DataFrame:
    X = seg.prepare_features(load_features(filters, version, as_of), columns)
    return seg.cluster_diagnostics(X, method=method, seed=seed, sample_size=2000)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_clusters(filters, version: int, as_of: dt.date, columns: tuple, method: str, seed: int, k: int):
    features = load_features(filters, version, as_of)
    X = seg.prepare_features(features, columns)
    labels = seg.fit_clusters(X, k, method=method, seed=seed, fit_sample=50_000)
    profiles = seg.cluster_profiles(features, labels)
    projection = seg.pca_projection(X, labels, seed=seed, max_points=3000)
    assignment = pd.DataFrame({"customer_id": features["customer_id"], "cluster": labels})
    return assignment, profiles, projection


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_cluster_view(filters, version: int, as_of: dt.date, columns: tuple, method: str, seed: int, k: int):
    """(profiles, PCA projection) of the clusters, without the assignment of every customer."""
    _assignment, profiles, projection = load_clusters(filters, version, as_of, columns, method, seed, k)
    return profiles, projection


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_rfm_personas(filters, version: int, as_of: dt.date, rules: tuple) -> pd.DataFrame:
    groups = load_rfm(filters, version, as_of, rules)[["customer_id", "segment"]].rename(columns={"segment": "group"})
    return seg.personas(cursor(), filters, groups, as_of=as_of, order=tuple(r.name for r in rules))


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_cluster_personas(
    filters, version: int, as_of: dt.date, columns: tuple, method: str, seed: int, k: int
) -> pd.DataFrame:
    assignment, profiles, _projection = load_clusters(filters, version, as_of, columns, method, seed, k)
    groups = assignment.rename(columns={"cluster": "group"}).astype({"group": str})
    return seg.personas(cursor(), filters, groups, as_of=as_of, order=tuple(str(c) for c in profiles["cluster"]))


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def load_lifecycle_rules(version: int) -> seg.LifecycleRules:
    return seg.load_lifecycle_rules(cursor())


# The lifecycle stages of every customer in compact form (one entry per customer and purchase
# month, numbers only); the counts per month and the flows between any two months of the period
# are array operations on it, so choosing other months for the flows does not query the store.
@st.cache_data(ttl=600, max_entries=4, show_spinner=False)
def load_lifecycle_spans(filters, version: int, as_of: dt.date, rules: seg.LifecycleRules) -> seg.LifecycleSpans:
    return seg.lifecycle_spans(cursor(), filters, rules=rules, as_of=as_of)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_lifecycle(filters, version: int, as_of: dt.date, rules: seg.LifecycleRules) -> pd.DataFrame:
    return seg.lifecycle_counts_from_spans(load_lifecycle_spans(filters, version, as_of, rules))


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_flows(filters, version: int, as_of: dt.date, rules, from_month: dt.date, to_month: dt.date) -> pd.DataFrame:
    spans = load_lifecycle_spans(filters, version, as_of, rules)
    return seg.lifecycle_flows_from_spans(spans, from_month=from_month, to_month=to_month)


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_stage_members(filters, version: int, as_of: dt.date, rules, month: dt.date) -> pd.DataFrame:
    return seg.lifecycle_stages(cursor(), filters, rules=rules, as_of=as_of, month=month)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def load_saved(version: int) -> pd.DataFrame:
    return seg.saved_segments(cursor())


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def load_members(version: int, name: str) -> pd.DataFrame:
    return seg.saved_segment_members(cursor(), name)


# --- small UI helpers ----------------------------------------------------------------------


def flash(message: str) -> None:
    """Show ``message`` after the rerun that a save triggers."""
    flash_and_rerun("seg_flash", message)


def save_form(key: str, groups: list[str], members, *, label_of=str, description_of=None) -> None:
    """A small form: pick a group, name it, save its customers as a saved segment."""
    with st.form(f"save_{key}", border=True):
        st.markdown("**" + _("Save a group as a segment") + "**")
        cols = st.columns([2, 2, 3, 1], vertical_alignment="bottom")
        group = cols[0].selectbox(_("Group"), groups, format_func=label_of, key=f"save_{key}_group")
        name = cols[1].text_input(_("Name"), key=f"save_{key}_name", max_chars=seg.MAX_NAME_LENGTH)
        description = cols[2].text_input(_("Description (optional)"), key=f"save_{key}_description")
        replace = cols[3].checkbox(_("Replace"), key=f"save_{key}_replace")
        submitted = st.form_submit_button(_("Save segment"), icon=":material/bookmark_add:")
    if submitted:
        text = description or (description_of(group) if description_of else "")
        try:
            count = seg.save_segment(ctx.con, name, members(group), description=text, replace=replace)
        except ValueError as exc:
            st.error(SAVE_ERRORS.get(str(exc), _("The segment could not be saved.")))
        else:
            flash(
                _(
                    "Saved '{name}' with {n} customers. Choose it under 'Saved segment' in the sidebar to filter every page."
                ).format(name=name.strip(), n=fmt_number(count))
            )


def share_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of ``frame`` with shares as percentages for display (downloads keep the raw shares)."""
    out = frame.copy()
    for column in columns:
        out[column] = out[column] * 100
    return out


#: Above this many rows a per-customer table is offered as CSV and Parquet instead of Excel: an
#: Excel file of 50,000 rows already takes about 20 s to write (and Excel stops at 1,048,576 rows).
EXCEL_MAX_ROWS = 50_000


def customer_table(frame: pd.DataFrame, name: str) -> None:
    """A scrollable table of one row per customer, with its downloads."""
    st.dataframe(frame, hide_index=True, width="stretch", height=300, key=name)
    if len(frame) > EXCEL_MAX_ROWS:
        st.caption(
            _("{n} rows: too many for Excel, so the table downloads as CSV or Parquet.").format(
                n=fmt_number(len(frame))
            )
        )
        download_buttons(frame, name, formats=("csv", "parquet"))
    else:
        download_buttons(frame, name)


PCT = st.column_config.NumberColumn(format="%.1f %%")
MONEY = st.column_config.NumberColumn(format="€%,.0f")
NUMBER1 = st.column_config.NumberColumn(format="%.1f")

# --- page head -----------------------------------------------------------------------------

show_flash("seg_flash", icon=":material/check_circle:")

default_as_of = seg.default_as_of(f)
# A new period end resets the reference date to it (otherwise recency would count to a stale day).
if st.session_state.get("seg_as_of_default") != default_as_of:
    st.session_state["seg_as_of_default"] = default_as_of
    st.session_state["seg_as_of"] = default_as_of
with st.container(horizontal=True, vertical_alignment="bottom"):
    as_of = st.date_input(
        _("Reference date"),
        key="seg_as_of",
        help=_(
            "Recency is counted in days up to this date. Orders after it are left out. Default: the end of the period."
        ),
        width=220,
    )
    st.caption(
        _("Orders from {start} to {end} of the customers in the selection.").format(
            start=fmt_date(f.start), end=fmt_date(f.end)
        )
    )
as_of = as_of if isinstance(as_of, dt.date) else default_as_of

checks = load_checks(f, ctx.version, as_of)
if checks["missing_amount"]:
    st.warning(
        _("{n} order lines have no amount and are left out. Check the import of the orders.").format(
            n=fmt_number(checks["missing_amount"])
        ),
        icon=":material/warning:",
    )
if checks["after_as_of"]:
    st.warning(
        _("{n} order lines are dated after the reference date {day} and are left out.").format(
            n=fmt_number(checks["after_as_of"]), day=fmt_date(as_of)
        ),
        icon=":material/event_busy:",
    )
if checks["usable"] == 0:
    st.info(
        _("No orders in this period and selection. Widen the period, move the reference date or clear a filter."),
        icon=":material/info:",
    )
    st.stop()

rules = tuple(load_map(ctx.version))

tab_rfm, tab_abc, tab_clusters, tab_personas, tab_lifecycle, tab_saved = st.tabs(
    [_("RFM"), _("ABC"), _("Clusters"), _("Personas"), _("Lifecycle"), _("Saved segments")],
    key="seg_tab",
    on_change="rerun",
)

# --- RFM -----------------------------------------------------------------------------------


def rfm_tab() -> None:
    summary, scored, revenue = load_rfm_summary(f, ctx.version, as_of, rules)
    largest = summary.sort_values("customers", ascending=False).iloc[0]
    champions = summary[summary["segment"] == rules[0].name]
    with st.container(horizontal=True):
        st.metric(
            _("Customers scored"),
            fmt_number(scored),
            border=True,
            help=_("Customers with at least one order line in the period."),
        )
        st.metric(_("Net revenue"), fmt_money(revenue), border=True)
        st.metric(
            _("Largest segment"),
            _("{segment} ({share})").format(
                segment=_(str(largest["segment"])), share=fmt_pct(largest["customer_share"])
            ),
            help=_("The segment with the most customers, and its share of the customers scored."),
            border=True,
        )
        if not champions.empty:
            st.metric(
                _("Revenue share of {name}").format(name=_(rules[0].name)),
                fmt_pct(float(champions["revenue_share"].iloc[0])),
                border=True,
            )
    st.caption(
        _(
            "Scores are relative to the customers in view: each customer is ranked against the others in the "
            "chosen period and sidebar filters. A saved segment shown on its own is therefore scored again within "
            "itself, so some of its customers land in lower segments."
        )
    )
    size_by = st.segmented_control(
        _("Size the boxes by"),
        ["customers", "revenue"],
        default="customers",
        format_func=lambda v: _("Customers") if v == "customers" else _("Share of revenue"),
        key="rfm_size_by",
        required=True,
    )
    st.plotly_chart(
        charts.segment_treemap(
            summary,
            size_by=size_by or "customers",
            display_names={r.name: _(r.name) for r in rules},
            title=_("RFM segments by number of customers")
            if size_by != "revenue"
            else _("RFM segments by share of revenue"),
            hover_customers=_("Customers"),
            hover_revenue=_("Revenue share"),
        ),
        width="stretch",
        key="rfm_treemap",
    )
    st.subheader(_("Segment averages and what to do"))
    display = share_columns(summary, ["customer_share", "revenue_share"]).drop(columns=["action"])
    display["segment"] = display["segment"].map(lambda s: _(s))
    st.dataframe(
        display,
        hide_index=True,
        width="stretch",
        height="content",
        column_config={
            "segment": st.column_config.TextColumn(_("Segment"), pinned=True),
            "customers": st.column_config.NumberColumn(_("Customers")),
            "customer_share": st.column_config.NumberColumn(_("Customers (%)"), format="%.1f %%"),
            "revenue": st.column_config.NumberColumn(_("Net revenue"), format="€%,.0f"),
            "revenue_share": st.column_config.NumberColumn(_("Revenue (%)"), format="%.1f %%"),
            "avg_recency_days": st.column_config.NumberColumn(_("Avg days since purchase"), format="%.0f"),
            "avg_frequency": st.column_config.NumberColumn(_("Avg orders"), format="%.1f"),
            "avg_monetary": st.column_config.NumberColumn(_("Avg spend"), format="€%,.0f"),
        },
        key="rfm_summary",
    )
    download_buttons(summary, "rfm_segments")
    st.markdown("**" + _("What to do with each segment") + "**")
    present = summary[summary["customers"] > 0]
    columns = st.columns(2)
    for i, row in enumerate(present.itertuples()):
        columns[i % 2].markdown(
            f"**{_(row.segment)}** ({fmt_number(row.customers)}): {_(row.action) if row.action else '–'}"
        )
    scores_box = st.expander(
        _("Scores per customer"), icon=":material/table_rows:", key="rfm_scores_open", on_change="rerun"
    )
    if scores_box.open:  # The table of every customer is built only when asked for.
        with scores_box:
            st.caption(
                _(
                    "Scores 1–5 are quintiles: each score holds a fifth of the customers. Equal values are ordered by the "
                    "other two measures and then by customer id, so they can fall into neighbouring scores."
                )
            )
            customer_table(load_rfm(f, ctx.version, as_of, rules), "rfm_scores")

    def members(group: str) -> pd.Series:
        scores = load_rfm(f, ctx.version, as_of, rules)
        return scores.loc[scores["segment"] == group, "customer_id"]

    names = [r.name for r in rules if r.name in set(present["segment"])]
    if names:
        save_form(
            "rfm",
            names,
            members,
            label_of=lambda g: _(g),
            description_of=lambda g: _("RFM segment on {day}").format(day=fmt_date(as_of)),
        )
    map_editor()


def map_editor() -> None:
    with st.expander(_("Edit the segment map"), icon=":material/tune:"):
        st.caption(
            _(
                "Rules are checked from top to bottom; the first rule whose score ranges (1–5, inclusive) match a "
                "customer names the segment. Customers no rule matches are shown as 'Other'."
            )
        )
        with st.form("rfm_map_form", border=False):
            edited = st.data_editor(
                seg.map_to_frame(rules),
                num_rows="dynamic",
                hide_index=True,
                width="stretch",
                key="rfm_map_editor",
                column_config={
                    "segment": st.column_config.TextColumn(_("Segment"), required=True),
                    **{
                        c: st.column_config.NumberColumn(
                            c.replace("_", " "), min_value=1, max_value=5, step=1, required=True
                        )
                        for c in ("r_min", "r_max", "f_min", "f_max", "m_min", "m_max")
                    },
                    "action": st.column_config.TextColumn(_("Recommended action"), width="large"),
                },
            )
            cols = st.columns(2)
            save = cols[0].form_submit_button(_("Save map"), icon=":material/save:")
            reset = cols[1].form_submit_button(_("Restore the default map"), icon=":material/restart_alt:")
        if reset:
            seg.save_segment_map(ctx.con, None)
            flash(_("The default segment map is back."))
        if save:
            try:
                new_rules = seg.map_from_frame(edited)
            except ValueError:
                st.error(_("Every rule needs whole-number scores from 1 to 5."))
                return
            check = seg.save_segment_map(ctx.con, new_rules)
            if check.errors:
                st.error(_("Not saved: every rule needs a unique name and ranges with 1 ≤ min ≤ max ≤ 5."))
                return
            message = _("Segment map saved.")
            if check.unreachable:
                message += " " + _(
                    "These rules can never apply because earlier rules catch all their customers: {names}."
                ).format(names=", ".join(check.unreachable))
            if check.uncovered:
                message += " " + _("{n} of 125 score combinations match no rule and show as 'Other'.").format(
                    n=len(check.uncovered)
                )
            flash(message)
        check = seg.check_segment_map(rules)
        if check.unreachable:
            st.warning(_("Rules that can never apply: {names}.").format(names=", ".join(check.unreachable)))
        if check.uncovered:
            st.warning(_("{n} of 125 score combinations match no rule.").format(n=len(check.uncovered)))


# --- ABC -----------------------------------------------------------------------------------


def abc_tab() -> None:
    cols = st.columns(2)
    a = cols[0].slider(_("Class A: top customers up to this share of revenue (%)"), 50, 95, 80, 1, key="abc_a")
    ab = cols[1].slider(_("Classes A and B together: up to (%)"), 55, 100, 95, 1, key="abc_b")
    if ab <= a:
        st.error(_("The second cut-off must be larger than the first."))
        return
    cutoffs = (a / 100, ab / 100)
    summary, curve = load_abc_summary(f, ctx.version, as_of, rules, cutoffs)
    with st.container(horizontal=True):
        for row in summary.itertuples():
            st.metric(
                _("Class {name}").format(name=row.abc_class),
                _("{n} customers").format(n=fmt_number(row.customers)),
                delta=_("{c} of customers, {r} of revenue").format(
                    c=fmt_pct(row.customer_share), r=fmt_pct(row.revenue_share)
                ),
                delta_color="off",
                delta_arrow="off",
                border=True,
            )
    st.plotly_chart(
        charts.pareto_chart(
            curve,
            summary,
            cutoffs=cutoffs,
            title=_("Pareto curve of revenue"),
            x_title=_("Share of customers, largest first (%)"),
            y_title=_("Cumulative share of revenue (%)"),
            class_label=_("Class {name}: {customers:.1%} of customers"),
        ),
        width="stretch",
        key="abc_pareto",
    )
    st.caption(
        _(
            "Class A is the smallest group of top customers that brings at least the first share of revenue; the "
            "customer who crosses the line still counts to A. Customers without positive revenue are always C."
        )
    )
    st.dataframe(
        share_columns(summary, ["customer_share", "revenue_share"]),
        hide_index=True,
        width="stretch",
        column_config={
            "abc_class": _("Class"),
            "customers": _("Customers"),
            "customer_share": st.column_config.NumberColumn(_("Customers (%)"), format="%.1f %%"),
            "revenue": st.column_config.NumberColumn(_("Net revenue"), format="€%,.0f"),
            "revenue_share": st.column_config.NumberColumn(_("Revenue (%)"), format="%.1f %%"),
        },
        key="abc_summary",
    )
    download_buttons(summary, "abc_classes")
    classes_box = st.expander(
        _("Class per customer"), icon=":material/table_rows:", key="abc_customers_open", on_change="rerun"
    )
    if classes_box.open:  # The table of every customer is built only when asked for.
        with classes_box:
            customer_table(load_abc(f, ctx.version, as_of, rules, cutoffs), "abc_customers")

    def members(group: str) -> pd.Series:
        classes = load_abc(f, ctx.version, as_of, rules, cutoffs)
        return classes.loc[classes["abc_class"] == group, "customer_id"]

    save_form(
        "abc",
        summary.loc[summary["customers"] > 0, "abc_class"].tolist(),
        members,
        label_of=lambda g: _("ABC class {name}").format(name=g),
        description_of=lambda g: _("ABC class with cut-offs {a} % / {b} %").format(a=a, b=ab),
    )


# --- clusters ------------------------------------------------------------------------------


def cluster_settings() -> tuple[tuple, str, int]:
    """The clustering choices (kept in session state so the Personas tab can reuse them)."""
    columns = tuple(st.session_state.get("cl_features") or seg.FEATURES)
    method = st.session_state.get("cl_method") or "kmeans"
    seed = int(st.session_state.get("cl_seed") or 0)
    return columns, method, seed


def cluster_name(cluster: int, traits: dict) -> str:
    words = [TRAIT_WORDS.get(t, t[0]) for t in traits.get(cluster, [])]
    return _("Cluster {n}").format(n=cluster + 1) + (": " + ", ".join(words) if words else "")


def clusters_tab() -> None:
    if checks["customers"] < 10:  # the customers with a usable order line are those clustered
        st.info(_("Clustering needs at least 10 customers with orders in the selection."))
        return
    cols = st.columns([3, 1, 1])
    cols[0].multiselect(
        _("Features"),
        list(seg.FEATURES),
        default=list(seg.FEATURES),
        format_func=lambda c: FEATURE_NAMES[c],
        key="cl_features",
        help=_("Counts and money are taken as logarithms, then every feature is standardised."),
    )
    cols[1].radio(
        _("Method"),
        ["kmeans", "gmm"],
        format_func=lambda m: _("k-means") if m == "kmeans" else _("Gaussian mixture"),
        key="cl_method",
    )
    cols[2].number_input(
        _("Seed"), min_value=0, max_value=9999, value=0, step=1, key="cl_seed", help=_("Same seed, same clusters.")
    )
    columns, method, seed = cluster_settings()
    if not st.session_state.get("cl_features"):
        st.warning(_("Choose at least one feature."))
        return
    diagnostics = load_diagnostics(f, ctx.version, as_of, columns, method, seed)
    if diagnostics.empty:
        st.info(_("The customers are too alike to form clusters."))
        return
    suggestion = seg.suggest_k(diagnostics)
    st.plotly_chart(
        charts.diagnostics_chart(
            diagnostics,
            suggested_k=suggestion.k,
            title=_("Choosing the number of clusters (sample of up to 2,000 customers)"),
            x_title=_("Number of clusters k"),
            panel_titles=(
                _("Elbow: inertia (lower is tighter)"),
                _("Silhouette (higher is better)"),
                _("Davies–Bouldin (lower is better)"),
            ),
        ),
        width="stretch",
        key="cl_diagnostics",
    )
    criteria = {"silhouette": _("silhouette"), "davies_bouldin": _("Davies–Bouldin"), "elbow": _("elbow")}
    reason = ", ".join(criteria[c] for c in suggestion.criteria)
    st.info(
        _(
            "Suggested k = {k}: chosen by {reason}. Silhouette alone picks {s}, Davies–Bouldin {d}, the elbow {e}."
        ).format(
            k=suggestion.k,
            reason=reason,
            s=suggestion.silhouette_k,
            d=suggestion.davies_bouldin_k,
            e=suggestion.elbow_k,
        ),
        icon=":material/lightbulb:",
    )
    with st.expander(_("Diagnostics as a table"), icon=":material/table_rows:"):
        st.dataframe(diagnostics, hide_index=True, width="stretch", key="cl_diag_table")
        download_buttons(diagnostics, "cluster_diagnostics")
    ks = [int(k) for k in diagnostics["k"]]
    k = st.select_slider(_("Number of clusters"), ks, value=suggestion.k if suggestion.k in ks else ks[0], key="cl_k")
    profiles, projection = load_cluster_view(f, ctx.version, as_of, columns, method, seed, k)
    traits = seg.cluster_traits(profiles, columns=columns)
    names = {int(c): cluster_name(int(c), traits) for c in profiles["cluster"]}
    st.plotly_chart(
        charts.pca_scatter(
            projection,
            names=names,
            title=_("Clusters in two dimensions (PCA)"),
            x_title=_("Component 1 ({share:.0%} of variance)"),
            y_title=_("Component 2 ({share:.0%} of variance)"),
        ),
        width="stretch",
        key="cl_pca",
    )
    st.subheader(_("Cluster profiles (averages)"))
    display = share_columns(profiles, ["share", "revenue_share", "digital_share"])
    display.insert(1, "name", display["cluster"].map(names))
    st.dataframe(
        display.drop(columns=["cluster"]),
        hide_index=True,
        width="stretch",
        column_config={
            "name": _("Cluster"),
            "customers": _("Customers"),
            "share": st.column_config.NumberColumn(_("Customers (%)"), format="%.1f %%"),
            "revenue_share": st.column_config.NumberColumn(_("Revenue (%)"), format="%.1f %%"),
            "recency_days": st.column_config.NumberColumn(FEATURE_NAMES["recency_days"], format="%.0f"),
            "frequency": st.column_config.NumberColumn(FEATURE_NAMES["frequency"], format="%.1f"),
            "monetary": st.column_config.NumberColumn(FEATURE_NAMES["monetary"], format="€%,.0f"),
            "tenure_days": st.column_config.NumberColumn(FEATURE_NAMES["tenure_days"], format="%.0f"),
            "digital_share": st.column_config.NumberColumn(FEATURE_NAMES["digital_share"] + " (%)", format="%.0f %%"),
            "service_contacts": st.column_config.NumberColumn(FEATURE_NAMES["service_contacts"], format="%.1f"),
        },
        key="cl_profiles",
    )
    download_buttons(profiles.assign(name=profiles["cluster"].map(names)), "cluster_profiles")

    def members(group: int) -> pd.Series:
        assignment = load_clusters(f, ctx.version, as_of, columns, method, seed, k)[0]
        return assignment.loc[assignment["cluster"] == group, "customer_id"]

    save_form(
        "clusters",
        [int(c) for c in profiles["cluster"]],
        members,
        label_of=lambda g: names[g],
        description_of=lambda g: _("Cluster of {k} ({method}, seed {seed})").format(k=k, method=method, seed=seed),
    )


# --- personas ------------------------------------------------------------------------------


def persona_card(row, need: str, title: str) -> None:
    with st.container(border=True, height="stretch"):
        st.markdown(f"#### {row.persona} · {title}")
        st.caption(
            _("{n} customers ({share} of those scored)").format(n=fmt_number(row.customers), share=fmt_pct(row.share))
        )
        typical = []
        if isinstance(row.customer_type, str):
            typical.append(_("mostly {type}").format(type=row.customer_type))
        if isinstance(row.country, str):
            typical.append(_("often from {country}").format(country=row.country))
        if isinstance(row.customer_segment, str):
            typical.append(_(row.customer_segment))
        if pd.notna(row.median_age) and row.customer_type != "B2B":
            typical.append(_("about {age} years old").format(age=fmt_number(row.median_age)))
        if pd.notna(row.median_employees) and row.customer_type == "B2B":
            typical.append(_("firm of about {n} employees").format(n=fmt_number(row.median_employees)))
        if pd.notna(row.median_tenure_days):
            typical.append(_("customer for about {m} months").format(m=fmt_number(row.median_tenure_days / 30.4)))
        st.markdown(":material/person: " + (", ".join(typical) or "–"))
        channels = ", ".join(_(c) for c in row.channels) if len(row.channels) else _("no recorded touches")
        stage = _(row.stage) if isinstance(row.stage, str) else "–"
        st.markdown(
            ":material/forum: "
            + _("Prefers: {channels}; usually gets as far as: {stage}").format(channels=channels, stage=stage)
        )
        st.markdown(
            ":material/payments: "
            + _("Medians per customer: spends {spend} · {orders} orders · {aov} per order").format(
                spend=fmt_money(row.median_monetary),
                orders=fmt_number(row.median_orders, 1),
                aov=fmt_money(row.median_order_value),
            )
        )
        st.markdown(":material/volunteer_activism: " + _("Needs: {need}").format(need=need))


def personas_tab() -> None:
    basis = st.segmented_control(
        _("Personas for"),
        ["rfm", "clusters"],
        default="rfm",
        format_func=lambda v: _("RFM segments") if v == "rfm" else _("Clusters"),
        key="persona_basis",
        required=True,
    )
    st.caption(
        _("Each card describes the typical customer of a group. Churn risk will appear here once churn scores exist.")
    )
    if basis == "clusters":
        if checks["customers"] < 10:
            st.info(_("Clustering needs at least 10 customers with orders in the selection."))
            return
        columns, method, seed = cluster_settings()
        diagnostics = load_diagnostics(f, ctx.version, as_of, columns, method, seed)
        if diagnostics.empty:
            st.info(_("The customers are too alike to form clusters."))
            return
        k = int(st.session_state.get("cl_k") or seg.suggest_k(diagnostics).k)
        profiles, _projection = load_cluster_view(f, ctx.version, as_of, columns, method, seed, k)
        traits = seg.cluster_traits(profiles, columns=columns)
        table = load_cluster_personas(f, ctx.version, as_of, columns, method, seed, k)
        titles = {str(c): cluster_name(int(c), traits) for c in profiles["cluster"]}
        needs = {
            str(c): " ".join(TRAIT_NEEDS.get(t, "") for t in traits.get(int(c), [])[:1]) for c in profiles["cluster"]
        }
    else:
        table = load_rfm_personas(f, ctx.version, as_of, rules)
        titles = {r.name: _(r.name) for r in rules}
        needs = {r.name: SEGMENT_NEEDS.get(r.name) or (_(r.action) if r.action else "–") for r in rules}
    for start in range(0, len(table), 3):
        columns = st.columns(3)
        for column, row in zip(columns, table.iloc[start : start + 3].itertuples(), strict=False):
            with column:
                persona_card(row, needs.get(row.group, "–"), titles.get(row.group, row.group))
    download_buttons(table.assign(channels=table["channels"].map(", ".join)), "personas")


# --- lifecycle -----------------------------------------------------------------------------


def lifecycle_tab() -> None:
    current = load_lifecycle_rules(ctx.version)
    with st.expander(_("Stage rules"), icon=":material/rule:"):
        st.markdown(
            _(
                "At the end of each month every customer who has bought before gets one stage:\n\n"
                "- **new**: within the first {new} month(s) after the first purchase;\n"
                "- **loyal**: bought within the last {active} days and placed at least {orders} orders in the last {months} months;\n"
                "- **active**: bought within the last {active} days;\n"
                "- **at risk**: last purchase {active} to {lost} days ago;\n"
                "- **lost**: last purchase more than {lost} days ago."
            ).format(
                new=current.new_months,
                active=current.active_days,
                orders=current.loyal_orders,
                months=current.loyal_months,
                lost=current.lost_days,
            )
        )
        with st.form("lifecycle_rules", border=False):
            cols = st.columns(5)
            new_months = cols[0].number_input(_("New for months"), 1, 24, current.new_months, key="lc_new")
            active_days = cols[1].number_input(_("Active within days"), 1, 3650, current.active_days, key="lc_active")
            lost_days = cols[2].number_input(_("Lost after days"), 2, 3650, current.lost_days, key="lc_lost")
            loyal_orders = cols[3].number_input(_("Loyal from orders"), 1, 1000, current.loyal_orders, key="lc_orders")
            loyal_months = cols[4].number_input(
                _("Loyalty window (months)"), 1, 120, current.loyal_months, key="lc_months"
            )
            submitted = st.form_submit_button(_("Save rules"), icon=":material/save:")
        if submitted:
            new_rules = seg.LifecycleRules(
                int(new_months), int(active_days), int(lost_days), int(loyal_orders), int(loyal_months)
            )
            problems = seg.save_lifecycle_rules(ctx.con, new_rules)
            if problems:
                st.error(_("Not saved: 'Lost after days' must be larger than 'Active within days'."))
            else:
                flash(_("Lifecycle rules saved."))
    counts = load_lifecycle(f, ctx.version, as_of, current)
    if counts.empty:
        st.info(_("No customer has bought by the end of this period."))
        return
    show_lost = st.toggle(
        _("Include lost customers"),
        value=True,
        key="lc_show_lost",
        help=_("Lost customers pile up over time; hide them to see the other stages more clearly."),
    )
    st.plotly_chart(
        charts.lifecycle_area(
            counts if show_lost else counts[counts["stage"] != "lost"],
            stage_names=STAGE_NAMES,
            title=_("Customers by lifecycle stage at each month end"),
            x_title=_("Month"),
            y_title=_("Customers"),
        ),
        width="stretch",
        key="lc_area",
    )
    months = sorted(pd.to_datetime(counts["month"]).dt.date.unique())
    wide = counts.pivot(index="month", columns="stage", values="customers").reindex(columns=list(seg.LIFECYCLE_STAGES))
    with st.expander(_("Counts as a table"), icon=":material/table_rows:"):
        st.dataframe(wide, width="stretch", key="lc_table")
        download_buttons(wide.reset_index(), "lifecycle_counts")
    if len(months) >= 2:
        start, end = st.select_slider(
            _("Flows from month to month"),
            options=months,
            value=(months[-2], months[-1]),
            format_func=lambda d: d.strftime("%b %Y"),
            key="lc_flow_months",
        )
        if start == end:
            st.info(_("Choose two different months to see the flows."))
        else:
            flows = load_flows(f, ctx.version, as_of, current, start, end)
            st.plotly_chart(
                charts.lifecycle_sankey(
                    flows,
                    stage_names=STAGE_NAMES,
                    title=_("Where customers moved from {a} to {b}").format(
                        a=start.strftime("%b %Y"), b=end.strftime("%b %Y")
                    ),
                    from_suffix=" · " + start.strftime("%b %y"),
                    to_suffix=" · " + end.strftime("%b %y"),
                ),
                width="stretch",
                key="lc_sankey",
            )
            with st.expander(_("Flows as a table"), icon=":material/table_rows:"):
                st.dataframe(flows, hide_index=True, width="stretch", key="lc_flows")
                download_buttons(flows, "lifecycle_flows")
    last = months[-1]
    in_last = counts[(pd.to_datetime(counts["month"]).dt.date == last) & (counts["customers"] > 0)]
    present = [s for s in seg.LIFECYCLE_STAGES if s in set(in_last["stage"])]

    def members(group: str) -> pd.Series:
        stages = load_stage_members(f, ctx.version, as_of, current, last)
        return stages.loc[stages["stage"] == group, "customer_id"]

    if present:
        save_form(
            "lifecycle",
            present,
            members,
            label_of=lambda g: _("Stage '{stage}' in {month}").format(
                stage=STAGE_NAMES[g], month=last.strftime("%b %Y")
            ),
            description_of=lambda g: _("Lifecycle stage at the end of {month}").format(month=last.strftime("%b %Y")),
        )


# --- saved segments ------------------------------------------------------------------------


def saved_tab() -> None:
    saved = load_saved(ctx.version)
    st.caption(
        _(
            "Saved segments are fixed lists of customers. Pick one under 'Saved segment' in the sidebar to filter every page by it."
        )
    )
    if saved.empty:
        st.info(_("No saved segments yet. Save a group from the RFM, ABC, Clusters or Lifecycle tab."))
        return
    st.dataframe(
        saved,
        hide_index=True,
        width="stretch",
        column_config={
            "name": _("Name"),
            "description": _("Description"),
            "customers": _("Customers"),
            "created_at": st.column_config.DatetimeColumn(_("Saved at"), format="D MMM YYYY, HH:mm"),
        },
        key="saved_table",
    )
    name = st.selectbox(_("Segment"), saved["name"].tolist(), key="saved_pick")
    members = load_members(ctx.version, name)
    st.markdown(_("**{name}**: {n} customers").format(name=name, n=fmt_number(len(members))))
    download_buttons(members, f"segment_{name}", key="saved_members")
    with st.popover(_("Remove this segment"), icon=":material/delete:"):
        st.write(_("Remove '{name}'? Pages filtered by it show all customers again.").format(name=name))
        if st.button(_("Remove"), type="primary", key="saved_delete"):
            seg.delete_saved_segment(ctx.con, name)
            if st.session_state.get("f_saved") == name:
                st.session_state["f_saved"] = None
            flash(_("Removed '{name}'.").format(name=name))


# --- storyboard ----------------------------------------------------------------------------

TABS = (
    (tab_rfm, rfm_tab),
    (tab_abc, abc_tab),
    (tab_clusters, clusters_tab),
    (tab_personas, personas_tab),
    (tab_lifecycle, lifecycle_tab),
    (tab_saved, saved_tab),
)
for tab, draw in TABS:
    if tab.open:
        with tab:
            draw()
