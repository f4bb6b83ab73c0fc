"""A clerk answers a customer: the message goes into the outbox and is pushed with a retry key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.conversations import note_staff_reply
from crm.inquiries.lifecycle import note_staff_response
from crm.interactions import OUTBOUND, queue_outbound
from crm.line_limits import MAX_TEXT_UTF16, utf16_length
from crm.models import BLOCKED, DELIVERY_FAILED, DELIVERY_PENDING, Customer, Interaction, Staff


class ReplyError(ValueError):
    """A reply that cannot be sent; the message is a translatable key."""


def check_reply_text(text: str) -> str:
    """The text to send (browsers submit CRLF line breaks; LINE wants LF), or ReplyError when
    it is empty or over LINE's limit."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReplyError("reply_empty")
    if utf16_length(text) > MAX_TEXT_UTF16:
        raise ReplyError("reply_too_long")
    return text


def queue_staff_reply(
    session: Session, customer: Customer, staff: Staff, text: str, client_token: str, now: datetime
) -> tuple[Interaction, bool]:
    """Queue a text for the customer; the form's token makes a double submit send once.

    Returns the interaction and whether it is new (False: this token was already sent)."""
    retry_key = _retry_key(client_token)
    existing = session.scalars(
        select(Interaction).where(Interaction.retry_key == retry_key)
    ).first()
    if existing is not None:
        if existing.customer_id != customer.id:
            raise ReplyError("reply_token_reused")
        return existing, False
    if customer.follow_status == BLOCKED:
        raise ReplyError("customer_blocked")
    text = check_reply_text(text)
    interaction = queue_outbound(
        session,
        customer,
        messages=[{"type": "text", "text": text}],
        sender="staff",
        now=now,
        retry_key=retry_key,
        staff_id=staff.id,
    )
    note_staff_reply(session, customer.id, now, text)
    note_staff_response(session, customer.id, staff.id, now)
    session.flush()
    return interaction, True


def _retry_key(client_token: str) -> str:
    """The form's one-time token must be a UUID: it becomes LINE's X-Line-Retry-Key."""
    try:
        return str(uuid.UUID(client_token))
    except (ValueError, TypeError, AttributeError):
        raise ReplyError("reply_token_invalid") from None


def retry_failed(interaction: Interaction, now: datetime) -> None:
    """Send a failed message again, with the same retry key so LINE never delivers it twice."""
    if interaction.direction != OUTBOUND or interaction.delivery_status != DELIVERY_FAILED:
        raise ReplyError("not_retryable")
    interaction.delivery_status = DELIVERY_PENDING
    interaction.attempts = 0
    interaction.next_attempt_at = now
    interaction.locked_until = None
    interaction.error_status = None
    interaction.error_message = None
