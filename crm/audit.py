"""The audit log: every staff change or export, with who, what and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import AuditEntry


def record_audit(
    session: Session,
    staff_id: int | None,
    action: str,
    now: datetime,
    *,
    target: tuple[str, object] | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> None:
    """Append one entry; it commits together with the change it describes."""
    target_type, target_id = target if target else (None, None)
    session.add(
        AuditEntry(
            staff_id=staff_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            detail=detail or {},
            ip_address=ip_address,
            occurred_at=now,
        )
    )


def recent_audit(
    session: Session, *, before_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest entries first, keyset-paginated by id."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    return list(session.scalars(statement))
