"""Import CSV / Excel / Parquet files into the canonical tables: detect, map, validate, load atomically.

The flow of :func:`load`:

1. **Stage** the upload in ``store.upload_dir()`` (the hardened connection may read only there),
   checking the size limit and computing its SHA-256. Gzip is unpacked, text that is not UTF-8
   (Latin-1 / cp1252, UTF-16) is re-encoded to UTF-8 on the way.
2. **Detect** the CSV dialect from the first 256 KB: encoding, delimiter (``, ; tab |``), decimal
   comma; per date column the date order (ISO, day-first, month-first) over the whole column.
3. **Read** everything as text into a scratch table (DuckDB ``read_csv(all VARCHAR)``; rows with
   too many or too few fields are set aside by DuckDB's ``store_rejects``).
4. **Cast and validate** in SQL (``TRY_CAST`` / ``TRY_STRPTIME``): required values, numbers, dates,
   impossible values, allowed values (MoSCoW priority, journey stage, channel; stored in their
   canonical spelling), duplicate keys, the same interaction twice (events without an id: same
   customer, time, event and channel, in the file or already stored), unknown customers. Each
   problem becomes a reject (row, column, value, reason), its value shown as written in the file.
5. **Convert** country names and codes (English, German, common variants such as UK, USA, EIRE)
   to ISO 3166-1 alpha-2 codes, as stored elsewhere, by one join of the column's distinct values
   with :func:`country_names` (pycountry's data, shipped in the package); values that match no
   country are kept as written. The report says what was converted and what was not.
6. **Load** the valid rows in one transaction (append; replace; upsert: stored rows with a key of
   the file get the mapped columns updated, the others are added), log the import in ``imports``
   and keep what is needed to undo it (the full rows it replaced or updated). A file whose content
   (SHA-256) is already loaded into the table is refused unless ``allow_same_file``.

:func:`undo` takes back the newest still-loaded import of a table only, and refuses once the
table was regenerated as demo data after the import (both would mix rows of different states).

Structural problems (empty file, header only, not a table, one column only, required column not
mapped, too large) load nothing and return ``ok=False`` with a message.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import gettext
import gzip
import hashlib
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pycountry

from analytics import currency, priorities, privacy, schema, store

MODES = ("append", "replace", "upsert")
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: Unpacked size allowed for an Excel workbook, and the packing ratio above which a member is a zip bomb.
MAX_XLSX_UNPACKED = 1024 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_REJECT_DETAILS = 200_000
SCRATCH = "ingest_scratch"
SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Date formats by family. ISO goes through TRY_CAST (which also takes 'T', fractions and zones);
# day-first and month-first dates have their separators unified first, so three formats each do.
DAY_FIRST = ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"]
MONTH_FIRST = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"]
DATE_FAMILIES = ("iso", "day-first", "month-first")
DATE_EXAMPLES = {"iso": "2025-12-31", "day-first": "31.12.2025", "month-first": "12/31/2025"}

ProgressFn = Callable[[float, str], None]

#: MoSCoW priorities as stored, and spellings the import reads as them (besides the catalogue's own).
MOSCOW = ("must", "should", "could", "won't")


def moscow_value(value: Any) -> str | None:
    """'Must' / 'M' / 'muss' / 'will not' ... -> 'must', 'should', 'could', "won't"; blank or unknown -> None.

    The requirements catalogue's own reading (analytics.priorities), so imports and edits agree.
    """
    return priorities.moscow_or_none(value)


class IngestError(RuntimeError):
    """A structural problem with an upload: nothing was loaded. The message is for the user."""


# --- results --------------------------------------------------------------------------------


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype="int64"), "column": [], "value": [], "reason": []})


@dataclass
class ImportReport:
    """What an import did: counts, rejects (row, column, value, reason), messages, detection."""

    table: str
    ok: bool = False
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejects: pd.DataFrame = field(default_factory=_empty_rejects)
    rejected_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    import_id: int | None = None
    file_name: str | None = None
    checksum: str | None = None
    mode: str = "append"
    detected: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)
    customers_created: int = 0
    rows_replaced: int = 0
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Preview:
    """What :func:`read_preview` found: format, dialect, headers, first rows (as text), messages."""

    kind: str
    headers: list[str]
    rows: pd.DataFrame
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    date_orders: dict[str, str] = field(default_factory=dict)
    german: bool = False
    messages: list[str] = field(default_factory=list)
    size: int = 0
    error: str | None = None


@dataclass
class _Staged:
    path: Path
    kind: str  # csv | csv.gz | xlsx | parquet
    name: str
    size: int
    digest: str | Future
    temporary: list[Path] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    headers: list[str] = field(default_factory=list)
    german: bool = False
    messages: list[str] = field(default_factory=list)

    @property
    def checksum(self) -> str:
        """SHA-256 of the file as uploaded (waits for the background hash when there is one)."""
        return self.digest.result() if isinstance(self.digest, Future) else self.digest


# --- small helpers --------------------------------------------------------------------------


def _q(identifier: str) -> str:
    """Double-quote an identifier (only for names we generate or take from the schema)."""
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _normalise_header(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).replace("\ufeff", "").strip().lower())


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-./#:()]+", "", _normalise_header(text))


def _unique_headers(raw: list[Any]) -> list[str]:
    """Header cells -> unique display names ('column 3' for blanks, 'name (2)' for repeats)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(raw, start=1):
        name = str(cell).replace("\ufeff", "").strip() if cell is not None else ""
        name = name or f"column {i}"
        base = name
        if base.lower() in seen:
            seen[base.lower()] += 1
            name = f"{base} ({seen[base.lower()]})"
        seen[name.lower()] = seen.get(name.lower(), 1)
        out.append(name)
    return out


def _report_progress(progress: ProgressFn | None, fraction: float, text: str) -> None:
    if progress is not None:
        with contextlib.suppress(Exception):
            progress(min(max(fraction, 0.0), 1.0), text)


def _check_table(table: str) -> schema.Table:
    if table not in schema.IMPORTABLE:
        raise IngestError(
            f"'{table}' is not a table that can be imported. Choose one of: {', '.join(schema.IMPORTABLE)}."
        )
    return schema.TABLES[table]


# --- column mapping -------------------------------------------------------------------------


def guess_mapping(headers: list[str], table: str) -> dict[str, str]:
    """File headers -> {header: canonical column} from column names and synonyms (English, German).

    Exact names win over synonyms, synonyms over loose matches (case, spaces, ``_-./`` ignored);
    every canonical column and every header is used at most once.
    """
    spec = _check_table(table)
    candidates = [c for c in spec.columns if c.name != "import_id"]
    result: dict[str, str] = {}
    taken: set[str] = set()
    passes = (
        lambda h, c: _normalise_header(h) == c.name,
        lambda h, c: _normalise_header(h) in c.synonyms,
        lambda h, c: _squash(h) == _squash(c.name) or _squash(h) in {_squash(s) for s in c.synonyms},
    )
    for matches in passes:
        for header in headers:
            if header in result:
                continue
            for column in candidates:
                if column.name not in taken and matches(header, column):
                    result[header] = column.name
                    taken.add(column.name)
                    break
    return result


def layout_key(table: str, headers: list[str]) -> str:
    """Table + normalised header -> SHA-256 key under which a mapping is remembered."""
    text = table + "\x1f" + "\x1f".join(_normalise_header(h) for h in headers)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remembered_mapping(con: duckdb.DuckDBPyConnection, table: str, headers: list[str]) -> dict[str, str] | None:
    """The mapping last used for this table and header layout, or None."""
    row = (
        con.cursor()
        .execute("SELECT mapping FROM column_mappings WHERE layout_key = ?", [layout_key(table, headers)])
        .fetchall()
    )
    row = row[0] if row else None
    if not row:
        return None
    try:
        stored = json.loads(row[0])
    except (TypeError, ValueError):
        return None
    return {h: c for h, c in stored.items() if h in headers} if isinstance(stored, dict) else None


def _remember_mapping(cur: duckdb.DuckDBPyConnection, table: str, headers: list[str], mapping: dict[str, str]) -> None:
    key = layout_key(table, headers)
    cur.execute("DELETE FROM column_mappings WHERE layout_key = ?", [key])
    cur.execute("INSERT INTO column_mappings VALUES (?, ?, ?, now())", [key, table, json.dumps(mapping)])


def suggest_mapping(con: duckdb.DuckDBPyConnection, table: str, headers: list[str]) -> tuple[dict[str, str], bool]:
    """Remembered mapping for this layout if any, else the guess -> (mapping, remembered?)."""
    remembered = remembered_mapping(con, table, headers)
    if remembered:
        return remembered, True
    return guess_mapping(headers, table), False


def _resolve_mapping(spec: schema.Table, headers: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """User mapping (header -> column; reversed entries tolerated) -> {canonical: header}, validated."""
    columns = set(spec.column_names) - {"import_id"}
    resolved: dict[str, str] = {}
    for source, target in (mapping or {}).items():
        if target in (None, "", "(ignore)"):
            continue
        if source not in headers and target in headers and source in columns:
            source, target = target, source  # given as {canonical: header}
        if source not in headers:
            raise IngestError(f"The mapping names a column '{source}' that the file does not have.")
        if target not in columns:
            raise IngestError(f"'{target}' is not a column of {spec.name}.")
        if target in resolved:
            raise IngestError(f"Two file columns are mapped to '{target}': '{resolved[target]}' and '{source}'.")
        resolved[target] = source
    return resolved


# --- country names --------------------------------------------------------------------------

#: Tables whose ``country`` column holds ISO 3166-1 alpha-2 codes (as the demo data and the filters do).
COUNTRY_TABLES = ("customers", "orders")
#: Country values listed by name in the import report (the count is always given).
COUNTRY_LIST_LIMIT = 12

#: Spellings of countries that pycountry's English and German names do not cover: abbreviations,
#: informal and older names. UCI Online Retail writes Ireland as EIRE and South Africa as RSA.
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "GB": (
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "Großbritannien",
        "Grossbritannien",
        "Vereinigtes Koenigreich",
        "Schottland",
    ),
    "US": ("USA", "U.S.A.", "U.S.", "United States of America", "Vereinigte Staaten von Amerika"),
    "IE": ("EIRE", "Éire", "Republic of Ireland"),
    "ZA": ("RSA",),
    "AE": ("UAE", "U.A.E.", "VAE", "Emirates"),
    "NL": ("Holland", "The Netherlands"),
    "CZ": ("Czech Republic", "Tschechische Republik"),
    "RU": ("Russia", "Russland"),
    "TR": ("Turkey", "Turkiye"),
    "BY": ("Belarus", "Weißrussland", "Weissrussland"),
    "KR": ("Korea", "Republic of Korea", "Südkorea", "Suedkorea"),
    "KP": ("Nordkorea",),
    "MK": ("Macedonia", "Mazedonien"),
    "CI": ("Ivory Coast", "Elfenbeinküste"),
    "CV": ("Cape Verde", "Kap Verde"),
    "SZ": ("Swaziland", "Swasiland"),
    "MM": ("Burma", "Birma"),
    "VA": ("Vatican", "Vatican City", "Vatikan", "Vatikanstadt"),
    "PS": ("Palestine", "Palästina"),
    "BN": ("Brunei",),
    "MO": ("Macau",),
    "CD": ("DR Congo", "Democratic Republic of the Congo"),
    "CG": ("Republic of the Congo",),
    "DE": ("BRD", "Bundesrepublik Deutschland", "Deutschland"),
    "AT": ("Oesterreich",),
    "CH": ("Suisse", "Svizzera", "Schweizerische Eidgenossenschaft"),
}


