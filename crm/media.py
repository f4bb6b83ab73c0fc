"""Media a customer sent (photo, video, audio, file): LINE keeps it and we fetch it on demand.

One function, `fetch_media`, answers for the inbox and the API alike; `bot/line_client.py`'s
LineClient is the MediaSource that talks to LINE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from crm.interactions import INBOUND
from crm.models import Interaction

MEDIA_KINDS = frozenset({"image", "video", "audio", "file"})

READY = "ready"  # the bytes are here
PREPARING = "preparing"  # LINE is still processing a video or audio (202)
GONE = "gone"  # LINE no longer has it (expired, 404/410), or the customer unsent it
UNAVAILABLE = "unavailable"  # LINE did not answer; try later
ELSEWHERE = "elsewhere"  # sent with an external content provider: `url`


@dataclass(frozen=True)
class MediaContent:
    """What fetching one piece of media came to."""

    result: str
    body: bytes = b""
    content_type: str | None = None
    http_status: int | None = None
    url: str | None = None


class MediaSource(Protocol):
    """Where media bytes come from (LINE's content endpoint)."""

    def get_content(self, message_id: str) -> MediaContent: ...


def find_media(session: Session, interaction_id: int) -> Interaction | None:
    """The customer's media message with this id, or None (no such row, or not media)."""
    item = session.get(Interaction, interaction_id)
    if item is None or item.direction != INBOUND or item.kind not in MEDIA_KINDS:
        return None
    return item


def fetch_media(item: Interaction, source: MediaSource) -> MediaContent:
    """The media of a message found by `find_media`."""
    provider = item.payload.get("contentProvider") or {}
    if provider.get("type") == "external" and provider.get("originalContentUrl"):
        return MediaContent(ELSEWHERE, url=str(provider["originalContentUrl"]))
    if item.unsent_at is not None or not item.line_message_id:
        return MediaContent(GONE)
    return source.get_content(item.line_message_id)
