"""Custom customer fields the shop defines: text, number, date or one of a list of choices."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.models import ATTRIBUTE_KINDS, AttributeDefinition, CustomerAttribute

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class AttributeValueError(ValueError):
    """A definition or value that is not acceptable; the message is a translatable key."""


def _text(raw: str, choices: list[str]) -> str:
    if len(raw) > 500:
        raise AttributeValueError("value_too_long")
    return raw


def _number(raw: str, choices: list[str]) -> str:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise AttributeValueError("value_not_number") from None
    if not value.is_finite():
        raise AttributeValueError("value_not_number")
    return format(value.normalize(), "f")


def _date(raw: str, choices: list[str]) -> str:
    try:
        return date.fromisoformat(raw.replace("/", "-")).isoformat()
    except ValueError:
        raise AttributeValueError("value_not_date") from None


def _choice(raw: str, choices: list[str]) -> str:
    if raw not in choices:
        raise AttributeValueError("value_not_choice")
    return raw


VALUE_PARSERS: dict[str, Callable[[str, list[str]], str]] = {
    "text": _text,
    "number": _number,
    "date": _date,
    "choice": _choice,
}


def parse_value(definition: AttributeDefinition, raw: str) -> str | None:
    """The normalised stored form of a value; None for an empty input (clears it)."""
    raw = raw.strip()
    if not raw:
        return None
    return VALUE_PARSERS[definition.kind](raw, list(definition.choices or []))


def list_definitions(session: Session) -> list[AttributeDefinition]:
    """Every field definition, in display order."""
    statement = select(AttributeDefinition).order_by(
        AttributeDefinition.position, AttributeDefinition.id
    )
    return list(session.scalars(statement))


def define_attribute(
    session: Session, key: str, label: str, kind: str, choices: list[str]
) -> AttributeDefinition:
    """A new field; choice fields need at least one choice."""
    key, label = key.strip(), label.strip()
    if not _KEY_RE.match(key):
        raise AttributeValueError("attribute_key_invalid")
    if not label or len(label) > 100 or kind not in ATTRIBUTE_KINDS:
        raise AttributeValueError("attribute_invalid")
    choices = [c.strip() for c in choices if c.strip()]
    if kind == "choice" and not choices:
        raise AttributeValueError("attribute_needs_choices")
    if session.scalars(select(AttributeDefinition).where(AttributeDefinition.key == key)).first():
        raise AttributeValueError("attribute_key_taken")
    position = len(list_definitions(session))
    definition = AttributeDefinition(
        key=key,
        label=label,
        kind=kind,
        choices=choices if kind == "choice" else [],
        position=position,
    )
    session.add(definition)
    session.flush()
    return definition


def find_attribute(session: Session, name: str) -> AttributeDefinition | None:
    """A definition by its key or its label."""
    if "\x00" in name:
        return None  # no definition has one; PostgreSQL would refuse the query
    statement = select(AttributeDefinition).where(
        (AttributeDefinition.key == name) | (AttributeDefinition.label == name)
    )
    return session.scalars(statement).first()


def delete_definition(session: Session, definition: AttributeDefinition) -> None:
    """Remove a field and every customer's value of it."""
    session.execute(
        delete(CustomerAttribute).where(CustomerAttribute.definition_id == definition.id)
    )
    session.delete(definition)


def set_customer_value(
    session: Session, customer_id: int, definition: AttributeDefinition, raw: str
) -> str | None:
    """Store (or clear) one customer's value of a field; returns the stored form."""
    value = parse_value(definition, raw)
    existing = session.get(CustomerAttribute, (customer_id, definition.id))
    if value is None:
        if existing is not None:
            session.delete(existing)
        return None
    if existing is None:
        session.add(
            CustomerAttribute(customer_id=customer_id, definition_id=definition.id, value=value)
        )
    else:
        existing.value = value
    return value


def values_of(session: Session, customer_id: int) -> dict[int, str]:
    """A customer's values by definition id."""
    rows = session.execute(
        select(CustomerAttribute.definition_id, CustomerAttribute.value).where(
            CustomerAttribute.customer_id == customer_id
        )
    ).all()
    return dict(rows)


def values_by_customer(session: Session, customer_ids: list[int]) -> dict[int, dict[int, str]]:
    """Values of many customers in one query (exports)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(
            CustomerAttribute.customer_id, CustomerAttribute.definition_id, CustomerAttribute.value
        ).where(CustomerAttribute.customer_id.in_(customer_ids))
    ).all()
    result: dict[int, dict[int, str]] = {}
    for customer_id, definition_id, value in rows:
        result.setdefault(customer_id, {})[definition_id] = value
    return result