def _country_key(text: str) -> str:
    """Country value -> lookup key: lower case, dots dropped, runs of white space as one space."""
    return " ".join(str(text).replace(".", "").split()).lower()


def _country_key_sql(expr: str) -> str:
    """:func:`_country_key` in DuckDB SQL."""
    return f"lower(trim(regexp_replace(replace({expr}, '.', ''), '\\s+', ' ', 'g')))"


@functools.cache
def country_names() -> pd.DataFrame:
    """Every spelling the import reads as a country -> DataFrame (key, code): one row per key, code alpha-2.

    From pycountry's ISO 3166-1 data, shipped inside the package (nothing is downloaded): alpha-2 and
    alpha-3 codes, English names (short, official, common), :data:`COUNTRY_ALIASES`, and German names
    from pycountry's own translations. A key keeps the first code it was given in that order, so a
    code or an English name is never taken over by another country's German name.
    """
    try:
        german = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"])
    except OSError:
        german = gettext.NullTranslations()
    countries = list(pycountry.countries)
    tiers: list[list[tuple[str, str]]] = [
        [(c.alpha_2, c.alpha_2) for c in countries],
        [(c.alpha_3, c.alpha_2) for c in countries],
        [
            (name, c.alpha_2)
            for c in countries
            for name in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None))
            if name
        ],
        [(alias, code) for code, aliases in COUNTRY_ALIASES.items() for alias in aliases],
        [
            (german.gettext(name), c.alpha_2)
            for c in countries
            for name in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None))
            if name
        ],
    ]
    codes: dict[str, str] = {}
    for tier in tiers:
        for name, code in tier:
            codes.setdefault(_country_key(name), code)
    return pd.DataFrame({"key": list(codes), "code": list(codes.values())})


def _convert_countries(
    cur, spec: schema.Table, resolved: dict[str, str], typed: str, where: str, token: str
) -> tuple[dict[str, Any], str] | None:
    """The file's country values -> their ISO alpha-2 codes, as a scratch table (raw, code, n), in SQL.

    The distinct values of the file's country column are joined once with :func:`country_names`
    (code NULL: no match, the value is kept as written). :func:`_country_sql` reads the table when
    rows are written; updating the scratch rows in place instead took 0.7 s per million rows.
    Counts are over the rows that will load (``where``).

    Returns None when the file has no country column for this table, else (summary, table name or
    None when no row that loads needs converting);
    the summary has ``converted_rows``, ``converted`` ({value: code}, most rows first),
    ``unmatched_rows`` and ``unmatched`` ({value: rows}, most rows first; both lists cut at
    :data:`COUNTRY_LIST_LIMIT`), and the numbers of distinct values ``converted_values`` and
    ``unmatched_values``.
    """
    if spec.name not in COUNTRY_TABLES or "country" not in resolved:
        return None
    names, values = f"country_names_{token}", f"{SCRATCH}.countries_{token}"
    cur.register(names, country_names())
    try:
        cur.execute(
            f"CREATE TABLE {values} AS SELECT v.raw, n.code, v.n FROM "
            f"(SELECT t.v_country AS raw, count(*) FILTER (WHERE {where}) AS n FROM {typed} t "
            f"WHERE t.v_country IS NOT NULL GROUP BY t.v_country) v "
            f"LEFT JOIN {names} n ON n.key = {_country_key_sql('v.raw')}"
        )
    finally:
        cur.unregister(names)
    converted = cur.execute(
        f"SELECT raw, code, n FROM {values} WHERE code <> raw AND n > 0 ORDER BY n DESC, raw"
    ).fetchall()
    unmatched = cur.execute(f"SELECT raw, n FROM {values} WHERE code IS NULL AND n > 0 ORDER BY n DESC, raw").fetchall()
    summary = {
        "converted_rows": int(sum(n for *_, n in converted)),
        "converted_values": len(converted),
        "converted": {raw: code for raw, code, _ in converted[:COUNTRY_LIST_LIMIT]},
        "unmatched_rows": int(sum(n for _, n in unmatched)),
        "unmatched_values": len(unmatched),
        "unmatched": {raw: int(n) for raw, n in unmatched[:COUNTRY_LIST_LIMIT]},
    }
    # Files that already hold codes need no lookup when the rows are written.
    return summary, (values if converted else None)


def _country_sql(values: str | None) -> str:
    """The country to store for scratch row ``t``: its ISO code from ``values`` when it has one, else as written."""
    if values is None:
        return "t.v_country"
    return f"coalesce((SELECT c.code FROM {values} c WHERE c.raw = t.v_country), t.v_country)"


def _rows_text(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _country_messages(found: dict[str, Any] | None) -> list[str]:
    """What the country conversion did, for the import report (a note, not an error)."""
    if not found:
        return []
    messages = []
    if found["converted_rows"]:
        pairs = ", ".join(f"{raw} → {code}" for raw, code in found["converted"].items())
        rest = found["converted_values"] - len(found["converted"])
        more = f" and {rest:,} more" if rest else ""
        messages.append(
            f"Countries were converted to two-letter ISO codes in {_rows_text(found['converted_rows'])}: {pairs}{more}."
        )
    if found["unmatched_rows"]:
        n = found["unmatched_values"]
        listed = ", ".join(f"{raw} ({_rows_text(rows)})" for raw, rows in found["unmatched"].items())
        rest = n - len(found["unmatched"])
        more = f" and {rest:,} more" if rest else ""
        what = "1 country value matches" if n == 1 else f"{n:,} country values match"
        messages.append(
            f"{what} no known country and {'was' if n == 1 else 'were'} stored as written: {listed}{more}. "
            "The country filter lists such values beside the country codes."
        )
    return messages


def missing_required(table: str, mapping: dict[str, str]) -> list[str]:
    """{file header: canonical column} -> the table's required columns that nothing maps, in schema order.

    Columns the import computes when they are not mapped (an order line's number) are not missing.
    """
    spec = _check_table(table)
    resolved = {column: header for header, column in mapping.items() if column in spec.column_names}
    return _missing_columns(spec, resolved, _derived_columns(spec, resolved))


def _missing_columns(spec: schema.Table, resolved: dict[str, str], derived: dict[str, str]) -> list[str]:
    """Required columns of ``spec`` that neither the mapping (``resolved``) nor a computed column supplies."""
    return [c.name for c in spec.columns if c.required and c.name not in resolved and c.name not in derived]


# --- staging --------------------------------------------------------------------------------


def _kind_of(head: bytes, name: str) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    lowered = name.lower()
    if lowered.endswith((".xlsx", ".xlsm", ".xls")):
        return "zip"  # checked (and refused) as a workbook below
    return "csv"


def _source_name(source: Any, file_name: str | None) -> str:
    if file_name:
        return Path(str(file_name)).name
    if isinstance(source, (str, Path)):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "upload")).name


def _allowed_for_duckdb(path: Path) -> bool:
    resolved = path.resolve()
    for folder in (store.upload_dir(), store.db_path().parent):
        with contextlib.suppress(ValueError):
            resolved.relative_to(folder.resolve())
            return True
    return False


def _too_large(max_bytes: int) -> IngestError:
    return IngestError(
        f"The file is larger than the limit of {max_bytes / 1024 / 1024:,.0f} MB. "
        "Split it into smaller files or ask your administrator to raise the limit."
    )


_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-sha256")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stage_raw(source: Any, name: str, max_bytes: int) -> tuple[Path, int, str | Future, list[Path]]:
    """Source -> (readable path, size, sha256 or its future, temporary files to delete)."""
    digest = hashlib.sha256()
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise IngestError(f"The file {path.name} was not found.")
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(max_bytes)
        if _allowed_for_duckdb(path):
            # DuckDB reads the file in place; the checksum is computed beside it, in a thread.
            return path, size, _HASHER.submit(_file_sha256, path), []
        source = path.open("rb")
        close = True
    else:
        close = False
    suffix = "".join(Path(name).suffixes[-2:]) or ".bin"
    target = store.upload_dir() / f"upload-{uuid.uuid4().hex}{re.sub(r'[^A-Za-z0-9.]', '', suffix)[:16]}"
    size = 0
    try:
        if hasattr(source, "seek"):
            with contextlib.suppress(Exception):
                source.seek(0)
        with target.open("wb") as out:
            while True:
                chunk = source.read(1 << 20)
                if not chunk:
                    break
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        if close:
            source.close()
    return target, size, digest.hexdigest(), [target]


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
        even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
        if odd_nuls > 0.4 and even_nuls < 0.05:
            return "utf-16-le"
        if even_nuls > 0.4 and odd_nuls < 0.05:
            return "utf-16-be"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and len(head) >= SNIFF_BYTES - 4:
            return "utf-8"  # the sample cut a character in two
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def _looks_like_garbage(text: str) -> bool:
    if not text:
        return False
    bad = len(_CONTROL.findall(text))
    return "\x00" in text or bad / len(text) > 0.01


