"""Webhook events read into one small frozen shape, tolerant of what LINE may add later.

We read the stored raw JSON ourselves instead of using the SDK's parser: the SDK drops the
payload of event types it does not know and rejects a whole batch when one event lacks a field
(see docs/architecture.md), and we must keep every event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# LINE: use a reply token within one minute of receiving the webhook, and never more than
# 20 minutes after the event for a redelivered one. We keep a margin for the send itself.
REPLY_TOKEN_WINDOW = timedelta(seconds=50)
REDELIVERY_CAP = timedelta(minutes=20)


@dataclass(frozen=True)
class LineEvent:
    """One webhook event, as much as our handlers need."""

    event_id: str
    type: str
    mode: str
    occurred_at: datetime
    received_at: datetime
    source_type: str | None
    user_id: str | None
    reply_token: str | None
    is_redelivery: bool
    raw: dict[str, Any] = field(repr=False)

    @property
    def message(self) -> dict[str, Any]:
        """The message object of a message event ({} otherwise)."""
        return _dict(self.raw.get("message"))

    @property
    def postback(self) -> dict[str, Any]:
        """The postback object of a postback event ({} otherwise)."""
        return _dict(self.raw.get("postback"))

    @property
    def is_standby(self) -> bool:
        """Another channel module is in control: record, never answer."""
        return self.mode == "standby"

    @property
    def reply_token_expires_at(self) -> datetime:
        """Until when the reply token is safe to use."""
        return min(self.received_at + REPLY_TOKEN_WINDOW, self.occurred_at + REDELIVERY_CAP)


def read_event(
    raw: dict[str, Any], event_id: str, occurred_at: datetime, received_at: datetime
) -> LineEvent:
    """Normalise a stored raw event."""
    source = _dict(raw.get("source"))
    token = raw.get("replyToken")
    return LineEvent(
        event_id=event_id,
        type=str(raw.get("type") or "invalid"),
        mode=str(raw.get("mode") or "active"),
        occurred_at=occurred_at,
        received_at=received_at,
        source_type=source.get("type") if isinstance(source.get("type"), str) else None,
        user_id=_user_id(source),
        reply_token=token if isinstance(token, str) and token else None,
        is_redelivery=bool(_dict(raw.get("deliveryContext")).get("isRedelivery")),
        raw=raw,
    )


def _user_id(source: dict[str, Any]) -> str | None:
    """The user ID of a 1:1 chat; group and room events are not customer chats."""
    user_id = source.get("userId")
    if source.get("type") == "user" and isinstance(user_id, str) and user_id:
        return user_id
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
