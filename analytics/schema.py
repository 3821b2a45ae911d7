"""The canonical tables of the workbench, in one place.

Every table the app reads or writes is described here once. ``store`` builds its migrations from
these descriptions, ``ingest`` validates uploads against them, and pages show their labels.

Column types are DuckDB types. ``required`` columns must be present (mapped) in an upload;
``key`` columns identify a row for upserts and duplicate checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Column name in DuckDB (lower-case snake case).
    type : str
        DuckDB type: VARCHAR, BIGINT, INTEGER, DOUBLE, BOOLEAN, DATE, TIMESTAMP.
    required : bool, default=False
        Whether an upload must provide it.
    personal : bool, default=False
        Whether it holds personal data (pseudonymised on request, erased on request).
    synonyms : tuple of str
        Header names (English and German, lower case) that map to this column in an upload.
    """

    name: str
    type: str
    required: bool = False
    personal: bool = False
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A canonical table: name, columns, key columns and whether uploads may target it."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    importable: bool = False
    customer_column: str | None = None
    time_column: str | None = None
    extra_ddl: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type_: str, *synonyms: str, required: bool = False, personal: bool = False):
    return Column(name, type_, required=required, personal=personal, synonyms=synonyms)


# Columns every importable table carries: which import wrote the row (for undo and the log).
IMPORT_ID = _c("import_id", "BIGINT")

CUSTOMERS = Table(
    "customers",
    (
        _c(
            "customer_id",
            "VARCHAR",
            "customerid",
            "customer id",
            "customer_no",
            "customer number",
            "client id",
            "kundennummer",
            "kunden-nr",
            "kundennr",
            "kunde id",
            "kunden id",
            "kunden_id",
            "id",
            required=True,
        ),
        _c("name", "VARCHAR", "customer name", "full name", "company", "firma", "kundenname", "name", personal=True),
        _c("email", "VARCHAR", "e-mail", "email address", "mail", "e-mail-adresse", "emailadresse", personal=True),
        _c("customer_type", "VARCHAR", "type", "customer type", "b2b/b2c", "kundentyp", "kundenart", "typ"),
        _c("country", "VARCHAR", "country", "land", "country code", "länderkennzeichen"),
        _c("region", "VARCHAR", "region", "state", "bundesland", "gebiet"),
        _c("city", "VARCHAR", "city", "town", "stadt", "ort", personal=True),
        _c("industry", "VARCHAR", "industry", "sector", "branche", "industrie"),
        _c("acquisition_channel", "VARCHAR", "channel", "acquisition channel", "source", "akquisekanal", "kanal"),
        _c("segment", "VARCHAR", "segment", "customer segment", "kundensegment"),
        _c(
            "signup_date",
            "DATE",
            "signup",
            "signup date",
            "created",
            "customer since",
            "first purchase",
            "kunde seit",
            "anlagedatum",
            "registrierungsdatum",
        ),
        _c("birth_year", "INTEGER", "birth year", "year of birth", "geburtsjahr", personal=True),
        _c("employees", "INTEGER", "employees", "company size", "mitarbeiter", "mitarbeiterzahl"),
        IMPORT_ID,
    ),
    key=("customer_id",),
    importable=True,
    customer_column="customer_id",
    time_column="signup_date",
)

INTERACTIONS = Table(
    "interactions",
    (
        _c("interaction_id", "VARCHAR", "interaction id", "event id", "id", "ereignis-id"),
        _c(
            "customer_id",
            "VARCHAR",
            "customerid",
            "customer id",
            "customer",
            "user id",
            "distinct_id",
            "kundennummer",
            "kunden-nr",
            "kunde",
            required=True,
        ),
        _c(
            "occurred_at",
            "TIMESTAMP",
            "timestamp",
            "time",
            "date",
            "event time",
            "datetime",
            "zeitpunkt",
            "datum",
            "zeitstempel",
            required=True,
        ),
        _c("event", "VARCHAR", "event", "event name", "action", "ereignis", "aktion", required=True),
        _c("stage", "VARCHAR", "stage", "journey stage", "phase", "stufe"),
        _c("channel", "VARCHAR", "channel", "touchpoint", "kanal", "kontaktpunkt"),
        _c("properties", "VARCHAR", "properties", "props", "attributes", "eigenschaften"),
        IMPORT_ID,
    ),
    key=("interaction_id",),
    importable=True,
    customer_column="customer_id",
    time_column="occurred_at",
)