def _sample_records(text: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    # Drop a last line the sample may have cut in two.
    if "\n" in text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', doublequote=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            if record == [] or record == [""]:
                continue
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def _detect_delimiter(text: str) -> str:
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        records = _sample_records(text, delimiter, limit=50)
        if not records:
            continue
        width = len(records[0])
        if width < 2:
            continue
        body = records[1:] or records
        consistency = sum(1 for r in body if len(r) == width) / len(body)
        score = (round(consistency, 2), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


_GERMAN_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")
_ENGLISH_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d+$|^-?\d+\.\d+$")
_DOTTED_DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2,4}")


def _detect_decimal(records: list[list[str]], delimiter: str) -> tuple[str, bool]:
    """Sample records (header first) -> (decimal separator, dotted dates seen); ties go by the delimiter."""
    german = english = dotted = 0
    for record in records[1:]:
        for cell in record:
            cell = cell.strip()
            if _DOTTED_DATE.match(cell):
                dotted += 1
            elif _GERMAN_NUMBER.match(cell) and not re.match(r"^-?\d{1,3}\.\d{3}$", cell):
                german += 1
            elif _ENGLISH_NUMBER.match(cell) and not re.match(r"^-?\d{1,3}\.\d{3}$", cell):
                english += 1
    if german == english:
        return ("," if delimiter == ";" else "."), dotted > 0
    return ("," if german > english else "."), dotted > 0


def _open_text_source(path: Path, gz: bool):
    return gzip.open(path, "rb") if gz else path.open("rb")


def _stage_csv(staged: _Staged, gz: bool, max_bytes: int, *, encoding: str | None, delimiter: str | None) -> None:
    """Sniff the dialect; re-encode/unpack into a UTF-8 staged file when DuckDB cannot read it as is."""
    try:
        with _open_text_source(staged.path, gz) as handle:
            head = handle.read(SNIFF_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile):
        raise IngestError("The file looks compressed (gzip) but cannot be unpacked. It may be damaged.") from None
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError("The file is empty: it holds no header and no rows.")
    encoding = encoding or _detect_encoding(head)
    try:
        text = head.decode(encoding, errors="replace")
    except LookupError:
        raise IngestError(f"The text encoding '{encoding}' is not known.") from None
    text = text.lstrip("\ufeff")
    if _looks_like_garbage(text):
        raise IngestError(
            "This file does not look like a table: it contains binary data. Upload a CSV, Excel (.xlsx) or Parquet file."
        )
    staged.encoding = encoding
    staged.delimiter = delimiter or _detect_delimiter(text)
    records = _sample_records(text, staged.delimiter)
    if not records:
        raise IngestError("The file is empty: it holds no header and no rows.")
    staged.headers = _unique_headers(records[0])
    staged.decimal, dotted_dates = _detect_decimal(records, staged.delimiter)
    staged.german = staged.delimiter == ";" or staged.decimal == "," or dotted_dates
    if encoding in ("utf-8", "utf-8-sig") and not gz:
        return
    # Unpack and/or re-encode to UTF-8 in the upload folder, in chunks.
    target = store.upload_dir() / f"staged-{uuid.uuid4().hex}.csv"
    staged.temporary.append(target)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    written = 0
    with _open_text_source(staged.path, gz) as handle, target.open("wb") as out:
        first = True
        while True:
            try:
                chunk = handle.read(1 << 22)
            except (OSError, EOFError):
                raise IngestError("The compressed file is damaged and cannot be unpacked completely.") from None
            final = not chunk
            piece = decoder.decode(chunk, final=final)
            if first:
                piece = piece.lstrip("\ufeff")
                first = False
            data = piece.encode("utf-8")
            written += len(data)
            if written > max_bytes:
                raise IngestError(
                    f"Unpacked, the file is larger than the limit of {max_bytes / 1024 / 1024:,.0f} MB. "
                    "Split it into smaller files."
                )
            out.write(data)
            if final:
                break
    staged.path = target


def _check_workbook(path: Path) -> None:
    """Refuse files that are not .xlsx workbooks, and zip bombs, before openpyxl opens them."""
    not_workbook = IngestError(
        "The file is not an Excel workbook (.xlsx). Save it from Excel as 'Excel Workbook' or export a CSV."
    )
    if not zipfile.is_zipfile(path):
        raise not_workbook
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            total = 0
            for member in members:
                total += member.file_size
                ratio = member.file_size / max(member.compress_size, 1)
                if total > MAX_XLSX_UNPACKED or (member.file_size > 10 * 1024 * 1024 and ratio > MAX_XLSX_RATIO):
                    raise IngestError(
                        "The workbook unpacks to far more data than it holds (a 'zip bomb'). It was not opened."
                    )
    except zipfile.BadZipFile:
        raise not_workbook from None
    if "xl/workbook.xml" not in names:
        raise not_workbook


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _read_workbook(path: Path, sheet: str | None, limit: int | None):
    """Workbook -> (headers, pyarrow table of text columns c0..cn)."""
    import openpyxl
    import pyarrow as pa

    _check_workbook(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise IngestError("The Excel workbook could not be read. It may be damaged or protected.") from None
    try:
        sheet_obj = book[sheet] if sheet else book.worksheets[0]
        header: list[Any] | None = None
        columns: list[list[str | None]] = []
        count = 0
        for values in sheet_obj.iter_rows(values_only=True):
            cells = [_cell_text(v) for v in values]
            if header is None:
                if not any(cells):
                    continue
                while cells and cells[-1] is None:
                    cells.pop()
                header = cells
                columns = [[] for _ in header]
                continue
            if not any(c is not None for c in cells):
                continue
            for i, column in enumerate(columns):
                column.append(cells[i] if i < len(cells) else None)
            count += 1
            if limit is not None and count >= limit:
                break
    except KeyError:
        raise IngestError(f"The workbook has no sheet named '{sheet}'.") from None
    finally:
        book.close()
    if header is None:
        raise IngestError("The workbook is empty: its first sheet holds no header and no rows.")
    headers = _unique_headers(header)
    arrays = {f"c{i}": pa.array(col, type=pa.string()) for i, col in enumerate(columns)}
    return headers, pa.table(arrays) if arrays else pa.table({"c0": pa.array([], type=pa.string())})


def _stage(
    source: Any,
    file_name: str | None,
    max_bytes: int,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> _Staged:
    name = _source_name(source, file_name)
    path, size, checksum, temporary = _stage_raw(source, name, max_bytes)
    staged = _Staged(path=path, kind="csv", name=name, size=size, digest=checksum, temporary=temporary)
    try:
        if size == 0:
            raise IngestError("The file is empty: it holds no header and no rows.")
        with path.open("rb") as handle:
            head = handle.read(8)
        kind = _kind_of(head, name)
        if kind == "zip":
            staged.kind = "xlsx"
            _check_workbook(path)
        elif kind == "parquet":
            staged.kind = "parquet"
        else:
            staged.kind = "csv.gz" if kind == "gzip" else "csv"
            _stage_csv(staged, kind == "gzip", max_bytes, encoding=encoding, delimiter=delimiter)
    except BaseException:
        _cleanup_files(staged)
        raise
    return staged


def _cleanup_files(staged: _Staged) -> None:
    for path in staged.temporary:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


# --- reading --------------------------------------------------------------------------------


def _scratch(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH}")


@dataclass
class _Source:
    """A staged file as SQL: a relation of text columns c0..cn in file order."""

    kind: str
    headers: list[str]
    token: str
    path: Path
    delimiter: str | None = None
    view: str | None = None  # registered Arrow table (Excel)
    malformed: pd.DataFrame = field(default_factory=lambda: _malformed_frame([]))
    adjust_view: str | None = None

    def relation(self, purpose: str = "main") -> str:
        """SQL relation; ``purpose`` main (records bad lines), sample or again (skip bad lines)."""
        if self.kind == "xlsx":
            return str(self.view)
        if self.kind == "parquet":
            casts = ", ".join(f"CAST(#{i + 1} AS VARCHAR) AS c{i}" for i in range(len(self.headers)))
            return f"(SELECT {casts} FROM read_parquet({_lit(str(self.path))}))"
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.headers))) + "}"
        errors = (
            f"store_rejects=true, rejects_table='rej_{self.token}', rejects_scan='scan_{self.token}'"
            if purpose == "main"
            else "ignore_errors=true"
        )
        return (
            f"read_csv({_lit(str(self.path))}, delim={_lit(self.delimiter or ',')}, quote='\"', escape='\"', "
            f"header=true, auto_detect=false, columns={columns}, {errors}, max_line_size=4194304)"
        )

    def numbered(self, purpose: str = "main") -> str:
        """SQL relation with ``__row``, the 1-based data row of the file (bad lines counted)."""
        inner = f"SELECT row_number() OVER () AS __k, * FROM {self.relation(purpose)}"
        if self.adjust_view is None:
            return f"(SELECT __k AS __row, * EXCLUDE (__k) FROM ({inner}))"
        return (
            f"(SELECT k.__k + coalesce(a.n, 0) AS __row, k.* EXCLUDE (__k) FROM ({inner}) k "
            f"ASOF LEFT JOIN {self.adjust_view} a ON k.__k > a.adj)"
        )


def _malformed_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["row", "value", "reason"])
    frame["row"] = frame["row"].astype("int64")
    return frame


def _open_source(cur: duckdb.DuckDBPyConnection, staged: _Staged, token: str, *, sheet=None, limit=None) -> _Source:
    _scratch(cur)
    if staged.kind == "xlsx":
        headers, arrow_table = _read_workbook(staged.path, sheet, limit)
        view = f"xlsx_{token}"
        cur.register(view, arrow_table)
        return _Source(kind="xlsx", headers=headers, token=token, path=staged.path, view=view)
    if staged.kind == "parquet":
        try:
            described = cur.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(staged.path))})").fetchall()
        except duckdb.Error:
            raise IngestError("The Parquet file could not be read. It may be damaged.") from None
        if not described:
            raise IngestError("The Parquet file has no columns.")
        return _Source(
            kind="parquet", headers=_unique_headers([d[0] for d in described]), token=token, path=staged.path
        )
    return _Source(kind="csv", headers=staged.headers, token=token, path=staged.path, delimiter=staged.delimiter)


def _run_read(cur: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """Execute SQL that reads the file; DuckDB read errors become a plain IngestError."""
    try:
        return cur.execute(sql, params or [])
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException) as exc:
        raise IngestError("The file could not be read as a table: " + _plain_csv_error(str(exc))) from None


def _take_malformed(cur: duckdb.DuckDBPyConnection, src: _Source) -> None:
    """After the main scan: collect the lines DuckDB could not split and prepare the row renumbering."""
    if src.kind != "csv":
        return
    table = f"rej_{src.token}"
    try:
        bad = cur.execute(
            f"SELECT line - 1 AS row, any_value(csv_line) AS value, any_value(error_type) AS error_type, "
            f"any_value(error_message) AS message FROM {table} GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        bad = []
    finally:
        for name in (f"rej_{src.token}", f"scan_{src.token}"):
            with contextlib.suppress(duckdb.Error):
                cur.execute(f"DROP TABLE IF EXISTS {name}")
    if not bad:
        return
    width = len(src.headers)
    src.malformed = _malformed_frame(
        [(int(r), (v or "").strip("\r\n"), _malformed_reason(t, m, width)) for r, v, t, m in bad]
    )
    # A kept row k (1-based) sits after bad line i when r_i - i < k: shift it by the number of such lines.
    rows = [int(r) for r, *_ in bad]
    adjust: dict[int, int] = {}
    for i, r in enumerate(rows, start=1):
        adjust[r - i] = i
    frame = pd.DataFrame({"adj": list(adjust), "n": list(adjust.values())})
    src.adjust_view = f"adjust_{src.token}"
    cur.register(src.adjust_view, frame)


def _close_source(cur: duckdb.DuckDBPyConnection, src: _Source | None) -> None:
    if src is None:
        return
    for view in (src.view, src.adjust_view):
        if view:
            with contextlib.suppress(Exception):
                cur.unregister(view)
    for name in (f"rej_{src.token}", f"scan_{src.token}"):
        with contextlib.suppress(duckdb.Error):
            cur.execute(f"DROP TABLE IF EXISTS {name}")


def _plain_csv_error(message: str) -> str:
    lowered = message.lower()
    if "unicode" in lowered or "utf-8" in lowered:
        return "it contains characters that are not valid text."
    if "line size" in lowered:
        return "a line is longer than 4 MB; is it really a CSV file?"
    if "quote" in lowered:
        return "a quoted field is never closed."
    if "parquet" in lowered:
        return "the Parquet file is damaged."
    return "its layout is not consistent."


TOO_MANY_FIELDS = "the row has more fields than the header"
TOO_FEW_FIELDS = "the row has fewer fields than the header"
NONE_SPLIT = "None of the rows could be split into the header's columns. Check the separator and the quotes."


def _malformed_reason(error_type: str, message: str, width: int) -> str:
    # DuckDB's own field count is not reliable (it stops counting at the first extra field): not quoted.
    if error_type == "TOO MANY COLUMNS":
        return TOO_MANY_FIELDS
    if error_type == "MISSING COLUMNS":
        return TOO_FEW_FIELDS
    if error_type == "UNQUOTED VALUE":
        return "a quote mark inside a field is not doubled"
    if error_type == "INVALID UNICODE":
        return "row contains characters that are not valid text"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return "row is longer than 4 MB"
    return "row could not be split into fields"


def _drop_scratch(cur: duckdb.DuckDBPyConnection, token: str) -> None:
    with contextlib.suppress(duckdb.Error):
        tables = cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND table_name LIKE ?",
            [SCRATCH, f"%{token}%"],
        ).fetchall()
        for (name,) in tables:
            with contextlib.suppress(duckdb.Error):
                cur.execute(f"DROP TABLE IF EXISTS {SCRATCH}.{_q(name)}")


