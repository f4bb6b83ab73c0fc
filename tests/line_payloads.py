"""Webhook bodies shaped exactly like LINE's, signed with the test secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any

BOT_USER_ID = "U" + "b" * 32
_counter = itertools.count(1)


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def new_event_id() -> str:
    """A ULID-like 26-character id, unique per call."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "01" + "".join(secrets.choice(alphabet) for _ in range(24))


def now_ms() -> int:
    return int(time.time() * 1000)


def event(
    kind: str,
    user_id: str,
    *,
    timestamp: int | None = None,
    mode: str = "active",
    reply: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """One event with every field LINE always sends."""
    body: dict[str, Any] = {
        "type": kind,
        "mode": mode,
        "timestamp": timestamp or now_ms(),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": new_event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply and mode == "active":
        body["replyToken"] = secrets.token_hex(16)
    body.update(fields)
    return body


def follow(user_id: str, is_unblocked: bool = False, **kw) -> dict[str, Any]:
    return event("follow", user_id, follow={"isUnblocked": is_unblocked}, **kw)


def unfollow(user_id: str, **kw) -> dict[str, Any]:
    return event("unfollow", user_id, reply=False, **kw)


def message(user_id: str, content: dict[str, Any], **kw) -> dict[str, Any]:
    content = {"id": str(next(_counter) + 500000000000000), **content}
    if content["type"] in ("text", "image", "video", "sticker"):
        content.setdefault("quoteToken", secrets.token_urlsafe(16))
    return event("message", user_id, message=content, **kw)


def text(user_id: str, value: str, **kw) -> dict[str, Any]:
    return message(user_id, {"type": "text", "text": value}, **kw)


def postback(user_id: str, data: str, params: dict | None = None, **kw) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data}
    if params:
        body["params"] = params
    return event("postback", user_id, postback=body, **kw)


def unsend(user_id: str, message_id: str, **kw) -> dict[str, Any]:
    return event("unsend", user_id, reply=False, unsend={"messageId": message_id}, **kw)


def body_of(*events: dict[str, Any]) -> bytes:
    """The raw bytes LINE would POST."""
    payload = {"destination": BOT_USER_ID, "events": list(events)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