# Order lines. Money (unit_price, amount) is in the reporting currency (analytics.currency); the
# currency column records what the customer paid in. Returns are lines with negative quantity.
ORDERS = Table(
    "orders",
    (
        _c(
            "order_id",
            "VARCHAR",
            "invoiceno",
            "invoice",
            "invoice no",
            "order",
            "order id",
            "order number",
            "bestellnummer",
            "auftragsnummer",
            "rechnungsnummer",
            "beleg",
            required=True,
        ),
        _c("line_no", "INTEGER", "line", "line no", "position", "pos", "zeile"),
        _c(
            "customer_id",
            "VARCHAR",
            "customerid",
            "customer id",
            "customer",
            "kundennummer",
            "kunden-nr",
            "kunde",
            required=True,
        ),
        _c(
            "ordered_at",
            "TIMESTAMP",
            "invoicedate",
            "invoice date",
            "order date",
            "date",
            "timestamp",
            "bestelldatum",
            "datum",
            "rechnungsdatum",
            required=True,
        ),
        _c(
            "product",
            "VARCHAR",
            "stockcode",
            "product",
            "sku",
            "article",
            "item",
            "artikel",
            "artikelnummer",
            "produkt",
        ),
        _c(
            "description", "VARCHAR", "description", "product name", "bezeichnung", "beschreibung", "artikelbezeichnung"
        ),
        _c("quantity", "DOUBLE", "quantity", "qty", "units", "menge", "anzahl", "stück"),
        _c("unit_price", "DOUBLE", "unitprice", "unit price", "price", "preis", "einzelpreis", "stückpreis"),
        _c(
            "amount",
            "DOUBLE",
            "amount",
            "revenue",
            "total",
            "line total",
            "value",
            "betrag",
            "umsatz",
            "summe",
            "gesamt",
        ),
        _c("currency", "VARCHAR", "currency", "curr", "währung", "waehrung"),
        _c("channel", "VARCHAR", "channel", "sales channel", "vertriebskanal", "kanal"),
        _c("country", "VARCHAR", "country", "land"),
        IMPORT_ID,
    ),
    key=("order_id", "line_no"),
    importable=True,
    customer_column="customer_id",
    time_column="ordered_at",
)

KANO_RESPONSES = Table(
    "kano_responses",
    (
        _c(
            "respondent_id",
            "VARCHAR",
            "respondent",
            "respondent id",
            "response id",
            "teilnehmer",
            "befragter",
            "id",
            required=True,
        ),
        _c("feature", "VARCHAR", "feature", "attribute", "merkmal", "eigenschaft", "funktion", required=True),
        _c(
            "functional", "VARCHAR", "functional", "functional answer", "funktional", "funktionale frage", required=True
        ),
        _c(
            "dysfunctional",
            "VARCHAR",
            "dysfunctional",
            "dysfunctional answer",
            "dysfunktional",
            "dysfunktionale frage",
            required=True,
        ),
        _c("importance", "DOUBLE", "importance", "self-stated importance", "wichtigkeit", "bedeutung"),
        _c("customer_id", "VARCHAR", "customer id", "customerid", "kundennummer"),
        _c("segment", "VARCHAR", "segment", "group", "gruppe"),
        _c("wave", "VARCHAR", "wave", "survey wave", "survey", "welle", "befragungswelle"),
        IMPORT_ID,
    ),
    key=("respondent_id", "feature", "wave"),
    importable=True,
    customer_column="customer_id",
)

REQUIREMENTS = Table(
    "requirements",
    (
        _c("requirement_id", "VARCHAR", "id", "requirement id", "req id", "anforderungs-id", "nr", required=True),
        _c("title", "VARCHAR", "title", "requirement", "name", "titel", "anforderung", "bezeichnung", required=True),
        _c("description", "VARCHAR", "description", "content", "beschreibung", "inhalt"),
        _c("source", "VARCHAR", "source", "origin", "quelle", "herkunft"),
        _c("type", "VARCHAR", "type", "category", "typ", "art", "kategorie"),
        _c("background", "VARCHAR", "background", "context", "hintergrund"),
        _c("goal", "VARCHAR", "goal", "objective", "ziel"),
        _c("moscow", "VARCHAR", "moscow", "priority", "priorität", "prioritaet"),
        _c("kano_feature", "VARCHAR", "kano feature", "feature", "merkmal"),
        _c("status", "VARCHAR", "status", "state", "zustand"),
        _c("effort", "DOUBLE", "effort", "estimate", "aufwand", "schätzung"),
        _c("urgency", "DOUBLE", "urgency", "dringlichkeit"),
        _c("importance", "DOUBLE", "importance", "wichtigkeit"),
        _c("risk", "DOUBLE", "risk", "risiko"),
        _c("owner", "VARCHAR", "owner", "verantwortlich", "eigentümer"),
        _c("updated_at", "TIMESTAMP"),
        IMPORT_ID,
    ),
    key=("requirement_id",),
    importable=True,
)

# Tables the app writes itself.
WORKSHEETS = Table(
    "worksheets",
    (
        _c("worksheet_id", "VARCHAR"),
        _c("kind", "VARCHAR"),
        _c("account", "VARCHAR"),
        _c("workshop", "VARCHAR"),
        _c("title", "VARCHAR"),
        _c("created_at", "TIMESTAMP"),
        _c("updated_at", "TIMESTAMP"),
    ),
    key=("worksheet_id",),
)

WORKSHEET_ANSWERS = Table(
    "worksheet_answers",
    (
        _c("worksheet_id", "VARCHAR"),
        _c("item_id", "VARCHAR"),
        _c("answer", "VARCHAR"),
        _c("rating", "VARCHAR"),
        _c("note", "VARCHAR"),
        _c("updated_at", "TIMESTAMP"),
        _c("updated_by", "VARCHAR"),
    ),
    key=("worksheet_id", "item_id"),
)

