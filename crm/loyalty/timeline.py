"""Loyalty events on the customer's timeline: a stamp or a coupon event is an interaction of
direction `event` (neither said by the customer nor sent to them), so staff see it in the chat
history beside the messages. The ledgers stay the record; this is what staff read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.models import Interaction

EVENT = "event"  # Interaction.direction of things that happened rather than were said


def record_loyalty_event(
    session: Session,
    customer_id: int,
    kind: str,
    text: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """`kind` is "stamp" or "coupon"; `text` is the line staff read."""
    session.add(
        Interaction(
            customer_id=customer_id,
            direction=EVENT,
            kind=kind,
            occurred_at=now,
            text=text,
            payload=payload or {},
        )
    )
