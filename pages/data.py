"""Data: import files with a checked column mapping, the import log with undo, data quality, export,
privacy (erase a customer, audit log) and demo data."""

from __future__ import annotations

import streamlit as st

from analytics import ingest, privacy, schema
from ui.downloads import download_buttons, table_download_buttons
from ui.frame import cursor, page_setup
from ui.i18n import _, fmt_number

ctx = page_setup(_("Data"), filters=False)

TABLE_LABELS = {
    "customers": _("Customers"),
    "interactions": _("Interactions"),
    "orders": _("Orders (order lines)"),
    "kano_responses": _("Kano survey answers"),
    "requirements": _("Requirements"),
}
MODE_LABELS = {
    "append": _("Append: add the rows (rows already stored are rejected)"),
    "replace": _("Replace: the file becomes the whole table"),
    "upsert": _("Add or update: stored rows with the same key get the file's columns updated"),
}
DELIMITER_LABELS = {",": _("comma"), ";": _("semicolon"), "\t": _("tab"), "|": _("pipe")}
IGNORE = "—"
EXCEL_ROWS = 100_000
#: Rejected rows are offered as Excel up to this many rows (a spreadsheet of more takes minutes to write).
EXCEL_REJECTED_ROWS = 100_000

#: Readable names of the canonical columns (mapping targets, mapped preview).
COLUMN_LABELS = {
    "customer_id": _("Customer id"),
    "name": _("Name"),
    "email": _("E-mail"),
    "customer_type": _("Customer type"),
    "country": _("Country"),
    "region": _("Region"),
    "city": _("City"),
    "industry": _("Industry"),
    "acquisition_channel": _("Acquisition channel"),
    "segment": _("Segment"),
    "signup_date": _("Customer since"),
    "birth_year": _("Birth year"),
    "employees": _("Employees"),
    "interaction_id": _("Interaction id"),
    "occurred_at": _("Date and time"),
    "event": _("Event"),
    "stage": _("Journey stage"),
    "channel": _("Channel"),
    "properties": _("Properties"),
    "order_id": _("Order number"),
    "line_no": _("Line number"),
    "ordered_at": _("Order date"),
    "product": _("Product"),
    "description": _("Description"),
    "quantity": _("Quantity"),
    "unit_price": _("Unit price"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "respondent_id": _("Respondent id"),
    "feature": _("Feature"),
    "functional": _("Functional answer"),
    "dysfunctional": _("Dysfunctional answer"),
    "importance": _("Importance"),
    "wave": _("Survey wave"),
    "requirement_id": _("Requirement id"),
    "title": _("Title"),
    "source": _("Source"),
    "type": _("Type"),
    "background": _("Background"),
    "goal": _("Goal"),
    "moscow": _("MoSCoW priority"),
    "kano_feature": _("Kano feature"),
    "status": _("Status"),
    "effort": _("Effort"),
    "urgency": _("Urgency"),
    "risk": _("Risk"),
    "owner": _("Owner"),
    "updated_at": _("Updated at"),
}
#: Where the same column name means something else in one table.
TABLE_COLUMN_LABELS = {("orders", "channel"): _("Sales channel")}
REJECT_HEADERS = {"row": _("Row"), "column": _("Column"), "value": _("Value"), "reason": _("Reason")}
LOG_MODES = {"append": _("Append"), "replace": _("Replace"), "upsert": _("Add or update")}
LOG_STATUSES = {"loaded": _("Loaded"), "undone": _("Undone")}


def current_user() -> str:
    """Who is importing: the signed-in user's e-mail, else 'local user'."""
    try:
        if getattr(st.user, "is_logged_in", False):
            return str(st.user.get("email") or st.user.get("name") or "local user")
    except Exception:  # noqa: S110 - no sign-in configured: a local single-user set-up.
        pass
    return "local user"


MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+-.!|~$"})


def plain(text: str) -> str:
    """Text that may quote a file's headers or values, escaped so Markdown shows it as typed."""
    return str(text).translate(MARKDOWN_SPECIALS)


def after_write() -> None:
    """Every page reads fresh data after a write."""
    st.cache_data.clear()


def table_label(name: str) -> str:
    return TABLE_LABELS.get(name, name.replace("_", " ").capitalize())


def column_label(table: str, column: str) -> str:
    """Canonical column -> readable name ('unit_price' -> 'Unit price')."""
    if (table, column) in TABLE_COLUMN_LABELS:
        return TABLE_COLUMN_LABELS[(table, column)]
    return COLUMN_LABELS.get(column, _(column.replace("_", " ").capitalize()))


# --- Import ---------------------------------------------------------------------------------


def preview_for(upload) -> ingest.Preview:
    """Preview of the uploaded file, computed once per file."""
    cached = st.session_state.get("data_preview")
    file_key = (upload.file_id, upload.name, upload.size)
    if cached is None or cached[0] != file_key:
        preview = ingest.read_preview(upload, file_name=upload.name, con=ctx.con)
        st.session_state["data_preview"] = (file_key, preview)
        return preview
    return cached[1]


def describe_format(preview: ingest.Preview) -> str:
    parts = [_("Format: {kind}").format(kind=preview.kind.upper())]
    if preview.encoding:
        parts.append(_("encoding {encoding}").format(encoding=preview.encoding))
    if preview.delimiter:
        parts.append(_("separator: {name}").format(name=DELIMITER_LABELS.get(preview.delimiter, preview.delimiter)))
        parts.append(_("decimal comma") if preview.decimal == "," else _("decimal point"))
    if preview.date_orders:
        dates = ", ".join(f"{h}: {order}" for h, order in preview.date_orders.items())
        parts.append(_("dates {dates}").format(dates=dates))
    if preview.german:
        parts.append(_("German layout"))
    return " · ".join(parts)


def mapping_editor(table: str, preview: ingest.Preview) -> dict[str, str]:
    """One select box per canonical column, prefilled from the remembered mapping or the guess."""
    suggested, remembered = ingest.suggest_mapping(ctx.con, table, preview.headers)
    by_column = {column: header for header, column in suggested.items()}
    layout = ingest.layout_key(table, preview.headers)[:10]
    if remembered:
        st.caption(_("The mapping you used last time for this file layout is filled in."))
    columns = [c for c in schema.TABLES[table].columns if c.name != "import_id"]
    options = [IGNORE, *preview.headers]
    chosen: dict[str, str] = {}
    grid = st.columns(3)
    for i, column in enumerate(columns):
        label = column_label(table, column.name) + (" *" if column.required else "")
        default = by_column.get(column.name)
        with grid[i % 3]:
            picked = st.selectbox(
                label,
                options,
                index=options.index(default) if default in options else 0,
                key=f"map_{layout}_{column.name}",
                help=_("Required column") if column.required else None,
            )
        if picked != IGNORE:
            chosen[picked] = column.name
    return chosen


def required_labels(table: str, columns: list[str] | None = None) -> str:
    """Required columns of ``table`` (or the ``columns`` given) as the mapping boxes name them."""
    if columns is None:
        columns = [c.name for c in schema.TABLES[table].columns if c.required]
    return ", ".join(column_label(table, c) for c in columns)


def one_column_error(table: str, preview: ingest.Preview) -> str | None:
    """The message for a file that yields a single column the required columns cannot come from, else None."""
    if len(preview.headers) != 1:
        return None
    suggested, _remembered = ingest.suggest_mapping(ctx.con, table, preview.headers)
    if not ingest.missing_required(table, suggested):
        return None  # e.g. a plain list of customer ids
    return _(
        "This file does not look like a table: only one column was found, because its values are not separated "
        "by commas, semicolons, tabs or pipes (a fixed-width text file, for example). {table} needs at least: "
        "{required}. Save the data as CSV or Excel with one column per field and upload it again. "
        "The file's first line reads: “{line}”."
    ).format(table=table_label(table), required=required_labels(table), line=preview.headers[0][:80])


def mapping_problem(table: str, mapping: dict[str, str]) -> tuple[str, str] | None:
    """('error' | 'warning', message) when required columns are not mapped, else None."""
    missing = ingest.missing_required(table, mapping)
    if not missing:
        return None
    required = [c.name for c in schema.TABLES[table].columns if c.required]
    if len(missing) == len(required):
        return "error", _(
            "This file has no column for what {table} needs: {required}. Choose the file column for each box "
            "marked * above, or check that this is the right file for this table."
        ).format(table=table_label(table), required=required_labels(table))
    return "warning", _("Still to map before loading: {missing}. Choose the file column for each box marked *.").format(
        missing=required_labels(table, missing)
    )


def mapped_preview(table: str, preview: ingest.Preview, mapping: dict[str, str]):
    frame = preview.rows[[h for h in mapping if h in preview.rows.columns]].copy()
    frame.columns = [column_label(table, mapping[h]) for h in frame.columns]
    return frame


def upload_context(table: str, upload) -> tuple | None:
    """What the shown import result belongs to: the target table and the uploaded file."""
    if upload is None:
        return None
    return (table, upload.file_id, upload.name, upload.size)


def run_import(
    table: str,
    upload,
    mapping: dict[str, str],
    mode: str,
    pseudonymise: bool,
    create_customers: bool,
    allow_same_file: bool = False,
):
    with st.status(_("Importing {file}…").format(file=upload.name), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(fraction: float, text: str) -> None:
            bar.progress(fraction, text=_(text))

        report = ingest.load(
            ctx.con,
            table,
            upload,
            mapping=mapping,
            mode=mode,
            file_name=upload.name,
            user=current_user(),
            pseudonymise=pseudonymise,
            create_missing_customers=create_customers,
            progress=progress,
            allow_same_file=allow_same_file,
        )
        if report.ok:
            status.update(label=_("Import finished"), state="complete", expanded=False)
            after_write()
        else:
            status.update(label=_("Nothing was loaded"), state="error", expanded=False)
    st.session_state["data_report"] = report
    st.session_state["data_report_for"] = upload_context(table, upload)


def show_report(report: ingest.ImportReport) -> None:
    with st.container(border=True):
        st.subheader(_("Import result"))
        if report.ok:
            st.success(
                _("{loaded} rows loaded into {table}.").format(
                    loaded=fmt_number(report.rows_loaded), table=table_label(report.table)
                ),
                icon=":material/check_circle:",
            )
        else:
            st.error(plain(report.error or _("Nothing was loaded.")), icon=":material/error:")
        with st.container(horizontal=True):
            st.metric(_("Rows read"), fmt_number(report.rows_read), border=True)
            st.metric(_("Rows loaded"), fmt_number(report.rows_loaded), border=True)
            st.metric(_("Rows rejected"), fmt_number(report.rows_rejected), border=True)
            if report.customers_created:
                st.metric(_("Customers created"), fmt_number(report.customers_created), border=True)
        for message in report.messages:
            if message != report.error:
                st.info(plain(message), icon=":material/info:")
        if report.skipped:
            st.markdown(_("**Rejected rows by reason**"))
            st.dataframe(
                [{_("Reason"): reason, _("Rows"): fmt_number(count)} for reason, count in report.skipped.items()],
                hide_index=True,
                width="stretch",
            )
        if not report.rejects.empty:
            st.markdown(_("**Problems, row by row** (row = data row of the file, value as written in it)"))
            st.dataframe(shown_rejects(report.rejects), hide_index=True, width="stretch")
            rejected_downloads(report)


def shown_rejects(rejects):
    """Rejects (row, column, value, reason) as shown: empty cells as '(empty)', problems of a whole line named so."""
    values = rejects["value"].astype(object)
    blank = values.isna() | values.astype(str).str.strip().eq("")
    columns = rejects["column"].astype(object)
    return rejects.assign(
        value=values.where(~blank, _("(empty)")),
        column=columns.where(columns.notna(), _("(whole line)")),
    ).rename(columns=REJECT_HEADERS)


def rejected_downloads(report: ingest.ImportReport) -> None:
    """Downloads of the rejected rows as they were in the file, built only when asked for.

    Building the files (Excel above all: about a minute for 100,000 rows) on every rerun of the page
    made the page unusable after a big import, so the bytes are built once, in the run of the click.
    """
    rows = report.rejected_rows
    if rows.empty:
        return
    st.caption(_("Download the rejected rows as they were in the file, fix them and upload them again."))
    excel = len(rows) <= EXCEL_REJECTED_ROWS
    if not excel:
        st.caption(
            _("{rows} rejected rows: Excel is offered up to {n} rows; use CSV.").format(
                rows=fmt_number(len(rows)), n=fmt_number(EXCEL_REJECTED_ROWS)
            )
        )
    if st.button(_("Prepare the rejected rows for download"), icon=":material/download:", key="data_rejected_prepare"):
        download_buttons(rows, "rejected_rows", key="rejected", formats=("csv", "xlsx") if excel else ("csv",))


def import_tab() -> None:
    table = st.selectbox(_("Table to load into"), schema.IMPORTABLE, format_func=table_label, key="data_table")
    upload = st.file_uploader(
        _("File (CSV, CSV.GZ, Excel .xlsx or Parquet)"),
        type=["csv", "txt", "tsv", "gz", "xlsx", "parquet"],
        key="data_upload",
        help=_(
            "Any separator (comma, semicolon, tab, pipe), UTF-8, Latin-1 or UTF-16, decimal comma and day-first dates."
        ),
    )
    if st.session_state.get("data_report_for") != upload_context(table, upload):
        # Another file or table: the result of the previous import no longer belongs on screen.
        st.session_state.pop("data_report", None)
        st.session_state.pop("data_report_for", None)
    if upload is None:
        st.info(_("Choose a file to see what was detected and how its columns map."), icon=":material/upload_file:")
    else:
        preview = preview_for(upload)
        not_a_table = None if preview.error else one_column_error(table, preview)
        if preview.error or not_a_table:
            st.error(plain(preview.error or not_a_table), icon=":material/error:")
        else:
            st.caption(describe_format(preview))
            st.markdown(_("**Column mapping** (* required)"))
            mapping = mapping_editor(table, preview)
            problem = mapping_problem(table, mapping)
            if mapping:
                st.markdown(_("**Preview of the mapped rows**"))
                st.dataframe(mapped_preview(table, preview, mapping), hide_index=True, width="stretch")
            else:
                st.markdown(_("**First rows of the file**"))
                st.dataframe(preview.rows, hide_index=True, width="stretch")
            if problem:
                level, message = problem
                if level == "error":
                    st.error(plain(message), icon=":material/error:")
                else:
                    st.warning(plain(message), icon=":material/warning:")
            mode = st.radio(_("Mode"), list(MODE_LABELS), format_func=MODE_LABELS.get, horizontal=True, key="data_mode")
            pseudonymise = st.checkbox(
                _("Pseudonymise personal columns"),
                key="data_pseudonymise",
                help=_("Names, e-mail addresses and cities are stored as keyed codes; birth years as decades."),
            )
            create_customers = False
            if table == "orders":
                create_customers = st.checkbox(
                    _("Create missing customers"),
                    key="data_create_customers",
                    help=_(
                        "Order lines of customers not yet stored add a customer with only an id, country and first order date."
                    ),
                )
            allow_same_file = st.checkbox(
                _("Load it even if the same file was loaded before"),
                key="data_allow_same_file",
                help=_(
                    "A file with exactly the same content as a loaded import is refused, as it is usually the same "
                    "file twice."
                ),
            )
            if st.button(
                _("Validate and load"),
                type="primary",
                icon=":material/upload:",
                key="data_load",
                disabled=problem is not None,
                help=_("Map every column marked * first.") if problem else None,
            ):
                run_import(table, upload, mapping, mode, pseudonymise, create_customers, allow_same_file)
    report = st.session_state.get("data_report")
    if report is not None:
        show_report(report)


# --- Imports log ----------------------------------------------------------------------------


def log_tab() -> None:
    if message := st.session_state.pop("undo_message", None):
        st.success(message, icon=":material/check_circle:")
    log = ingest.imports_log(ctx.con)
    if log.empty:
        st.info(_("No file has been imported yet."))
        return
    shown = log.drop(columns=["details"]).assign(
        table_name=log["table_name"].map(table_label),
        mode=log["mode"].map(lambda m: LOG_MODES.get(m, m)),
        status=log["status"].map(lambda s: LOG_STATUSES.get(s, s)),
        rows_read=log["rows_read"].map(fmt_number),
        rows_loaded=log["rows_loaded"].map(fmt_number),
        rows_rejected=log["rows_rejected"].map(fmt_number),
    )
    shown = shown.rename(
        columns={
            "import_id": _("Import"),
            "table_name": _("Table"),
            "file_name": _("File"),
            "mode": _("Mode"),
            "rows_read": _("Rows read"),
            "rows_loaded": _("Rows loaded"),
            "rows_rejected": _("Rows rejected"),
            "user_name": _("By"),
            "started_at": _("Started"),
            "finished_at": _("Finished"),
            "status": _("Status"),
            "checksum": _("SHA-256"),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    undoable = log[log["status"] == "loaded"]
    if undoable.empty:
        return
    with st.container(border=True):
        st.markdown(_("**Undo an import**"))
        labels = {
            int(
                r.import_id
            ): f"#{r.import_id} · {table_label(r.table_name)} · {r.file_name} · {fmt_number(r.rows_loaded)} "
            + _("rows")
            for r in undoable.itertuples()
        }
        chosen = st.selectbox(_("Import"), list(labels), format_func=labels.get, key="undo_pick")
        confirm = st.checkbox(
            _("Yes, take this import back (its rows are removed; rows it replaced come back)"), key="undo_confirm"
        )
        if st.button(_("Undo import"), disabled=not confirm, icon=":material/undo:", key="undo_button"):
            try:
                result = ingest.undo(ctx.con, chosen, user=current_user())
            except ingest.IngestError as exc:
                st.error(str(exc))
            else:
                after_write()
                st.session_state["undo_message"] = _(
                    "Import #{id} undone: {removed} rows removed, {restored} rows restored, {customers} customers removed."
                ).format(
                    id=chosen,
                    removed=fmt_number(result["rows_removed"]),
                    restored=fmt_number(result["rows_restored"]),
                    customers=fmt_number(result["customers_removed"]),
                )
                st.rerun()


# --- Data quality ---------------------------------------------------------------------------


def quality_tab() -> None:
    try:
        from ui import quality_panel
    except ImportError:
        return
    quality_panel.render(ctx)


# --- Export ---------------------------------------------------------------------------------


def export_tab() -> None:
    table = st.selectbox(_("Table"), ingest.exportable_tables(), format_func=table_label, key="export_table")
    rows = ingest.table_rows(ctx.con, table)
    st.caption(
        _(
            "{rows} rows. Each file is written when you click its button. Text cells that start like a formula "
            "get a leading apostrophe in CSV and Excel."
        ).format(rows=fmt_number(rows))
    )
    if rows <= EXCEL_ROWS:
        table_download_buttons(
            ctx.con, table, formats=("csv", "xlsx", "parquet"), excel_rows=EXCEL_ROWS, key=f"export_{table}"
        )
        return
    # A large table: a plain CSV would be several times bigger than these, and a spreadsheet of this
    # size takes minutes to write. Both files are written by the database, never held as a table here.
    st.info(
        _(
            "This table is large, so the CSV file comes compressed (.csv.gz: unpack it before opening it in a "
            "spreadsheet) and Excel is offered only up to {n} rows. Writing the file can take a minute; "
            "the download starts when it is ready."
        ).format(n=fmt_number(EXCEL_ROWS)),
        icon=":material/info:",
    )
    table_download_buttons(ctx.con, table, formats=("csv.gz", "parquet"), key=f"export_{table}")


# --- Privacy --------------------------------------------------------------------------------


def privacy_tab() -> None:
    with st.container(border=True):
        st.markdown(_("**Erase one customer everywhere**"))
        st.caption(
            _(
                "Deletes the customer's rows from customers, interactions, orders, survey answers, churn scores, "
                "saved segments and import backups in one step. The audit log records that it happened, not who it was."
            )
        )
        customer_id = st.text_input(_("Customer id"), key="erase_id")
        confirm = st.checkbox(_("Yes, erase this customer for good"), key="erase_confirm")
        if st.button(
            _("Erase customer"), type="primary", disabled=not (confirm and customer_id.strip()), key="erase_button"
        ):
            try:
                removed = privacy.erase_customer(ctx.con, customer_id, actor=current_user())
            except privacy.PrivacyError as exc:
                st.error(str(exc))
            else:
                after_write()
                total = sum(removed.values())
                st.success(
                    _("Customer erased: {rows} rows removed.").format(rows=fmt_number(total)),
                    icon=":material/check_circle:",
                )
    st.caption(
        _("Pseudonymisation key file (kept outside the database): {path}").format(path=privacy.key_path(ctx.con))
    )
    st.markdown(_("**Audit log**"))
    st.dataframe(privacy.audit_log(cursor()), hide_index=True, width="stretch")


# --- Demo data ------------------------------------------------------------------------------


def demo_tab() -> None:
    st.caption(_("Replaces customers, interactions, orders, survey answers and requirements with generated demo data."))
    left, right = st.columns(2)
    seed = left.number_input(_("Seed"), min_value=0, max_value=1_000_000, value=7, step=1, key="demo_seed")
    size = right.number_input(_("Customers"), min_value=50, max_value=1_000_000, value=5000, step=500, key="demo_size")
    confirm = st.checkbox(_("Yes, replace the stored data with demo data"), key="demo_confirm")
    if st.button(_("Generate demo data"), disabled=not confirm, icon=":material/auto_awesome:", key="demo_button"):
        try:
            from analytics import demo
        except ImportError:
            st.error(_("The demo-data generator is not available in this installation."))
            return
        with st.spinner(_("Generating demo data…")):
            demo.generate(ctx.con, customers=int(size), seed=int(seed))
        after_write()
        st.success(_("Demo data generated: {n} customers, seed {seed}.").format(n=fmt_number(size), seed=int(seed)))


# Tabs run lazily: only the open one computes (the data-quality panel is the heaviest).
TAB_LABELS = [_("Import"), _("Imports log"), _("Data quality"), _("Export"), _("Privacy"), _("Demo data")]
tabs = st.tabs(TAB_LABELS, key="data_tab", on_change="rerun")
for tab, draw in zip(tabs, (import_tab, log_tab, quality_tab, export_tab, privacy_tab, demo_tab), strict=True):
    if tab.open:
        with tab:
            draw()
