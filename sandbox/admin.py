"""The sandbox's own controls under /_sandbox/: users, their actions, faults, records."""

from __future__ import annotations

import itertools
from dataclasses import asdict

from flask import Blueprint, Response, abort, jsonify, request, url_for

from sandbox import actions
from sandbox.api import USER_ID, state
from sandbox.state import User

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")
MAX_BATCH_USERS = 100_000
PROFILE_FIELDS = ("language", "picture_url", "status_message")


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
    profile = {k: body[k] for k in PROFILE_FIELDS if k in body}
    user = state().add_user(body["display_name"], body.get("user_id"), **profile)
    return jsonify(asdict(user)), 201


@bp.post("/users/batch")
def create_users():
    """Many users at once, for benchmarks: `{"users": [{"user_id", "display_name", "friend",
    "blocked", ...}]}`, up to 100,000 a call; no webhooks are sent."""
    specs = _body().get("users")
    if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_BATCH_USERS:
        raise ValueError(f"users must be a list of 1 to {MAX_BATCH_USERS} users")
    users = [_batch_user(index, spec) for index, spec in enumerate(specs)]
    return jsonify({"created": state().add_users(users)}), 201


def _batch_user(index: int, spec) -> User:
    if not isinstance(spec, dict):
        raise ValueError(f"users[{index}] must be an object")
    user_id, name = spec.get("user_id"), spec.get("display_name")
    if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
        raise ValueError(f"users[{index}].user_id must be U and 32 hex digits")
    if not isinstance(name, str) or not name:
        raise ValueError(f"users[{index}].display_name is required")
    friend, blocked = spec.get("friend", False), spec.get("blocked", False)
    if not isinstance(friend, bool) or not isinstance(blocked, bool):
        raise ValueError(f"users[{index}]: friend and blocked are true or false")
    profile = {k: spec[k] for k in PROFILE_FIELDS if k in spec}
    friend = friend and not blocked
    return User(
        user_id, name, friend=friend, blocked=blocked, ever_followed=friend or blocked, **profile
    )


@bp.get("/users")
def list_users():
    """Every user, oldest first, or the first `?limit=N` (a benchmark may hold a million)."""
    limit = request.args.get("limit", type=int)
    with state().lock:
        users = list(itertools.islice(state().users.values(), limit))
    return jsonify({"users": [asdict(u) for u in users]})


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


def _shown_menu(menu: dict | None):
    """A rich menu as the phone page draws it: the menu, with where its image is."""
    if menu is None or not state().rich_menus.has_image(menu["richMenuId"]):
        return jsonify({"richMenu": None})
    image_url = url_for(".rich_menu_image", rich_menu_id=menu["richMenuId"])
    return jsonify({"richMenu": {**menu, "imageUrl": image_url}})


@bp.get("/users/<user_id>/richmenu")
def users_rich_menu(user_id: str):
    """The menu the user sees: their own, else the default (null if none, or no image yet)."""
    _user_or_404(user_id)
    return _shown_menu(state().rich_menus.shown_to(user_id))


@bp.get("/richmenu-aliases/<alias_id>")
def aliased_rich_menu(alias_id: str):
    """The menu an alias names, for a richmenuswitch tap."""
    rich_menu_id = state().rich_menus.alias(alias_id)
    return _shown_menu(state().rich_menus.get(rich_menu_id or ""))


@bp.get("/richmenus/<rich_menu_id>/image")
def rich_menu_image(rich_menu_id: str):
    image = state().rich_menus.image(rich_menu_id)
    if image is None:
        abort(404)
    return Response(image.body, content_type=image.content_type)


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
    return jsonify({"requests": state().request_log()})


@bp.post("/reset")
def reset():
    state().reset()
    return jsonify({"status": "reset"})
