"""POST /line/webhook: verify, store, acknowledge. The worker process handles the events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from crm.clock import utcnow
from crm.inbound_events import store_events
from request_scope import services

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__, url_prefix="/line")


def signature_is_valid(channel_secret: str, body: bytes, signature: str | None) -> bool:
    """LINE's HMAC-SHA256 of the exact body bytes, compared in constant time."""
    if not signature:
        return False
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("utf-8", "replace"))


def _error(status: int, message: str):
    return jsonify({"message": message}), status


@bp.post("/webhook")
def receive():
    """Store the batch's events (deduplicated) and answer 200 before any LINE call."""
    svc = services()
    request.max_content_length = svc.settings.webhook_max_bytes
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _error(413, "request body too large")
    if not signature_is_valid(
        svc.settings.line_channel_secret, body, request.headers.get("X-Line-Signature")
    ):
        log.warning("webhook rejected: bad or missing signature (%d bytes)", len(body))
        return _error(400, "invalid signature")
    payload, problem = _parse(body)
    if problem:
        log.warning("webhook rejected: %s", problem)
        return _error(400, problem)
    events = payload["events"]
    if events:
        with svc.db.transaction() as session:
            store_events(session, _destination(payload), events, utcnow())
    return jsonify({"status": "ok", "received": len(events)})


def _parse(body: bytes) -> tuple[dict, str | None]:
    """The webhook JSON, or what is wrong with it."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return {}, "malformed JSON"
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return {}, "expected an object with an 'events' list"
    return payload, None


def _destination(payload: dict) -> str | None:
    destination = payload.get("destination")
    return destination[:64] if isinstance(destination, str) else None