# --- detection of date order ----------------------------------------------------------------


def _family_expr(family: str, expr: str) -> str:
    if family == "iso":
        return f"TRY_CAST({expr} AS TIMESTAMP)"
    if family == "day-first":
        formats = ", ".join(_lit(f) for f in DAY_FIRST)
        return f"TRY_STRPTIME(translate({expr}, '/-', '..'), [{formats}])"
    formats = ", ".join(_lit(f) for f in MONTH_FIRST)
    return f"TRY_STRPTIME(translate({expr}, '.-', '//'), [{formats}])"


def _detect_dates(cur: duckdb.DuckDBPyConnection, relation: str, columns: dict[str, str], german: bool):
    """{key: text column} over a relation (a sample) -> {key: {family, counts, total, ambiguous}}."""
    if not columns:
        return {}
    parts = []
    for i, column in enumerate(columns.values()):
        value = f"NULLIF(trim({column}), '')"
        iso = _family_expr("iso", value)
        parts.append(f"count({value}) AS n{i}")
        parts.append(f"count({iso}) AS f{i}_0")
        # The slow day-first / month-first parsers run only where ISO fails.
        for j, family in enumerate(DATE_FAMILIES[1:], start=1):
            parts.append(f"count(CASE WHEN {iso} IS NULL THEN {_family_expr(family, value)} END) AS f{i}_{j}")
    row = cur.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchall()[0]
    result = {}
    width = 1 + len(DATE_FAMILIES)
    for i, key in enumerate(columns):
        values = row[i * width : (i + 1) * width]
        total, counts = values[0], dict(zip(DATE_FAMILIES, values[1:], strict=True))
        if counts["iso"] > 0 and counts["iso"] >= max(counts["day-first"], counts["month-first"]):
            family = "iso"
        elif counts["day-first"] == counts["month-first"]:
            family = "day-first" if counts["day-first"] > 0 else "iso"
        else:
            family = "day-first" if counts["day-first"] > counts["month-first"] else "month-first"
        ambiguous = family != "iso" and counts["day-first"] == counts["month-first"] and counts["day-first"] > 0
        result[key] = {"family": family, "counts": counts, "total": total, "ambiguous": ambiguous, "german": german}
    return result


# --- SQL builders ---------------------------------------------------------------------------


def _number_expr(expr: str, decimal: str) -> str:
    if decimal == ",":
        return (
            f"CASE WHEN contains({expr}, ',') OR regexp_full_match({expr}, '\\s*-?\\d{{1,3}}(\\.\\d{{3}})+\\s*') "
            f"THEN TRY_CAST(replace(replace({expr}, '.', ''), ',', '.') AS DOUBLE) ELSE TRY_CAST({expr} AS DOUBLE) END"
        )
    return (
        f"COALESCE(TRY_CAST({expr} AS DOUBLE), CASE WHEN regexp_full_match({expr}, '\\s*-?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?\\s*') "
        f"THEN TRY_CAST(replace({expr}, ',', '') AS DOUBLE) END)"
    )


def _typed_expr(column: schema.Column, expr: str, decimal: str, date_family: str | None) -> str:
    kind = column.type.upper()
    if kind == "DOUBLE":
        return _number_expr(expr, decimal)
    if kind in ("INTEGER", "BIGINT"):
        number = _number_expr(expr, decimal)
        return f"CASE WHEN ({number}) = floor({number}) THEN TRY_CAST({number} AS {kind}) END"
    if kind in ("TIMESTAMP", "DATE"):
        parsed = _family_expr(date_family or "iso", f"trim({expr})")
        return f"CAST({parsed} AS {kind})" if kind == "DATE" else parsed
    if kind == "BOOLEAN":
        return f"TRY_CAST(trim({expr}) AS BOOLEAN)"
    return expr


def _mask_sql(expr: str) -> str:
    """Value for the reject report: e-mail-like values masked, long ones cut."""
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL "
        f"WHEN regexp_matches({expr}, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') THEN left({expr}, 1) || '…@…(masked)' "
        f"WHEN length({expr}) > 60 THEN left({expr}, 57) || '…' ELSE {expr} END"
    )


# --- preview --------------------------------------------------------------------------------

SAMPLE_ROWS = 20_000


