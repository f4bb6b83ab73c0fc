"""Canned responses: saved replies staff insert by shortcut."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.line_limits import MAX_TEXT_UTF16, utf16_length
from crm.models import CannedResponse

_SHORTCUT_RE = re.compile(r"^[\w\-]{1,40}$")


class CannedResponseError(ValueError):
    """A canned response that cannot be saved."""


def list_canned_responses(session: Session) -> list[CannedResponse]:
    """Every canned response, by shortcut."""
    return list(session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut)))


def save_canned_response(
    session: Session, shortcut: str, title: str, body: str, existing: CannedResponse | None = None
) -> CannedResponse:
    """Create or update one; shortcuts are single words and unique."""
    shortcut, title = shortcut.strip(), title.strip()
    body = body.replace("\r\n", "\n").strip()
    if not _SHORTCUT_RE.match(shortcut):
        raise CannedResponseError("shortcut_invalid")
    if not title or len(title) > 100 or not body or utf16_length(body) > MAX_TEXT_UTF16:
        raise CannedResponseError("canned_invalid")
    clash = session.scalars(
        select(CannedResponse).where(CannedResponse.shortcut == shortcut)
    ).first()
    if clash is not None and clash is not existing:
        raise CannedResponseError("shortcut_taken")
    canned = existing or CannedResponse()
    canned.shortcut, canned.title, canned.body = shortcut, title, body
    session.add(canned)
    session.flush()
    return canned
