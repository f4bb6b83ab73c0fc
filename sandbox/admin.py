"""The sandbox's own controls under /_sandbox/: users, their actions, faults, records."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, jsonify, request

from sandbox import actions
from sandbox.api import state

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _user_or_404(user_id: str):
    user = state().user(user_id)
    if user is None:
        abort(404)
    return user


@bp.errorhandler(404)
def _not_found(_exc):
    return jsonify({"message": "Not found"}), 404


@bp.errorhandler(ValueError)
def _bad_request(exc):
    return jsonify({"message": str(exc)}), 400


@bp.post("/users")
def create_user():
    body = _body()
    if not body.get("display_name"):
        raise ValueError("display_name is required")
    profile = {k: body[k] for k in ("language", "picture_url", "status_message") if k in body}
    user = state().add_user(body["display_name"], body.get("user_id"), **profile)
    return jsonify(asdict(user)), 201


@bp.get("/users")
def list_users():
    with state().lock:
        return jsonify({"users": [asdict(u) for u in state().users.values()]})


def _send(event: dict):
    return jsonify({"event": event, "webhook_status": state().send_webhook([event])})


@bp.post("/users/<user_id>/follow")
def follow(user_id: str):
    return _send(actions.follow(state(), _user_or_404(user_id)))


@bp.post("/users/<user_id>/unfollow")
def unfollow(user_id: str):
    return _send(actions.unfollow(state(), _user_or_404(user_id)))


@bp.post("/users/<user_id>/events")
def user_event(user_id: str):
    return _send(actions.user_event(state(), _user_or_404(user_id), _body()))


@bp.post("/users/<user_id>/reply-tokens")
def reply_tokens(user_id: str):
    """Tokens for webhooks a test or benchmark builds itself."""
    _user_or_404(user_id)
    count = int(_body().get("count", 1))
    if not 1 <= count <= 100_000:
        raise ValueError("count must be between 1 and 100000")
    return jsonify({"reply_tokens": [state().issue_reply_token(user_id) for _ in range(count)]})


@bp.get("/users/<user_id>/messages")
def messages(user_id: str):
    _user_or_404(user_id)
    return jsonify({"messages": state().messages_for(user_id)})


@bp.post("/faults")
def add_faults():
    rules = _body().get("rules")
    if not isinstance(rules, list) or not rules:
        raise ValueError("rules must be a non-empty list")
    for rule in rules:
        state().add_fault(**rule)
    return jsonify({"faults": len(state().faults)})


@bp.delete("/faults")
def clear_faults():
    state().clear_faults()
    return jsonify({"faults": 0})


@bp.post("/config")
def configure():
    return jsonify(asdict(state().configure(**_body())))


@bp.get("/requests")
def requests_log():
    with state().lock:
        return jsonify({"requests": list(state().requests)})


@bp.post("/reset")
def reset():
    state().reset()
    return jsonify({"status": "reset"})
