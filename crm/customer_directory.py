"""The customers list staff browse and export: search, filters, keyset pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm.attributes import list_definitions, values_by_customer
from crm.clock import utcnow
from crm.conversations import name_matches
from crm.models import FOLLOW_STATES, Customer, CustomerAttribute, CustomerTag, Segment
from crm.segments import Context, SegmentError, compile_conditions
from crm.tags import tags_by_customer

EXPORT_BATCH = 1000


@dataclass(frozen=True)
class CustomerFilter:
    """What the list is narrowed to; empty fields do not narrow."""

    search: str = ""
    tag_id: int | None = None
    follow_status: str | None = None
    attribute_id: int | None = None
    attribute_value: str = ""
    segment_id: int | None = None


def segment_condition(
    session: Session, criteria: CustomerFilter, now: datetime | None = None
) -> ColumnElement | None:
    """The chosen saved segment as a condition for the list's query (None: no segment);
    SegmentError when it was deleted or no longer compiles."""
    if criteria.segment_id is None:
        return None
    segment = session.get(Segment, criteria.segment_id)
    if segment is None:
        raise SegmentError("segment", "no such segment")
    return compile_conditions(Context(session, now or utcnow()), segment.conditions)


def _filtered(criteria: CustomerFilter, segment: ColumnElement | None = None) -> Select:
    statement = select(Customer)
    if segment is not None:
        statement = statement.where(segment)
    if criteria.search.strip():
        statement = statement.where(name_matches(criteria.search))
    if criteria.follow_status in FOLLOW_STATES:
        statement = statement.where(Customer.follow_status == criteria.follow_status)
    if criteria.tag_id is not None:
        statement = statement.where(
            exists().where(
                CustomerTag.customer_id == Customer.id, CustomerTag.tag_id == criteria.tag_id
            )
        )
    if criteria.attribute_id is not None and criteria.attribute_value.strip():
        statement = statement.where(
            exists().where(
                CustomerAttribute.customer_id == Customer.id,
                CustomerAttribute.definition_id == criteria.attribute_id,
                CustomerAttribute.value == criteria.attribute_value.strip(),
            )
        )
    return statement


def search_customers(
    session: Session,
    criteria: CustomerFilter,
    *,
    before_id: int | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> tuple[list[Customer], int | None]:
    """Newest customers first matching the filter; returns the page and the next cursor.
    SegmentError when the chosen segment is gone or broken."""
    segment = segment_condition(session, criteria, now)
    statement = _filtered(criteria, segment).order_by(Customer.id.desc()).limit(limit + 1)
    if before_id is not None:
        statement = statement.where(Customer.id < before_id)
    rows = list(session.scalars(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


EXPORT_COLUMNS = (
    "id",
    "line_user_id",
    "display_name",
    "follow_status",
    "language",
    "marketing_consent",
    "first_contact_at",
    "last_contact_at",
    "blocked_at",
    "tags",
)


def export_rows(session: Session, criteria: CustomerFilter, tz) -> Iterator[list[str]]:
    """The header, then one row per matching customer, read in batches to bound memory.
    The segment is compiled at once, so a broken one raises SegmentError before any row."""
    return _export_batches(session, criteria, segment_condition(session, criteria), tz)


def _export_batches(
    session: Session, criteria: CustomerFilter, segment: ColumnElement | None, tz
) -> Iterator[list[str]]:
    definitions = list_definitions(session)
    yield [*EXPORT_COLUMNS, *(d.label for d in definitions)]
    before_id = None
    while True:
        statement = _filtered(criteria, segment).order_by(Customer.id.desc()).limit(EXPORT_BATCH)
        if before_id is not None:
            statement = statement.where(Customer.id < before_id)
        batch = list(session.scalars(statement))
        if not batch:
            return
        ids = [c.id for c in batch]
        tags, values = tags_by_customer(session, ids), values_by_customer(session, ids)
        for customer in batch:
            yield _export_row(customer, tags.get(customer.id, []), values, definitions, tz)
        before_id = batch[-1].id
        session.expunge_all()


def _export_row(customer: Customer, tags, values, definitions, tz) -> list[str]:
    def local(value):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    own = values.get(customer.id, {})
    return [
        str(customer.id),
        customer.line_user_id,
        customer.display_name or "",
        customer.follow_status,
        customer.language or "",
        "yes" if customer.marketing_consent else "no",
        local(customer.first_contact_at),
        local(customer.last_contact_at),
        local(customer.blocked_at),
        " ".join(t.name for t in tags),
        *(own.get(d.id, "") for d in definitions),
    ]


def csv_safe(cell: str) -> str:
    """Cells that spreadsheets would run as formulas get a leading apostrophe (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
