"""Bearer tokens for the JSON API: shown once at creation, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm.models import ApiToken

TOKEN_PREFIX = "lcrm_"  # noqa: S105  (a label, not a secret)
# `last_used_at` is kept to the minute: a busy integration does not pay a write per request.
LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(token: str) -> str:
    """SHA-256 is right here: tokens are 256 random bits, not guessable passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, name: str) -> tuple[ApiToken, str]:
    """A new token; the plain value is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_digest(plain), prefix=plain[:12])
    session.add(token)
    return token, plain


def authenticate_api_token(session: Session, plain: str) -> ApiToken | None:
    """The live token matching this value, or None. Lookup is by digest, not by comparison."""
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(plain))).first()
    if token is None or token.revoked_at is not None:
        return None
    return token


def needs_use_noted(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION


def note_token_use(session: Session, token_id: int, now: datetime) -> None:
    """Record that the token was used (to the minute; a concurrent request may have done it)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_PRECISION
            ),
        )
        .values(last_used_at=now)
    )
