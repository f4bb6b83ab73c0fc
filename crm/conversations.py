"""Conversations: the inquiry thread with each customer as the staff inbox sees it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from crm.db import insert_ignoring_conflicts
from crm.models import (
    CONVERSATION_OPEN,
    CONVERSATION_RESOLVED,
    CONVERSATION_STATUSES,
    Conversation,
    Customer,
    Staff,
)

PREVIEW_LENGTH = 200
_CACHE_KEY = "conversations_by_customer"  # in session.info, once `load_conversations` ran


class ConversationError(ValueError):
    """A change a conversation cannot take."""


def conversation_for(session: Session, customer_id: int, at: datetime) -> Conversation:
    """The customer's conversation, created on first need; safe against concurrent firsts."""
    found = _find(session, customer_id)
    if found is not None:
        return found
    row = {
        "customer_id": customer_id,
        "status": CONVERSATION_OPEN,
        "awaiting_reply": False,
        "unread_count": 0,
        "last_message_at": at,
        "created_at": at,
        "updated_at": at,
    }
    insert_ignoring_conflicts(session, Conversation, [row], "customer_id")
    return _find(session, customer_id)


def load_conversations(session: Session, customer_ids: list[int]) -> None:
    """Read these customers' conversations in one query and let `conversation_for` find them
    without one of its own for the rest of the session (a round of event handling)."""
    cache = session.info.setdefault(_CACHE_KEY, {})
    wanted = [customer_id for customer_id in customer_ids if customer_id not in cache]
    if wanted:
        found = session.scalars(select(Conversation).where(Conversation.customer_id.in_(wanted)))
        cache.update((conversation.customer_id, conversation) for conversation in found)


def forget_conversations(session: Session) -> None:
    """Drop the remembered conversations (a savepoint was rolled back: some may be gone)."""
    session.info.pop(_CACHE_KEY, None)


def _find(session: Session, customer_id: int) -> Conversation | None:
    cache = session.info.get(_CACHE_KEY)
    if cache is not None and customer_id in cache:
        return cache[customer_id]
    statement = select(Conversation).where(Conversation.customer_id == customer_id)
    found = session.scalars(statement).first()
    if cache is not None and found is not None:
        cache[customer_id] = found
    return found


def note_customer_message(
    session: Session, customer_id: int, at: datetime, preview: str | None
) -> Conversation:
    """The customer wrote: unread, awaiting a reply, and reopened if it was resolved."""
    conversation = conversation_for(session, customer_id, at)
    conversation.unread_count += 1
    conversation.awaiting_reply = True
    if conversation.status == CONVERSATION_RESOLVED:
        conversation.status = CONVERSATION_OPEN
    conversation.last_inbound_at = _latest(conversation.last_inbound_at, at)
    _note_activity(conversation, at, preview)
    return conversation


def note_customer_answer(
    session: Session, customer_id: int, at: datetime, preview: str | None
) -> Conversation:
    """The customer answered the bot (a survey): shown as the chat's latest message, without
    asking staff for a reply."""
    conversation = conversation_for(session, customer_id, at)
    conversation.last_inbound_at = _latest(conversation.last_inbound_at, at)
    _note_activity(conversation, at, preview)
    return conversation


def note_staff_reply(
    session: Session, customer_id: int, at: datetime, preview: str | None
) -> Conversation:
    """Staff answered: the customer is no longer waiting on us."""
    conversation = conversation_for(session, customer_id, at)
    conversation.awaiting_reply = False
    conversation.unread_count = 0
    _note_activity(conversation, at, preview)
    return conversation


def _note_activity(conversation: Conversation, at: datetime, preview: str | None) -> None:
    if at >= conversation.last_message_at:
        conversation.last_message_at = at
        if preview:
            conversation.last_preview = preview.replace("\n", " ")[:PREVIEW_LENGTH]


def _latest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at > current else current


