"""The global filters (period, segment, country, channel) as data, and their SQL.

Pages read the sidebar into a :class:`Filters` and hand it to analytics functions, which call
:func:`customer_scope` to restrict any query to the chosen customers. Kept here, in one place, so
every page filters the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Filters:
    """Period [start, end] (inclusive dates), and optional lists of allowed values.

    An empty tuple means "no restriction". ``saved_segment`` names a segment saved on the Segments
    page (a stored list of customer ids).
    """

    start: dt.date | None = None
    end: dt.date | None = None
    segments: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    saved_segment: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def restricts_customers(self) -> bool:
        return bool(self.segments or self.countries or self.channels or self.saved_segment)

    def previous(self) -> Filters:
        """The period of the same length just before this one (same other filters)."""
        if self.start is None or self.end is None:
            return self
        length = self.end - self.start + dt.timedelta(days=1)
        return Filters(
            start=self.start - length,
            end=self.start - dt.timedelta(days=1),
            segments=self.segments,
            countries=self.countries,
            channels=self.channels,
            saved_segment=self.saved_segment,
        )


def customer_scope(filters: Filters, *, alias: str = "customer_id") -> tuple[str, list]:
    """SQL condition ``<alias> IN (...)`` selecting the customers the filters allow, and its parameters.

    Filters -> ("TRUE", []) when nothing restricts; otherwise a parameterised sub-query over
    ``customers`` (segment, country, acquisition channel) and ``saved_segments``.
    """
    if not filters.restricts_customers:
        return "TRUE", []
    conditions: list[str] = []
    params: list = []
    if filters.segments:
        conditions.append("c.segment IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(filters.segments))
    if filters.countries:
        conditions.append("c.country IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(filters.countries))
    if filters.channels:
        conditions.append("c.acquisition_channel IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(filters.channels))
    if filters.saved_segment:
        conditions.append("c.customer_id IN (SELECT unnest(customer_ids) FROM saved_segments WHERE name = ?)")
        params.append(filters.saved_segment)
    where = " AND ".join(conditions)
    return f"{alias} IN (SELECT c.customer_id FROM customers c WHERE {where})", params


def period_condition(filters: Filters, column: str) -> tuple[str, list]:
    """SQL condition keeping ``column`` (a TIMESTAMP or DATE) inside the period, and its parameters."""
    parts: list[str] = []
    params: list = []
    if filters.start is not None:
        parts.append(f"{column} >= ?::TIMESTAMP")
        params.append(dt.datetime.combine(filters.start, dt.time.min))
    if filters.end is not None:
        parts.append(f"{column} < ?::TIMESTAMP")
        params.append(dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min))
    return (" AND ".join(parts) or "TRUE"), params