def read_preview(
    source: Any,
    *,
    rows: int = 20,
    file_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Preview:
    """Upload -> :class:`Preview` (format, encoding, delimiter, decimal, date order per column, first rows).

    Date orders are judged on the first 20,000 rows. Structural problems come back in ``error``.
    """
    own = con is None
    connection = store.connect(":memory:") if own else con
    cur = connection.cursor()
    token = uuid.uuid4().hex[:12]
    staged: _Staged | None = None
    src: _Source | None = None
    try:
        staged = _stage(source, file_name, max_bytes, encoding=encoding, delimiter=delimiter)
        src = _open_source(cur, staged, token, sheet=sheet, limit=SAMPLE_ROWS)
        sample = f"{SCRATCH}.sample_{token}"
        _run_read(cur, f"CREATE TABLE {sample} AS SELECT * FROM {src.numbered('sample')} LIMIT {SAMPLE_ROWS}")
        frame = cur.execute(f"SELECT * EXCLUDE (__row) FROM {sample} ORDER BY __row LIMIT ?", [rows]).df()
        frame.columns = src.headers
        dates = _detect_dates(cur, sample, {h: f"c{i}" for i, h in enumerate(src.headers)}, staged.german)
        date_orders = {}
        for header, info in dates.items():
            if info["total"] and max(info["counts"].values()) >= 0.5 * info["total"]:
                date_orders[header] = info["family"] + (" (ambiguous)" if info["ambiguous"] else "")
        preview = Preview(
            kind=staged.kind,
            headers=src.headers,
            rows=frame.astype(object),
            encoding=staged.encoding,
            delimiter=staged.delimiter,
            decimal=staged.decimal,
            date_orders=date_orders,
            german=staged.german,
            size=staged.size,
        )
        if frame.empty:
            preview.error = "The file has a header but no data rows."
            if src.kind == "csv":
                # Lines that could not be split are skipped in the sample: tell them apart from a header-only file.
                _run_read(cur, f"SELECT count(*) FROM {src.relation('main')}").fetchall()
                _take_malformed(cur, src)
                if not src.malformed.empty:
                    preview.error = NONE_SPLIT
        return preview
    except IngestError as exc:
        return Preview(kind="unknown", headers=[], rows=pd.DataFrame(), error=str(exc))
    finally:
        _close_source(cur, src)
        _drop_scratch(cur, token)
        cur.close()
        if staged is not None:
            _cleanup_files(staged)
        if own:
            connection.close()


# --- loading --------------------------------------------------------------------------------


def _failed(report: ImportReport, message: str) -> ImportReport:
    report.ok = False
    report.error = message
    report.messages.insert(0, message)
    return report


# Tables stored clustered by customer, then time: an import appends its rows in that order, as the demo
# generator writes them, so per-customer work (funnels, paths) reads each customer's rows together.
_CLUSTERED = {"interactions": ("customer_id", "occurred_at")}


def _cluster_order(table: str, columns: Sequence[str]) -> str:
    """`` ORDER BY`` positions of the insert's SELECT that keep ``table`` clustered, or ""."""
    keys = [columns.index(c) + 1 for c in _CLUSTERED.get(table, ()) if c in columns]
    return " ORDER BY " + ", ".join(str(k) for k in keys) if keys else ""


def load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: Any,
    *,
    mapping: dict | None = None,
    mode: str = "append",
    file_name: str | None = None,
    user: str = "local user",
    pseudonymise: bool = False,
    progress: ProgressFn | None = None,
    create_missing_customers: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str | None = None,
    delimiter: str | None = None,
    date_order: str | None = None,
    sheet: str | None = None,
    remember: bool = True,
    key_file: str | Path | None = None,
    max_reject_details: int = MAX_REJECT_DETAILS,
    allow_same_file: bool = False,
) -> ImportReport:
    """File (path or file-like: CSV, .csv.gz, .xlsx, .parquet) -> rows validated and loaded into ``table``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store connection.
    table : str
        One of ``customers``, ``interactions``, ``orders``, ``kano_responses``, ``requirements``.
    source : path or file-like
        The upload.
    mapping : dict, default=None
        ``{file header: canonical column}``; default: the remembered mapping of this layout, else
        the guess from names and synonyms (:func:`guess_mapping`).
    mode : {"append", "replace", "upsert"}, default="append"
        Append (rows whose key is already stored are rejected), replace the whole table, or
        upsert by the table's key (stored rows with a key of the file get the mapped columns
        updated, their other columns keep their values; new keys are added).
    pseudonymise : bool, default=False
        Replace personal text columns by keyed pseudonyms and birth years by decades.
    create_missing_customers : bool, default=False
        Add a minimal customer row for each unknown customer id instead of rejecting its rows.
    max_bytes : int, default=200 MB
        Size limit of the upload (and of its unpacked content).
    date_order : {"iso", "day-first", "month-first"}, default=None
        Force the date order of every date column instead of detecting it.
    allow_same_file : bool, default=False
        Load a file although a file with the same content (SHA-256) is already loaded into the
        table; by default that is refused with a message, as it usually is the same file twice.

    Returns
    -------
    ImportReport
        ``ok`` is False when nothing was loaded; ``rejects`` lists (row, column, value, reason)
        with the 1-based data row of the file.
    """
    report = ImportReport(table=table, mode=mode)
    try:
        spec = _check_table(table)
    except IngestError as exc:
        return _failed(report, str(exc))
    if mode not in MODES:
        return _failed(report, f"Unknown import mode '{mode}'. Choose append, replace or upsert.")
    if date_order not in (None, *DATE_FAMILIES):
        return _failed(report, f"Unknown date order '{date_order}'.")
    token = uuid.uuid4().hex[:12]
    cur = con.cursor()
    staged: _Staged | None = None
    src: _Source | None = None
    started = dt.datetime.now()
    clock = {"step": "", "at": time.perf_counter()}

    def step(fraction: float, text: str) -> None:
        now = time.perf_counter()
        if clock["step"]:
            report.timings[clock["step"]] = round(now - clock["at"], 3)
        clock["step"], clock["at"] = text, now
        _report_progress(progress, fraction, text)

    try:
        step(0.02, "Reading the file")
        staged = _stage(source, file_name, max_bytes, encoding=encoding, delimiter=delimiter)
        report.file_name = staged.name
        report.detected = {
            "format": staged.kind,
            "encoding": staged.encoding,
            "delimiter": staged.delimiter,
            "decimal": staged.decimal,
            "german_layout": staged.german,
        }
        src = _open_source(cur, staged, token, sheet=sheet)
        sample = f"{SCRATCH}.sample_{token}"
        _run_read(cur, f"CREATE TABLE {sample} AS SELECT * FROM {src.numbered('sample')} LIMIT {SAMPLE_ROWS}")
        sample_rows = cur.execute(f"SELECT count(*) FROM {sample}").fetchall()[0][0]
        if mapping is None:
            mapping, remembered = suggest_mapping(con, table, src.headers)
            if remembered:
                report.messages.append("Used the column mapping remembered for this file layout.")
        resolved = _resolve_mapping(spec, src.headers, mapping)
        report.mapping = {header: column for column, header in resolved.items()}
        derived = _derived_columns(spec, resolved)
        missing = _missing_columns(spec, resolved, derived)
        if sample_rows == 0 and missing:
            raise IngestError(
                "The file has a header but no data rows." if len(src.headers) > 1 else _one_column(missing)
            )
        if missing:
            if len(src.headers) == 1:
                raise IngestError(_one_column(missing))
            raise IngestError(
                "Required column(s) not found in the file: "
                + ", ".join(missing)
                + ". Map a file column to each of them (the file has: "
                + ", ".join(src.headers[:20])
                + ("…" if len(src.headers) > 20 else "")
                + ")."
            )
        unused = [h for h in src.headers if h not in report.mapping]
        if unused:
            report.messages.append(
                f"{len(unused)} file column(s) not used: "
                + ", ".join(unused[:10])
                + ("…" if len(unused) > 10 else "")
                + "."
            )
        step(0.1, "Reading and checking types")
        date_columns = {
            c: f"c{src.headers.index(h)}"
            for c, h in resolved.items()
            if spec.column(c).type.upper() in ("DATE", "TIMESTAMP")
        }
        if date_order:
            dates = {
                c: {"family": date_order, "counts": {}, "total": 0, "ambiguous": False, "forced": True}
                for c in date_columns
            }
        else:
            dates = _detect_dates(cur, sample, date_columns, staged.german)
        typed = _build_typed(cur, spec, src, resolved, derived, staged, token, dates, pseudonymise, con, key_file)
        _take_malformed(cur, src)
        if src.adjust_view:
            cur.execute(
                f"CREATE TABLE {typed}_fixed AS SELECT t.__row + coalesce(a.n, 0) AS __row, t.* EXCLUDE (__row) "
                f"FROM {typed} t ASOF LEFT JOIN {src.adjust_view} a ON t.__row > a.adj"
            )
            cur.execute(f"DROP TABLE {typed}")
            typed = f"{typed}_fixed"
        report.rows_read = int(cur.execute(f"SELECT count(*) FROM {typed}").fetchall()[0][0]) + len(src.malformed)
        if report.rows_read == 0:
            raise IngestError("The file has a header but no data rows.")
        if report.rows_read == len(src.malformed):
            report.rejects = src.malformed.assign(column=None)[["row", "column", "value", "reason"]]
            report.rows_rejected = report.rows_read
            raise IngestError(NONE_SPLIT)
        report.detected["date_orders"] = {resolved[k]: v["family"] for k, v in dates.items() if k in resolved}
        report.messages.extend(_date_messages(dates, resolved, staged.german))
        if pseudonymise:
            cols = [c.name for c in spec.columns if c.personal and c.name in resolved]
            if cols:
                report.messages.append("Personal columns pseudonymised: " + ", ".join(cols) + ".")
        step(0.55, "Validating")
        rej = f"{SCRATCH}.rej_{token}"
        _validate(cur, spec, typed, rej, resolved, derived, dates, src)
        report.messages.extend(_mixed_messages(cur, rej, dates, resolved))
        step(0.7, "Loading")
        _write(
            con,
            cur,
            spec,
            typed,
            rej,
            src,
            resolved,
            derived,
            report,
            staged,
            mode,
            user,
            create_missing_customers,
            started,
            remember,
            allow_same_file,
        )
        step(0.9, "Listing rejected rows")
        _collect_rejects(cur, rej, src, report, max_reject_details)
        step(1.0, "Done")
        return report
    except IngestError as exc:
        report.rows_loaded = 0
        return _failed(report, str(exc))
    except _NothingToLoad:
        _collect_rejects(cur, f"{SCRATCH}.rej_{token}", src, report, max_reject_details)
        report.rows_loaded = 0
        return _failed(report, "No row could be loaded: every row has a problem (see the list of rejected rows).")
    except duckdb.Error as exc:
        report.rows_loaded = 0
        report.detected["database_error"] = str(exc)[:300]
        return _failed(report, "The import failed and nothing was written. " + _plain_db_error(str(exc)))
    finally:
        _close_source(cur, src)
        _drop_scratch(cur, token)
        cur.close()
        if staged is not None:
            _cleanup_files(staged)


def _one_column(missing: list[str]) -> str:
    return (
        "Only one column was found. The separator may be something other than comma, semicolon, tab or pipe, "
        "or the file is not a table. Required columns not found: " + ", ".join(missing) + "."
    )


class _NothingToLoad(Exception):
    def __init__(self, extra: pd.DataFrame):
        super().__init__("nothing to load")
        self.extra = extra


def _plain_db_error(message: str) -> str:
    lowered = message.lower()
    if "out of memory" in lowered:
        return "The computer ran out of memory; split the file into smaller parts."
    if "conflict" in lowered:
        return "Someone else changed the same data at the same moment; try again."
    return "The database reported a problem; try again or contact support."


def _derived_columns(spec: schema.Table, resolved: dict[str, str]) -> dict[str, str]:
    """Columns computed when not mapped: order line numbers (file order) and line amounts."""
    derived: dict[str, str] = {}
    if spec.name == "orders":
        if "line_no" not in resolved:
            derived["line_no"] = "CAST(row_number() OVER (PARTITION BY v_order_id ORDER BY __row) AS INTEGER)"
        if "amount" not in resolved and "quantity" in resolved and "unit_price" in resolved:
            derived["amount"] = "round(v_quantity * v_unit_price, 2)"
    return derived


def _insert_expr(
    spec: schema.Table, column: str, resolved: dict[str, str], cur, *, countries: str | None = None
) -> str:
    """Value to insert for ``column``: order money converted into the reporting currency (analytics.currency),
    countries as ISO codes (``countries``: the table of :func:`_convert_countries`)."""
    if column == "country":
        return _country_sql(countries)
    if spec.name != "orders" or "currency" not in resolved:
        return f"t.v_{column}"
    rate = currency.rate_sql("t.v_currency", currency.rates(cur))
    if column == "unit_price":
        return f"round(t.v_unit_price / {rate}, 4)"
    if column == "amount":
        return f"round(t.v_amount / {rate}, 2)"
    if column == "currency":
        return "upper(trim(t.v_currency))"
    return f"t.v_{column}"


def _is_text(column: schema.Column) -> bool:
    return column.type.upper() == "VARCHAR"


def _build_typed(cur, spec, src, resolved, derived, staged, token, dates, pseudonymise, con, key_file) -> str:
    """One scan of the file -> scratch table with __row, v_<column> (typed) and r_<column> (text where a cast failed)."""
    key = privacy.load_key(con, path=key_file) if pseudonymise else None
    decimal = staged.decimal if staged.kind.startswith("csv") else "."
    trimmed = set(spec.key) | {c.name for c in spec.columns if c.required} | {spec.customer_column or ""}
    inner, outer = ["__row"], ["__row"]
    for column, header in resolved.items():
        col = spec.column(column)
        raw = f"c{src.headers.index(header)}"
        clean = f"NULLIF(trim({raw}), '')" if column in trimmed else f"NULLIF({raw}, '')"
        if _is_text(col):
            expr = privacy.pseudonym_sql(clean, key) if pseudonymise and col.personal else clean
            inner.append(f"{expr} AS v_{column}")
            outer.append(f"v_{column}")
            continue
        expr = _typed_expr(col, f"NULLIF({raw}, '')", decimal, dates.get(column, {}).get("family"))
        if pseudonymise and col.personal:
            expr = privacy.generalise_sql(expr, col.type)
        inner.append(f"{expr} AS v_{column}")
        inner.append(f"{raw} AS raw_{column}")
        outer.append(f"v_{column}")
        outer.append(f"CASE WHEN v_{column} IS NULL THEN NULLIF(trim(raw_{column}), '') END AS r_{column}")
    derived_sql = ", ".join(f"{expr} AS v_{column}" for column, expr in derived.items())
    typed = f"{SCRATCH}.typed_{token}"
    query = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {src.numbered('main')})"
    if derived_sql:
        query = f"SELECT *, {derived_sql} FROM ({query})"
    _run_read(cur, f"CREATE TABLE {typed} AS {query}")
    return typed


def _date_messages(dates, resolved, german) -> list[str]:
    messages = []
    for column, info in dates.items():
        header = resolved.get(column, column)
        family = info["family"]
        if info.get("forced"):
            messages.append(f"Dates in '{header}' read as {family} (as chosen).")
        elif info["ambiguous"]:
            why = "the file has a German layout" if german else "no value settles it (day-first is the default)"
            messages.append(
                f"Dates in '{header}' could be day-first or month-first; read as day-first because {why}, "
                f"e.g. 03.04.2025 = 3 April 2025."
            )
        elif family != "iso":
            messages.append(f"Dates in '{header}' read as {family} (e.g. {DATE_EXAMPLES[family]}).")
    return messages


def _mixed_messages(cur, rej: str, dates, resolved) -> list[str]:
    messages = []
    for column, info in dates.items():
        header = resolved.get(column, column)
        n = cur.execute(
            f"SELECT count(*) FROM {rej} WHERE col = ? AND starts_with(reason, 'date written in a different format')",
            [header],
        ).fetchall()[0][0]
        if n:
            messages.append(
                f"Column '{header}' mixes date formats: {n:,} value(s) differ from the main format "
                f"({info['family']}, e.g. {DATE_EXAMPLES[info['family']]}) and their rows were rejected."
            )
    return messages


