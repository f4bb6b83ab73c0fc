"""Webhook events built exactly as LINE sends them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any

_ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_message_ids = itertools.count(int(time.time() * 1000) * 1000)


def new_user_id() -> str:
    """A LINE user ID: U and 32 lowercase hex digits."""
    return "U" + secrets.token_hex(16)


def new_webhook_event_id() -> str:
    """A ULID: 10 characters of time, 16 of randomness."""
    stamp, chars = int(time.time() * 1000), []
    for _ in range(10):
        stamp, digit = divmod(stamp, 32)
        chars.append(_ULID_ALPHABET[digit])
    return "".join(reversed(chars)) + "".join(secrets.choice(_ULID_ALPHABET) for _ in range(16))


def new_message_id() -> str:
    return str(next(_message_ids))


def base_event(kind: str, user_id: str, reply_token: str | None) -> dict[str, Any]:
    """The fields every event carries."""
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": new_webhook_event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token:
        event["replyToken"] = reply_token
    return event


def build_follow(user_id: str, reply_token: str, is_unblocked: bool) -> dict[str, Any]:
    return {**base_event("follow", user_id, reply_token), "follow": {"isUnblocked": is_unblocked}}


def build_unfollow(user_id: str) -> dict[str, Any]:
    return base_event("unfollow", user_id, None)


def build_message(user_id: str, reply_token: str, content: dict[str, Any]) -> dict[str, Any]:
    """A message event; `content` is LINE's message object without id/quoteToken."""
    message = {"id": new_message_id(), **content}
    if message["type"] in ("text", "image", "video", "sticker"):
        message["quoteToken"] = secrets.token_urlsafe(24)
    if message["type"] in ("image", "video", "audio"):
        message.setdefault("contentProvider", {"type": "line"})
    return {**base_event("message", user_id, reply_token), "message": message}


def build_postback(
    user_id: str, reply_token: str, data: str, params: dict | None
) -> dict[str, Any]:
    postback: dict[str, Any] = {"data": data}
    if params:
        postback["params"] = params
    return {**base_event("postback", user_id, reply_token), "postback": postback}


def build_unsend(user_id: str, message_id: str) -> dict[str, Any]:
    return {**base_event("unsend", user_id, None), "unsend": {"messageId": message_id}}


def as_redelivery(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as LINE redelivers it: same ids and token, flagged."""
    return {**event, "deliveryContext": {"isRedelivery": True}}


def webhook_body(destination: str, events: list[dict[str, Any]]) -> bytes:
    """The exact bytes LINE posts."""
    payload = {"destination": destination, "events": events}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(channel_secret: str, body: bytes) -> str:
    """X-Line-Signature: base64 HMAC-SHA256 of the body with the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
