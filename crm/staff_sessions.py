"""Signed-in browsers: a random token in the cookie, its hash here; idle and absolute limits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.models import Staff, StaffSession

TOUCH_EVERY = timedelta(minutes=1)  # write last_seen_at at most this often


@dataclass(frozen=True)
class SessionLimits:
    """How long a session lives without use, and at most."""

    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, staff: Staff, now: datetime, ip_address: str | None, user_agent: str | None
) -> str:
    """Open a session for the staff member; returns the token for the cookie (shown once)."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_digest(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            ip_address=(ip_address or "")[:64] or None,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    staff.last_login_at = now
    return token


def find_live_session(
    session: Session, token: str, now: datetime, limits: SessionLimits
) -> StaffSession | None:
    """The session behind a cookie token, unless revoked, idle too long, too old, or its
    staff member was deactivated."""
    row = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == _digest(token))
    ).first()
    if row is None or row.revoked_at is not None or not row.staff.active:
        return None
    if now - row.last_seen_at > limits.idle or now - row.created_at > limits.absolute:
        return None
    return row


def needs_touch(row: StaffSession, now: datetime) -> bool:
    """Whether last_seen_at is stale enough to be written again."""
    return now - row.last_seen_at >= TOUCH_EVERY


def touch_session(session: Session, session_id: int, now: datetime) -> None:
    """Record activity, which pushes the idle limit back."""
    session.execute(
        update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now)
    )


def revoke_session(session: Session, token: str, now: datetime) -> None:
    """Log out: the token stops working everywhere at once."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == _digest(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all_sessions(session: Session, staff_id: int, now: datetime) -> None:
    """Sign a staff member out of every browser (deactivation, password change)."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
