"""Internal notes about a customer: for staff only, never sent to the customer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from crm.models import Note

MAX_NOTE_LENGTH = 5000


class NoteError(ValueError):
    """A note that cannot be saved."""


def add_note(session: Session, customer_id: int, staff_id: int | None, body: str) -> Note:
    """Save a note (staff_id None: written by the bot); empty or overlong notes are refused."""
    body = body.replace("\r\n", "\n").strip()
    if not body or len(body) > MAX_NOTE_LENGTH:
        raise NoteError("note_invalid")
    note = Note(customer_id=customer_id, staff_id=staff_id, body=body)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, customer_id: int, limit: int = 50) -> list[Note]:
    """The customer's notes, newest first."""
    statement = (
        select(Note)
        .where(Note.customer_id == customer_id)
        .options(joinedload(Note.staff))
        .order_by(Note.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
