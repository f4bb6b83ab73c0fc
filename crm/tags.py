"""Tags: labels staff put on customers, and which customers carry them."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm.models import CustomerTag, Tag

_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class TagError(ValueError):
    """A tag change that cannot be made."""


def list_tags(session: Session) -> list[Tag]:
    """Every tag, by name."""
    return list(session.scalars(select(Tag).order_by(Tag.name)))


def tag_usage(session: Session) -> dict[int, int]:
    """How many customers carry each tag."""
    rows = session.execute(
        select(CustomerTag.tag_id, func.count()).group_by(CustomerTag.tag_id)
    ).all()
    return dict(rows)


def create_tag(session: Session, name: str, color: str = "#6b7280") -> Tag:
    """A new tag; names are unique and at most 50 characters."""
    name = name.strip()
    if not name or len(name) > 50:
        raise TagError("tag_name_invalid")
    if not _COLOR_RE.match(color):
        raise TagError("tag_color_invalid")
    if session.scalars(select(Tag).where(Tag.name == name)).first():
        raise TagError("tag_exists")
    tag = Tag(name=name, color=color)
    session.add(tag)
    session.flush()
    return tag


def find_tag(session: Session, name: str) -> Tag | None:
    if "\x00" in name:
        return None  # no tag has one; PostgreSQL would refuse the query
    return session.scalars(select(Tag).where(Tag.name == name.strip())).first()


def find_or_create_tag(session: Session, name: str) -> Tag:
    """The tag of this name, created (grey) if the shop has none."""
    return find_tag(session, name) or create_tag(session, name)


def delete_tag(session: Session, tag: Tag) -> None:
    """Remove a tag from every customer and from the list."""
    session.execute(delete(CustomerTag).where(CustomerTag.tag_id == tag.id))
    session.delete(tag)


def tag_customer(session: Session, customer_id: int, tag_id: int) -> None:
    """Put a tag on a customer (idempotent)."""
    if session.get(CustomerTag, (customer_id, tag_id)) is None:
        session.add(CustomerTag(customer_id=customer_id, tag_id=tag_id))


def untag_customer(session: Session, customer_id: int, tag_id: int) -> None:
    """Take a tag off a customer."""
    session.execute(
        delete(CustomerTag).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id
        )
    )


def tags_of(session: Session, customer_id: int) -> list[Tag]:
    """The customer's tags, by name."""
    statement = (
        select(Tag)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.customer_id == customer_id)
        .order_by(Tag.name)
    )
    return list(session.scalars(statement))


def tags_by_customer(session: Session, customer_ids: list[int]) -> dict[int, list[Tag]]:
    """Tags of many customers in one query (lists and exports)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(CustomerTag.customer_id, Tag)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.customer_id.in_(customer_ids))
        .order_by(Tag.name)
    ).all()
    result: dict[int, list[Tag]] = {}
    for customer_id, tag in rows:
        result.setdefault(customer_id, []).append(tag)
    return result