def mark_read(conversation: Conversation) -> bool:
    """A clerk opened the chat; returns whether anything changed (to skip needless writes)."""
    if conversation.unread_count == 0:
        return False
    conversation.unread_count = 0
    return True


def set_status(conversation: Conversation, status: str) -> None:
    """Open, pending (waiting on the customer or on us) or resolved."""
    if status not in CONVERSATION_STATUSES:
        raise ConversationError("status_invalid")
    conversation.status = status
    if status == CONVERSATION_RESOLVED:
        conversation.awaiting_reply = False


def assign(conversation: Conversation, staff: Staff | None) -> None:
    """Give the chat to a staff member, or to nobody."""
    if staff is not None and not staff.active:
        raise ConversationError("assignee_inactive")
    conversation.assignee_id = staff.id if staff else None


# Inbox folders: each a condition on conversations, given the clerk looking.
FOLDERS: dict[str, Callable[[int], object]] = {
    "needs_reply": lambda me: and_(
        Conversation.awaiting_reply.is_(True), Conversation.status != CONVERSATION_RESOLVED
    ),
    "mine": lambda me: and_(
        Conversation.assignee_id == me, Conversation.status != CONVERSATION_RESOLVED
    ),
    "unassigned": lambda me: and_(
        Conversation.assignee_id.is_(None), Conversation.status != CONVERSATION_RESOLVED
    ),
    "resolved": lambda me: Conversation.status == CONVERSATION_RESOLVED,
    "all": lambda me: True,
}


@dataclass(frozen=True)
class ConversationPage:
    """One page of the list, and the cursor of the next one (None at the end)."""

    items: list[Conversation]
    next_cursor: tuple[datetime, int] | None


def list_conversations(
    session: Session,
    *,
    folder: str,
    me: int,
    search: str = "",
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> ConversationPage:
    """Newest activity first, keyset-paginated on (last_message_at, id)."""
    statement = _folder_query(folder, me, search)
    if after is not None:
        at, conversation_id = after
        statement = statement.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < conversation_id),
            )
        )
    statement = statement.order_by(
        Conversation.last_message_at.desc(), Conversation.id.desc()
    ).limit(limit + 1)
    items = list(session.scalars(statement.options(joinedload(Conversation.customer))))
    more = len(items) > limit
    items = items[:limit]
    cursor = (items[-1].last_message_at, items[-1].id) if more else None
    return ConversationPage(items, cursor)


def _folder_query(folder: str, me: int, search: str) -> Select:
    condition = FOLDERS.get(folder, FOLDERS["needs_reply"])(me)
    statement = select(Conversation).where(condition)
    if search.strip():
        # Matching customers first, then their chats: a join would make SQLite look up the
        # customer of every conversation in date order until the page fills (all of them for
        # a rare name).
        matching = select(Customer.id).where(name_matches(search))
        statement = statement.where(Conversation.customer_id.in_(matching))
    return statement


def name_matches(search: str):
    """Case-insensitive substring match on the display name, wildcards taken literally."""
    term = search.strip()
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if term == term.lower() == term.upper():
        # Nothing in the term has a case (kanji, kana, digits): LIKE finds the same rows, and
        # PostgreSQL runs it in about half the time of ILIKE, which lowers every name it reads.
        return Customer.display_name.like(f"%{escaped}%", escape="\\")
    return Customer.display_name.ilike(f"%{escaped}%", escape="\\")


def folder_counts(session: Session, me: int) -> dict[str, int]:
    """How many chats each folder that needs attention holds (for the sidebar badges)."""
    return {
        folder: session.scalar(
            select(func.count()).select_from(Conversation).where(FOLDERS[folder](me))
        )
        or 0
        for folder in ("needs_reply", "mine", "unassigned")
    }


def get_conversation(session: Session, conversation_id: int) -> Conversation | None:
    """One conversation with its customer loaded."""
    return session.get(Conversation, conversation_id, options=[joinedload(Conversation.customer)])