WORKSHEET_HISTORY = Table(
    "worksheet_history",
    (
        _c("history_id", "BIGINT"),
        _c("worksheet_id", "VARCHAR"),
        _c("item_id", "VARCHAR"),
        _c("answer", "VARCHAR"),
        _c("rating", "VARCHAR"),
        _c("note", "VARCHAR"),
        _c("changed_at", "TIMESTAMP"),
        _c("changed_by", "VARCHAR"),
    ),
)

IMPORTS = Table(
    "imports",
    (
        _c("import_id", "BIGINT"),
        _c("table_name", "VARCHAR"),
        _c("file_name", "VARCHAR"),
        _c("checksum", "VARCHAR"),
        _c("mode", "VARCHAR"),
        _c("rows_read", "BIGINT"),
        _c("rows_loaded", "BIGINT"),
        _c("rows_rejected", "BIGINT"),
        _c("user_name", "VARCHAR"),
        _c("started_at", "TIMESTAMP"),
        _c("finished_at", "TIMESTAMP"),
        _c("status", "VARCHAR"),
        _c("details", "VARCHAR"),
    ),
    key=("import_id",),
)

MODEL_RUNS = Table(
    "model_runs",
    (
        _c("run_id", "VARCHAR"),
        _c("created_at", "TIMESTAMP"),
        _c("model", "VARCHAR"),
        _c("cutoff", "DATE"),
        _c("horizon_days", "INTEGER"),
        _c("metrics", "VARCHAR"),
        _c("params", "VARCHAR"),
        _c("sklearn_version", "VARCHAR"),
        _c("artifact", "BLOB"),
    ),
    key=("run_id",),
)

CHURN_SCORES = Table(
    "churn_scores",
    (
        _c("run_id", "VARCHAR"),
        _c("customer_id", "VARCHAR"),
        _c("probability", "DOUBLE"),
        _c("clv", "DOUBLE"),
        _c("value_at_risk", "DOUBLE"),
        _c("scored_at", "TIMESTAMP"),
    ),
    key=("run_id", "customer_id"),
    customer_column="customer_id",
)

AUDIT_LOG = Table(
    "audit_log",
    (
        _c("event_id", "BIGINT"),
        _c("occurred_at", "TIMESTAMP"),
        _c("actor", "VARCHAR"),
        _c("action", "VARCHAR"),
        _c("subject", "VARCHAR"),
        _c("details", "VARCHAR"),
    ),
)

COLUMN_MAPPINGS = Table(
    "column_mappings",
    (
        _c("layout_key", "VARCHAR"),
        _c("table_name", "VARCHAR"),
        _c("mapping", "VARCHAR"),
        _c("updated_at", "TIMESTAMP"),
    ),
    key=("layout_key",),
)

SAVED_SEGMENTS = Table(
    "saved_segments",
    (
        _c("name", "VARCHAR"),
        _c("description", "VARCHAR"),
        _c("customer_ids", "VARCHAR[]"),
        _c("created_at", "TIMESTAMP"),
    ),
    key=("name",),
)

SETTINGS = Table(
    "settings",
    (
        _c("name", "VARCHAR"),
        _c("value", "VARCHAR"),
        _c("updated_at", "TIMESTAMP"),
    ),
    key=("name",),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CUSTOMERS,
        INTERACTIONS,
        ORDERS,
        KANO_RESPONSES,
        REQUIREMENTS,
        WORKSHEETS,
        WORKSHEET_ANSWERS,
        WORKSHEET_HISTORY,
        IMPORTS,
        MODEL_RUNS,
        CHURN_SCORES,
        AUDIT_LOG,
        COLUMN_MAPPINGS,
        SAVED_SEGMENTS,
        SETTINGS,
    )
}

#: Tables that ``analytics.ingest.load`` accepts, in the order a user usually loads them.
IMPORTABLE: tuple[str, ...] = tuple(name for name, t in TABLES.items() if t.importable)

#: Journey stages in funnel order (PRODUCT.md "Journeys").
STAGES: tuple[str, ...] = (
    "awareness",
    "interest",
    "consideration",
    "intent",
    "purchase",
    "service",
    "loyalty",
    "expansion",
)

DIGITAL_CHANNELS: tuple[str, ...] = (
    "search",
    "email",
    "website",
    "social media",
    "mobile app",
    "online shop",
    "community",
    "chat",
)
ANALOGUE_CHANNELS: tuple[str, ...] = (
    "pr",
    "promotion",
    "word of mouth",
    "direct mail",
    "store",
    "call centre",
    "mailing",
    "loyalty programme",
    "offer",
)
CHANNELS: tuple[str, ...] = DIGITAL_CHANNELS + ANALOGUE_CHANNELS


def create_table_sql(table: Table) -> str:
    """DDL for one canonical table (no constraints beyond types: keys are checked on import)."""
    cols = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({cols})'
