"""The history of everything exchanged with a customer, in and out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.models import DELIVERY_PENDING, Customer, Interaction

INBOUND = "in"
OUTBOUND = "out"


def record_inbound(
    session: Session,
    customer: Customer,
    *,
    kind: str,
    occurred_at: datetime,
    text: str | None = None,
    payload: dict[str, Any] | None = None,
    source_event_id: str | None = None,
    line_message_id: str | None = None,
) -> Interaction:
    """Log something the customer did or said."""
    interaction = Interaction(
        customer_id=customer.id,
        direction=INBOUND,
        kind=kind,
        occurred_at=occurred_at,
        text=text,
        payload=payload or {},
        source_event_id=source_event_id,
        line_message_id=line_message_id,
    )
    session.add(interaction)
    return interaction


def queue_outbound(
    session: Session,
    customer: Customer,
    *,
    messages: list[dict[str, Any]],
    sender: str,
    now: datetime,
    reply_token: str | None = None,
    reply_token_expires_at: datetime | None = None,
    retry_key: str | None = None,
    staff_id: int | None = None,
) -> Interaction:
    """Log a message to the customer as pending; its retry key exists before any attempt."""
    interaction = Interaction(
        customer_id=customer.id,
        direction=OUTBOUND,
        kind=_outbound_kind(messages),
        occurred_at=now,
        text=summarise_messages(messages),
        payload={"messages": messages},
        sender=sender,
        staff_id=staff_id,
        delivery_status=DELIVERY_PENDING,
        reply_token=reply_token,
        reply_token_expires_at=reply_token_expires_at,
        retry_key=retry_key or str(uuid.uuid4()),
        attempts=0,
        next_attempt_at=now,
    )
    session.add(interaction)
    return interaction


def _outbound_kind(messages: list[dict[str, Any]]) -> str:
    """The kind of the first message (text, flex, sticker...)."""
    return messages[0].get("type", "unknown") if messages else "empty"


def summarise_messages(messages: list[dict[str, Any]]) -> str:
    """Readable text for the timeline and search: texts and alt texts joined."""
    parts = [m.get("text") or m.get("altText") or f"[{m.get('type')}]" for m in messages]
    return "\n".join(parts)


def mark_unsent(session: Session, customer: Customer, line_message_id: str, at: datetime) -> int:
    """The customer unsent a message: hide it, keep the record. Returns rows marked."""
    statement = (
        update(Interaction)
        .where(
            Interaction.customer_id == customer.id,
            Interaction.line_message_id == line_message_id,
            Interaction.direction == INBOUND,
        )
        .values(unsent_at=at)
    )
    return session.execute(statement).rowcount


def list_interactions(
    session: Session, customer_id: int, *, before_id: int | None = None, limit: int
) -> list[Interaction]:
    """A customer's timeline, newest first, keyset-paginated by id."""
    statement = (
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        statement = statement.where(Interaction.id < before_id)
    return list(session.scalars(statement))