def _validate(cur, spec, typed, rej, resolved, derived, dates, src) -> None:
    """Type and value checks, then duplicate keys within the file -> scratch reject table."""
    today = dt.date.today()
    future = today + dt.timedelta(days=366)
    checks: list[str] = []
    conditions: list[str] = []

    def add(column: str, condition: str, reason: str, value: str | None = None) -> None:
        value = value or (f"r_{column}" if not _is_text(spec.column(column)) else f"v_{column}")
        conditions.append(f"({condition})")
        checks.append(
            f"SELECT __row AS row, {_lit(resolved.get(column, column))} AS col, CAST({value} AS VARCHAR) AS value, "
            f"{_lit(reason)} AS reason FROM {typed} WHERE {condition}"
        )

    customer = spec.customer_column
    if spec.name == "orders" and "currency" in resolved:
        known = currency.rates(cur)
        add(
            "currency",
            f"v_currency IS NOT NULL AND {currency.rate_sql('v_currency', known)} IS NULL",
            "No exchange rate for this currency; the workbench knows " + ", ".join(sorted(known)) + ".",
        )
    for col in spec.columns:
        name = col.name
        if name not in resolved:
            continue
        text = _is_text(col)
        empty = f"v_{name} IS NULL" if text else f"v_{name} IS NULL AND r_{name} IS NULL"
        if col.required:
            reason = (
                "no customer id: the line cannot be attributed to a customer"
                if name == customer
                else "required value is empty"
            )
            add(name, empty, reason, "NULL")
        if text:
            continue
        kind = col.type.upper()
        if kind == "DOUBLE":
            add(name, f"r_{name} IS NOT NULL", "not a number")
            add(name, f"v_{name} IS NOT NULL AND NOT isfinite(v_{name})", "not a finite number", f"v_{name}")
        elif kind in ("INTEGER", "BIGINT"):
            add(name, f"r_{name} IS NOT NULL", "not a whole number (or too large)")
        elif kind in ("DATE", "TIMESTAMP"):
            family = dates.get(name, {}).get("family", "iso")
            others = " OR ".join(f"{_family_expr(f, f'r_{name}')} IS NOT NULL" for f in DATE_FAMILIES if f != family)
            example = DATE_EXAMPLES[family]
            add(
                name,
                f"r_{name} IS NOT NULL AND ({others})",
                f"date written in a different format from the rest of the column (expected like {example})",
            )
            add(name, f"r_{name} IS NOT NULL AND NOT ({others})", f"not a date (expected like {example})")
            add(name, f"v_{name} > DATE '{future.isoformat()}'", "date more than a year in the future", f"v_{name}")
            add(name, f"v_{name} < DATE '1900-01-01'", "date before 1900 (year written with two digits?)", f"v_{name}")
    normalise: list[str] = []
    if spec.name == "interactions":
        for name, allowed, what in (
            ("stage", schema.STAGES, "journey stage"),
            ("channel", schema.CHANNELS, "channel"),
        ):
            if name not in resolved:
                continue
            listed = ", ".join(_lit(v.lower()) for v in allowed)
            add(
                name,
                f"NULLIF(trim(v_{name}), '') IS NOT NULL AND lower(trim(v_{name})) NOT IN ({listed})",
                f"not a known {what}; allowed are: {', '.join(allowed)} (upper or lower case)",
            )
            normalise.append(f"v_{name} = NULLIF(lower(trim(v_{name})), '')")
    if spec.name == "requirements" and "moscow" in resolved:
        words = f"{typed}_moscow"
        found = cur.execute(f"SELECT DISTINCT v_moscow FROM {typed} WHERE NULLIF(trim(v_moscow), '') IS NOT NULL")
        pairs = [(raw, moscow_value(raw)) for (raw,) in found.fetchall()]
        cur.execute(f"CREATE TABLE {words} (raw VARCHAR, norm VARCHAR)")
        if pairs:
            cur.executemany(f"INSERT INTO {words} VALUES (?, ?)", pairs)
        add(
            "moscow",
            f"NULLIF(trim(v_moscow), '') IS NOT NULL AND v_moscow NOT IN (SELECT raw FROM {words} WHERE norm IS NOT NULL)",
            "not a MoSCoW priority; allowed are: must, should, could, won't (any case; also M, S, C, W and muss, soll, kann, nicht)",
        )
        normalise.append(
            f"v_moscow = (SELECT w.norm FROM {words} w WHERE w.raw = {typed.split('.')[-1]}.v_moscow AND w.norm IS NOT NULL)"
        )
    if "birth_year" in resolved:
        add(
            "birth_year", f"v_birth_year < 1900 OR v_birth_year > {today.year}", "impossible birth year", "v_birth_year"
        )
    if "employees" in resolved:
        add("employees", "v_employees < 0", "negative number of employees", "v_employees")
    if "line_no" in resolved:
        add("line_no", "v_line_no < 1", "line number must be 1 or more", "v_line_no")
    empty = f"SELECT __row AS row, CAST(NULL AS VARCHAR) AS col, CAST(NULL AS VARCHAR) AS value, CAST(NULL AS VARCHAR) AS reason FROM {typed} WHERE false"
    # One scan tells whether any row has a problem; only then run the checks one by one.
    problems = (
        cur.execute(f"SELECT count(*) FROM {typed} WHERE {' OR '.join(conditions)}").fetchall()[0][0]
        if conditions
        else 0
    )
    cur.execute(f"CREATE TABLE {rej} AS " + (" UNION ALL ".join(checks) if problems else empty))
    if normalise:
        # Allowed values in their stored spelling (rejected values were reported as written).
        cur.execute(f"UPDATE {typed} SET {', '.join(normalise)}")
    if not src.malformed.empty:
        view = f"malformed_{src.token}"
        cur.register(view, src.malformed)
        try:
            cur.execute(f"INSERT INTO {rej} SELECT row, NULL, {_mask_sql('value')}, reason FROM {view}")
        finally:
            cur.unregister(view)
    # Duplicate keys within the file (among rows without other problems): the first one stays.
    key = list(spec.key)
    if (
        key
        and all(k in resolved or k in derived for k in key)
        and not all(k in derived for k in key)
        and not ("line_no" in derived and key == ["order_id", "line_no"])
    ):
        on = " AND ".join(f"t.v_{k} = d.v_{k}" for k in key)
        not_null = " AND ".join(f"v_{k} IS NOT NULL" for k in key)
        label = " + ".join(resolved.get(k, k) for k in key)
        value = " || ' / ' || ".join(f"CAST(t.v_{k} AS VARCHAR)" for k in key)
        cur.execute(
            f"INSERT INTO {rej} "
            f"WITH ok AS (SELECT * FROM {typed} WHERE {not_null} AND __row NOT IN (SELECT row FROM {rej})), "
            f"d AS (SELECT {', '.join(f'v_{k}' for k in key)}, min(__row) AS first_row FROM ok "
            f"GROUP BY ALL HAVING count(*) > 1) "
            f"SELECT t.__row, {_lit(label)}, {value}, 'same key as row ' || d.first_row || ' of the file' "
            f"FROM ok t JOIN d ON {on} WHERE t.__row > d.first_row"
        )
    if spec.name == "interactions":
        # Events without an id: the same customer, time, event and channel twice in the file is one event.
        channel = "v_channel" if "channel" in resolved else "NULL"
        id_missing = "v_interaction_id IS NULL AND " if "interaction_id" in resolved else ""
        label = " + ".join(resolved.get(c, c) for c in ("customer_id", "occurred_at", "event"))
        cur.execute(
            f"INSERT INTO {rej} "
            f"WITH ok AS (SELECT __row, v_customer_id, v_occurred_at, v_event, {channel} AS channel FROM {typed} "
            f"WHERE {id_missing}v_customer_id IS NOT NULL AND v_occurred_at IS NOT NULL AND v_event IS NOT NULL "
            f"AND __row NOT IN (SELECT row FROM {rej})), "
            f"w AS (SELECT *, min(__row) OVER (PARTITION BY v_customer_id, v_occurred_at, v_event, channel) AS first_row "
            f"FROM ok) "
            f"SELECT __row, {_lit(label)}, v_customer_id || ' / ' || CAST(v_occurred_at AS VARCHAR) || ' / ' || v_event, "
            f"'same event as row ' || first_row || ' of the file (same customer, time, event and channel)' "
            f"FROM w WHERE __row > first_row"
        )


def _customer_check_sql(spec: schema.Table, resolved: dict[str, str]) -> str | None:
    if spec.name == "customers" or spec.customer_column is None or spec.customer_column not in resolved:
        return None
    column = spec.customer_column
    return f"t.v_{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = t.v_{column})"


def _stored_key_sql(spec: schema.Table) -> str:
    on = " AND ".join(f"s.{_q(k)} = t.v_{k}" for k in spec.key)
    return f"EXISTS (SELECT 1 FROM {_q(spec.name)} s WHERE {on})"


def _same_file_loaded(cur, spec: schema.Table, checksum: str) -> str | None:
    """Message when a file with this content is already loaded into the table, else None."""
    rows = cur.execute(
        "SELECT import_id, file_name, finished_at FROM imports WHERE table_name = ? AND checksum = ? "
        "AND status = 'loaded' ORDER BY import_id DESC",
        [spec.name, checksum],
    ).fetchall()
    if not rows:
        return None
    import_id, name, finished = rows[0]
    when = f" on {finished:%Y-%m-%d %H:%M}" if hasattr(finished, "strftime") else ""
    return (
        f"This file was already loaded into {spec.name}: import #{import_id} ('{name}'{when}) has the same content. "
        "Nothing was loaded. To load it again anyway, allow loading the same file again "
        "(or undo the earlier import first)."
    )


def _event_key_sql(left: str, right: str, resolved: dict[str, str], *, stored: bool = True) -> str:
    """Interactions without an id: same customer, time, event and channel (channel may be empty on both).

    ``right`` is the stored table (columns by name) or, with ``stored=False``, another copy of the file.
    """
    prefix = "" if stored else "v_"
    channel = f"{left}.v_channel" if "channel" in resolved else "CAST(NULL AS VARCHAR)"
    other = f"{right}.{prefix}channel" if stored or "channel" in resolved else "CAST(NULL AS VARCHAR)"
    return (
        f"{left}.v_customer_id = {right}.{prefix}customer_id AND {left}.v_occurred_at = {right}.{prefix}occurred_at "
        f"AND {left}.v_event = {right}.{prefix}event AND {channel} IS NOT DISTINCT FROM {other}"
    )


