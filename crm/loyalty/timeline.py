"""Loyalty events on the customer's timeline: a stamp or a coupon event is an interaction of
direction `event` (neither said by the customer nor sent to them), so staff see it in the chat
history beside the messages. The ledgers stay the record; this is what staff read.

Each event is stored with its facts in `payload` (`event` and the values of its line) and its
Japanese line in `text` (search and the API read it); the inbox words the same facts in the
staff member's language (inbox/loyalty_texts.py: EVENT_LINES).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.models import Interaction

EVENT = "event"  # Interaction.direction of things that happened rather than were said

# (kind, event) → the line, with the facts it names.
LINES: dict[tuple[str, str], str] = {
    ("stamp", "grant"): "スタンプ +{count}（{program}）",
    ("stamp", "revoke"): "スタンプ取り消し -{count}（{reason}）",
    ("stamp", "expire"): "スタンプ期限切れ -{count}（{program}）",
    ("coupon", "issued"): "クーポン発行: {title}",
    ("coupon", "redeemed"): "クーポン利用: {title}",
    ("coupon", "redemption_undone"): "クーポン利用の取り消し: {title}",
    ("coupon", "revoked"): "クーポン取り消し: {title}（{reason}）",
}


def record_loyalty_event(
    session: Session, customer_id: int, kind: str, event: str, now: datetime, **facts: Any
) -> None:
    """`kind` is "stamp" or "coupon", `event` one of LINES' events for it; `facts` fill the
    line and travel in the payload."""
    session.add(
        Interaction(
            customer_id=customer_id,
            direction=EVENT,
            kind=kind,
            occurred_at=now,
            text=LINES[(kind, event)].format(**facts),
            payload={"event": event, **facts},
        )
    )
