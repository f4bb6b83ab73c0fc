"""Staff link their own LINE account to the inbox by sending the bot a one-time code, so
campaign test sends reach their phone. Only the code's SHA-256 is stored; it lasts 10 minutes
and works once."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Staff

CODE_LIFETIME = timedelta(minutes=10)
PREFIX = "LINK-"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue_link_code(staff: Staff, now: datetime) -> str:
    """A new code for this staff member (any earlier one stops working)."""
    code = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(8))
    staff.line_link_code_hash = _digest(code)
    staff.line_link_code_expires_at = now + CODE_LIFETIME
    return code


def looks_like_code(text: str) -> str | None:
    """The code in a message (any width or case, spaces around), or None."""
    folded = unicodedata.normalize("NFKC", text or "").strip().upper()
    if folded.startswith(PREFIX) and len(folded) == len(PREFIX) + 8:
        return folded
    return None


def link_by_code(session: Session, text: str, line_user_id: str, now: datetime) -> Staff | None:
    """Link the sender's LINE account to the staff member whose live code this is."""
    code = looks_like_code(text)
    if code is None:
        return None
    staff = session.scalar(select(Staff).where(Staff.line_link_code_hash == _digest(code)))
    if staff is None or not staff.active or staff.line_link_code_expires_at < now:
        return None
    previous = session.scalar(select(Staff).where(Staff.line_user_id == line_user_id))
    if previous is not None and previous.id != staff.id:
        previous.line_user_id = None  # one LINE account belongs to one staff member
        session.flush()
    staff.line_user_id = line_user_id
    staff.line_link_code_hash = None
    staff.line_link_code_expires_at = None
    return staff


def unlink(staff: Staff) -> None:
    staff.line_user_id = None


def linked_staff(session: Session) -> list[Staff]:
    statement = select(Staff).where(Staff.line_user_id.is_not(None), Staff.active)
    return list(session.scalars(statement.order_by(Staff.display_name)))