def _write(
    con,
    cur,
    spec,
    typed,
    rej,
    src,
    resolved,
    derived,
    report,
    staged,
    mode,
    user,
    create_missing,
    started,
    remember,
    allow_same_file=False,
):
    """Checks against stored rows, then one transaction: backup, delete/insert, import log, remembered mapping.

    The whole step holds the process-wide write lock, so what the checks saw is what the
    transaction writes against.
    """
    columns = [c for c in spec.column_names if c in resolved or c in derived]
    keys_usable = len(spec.key) > 0 and all(k in resolved or k in derived for k in spec.key)
    customer_sql = _customer_check_sql(spec, resolved)
    target = _q(spec.name)
    t0 = time.perf_counter()
    with store.WRITE_LOCK:
        report.checksum = staged.checksum
        if not allow_same_file and (same := _same_file_loaded(cur, spec, report.checksum)):
            raise IngestError(same)
        # Rows that clash with what is stored: same key (append) or unknown customer.
        has_rejects = cur.execute(f"SELECT count(*) FROM {rej}").fetchall()[0][0] > 0
        valid = f"t.__row NOT IN (SELECT row FROM {rej})" if has_rejects else "true"
        stored_rows = cur.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]
        if mode == "append" and keys_usable and stored_rows:
            label = " + ".join(resolved.get(k, k) for k in spec.key)
            value = " || ' / ' || ".join(f"CAST(t.v_{k} AS VARCHAR)" for k in spec.key)
            cur.execute(
                f"INSERT INTO {rej} SELECT t.__row, {_lit(label)}, {value}, "
                f"'already stored (choose upsert to update stored rows)' FROM {typed} t WHERE {valid} AND {_stored_key_sql(spec)}"
            )
        if spec.name == "interactions" and mode != "replace" and stored_rows:
            # Events without an id: the same event already stored is not loaded twice.
            label = " + ".join(resolved.get(c, c) for c in ("customer_id", "occurred_at", "event"))
            value = "t.v_customer_id || ' / ' || CAST(t.v_occurred_at AS VARCHAR) || ' / ' || t.v_event"
            id_missing = "t.v_interaction_id IS NULL AND " if "interaction_id" in resolved else ""
            cur.execute(
                f"INSERT INTO {rej} SELECT t.__row, {_lit(label)}, {value}, "
                f"'same event already stored (same customer, time, event and channel)' FROM {typed} t "
                f"WHERE {valid} AND {id_missing}EXISTS (SELECT 1 FROM interactions s WHERE {_event_key_sql('t', 's', resolved)})"
            )
        if customer_sql and not create_missing:
            header = resolved.get(spec.customer_column or "", "")
            cur.execute(
                f"INSERT INTO {rej} SELECT t.__row, {_lit(header)}, t.v_{spec.customer_column}, "
                f"'unknown customer (load the customers first, or let the import create them)' "
                f"FROM {typed} t WHERE {valid} AND {customer_sql}"
            )
        bad_rows = cur.execute(f"SELECT count(DISTINCT row) FROM {rej}").fetchall()[0][0]
        total_rows = cur.execute(f"SELECT count(*) FROM {typed}").fetchall()[0][0]
        if total_rows - _bad_typed_rows(cur, rej, typed, bad_rows, len(src.malformed)) == 0:
            raise _NothingToLoad(_extra_empty())
        where = f"t.__row NOT IN (SELECT row FROM {rej})" if bad_rows else "true"
        # Country names become ISO codes now that it is known which rows load (the counts are theirs).
        tc = time.perf_counter()
        converted = _convert_countries(cur, spec, resolved, typed, where, src.token)
        countries = None
        if converted is not None:
            report.detected["countries"], countries = converted
        t1 = time.perf_counter()
        with store.transaction(con) as tx:
            import_id = int(tx.execute("SELECT nextval('import_seq')").fetchall()[0][0])
            report.import_id = import_id
            backup = f"import_backup_{import_id}"
            if customer_sql and create_missing:
                country = f"arg_min({_country_sql(countries)}, t.__row)" if "country" in resolved else "NULL"
                signup = f"CAST(min(t.v_{spec.time_column}) AS DATE)" if spec.time_column in resolved else "NULL"
                report.customers_created = int(
                    tx.execute(
                        f"INSERT INTO customers (customer_id, country, signup_date, import_id) "
                        f"SELECT t.v_{spec.customer_column}, {country}, {signup}, ? FROM {typed} t "
                        f"WHERE {where} AND {customer_sql} GROUP BY t.v_{spec.customer_column}",
                        [import_id],
                    ).fetchall()[0][0]
                )
            backup_made = False
            matched = 0
            insert_where = where
            if mode == "replace":
                tx.execute(f"CREATE TABLE {_q(backup)} AS SELECT * FROM {target}")
                report.rows_replaced = int(tx.execute(f"DELETE FROM {target}").fetchall()[0][0])
                backup_made = True
            elif mode == "upsert" and keys_usable and stored_rows:
                # Stored rows with a key of the file: back up the full rows (undo restores them), then
                # update only the mapped columns; columns the file does not have keep their values.
                on = " AND ".join(f"s.{_q(k)} = t.v_{k}" for k in spec.key)
                matches = f"EXISTS (SELECT 1 FROM {typed} t WHERE {where} AND {on})"
                tx.execute(f"CREATE TABLE {_q(backup)} AS SELECT * FROM {target} s WHERE {matches}")
                backup_made = True
                matched = int(
                    tx.execute(f"SELECT count(*) FROM {typed} t WHERE {where} AND {_stored_key_sql(spec)}").fetchall()[
                        0
                    ][0]
                )
                settable = [c for c in columns if c not in spec.key]
                assignments = ", ".join(
                    [f"{_q(c)} = {_insert_expr(spec, c, resolved, cur, countries=countries)}" for c in settable]
                    + ["import_id = ?"]
                )
                report.rows_replaced = int(
                    tx.execute(
                        f"UPDATE {target} AS s SET {assignments} FROM {typed} AS t WHERE {where} AND {on}",
                        [import_id],
                    ).fetchall()[0][0]
                )
                insert_where = f"{where} AND NOT {_stored_key_sql(spec)}"
            target_cols = ", ".join(_q(c) for c in columns) + ", import_id"
            select_cols = ", ".join(_insert_expr(spec, c, resolved, cur, countries=countries) for c in columns)
            t2 = time.perf_counter()
            inserted = int(
                tx.execute(
                    f"INSERT INTO {target} ({target_cols}) SELECT {select_cols}, ? FROM {typed} t WHERE {insert_where}"
                    + (_cluster_order(spec.name, columns) or (" ORDER BY t.__row" if countries else "")),
                    [import_id],
                ).fetchall()[0][0]
            )
            # Rows of the file that updated a stored row count as loaded.
            report.rows_loaded = inserted + matched
            t3 = time.perf_counter()
            report.rows_rejected = report.rows_read - report.rows_loaded
            report.skipped = _summary_counts(tx, rej, _extra_empty())
            details = {
                "detected": {k: v for k, v in report.detected.items() if k != "database_error"},
                "mapping": report.mapping,
                "skipped": report.skipped,
                "customers_created": report.customers_created,
                "rows_replaced": report.rows_replaced,
                "backup_table": backup if backup_made else None,
            }
            tx.execute(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), 'loaded', ?)",
                [
                    import_id,
                    spec.name,
                    staged.name,
                    staged.checksum,
                    mode,
                    report.rows_read,
                    report.rows_loaded,
                    report.rows_rejected,
                    user,
                    started,
                    json.dumps(details, default=str),
                ],
            )
            summary = {
                "file": staged.name,
                "mode": mode,
                "rows_loaded": report.rows_loaded,
                "rows_rejected": report.rows_rejected,
            }
            store.audit(tx, "import", f"{spec.name} #{import_id}", json.dumps(summary), actor=user)
            if remember and report.mapping:
                _remember_mapping(tx, spec.name, src.headers, report.mapping)
        t4 = time.perf_counter()
    report.timings.update(
        {
            "write: checks": round(tc - t0, 3),
            "write: countries": round(t1 - tc, 3),
            "write: before insert": round(t2 - t1, 3),
            "write: insert": round(t3 - t2, 3),
            "write: log and commit": round(t4 - t3, 3),
        }
    )
    report.ok = True
    report.messages.extend(_country_messages(report.detected.get("countries")))
    if report.customers_created:
        report.messages.append(f"{report.customers_created:,} customers were created from the order lines (ids only).")
    if report.rows_replaced and mode == "upsert":
        report.messages.append(
            f"{report.rows_replaced:,} stored rows were updated in the mapped columns; their other columns kept "
            "their values (undo restores the rows as they were)."
        )
    elif report.rows_replaced:
        report.messages.append(f"{report.rows_replaced:,} stored rows were replaced (undo restores them).")


def _bad_typed_rows(cur, rej: str, typed: str, bad_rows: int, malformed: int) -> int:
    """Rejected rows that are in the typed table (lines DuckDB could not split are not)."""
    if not bad_rows:
        return 0
    if not malformed:
        return bad_rows
    return cur.execute(f"SELECT count(*) FROM {typed} WHERE __row IN (SELECT row FROM {rej})").fetchall()[0][0]


def _extra_empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "col": pd.Series(dtype=object),
            "value": pd.Series(dtype=object),
            "reason": pd.Series(dtype=object),
        }
    )


def _summary_counts(cur, rej: str, extra: pd.DataFrame) -> dict[str, int]:
    """Rejected rows counted once each, by their first reason -> {reason: rows}."""
    counts: dict[str, int] = {}
    rows = cur.execute(
        f"SELECT reason, count(*) FROM (SELECT row, min(reason) AS reason FROM {rej} GROUP BY row) GROUP BY reason"
    ).fetchall()
    if not extra.empty:
        rows += list(extra.groupby("reason")["row"].nunique().items())
    for reason, n in rows:
        counts[_generic(reason)] = counts.get(_generic(reason), 0) + int(n)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _generic(reason: str) -> str:
    if reason.startswith("same key as row"):
        return "same key as an earlier row of the file"
    if reason.startswith("same event as row"):
        return "same event as an earlier row of the file"
    if reason in (TOO_MANY_FIELDS, TOO_FEW_FIELDS):
        return "wrong number of fields"
    return reason


def _raw_value_sql(labels: list[str | None], headers: list[str]) -> str:
    """SQL for a reject's value as written in the file, from the file row ``r`` and the reject ``d``.

    A reject names a file column (its header) or, for keys of several columns, the headers joined by
    ' + ' (their cells are shown joined by ' / '). Rejects of whole lines and of computed columns keep
    the value the check reported.
    """
    position = {h: i for i, h in enumerate(headers)}
    cases = []
    for label in labels:
        if label is None:
            continue
        if label in position:
            cases.append(f"WHEN {_lit(label)} THEN r.c{position[label]}")
            continue
        parts = label.split(" + ")
        if len(parts) > 1 and all(p in position for p in parts):
            cells = ", ".join(f"coalesce(r.c{position[p]}, '')" for p in parts)
            cases.append(f"WHEN {_lit(label)} THEN concat_ws(' / ', {cells})")
    if not cases:
        return "d.value"
    return f"CASE WHEN r.file_row IS NULL THEN d.value ELSE CASE d.col {' '.join(cases)} ELSE d.value END END"


