"""GET /healthz: is the process up, can it reach its database, how much work is waiting."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crm.inbound_events import count_by_status
from web.context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    svc = services()
    try:
        with svc.db.read_session() as session:
            session.execute(text("SELECT 1"))
            events = count_by_status(session)
    except SQLAlchemyError as exc:
        body = {"status": "error", "database": type(exc).__name__}
        return jsonify(body), 503
    return jsonify(
        {
            "status": "ok",
            "database": svc.db.dialect,
            "line": "sandbox" if svc.settings.sandbox else "line",
            "events": events,
        }
    )
