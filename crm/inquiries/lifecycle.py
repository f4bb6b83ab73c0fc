"""An inquiry's life: opened by the first message staff must answer (or a hand-off), routed to
staff by category, answered (first response), resolved; and the bot's pause while staff have
the chat. The conversation (crm/conversations.py) carries the pause; the inquiry the times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.conversations import conversation_for
from crm.inquiries.models import INQUIRY_OPEN, INQUIRY_RESOLVED, SOURCES, Inquiry
from crm.inquiries.routing import load_inquiry_settings, pick_assignee
from crm.models import Conversation

MAX_FIRST_TEXT = 500


def open_inquiry(session: Session, customer_id: int) -> Inquiry | None:
    """The customer's open inquiry. Read without flushing this session's pending writes (a
    round of event handling inserts its interactions together at the end); an inquiry opened
    in this session is flushed when it is opened (`_open`), so it is found all the same."""
    with session.no_autoflush:
        found = session.scalar(
            select(Inquiry).where(
                Inquiry.customer_id == customer_id, Inquiry.status == INQUIRY_OPEN
            )
        )
    return found if found is not None and found.status == INQUIRY_OPEN else None


def note_inquiry(
    session: Session,
    customer_id: int,
    now: datetime,
    *,
    source: str,
    text: str | None = None,
    category: str | None = None,
) -> Inquiry:
    """The customer needs staff: continue their open inquiry (filling in a category it lacked)
    or open one, routed to staff when the chat has no assignee yet. Without a category, the
    one the customer picked in the お問い合わせ menu is used."""
    current = open_inquiry(session, customer_id)
    return continue_inquiry(
        session, customer_id, current, now, source=source, text=text, category=category
    )


def continue_inquiry(
    session: Session,
    customer_id: int,
    current: Inquiry | None,
    now: datetime,
    *,
    source: str,
    text: str | None = None,
    category: str | None = None,
) -> Inquiry:
    """`note_inquiry` for a caller that already looked up the open inquiry (`current`)."""
    if source not in SOURCES:
        raise ValueError(f"unknown inquiry source {source!r}")
    conversation = conversation_for(session, customer_id, now)
    category = category or conversation.inquiry_category
    conversation.inquiry_category = None
    if current is not None:
        if current.category is None and category:
            current.category = category
        if current.first_text is None and text:
            current.first_text = text[:MAX_FIRST_TEXT]
        return current
    return _open(session, customer_id, now, source, text, category)


def pick_category(conversation: Conversation, category: str) -> None:
    """The customer chose a category in the お問い合わせ menu: their next inquiry is filed
    under it (no inquiry yet: the FAQs may answer them first)."""
    conversation.inquiry_category = category


def _open(session, customer_id, now, source, text, category) -> Inquiry:
    conversation = conversation_for(session, customer_id, now)
    assignee = conversation.assignee_id
    if assignee is None:
        assignee = pick_assignee(session, load_inquiry_settings(session), category)
        conversation.assignee_id = assignee
    inquiry = Inquiry(
        customer_id=customer_id,
        status=INQUIRY_OPEN,
        source=source,
        category=category,
        first_text=text[:MAX_FIRST_TEXT] if text else None,
        opened_at=now,
        assignee_id=assignee,
    )
    try:
        with session.begin_nested():
            session.add(inquiry)
    except IntegrityError:  # opened at the same moment by another worker
        return open_inquiry(session, customer_id)
    return inquiry


def hand_off(
    session: Session,
    customer_id: int,
    now: datetime,
    *,
    source: str,
    text: str | None = None,
    category: str | None = None,
) -> tuple[Conversation, Inquiry]:
    """The customer asked for a person: the bot stops answering automatically in this chat
    until staff resolve it or resume the bot, and the chat waits for a reply."""
    inquiry = note_inquiry(session, customer_id, now, source=source, text=text, category=category)
    conversation = conversation_for(session, customer_id, now)
    if not conversation.bot_paused:
        conversation.bot_paused = True
        conversation.bot_paused_at = now
    return conversation, inquiry


def resume_bot(conversation: Conversation) -> bool:
    """Staff give the chat back to the bot; returns whether it was paused."""
    was_paused = conversation.bot_paused
    conversation.bot_paused = False
    conversation.bot_paused_at = None
    return was_paused


def note_staff_response(
    session: Session, customer_id: int, staff_id: int | None, now: datetime
) -> Inquiry | None:
    """A staff reply: the open inquiry's first response, if it had none."""
    inquiry = open_inquiry(session, customer_id)
    if inquiry is not None and inquiry.first_response_at is None:
        inquiry.first_response_at = now
        inquiry.first_responder_id = staff_id
    return inquiry


def resolve_inquiry(
    session: Session, conversation: Conversation, staff_id: int | None, now: datetime
) -> Inquiry | None:
    """Staff resolved the chat: the open inquiry ends and the bot answers again."""
    resume_bot(conversation)
    inquiry = open_inquiry(session, conversation.customer_id)
    if inquiry is not None:
        _close(inquiry, now, staff_id)
    return inquiry


def deflect_inquiry(session: Session, customer_id: int, now: datetime) -> Inquiry | None:
    """The customer said an FAQ answer solved it (解決しました): an inquiry opened for this
    question without a staff reply yet ends, resolved by nobody."""
    inquiry = open_inquiry(session, customer_id)
    if inquiry is None or inquiry.first_response_at is not None:
        return None
    _close(inquiry, now, None)
    return inquiry


def _close(inquiry: Inquiry, now: datetime, staff_id: int | None) -> None:
    inquiry.status = INQUIRY_RESOLVED
    inquiry.resolved_at = now
    inquiry.resolved_by_id = staff_id