def _collect_rejects(cur, rej: str, src: _Source | None, report: ImportReport, limit: int, *, extra=None) -> None:
    """Reject details (values as written in the file, masked) and the rejected rows as they were in the file.

    One more scan of the file fetches the rejected rows' cells; both lists are built from them in SQL.
    """
    extra = extra if extra is not None else _extra_empty()
    token = rej.split("_")[-1]
    view, combined = f"extra_{token}", f"{SCRATCH}.allrej_{token}"
    cur.register(view, extra if not extra.empty else _extra_empty())
    try:
        cur.execute(
            f"CREATE OR REPLACE TABLE {combined} AS SELECT row, col, value, reason FROM {rej} "
            f"UNION ALL SELECT CAST(row AS BIGINT), CAST(col AS VARCHAR), CAST(value AS VARCHAR), CAST(reason AS VARCHAR) FROM {view}"
        )
    except duckdb.Error:
        report.rejects = _empty_rejects()
        return
    finally:
        cur.unregister(view)
    if not report.ok:
        report.rows_rejected = report.rows_read
        if report.rows_read:
            report.skipped = _summary_counts(cur, combined, _extra_empty())
    # The first ``limit`` rejected rows with their problems and their cells, read again from the file as text.
    rows = f"{SCRATCH}.rejrows_{token}"
    have_rows = False
    if src is not None and cur.execute(f"SELECT count(*) FROM {combined}").fetchall()[0][0]:
        try:
            _run_read(
                cur,
                f"CREATE TABLE {rows} AS SELECT p.row, p.problem, r.__row AS file_row, r.* EXCLUDE (__row) FROM "
                f"(SELECT row, string_agg(DISTINCT reason, '; ' ORDER BY reason) AS problem FROM {combined} "
                f"GROUP BY row ORDER BY row LIMIT {int(limit)}) p "
                f"LEFT JOIN {src.numbered('again')} r ON r.__row = p.row",
            )
            have_rows = True
        except (IngestError, duckdb.Error):
            have_rows = False
    if have_rows:
        labels = [r[0] for r in cur.execute(f"SELECT DISTINCT col FROM {combined}").fetchall()]
        value = _raw_value_sql(labels, src.headers)
        source = f"(SELECT * FROM {combined} ORDER BY row, col LIMIT ?) d LEFT JOIN {rows} r ON r.row = d.row"
    else:
        value = "d.value"
        source = f"(SELECT * FROM {combined} ORDER BY row, col LIMIT ?) d"
    details = cur.execute(
        f'SELECT row, "column", {_mask_sql("value")} AS value, reason FROM '
        f'(SELECT d.row, d.col AS "column", {value} AS value, d.reason FROM {source}) ORDER BY row, "column"',
        [limit],
    ).df()
    details["row"] = details["row"].astype("int64")
    report.rejects = details
    if len(details) >= limit:
        report.messages.append(f"Only the first {limit:,} problems are listed.")
    if not have_rows or details.empty:
        report.rejected_rows = pd.DataFrame()
        return
    # The rejected rows as in the file, with their problems, for the user to fix and upload again.
    names = ", ".join(f"c{i} AS {_q(h)}" for i, h in enumerate(src.headers))
    report.rejected_rows = cur.execute(f"SELECT row, problem, {names} FROM {rows} ORDER BY row").df()


# --- log and undo ---------------------------------------------------------------------------


def imports_log(con: duckdb.DuckDBPyConnection, *, limit: int = 200) -> pd.DataFrame:
    """The import log, newest first -> DataFrame (import_id, table_name, file_name, mode, rows..., status)."""
    return (
        con.cursor()
        .execute(
            "SELECT import_id, table_name, file_name, mode, rows_read, rows_loaded, rows_rejected, user_name, "
            "started_at, finished_at, status, checksum, details FROM imports ORDER BY import_id DESC LIMIT ?",
            [limit],
        )
        .df()
    )


def _touched_tables(table: str, details: str | None) -> set[str]:
    """Tables an import wrote to: its own, plus customers when it created customers."""
    touched = {table}
    try:
        created = int((json.loads(details or "{}") or {}).get("customers_created") or 0)
    except (ValueError, TypeError, AttributeError):
        created = 0
    if created:
        touched.add("customers")
    return touched


def _later_imports(cur: duckdb.DuckDBPyConnection, import_id: int, touched: set[str]) -> list[tuple]:
    """Still-loaded imports after ``import_id`` that wrote to any of ``touched`` -> [(id, table, file)]."""
    rows = cur.execute(
        "SELECT import_id, table_name, file_name, details FROM imports "
        "WHERE status = 'loaded' AND import_id > ? ORDER BY import_id DESC",
        [import_id],
    ).fetchall()
    return [(i, t, f) for i, t, f, d in rows if _touched_tables(t, d) & touched]


def _regenerated_after(cur: duckdb.DuckDBPyConnection, table: str, import_id: int, finished_at) -> Any:
    """When the table's contents were replaced outside imports (demo data) after the import -> that time, else None."""
    logged = cur.execute(
        "SELECT min(event_id) FROM audit_log WHERE action = 'import' AND subject = ?", [f"{table} #{import_id}"]
    ).fetchall()[0][0]
    if logged is not None:
        rows = cur.execute(
            "SELECT occurred_at, details FROM audit_log WHERE action = 'demo data generated' AND event_id > ? "
            "ORDER BY event_id",
            [logged],
        ).fetchall()
    else:
        rows = cur.execute(
            "SELECT occurred_at, details FROM audit_log WHERE action = 'demo data generated' AND occurred_at >= ? "
            "ORDER BY event_id",
            [finished_at],
        ).fetchall()
    for occurred_at, details in rows:
        try:
            tables = set((json.loads(details or "{}") or {}).get("rows") or {})
        except (ValueError, TypeError, AttributeError):
            tables = set()
        if not tables or table in tables:
            return occurred_at
    return None


def _describe_imports(imports: list[tuple]) -> str:
    return ", ".join(f"#{i} ({f or 'no file name'}, {t})" for i, t, f in imports)


def undo(con: duckdb.DuckDBPyConnection, import_id: int, *, user: str = "local user") -> dict[str, int]:
    """Take one import back -> {"rows_removed", "rows_restored", "customers_removed"}.

    Append: its rows are deleted. Replace / upsert: its rows are deleted and the rows it replaced
    or updated are restored from its backup table (stored rows with the key of a backup row are
    removed first, so a key is never stored twice). Customers the import created are removed when
    nothing else refers to them. Logged in the audit log.

    Only the newest still-loaded import of a table can be undone (imports build on each other:
    undo the later ones first), and not after the table was regenerated as demo data.

    Raises
    ------
    IngestError
        When the import does not exist, was already undone, a later import of the same table is
        still loaded, or the table was regenerated after it. Nothing is changed then.
    """
    import_id = int(import_id)

    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
        found = cur.execute(
            "SELECT table_name, status, mode, finished_at, details FROM imports WHERE import_id = ?", [import_id]
        ).fetchall()
        row = found[0] if found else None
        if row is None:
            raise IngestError(f"There is no import number {import_id}.")
        table, status, mode, finished_at, details = row
        if status != "loaded":
            raise IngestError(f"Import number {import_id} was already undone.")
        spec = _check_table(table)
        touched = _touched_tables(table, details)
        later = _later_imports(cur, import_id, touched)
        if later:
            raise IngestError(
                f"Import number {import_id} cannot be undone yet: later imports into the same table are still "
                f"loaded and build on it. Undo them first, newest first: {_describe_imports(later)}. "
                "Nothing was changed."
            )
        for name in sorted(touched):
            regenerated = _regenerated_after(cur, name, import_id, finished_at)
            if regenerated is not None:
                when = regenerated.strftime("%Y-%m-%d %H:%M") if hasattr(regenerated, "strftime") else regenerated
                raise IngestError(
                    f"Import number {import_id} cannot be undone: the table {name} was replaced by generated demo "
                    f"data on {when}, after this import, so its rows and backup no longer match what is stored. "
                    "Nothing was changed."
                )
        target = _q(spec.name)
        removed = int(cur.execute(f"DELETE FROM {target} WHERE import_id = ?", [import_id]).fetchall()[0][0])
        backup = f"import_backup_{import_id}"
        restored = 0
        exists = cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = ?", [backup]
        ).fetchall()[0][0]
        if exists:
            if spec.key:
                # Rows stored under a key of the backup (written since, e.g. by the app) give way to the backup row.
                on = " AND ".join(f"s.{_q(k)} = b.{_q(k)}" for k in spec.key)
                cur.execute(f"DELETE FROM {target} s WHERE EXISTS (SELECT 1 FROM {_q(backup)} b WHERE {on})")
            restored = int(cur.execute(f"INSERT INTO {target} SELECT * FROM {_q(backup)}").fetchall()[0][0])
            cur.execute(f"DROP TABLE {_q(backup)}")
        customers_removed = 0
        if spec.name != "customers":
            refs = " AND ".join(
                f"NOT EXISTS (SELECT 1 FROM {_q(t)} x WHERE x.customer_id = c.customer_id)"
                for t in privacy.customer_tables()
                if t not in ("customers",) and schema.TABLES[t].importable
            )
            customers_removed = int(
                cur.execute(f"DELETE FROM customers c WHERE c.import_id = ? AND {refs}", [import_id]).fetchall()[0][0]
            )
        cur.execute("UPDATE imports SET status = 'undone', finished_at = now() WHERE import_id = ?", [import_id])
        result = {"rows_removed": removed, "rows_restored": restored, "customers_removed": customers_removed}
        store.audit(cur, "undo import", f"{table} #{import_id}", json.dumps(result), actor=user)
        return result

    return store.run_write(con, work)


def exportable_tables() -> list[str]:
    """Canonical tables a user may export (all of them; binary model files are left out column-wise)."""
    return list(schema.TABLES)


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Row count of one canonical table."""
    if table not in schema.TABLES:
        raise IngestError(f"'{table}' is not a table of the workbench.")
    return int(con.cursor().execute(f"SELECT count(*) FROM {_q(table)}").fetchall()[0][0])


def table_frame(con: duckdb.DuckDBPyConnection, table: str, *, limit: int | None = None) -> pd.DataFrame:
    """One canonical table -> DataFrame of its rows (BLOB columns such as stored models left out)."""
    if table not in schema.TABLES:
        raise IngestError(f"'{table}' is not a table of the workbench.")
    columns = [c.name for c in schema.TABLES[table].columns if c.type.upper() != "BLOB"]
    sql = f"SELECT {', '.join(_q(c) for c in columns)} FROM {_q(table)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return con.cursor().execute(sql).df()


__all__ = [
    "COUNTRY_TABLES",
    "ImportReport",
    "IngestError",
    "Preview",
    "guess_mapping",
    "imports_log",
    "country_names",
    "layout_key",
    "load",
    "missing_required",
    "moscow_value",
    "read_preview",
    "table_frame",
    "table_rows",
    "remembered_mapping",
    "suggest_mapping",
    "undo",
]
