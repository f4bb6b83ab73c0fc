"""What operators and monitoring see: GET /healthz (is the process up, can it reach its
database, how much work waits) and GET /metrics (the same in Prometheus' text format). Both
show counts only, no customer data; keep them on the internal network all the same.

The figures come from the database (crm/backlog.py), so whichever web process answers, they
describe every worker: received and handled events are counters (Prometheus' rate() gives
the acknowledgement and processing rates), the waiting work and its age are gauges.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from crm.backlog import Backlog, read_backlog, replies_delayed
from crm.clock import utcnow
from crm.models import EVENT_PENDING
from request_scope import request_session, services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    svc = services()
    try:
        with svc.db.read_session() as session:
            backlog = read_backlog(session, utcnow())
    except SQLAlchemyError as exc:
        body = {"status": "error", "database": type(exc).__name__}
        return jsonify(body), 503
    return jsonify(
        {
            "status": "ok",
            "database": svc.db.dialect,
            "line": "sandbox" if svc.settings.sandbox else "line",
            "events": backlog.events_by_status,
            "oldest_pending_event_seconds": backlog.oldest_pending_event_age,
            "outbox": backlog.outbox_by_status,
            "oldest_due_message_seconds": backlog.oldest_due_message_age,
            "line_errors": {str(k): v for k, v in backlog.line_errors_by_status.items()},
            "replies_delayed": backlog.replies_delayed,
        }
    )


@bp.get("/metrics")
def metrics():
    """Prometheus text format; 503 when the database does not answer."""
    try:
        with services().db.read_session() as session:
            backlog = read_backlog(session, utcnow())
    except SQLAlchemyError as exc:
        return Response(f"database unavailable: {type(exc).__name__}\n", 503)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(backlog))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class _Snapshot:
    """One scrape's metric families, from one backlog reading."""

    def __init__(self, backlog: Backlog):
        self.backlog = backlog

    def collect(self):
        b = self.backlog
        received = CounterMetricFamily(
            "line_crm_events_received", "Webhook events acknowledged and stored"
        )
        received.add_metric([], sum(b.events_by_status.values()))
        handled = CounterMetricFamily(
            "line_crm_events_handled", "Webhook events handled by workers", labels=["status"]
        )
        for status, count in sorted(b.events_by_status.items()):
            if status != EVENT_PENDING:
                handled.add_metric([status], count)
        pending = GaugeMetricFamily("line_crm_events_pending", "Events waiting for a worker")
        pending.add_metric([], b.events_pending)
        oldest = GaugeMetricFamily(
            "line_crm_events_oldest_pending_age_seconds",
            "How long the oldest pending event has waited (0 when none)",
        )
        oldest.add_metric([], b.oldest_pending_event_age or 0.0)
        outbox = GaugeMetricFamily(
            "line_crm_outbox_messages", "Messages waiting for LINE", labels=["status"]
        )
        for status, count in sorted(b.outbox_by_status.items()):
            outbox.add_metric([status], count)
        due = GaugeMetricFamily(
            "line_crm_outbox_oldest_due_age_seconds",
            "How long the longest-waiting due message has waited (0 when none)",
        )
        due.add_metric([], b.oldest_due_message_age or 0.0)
        errors = GaugeMetricFamily(
            "line_crm_line_errors",
            "Messages whose last LINE answer was an HTTP error, by status (timeouts have none)",
            labels=["status"],
        )
        for status, count in sorted(b.line_errors_by_status.items()):
            errors.add_metric([str(status)], count)
        delayed = GaugeMetricFamily(
            "line_crm_replies_delayed", "1 when customers wait for the bot more than a minute"
        )
        delayed.add_metric([], 1.0 if b.replies_delayed else 0.0)
        yield from (received, handled, pending, oldest, outbox, due, errors, delayed)


def register_backlog_banner(app: Flask) -> None:
    """`replies_delayed()` for the inbox layout's banner."""
    app.jinja_env.globals["replies_delayed"] = lambda: replies_delayed(request_session(), utcnow())
