"""Every staff change runs in one transaction together with its audit-log entry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import abort, g
from sqlalchemy.orm import Session

from crm.audit import record_audit
from crm.clock import utcnow
from inbox.security import client_address
from request_scope import services


@contextmanager
def staff_change(
    action: str, target: tuple[str, object] | None = None, detail: dict[str, Any] | None = None
) -> Iterator[tuple[Session, dict[str, Any]]]:
    """A write transaction; the yielded dict may gain detail before the audit entry is written."""
    detail = dict(detail or {})
    with services().db.transaction() as session:
        yield session, detail
        staff = g.get("staff")
        record_audit(
            session,
            staff.id if staff is not None else None,
            action,
            utcnow(),
            target=target,
            detail=detail,
            ip_address=client_address(),
        )


def row_or_404(session: Session, model, row_id: int | None):
    """The row with this primary key, or a 404 answer when there is none."""
    row = session.get(model, row_id) if row_id is not None else None
    if row is None:
        abort(404)
    return row
