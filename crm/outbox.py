"""Outbound messages waiting for delivery: claiming, and writing the outcome back on the row."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm.models import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    DELIVERY_SENT,
    Interaction,
)

# Indexed by attempts made so far: the first three are quick tries in a row (bot.delivery),
# then the wait grows; all within the 24 h that LINE remembers a retry key.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(seconds=15),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=4),
)
MAX_ATTEMPTS = 8


def claim_outbound(
    session: Session, interaction_id: int, now: datetime, lease: timedelta
) -> Interaction | None:
    """Take one due message for sending; None if another worker has it or it is not due."""
    claimable = or_(
        (Interaction.delivery_status == DELIVERY_PENDING) & (Interaction.next_attempt_at <= now),
        (Interaction.delivery_status == DELIVERY_SENDING) & (Interaction.locked_until < now),
    )
    claimed = session.execute(
        update(Interaction)
        .where(Interaction.id == interaction_id, claimable)
        .values(
            delivery_status=DELIVERY_SENDING,
            locked_until=now + lease,
            attempts=Interaction.attempts + 1,
        )
    ).rowcount
    if not claimed:
        return None
    return session.get(Interaction, interaction_id, populate_existing=True)


def claim_new(interaction: Interaction, now: datetime, lease: timedelta) -> None:
    """Claim a message created in this transaction, sparing a separate claim for its first try."""
    interaction.delivery_status = DELIVERY_SENDING
    interaction.locked_until = now + lease
    interaction.attempts = 1


def due_outbound_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Messages whose next attempt is due, or whose sender died mid-send."""
    statement = (
        select(Interaction.id)
        .where(
            Interaction.delivery_status.in_((DELIVERY_PENDING, DELIVERY_SENDING)),
            or_(
                (Interaction.delivery_status == DELIVERY_PENDING)
                & (Interaction.next_attempt_at <= now),
                Interaction.locked_until < now,
            ),
        )
        .order_by(Interaction.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(statement))


def mark_sent(interaction: Interaction, now: datetime, method: str, request_id: str | None) -> None:
    """LINE accepted the message (or had accepted it before: a 409 on the retry key)."""
    interaction.delivery_status = DELIVERY_SENT
    interaction.delivery_method = method
    interaction.sent_at = now
    interaction.line_request_id = request_id
    interaction.locked_until = None
    interaction.reply_token = None
    interaction.error_status = None
    interaction.error_message = None


def mark_sent_many(
    session: Session, accepted: list[tuple[int, str, str | None]], now: datetime
) -> None:
    """Record several accepted messages (id, method, LINE's request id) in one statement."""
    if not accepted:
        return
    values = [
        {
            "id": interaction_id,
            "delivery_status": DELIVERY_SENT,
            "delivery_method": method,
            "sent_at": now,
            "line_request_id": request_id,
            "locked_until": None,
            "reply_token": None,
            "error_status": None,
            "error_message": None,
        }
        for interaction_id, method, request_id in accepted
    ]
    session.execute(update(Interaction), values)


def mark_failed(interaction: Interaction, status: int | None, message: str) -> None:
    """LINE refused the message for good; keep its reason for staff."""
    interaction.delivery_status = DELIVERY_FAILED
    interaction.error_status = status
    interaction.error_message = message
    interaction.locked_until = None


def schedule_retry(
    interaction: Interaction, now: datetime, status: int | None, message: str
) -> None:
    """A passing failure (429, 5xx, network): try again later with the same retry key."""
    if interaction.attempts >= MAX_ATTEMPTS:
        mark_failed(
            interaction, status, f"gave up after {interaction.attempts} attempts: {message}"
        )
        return
    delay = RETRY_DELAYS[min(interaction.attempts, len(RETRY_DELAYS)) - 1]
    interaction.delivery_status = DELIVERY_PENDING
    interaction.next_attempt_at = now + delay
    interaction.locked_until = None
    interaction.error_status = status
    interaction.error_message = message


def release_for_immediate_push(interaction: Interaction, now: datetime) -> None:
    """The reply token is unusable: drop it so the next attempt pushes with the retry key."""
    interaction.reply_token = None
    interaction.next_attempt_at = now
