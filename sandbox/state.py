"""Everything the sandbox remembers: users, tokens, retry keys, faults, deliveries, requests."""

from __future__ import annotations

import hashlib
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox import events as ev
from sandbox.config import Config, parse_settings
from sandbox.rate_limits import RateLimiter
from sandbox.rich_menus import RichMenus

RETRY_KEY_WINDOW_SECONDS = 24 * 3600
ENDPOINTS = {
    "reply",
    "push",
    "multicast",
    "profile",
    "content",
    "quota",
    "loading",
    "richmenu",
    "*",
}


@dataclass(slots=True)
class User:
    """A LINE user in the sandbox (slots: a benchmark may hold a million of them)."""

    user_id: str
    display_name: str
    language: str | None = "ja"
    picture_url: str | None = None
    status_message: str | None = None
    friend: bool = False
    blocked: bool = False
    ever_followed: bool = False


@dataclass
class Fault:
    """An injected failure for the next `count` calls to an endpoint (None: every call)."""

    endpoint: str = "*"
    status: int | None = None
    count: int | None = 1
    latency_ms: int = 0
    timeout: bool = False
    timeout_seconds: float = 30.0
    body: dict | None = None


@dataclass
class Content:
    """Media a user sent."""

    body: bytes
    content_type: str
    created: float
    kind: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One accepted send as its recipients got it. All recipients of a request share this one
    record (a multicast to 500 users is one record and 500 references to it)."""

    via: str
    messages: list[dict]
    request_id: str
    retry_key: str | None
    at: str


@dataclass
class RetryKey:
    request_id: str
    at: float
    accepted: bool = False
    sent_messages: list = field(default_factory=list)


def tiny_png(seed: str, width: int = 8, height: int = 8) -> bytes:
    """A valid PNG of one colour, which depends on the seed (8x8 unless sized)."""
    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    raw = (b"\x00" + bytes([red, green, blue]) * width) * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class SandboxState:
    """The sandbox's memory; every method is safe to call from any thread."""

    def __init__(self, channel_secret: str, access_token: str, webhook_url: str):
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.bot_user_id = "U" + hashlib.sha256(channel_secret.encode()).hexdigest()[:32]
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything but the channel; requests still in flight are not logged after."""
        with self.lock:
            self.generation = getattr(self, "generation", 0) + 1
            self.users: dict[str, User] = {}
            # A user's first delivery is held as is, later ones in a list: a campaign to a
            # million users then costs a dict entry each, not a dict entry and a list.
            self.deliveries: dict[str, Delivery | list[Delivery]] = {}
            self.requests: list[tuple] = []  # (method, path, status, retry key, at): small
            self.faults: list[Fault] = []
            self.reply_tokens: dict[str, tuple[str, float]] = {}
            self.retry_keys: dict[str, RetryKey] = {}
            self.content: dict[str, Content] = {}
            self.unsent: set[str] = set()
            self.rich_menus = RichMenus()
            self.config = Config()
            self.rate_limiter = RateLimiter()
            self.usage = 0

    # configuration and faults
    def configure(self, **settings: Any) -> Config:
        """Change settings; all or none (ValueError names the first bad one)."""
        parsed = parse_settings(settings)
        with self.lock:
            for key, value in parsed.items():
                setattr(self.config, key, value)
            return self.config

    def admit(self, endpoint: str) -> bool:
        """Whether a request to `endpoint` is within its rate limit (and counts it if so)."""
        return self.rate_limiter.admit(endpoint, self.config.rate_limit(endpoint))

    def add_fault(self, **rule: Any) -> Fault:
        fault = Fault(**rule)
        if fault.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {sorted(ENDPOINTS)}")
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, endpoint: str) -> Fault | None:
        """The first live fault for this endpoint, counted down."""
        with self.lock:
            for fault in self.faults:
                if fault.endpoint in (endpoint, "*") and (fault.count is None or fault.count > 0):
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    # users
    def add_user(self, display_name: str, user_id: str | None = None, **profile: Any) -> User:
        user = User(user_id=user_id or ev.new_user_id(), display_name=display_name, **profile)
        with self.lock:
            self.users[user.user_id] = user
        return user

    def add_users(self, users: Iterable[User]) -> int:
        """Add many users at once (a benchmark's million followers)."""
        with self.lock:
            count = len(self.users)
            self.users.update((user.user_id, user) for user in users)
            return len(self.users) - count

    def user(self, user_id: str) -> User | None:
        with self.lock:
            return self.users.get(user_id)

    # reply tokens and retry keys
    def issue_reply_token(self, user_id: str) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.reply_tokens[token] = (user_id, time.monotonic())
        return token

    def use_reply_token(self, token: str) -> str | None:
        """The user the token answers, if it is unused and fresh; it is spent either way."""
        with self.lock:
            entry = self.reply_tokens.pop(token, None)
        if entry is None:
            return None
        user_id, issued = entry
        return user_id if time.monotonic() - issued <= self.config.reply_token_ttl else None

    def reserve_retry_key(self, key: str, request_id: str) -> RetryKey | None:
        """Claim the key for this request; returns the earlier holder if there is one."""
        with self.lock:
            held = self.retry_keys.get(key)
            if held and time.monotonic() - held.at < RETRY_KEY_WINDOW_SECONDS:
                return held
            self.retry_keys[key] = RetryKey(request_id, time.monotonic())
            return None

    def settle_retry_key(self, key: str, accepted: bool, sent_messages: list) -> None:
        """Keep the key if the request was accepted, free it if it failed."""
        with self.lock:
            if accepted:
                self.retry_keys[key].accepted = True
                self.retry_keys[key].sent_messages = sent_messages
            else:
                self.retry_keys.pop(key, None)

    # deliveries
    def deliver(
        self,
        user_ids: Iterable[str],
        via: str,
        messages: list[dict],
        request_id: str,
        retry_key: str | None,
    ) -> bool:
        """Record one send as received by each recipient who exists and has not blocked the
        bot, and count them against the quota as LINE does: one per recipient, whatever the
        number of messages; unknown and blocked users and replies are free. False, with nothing
        sent, if an enforced quota would be passed."""
        record = Delivery(via, messages, request_id, retry_key, now_iso())
        with self.lock:
            found = map(self.users.get, user_ids)
            receiving = [user for user in found if user is not None and not user.blocked]
            counted = len(receiving) if via != "reply" else 0
            if self.config.quota_enforced and self.usage + counted > self.config.quota:
                return False
            for user in receiving:  # keyed by the user's own id string, not the request's copy
                self._hold(user.user_id, record)
            self.usage += counted
        return True

    def _hold(self, user_id: str, record: Delivery) -> None:
        held = self.deliveries.get(user_id)
        if held is None:
            self.deliveries[user_id] = record
        elif isinstance(held, list):
            held.append(record)
        else:
            self.deliveries[user_id] = [held, record]

    def messages_for(self, user_id: str) -> list[dict]:
        """What the user received, one entry per message, oldest first."""
        with self.lock:
            held = self.deliveries.get(user_id, [])
            records = list(held) if isinstance(held, list) else [held]
        return [
            {
                "via": record.via,
                "message": message,
                "request_id": record.request_id,
                "retry_key": record.retry_key,
                "at": record.at,
            }
            for record in records
            for message in record.messages
        ]

    def log_request(
        self, method: str, path: str, status: int, retry_key: str | None, generation: int
    ) -> None:
        """Record an API call, unless the state was reset while it was being answered."""
        with self.lock:
            if generation != self.generation:
                return
            self.requests.append((method, path, status, retry_key, now_iso()))

    def request_log(self) -> list[dict]:
        """Every API call since the last reset, oldest first."""
        keys = ("method", "path", "status", "retry_key", "at")
        with self.lock:
            return [dict(zip(keys, entry, strict=True)) for entry in self.requests]

    # content
    def store_content(
        self, message_id: str, kind: str, body: bytes | None, content_type: str
    ) -> None:
        data = body if body is not None else tiny_png(message_id)
        with self.lock:
            self.content[message_id] = Content(data, content_type, time.monotonic(), kind)

    # webhooks
    def send_webhook(self, events: list[dict]) -> int | None:
        """POST the events to the app, signed like LINE; its status, or None if unreachable."""
        body = ev.webhook_body(self.bot_user_id, events)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
            "x-line-signature": ev.signature(self.channel_secret, body),
        }
        try:
            response = requests.post(self.webhook_url, data=body, headers=headers, timeout=10)
        except requests.RequestException:
            return None
        with response:
            return response.status_code

    def redeliver(self, event: dict) -> int | None:
        return self.send_webhook([ev.as_redelivery(event)])

    def user_json(self, user: User) -> dict:
        return asdict(user)

    def new_request_id(self) -> str:
        return uuid.uuid4().hex


def sent_messages(messages: list[dict]) -> list[dict]:
    """The `sentMessages` LINE answers a push or reply with: an id per message."""
    return [{"id": ev.new_message_id(), "quoteToken": secrets.token_urlsafe(16)} for _ in messages]
