"""What a sandbox user can do: add the bot, block it, and send things that become webhooks."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sandbox import events as ev
from sandbox.state import SandboxState, User

CONTENT_TYPES = {"image": "image/png", "video": "video/mp4", "audio": "audio/m4a"}


class ActionError(ValueError):
    """The action cannot be done (unknown type, missing field)."""


def follow(state: SandboxState, user: User) -> dict:
    """Add the bot as a friend (or unblock it)."""
    with state.lock:
        is_unblocked = user.ever_followed
        user.friend, user.blocked, user.ever_followed = True, False, True
    token = state.issue_reply_token(user.user_id)
    return ev.build_follow(user.user_id, token, is_unblocked)


def unfollow(state: SandboxState, user: User) -> dict:
    """Block the bot."""
    with state.lock:
        user.friend, user.blocked = False, True
    return ev.build_unfollow(user.user_id)


def _text(state, user, spec):
    content = {"type": "text", "text": _required(spec, "text")}
    return ev.build_message(user.user_id, state.issue_reply_token(user.user_id), content)


def _sticker(state, user, spec):
    content = {
        "type": "sticker",
        "packageId": str(spec.get("packageId", "446")),
        "stickerId": str(spec.get("stickerId", "1988")),
        "stickerResourceType": spec.get("stickerResourceType", "STATIC"),
    }
    if spec.get("keywords"):
        content["keywords"] = spec["keywords"]
    return ev.build_message(user.user_id, state.issue_reply_token(user.user_id), content)


def _media(kind: str):
    def build(state, user, spec):
        content: dict[str, Any] = {"type": kind, "contentProvider": {"type": "line"}}
        if kind in ("video", "audio"):
            content["duration"] = int(spec.get("duration", 5000))
        event = ev.build_message(user.user_id, state.issue_reply_token(user.user_id), content)
        raw = spec.get("content_base64")
        body = base64.b64decode(raw) if raw else None
        content_type = spec.get("content_type") or CONTENT_TYPES[kind]
        state.store_content(event["message"]["id"], kind, body, content_type)
        return event

    return build


def _file(state, user, spec):
    content = {
        "type": "file",
        "fileName": _required(spec, "fileName"),
        "fileSize": int(spec.get("fileSize", 0)),
    }
    return ev.build_message(user.user_id, state.issue_reply_token(user.user_id), content)


def _location(state, user, spec):
    content = {
        "type": "location",
        "title": spec.get("title", ""),
        "address": spec.get("address", ""),
        "latitude": float(_required(spec, "latitude")),
        "longitude": float(_required(spec, "longitude")),
    }
    return ev.build_message(user.user_id, state.issue_reply_token(user.user_id), content)


def _postback(state, user, spec):
    token = state.issue_reply_token(user.user_id)
    return ev.build_postback(user.user_id, token, _required(spec, "data"), spec.get("params"))


def _richmenuswitch(state, user, spec):
    """A tap on a richmenuswitch area: LINE switches the menu shown and sends a postback
    saying how that went (https://developers.line.biz/en/reference/messaging-api/#postback-params-object-for-richmenu-switch-action)."""
    alias_id = str(_required(spec, "richMenuAliasId"))
    rich_menu_id = state.rich_menus.alias(alias_id)
    if rich_menu_id is None:
        status = "RICHMENU_ALIAS_ID_NOTFOUND"
    elif state.rich_menus.get(rich_menu_id) is None:
        status = "RICHMENU_NOTFOUND"
    else:
        status = "SUCCESS"
    params = {"newRichMenuAliasId": alias_id, "status": status}
    token = state.issue_reply_token(user.user_id)
    return ev.build_postback(user.user_id, token, _required(spec, "data"), params)


def _unsend(state, user, spec):
    message_id = str(_required(spec, "messageId"))
    with state.lock:
        state.unsent.add(message_id)
    return ev.build_unsend(user.user_id, message_id)


def _required(spec: dict, key: str) -> Any:
    if spec.get(key) in (None, ""):
        raise ActionError(f"{key} is required")
    return spec[key]


EVENT_BUILDERS: dict[str, Callable[[SandboxState, User, dict], dict]] = {
    "text": _text,
    "sticker": _sticker,
    "image": _media("image"),
    "video": _media("video"),
    "audio": _media("audio"),
    "file": _file,
    "location": _location,
    "postback": _postback,
    "richmenuswitch": _richmenuswitch,
    "unsend": _unsend,
}


def user_event(state: SandboxState, user: User, spec: dict) -> dict:
    """Build the event for what the user did."""
    builder = EVENT_BUILDERS.get(spec.get("type"))
    if builder is None:
        raise ActionError(f"type must be one of {', '.join(EVENT_BUILDERS)}")
    return builder(state, user, spec)
