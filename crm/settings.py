"""Settings read once from the environment and validated, so a bad deployment fails at start."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'instance' / 'line_crm.sqlite3'}"
# Publicly known values that only ever talk to the local sandbox, never to LINE.
SANDBOX_CHANNEL_SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105
SANDBOX_PORT = 8090
_CHANNEL_SECRET_RE = re.compile(r"^[0-9a-f]{32}$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the processes need to know about their deployment."""

    line_channel_secret: str
    line_channel_access_token: str
    line_api_host: str | None
    database_url: str
    secret_key: str
    shop_timezone: str = "Asia/Tokyo"
    port: int = 5000
    sandbox: bool = False
    webhook_max_bytes: int = 1024 * 1024
    send_threads: int = 64  # LINE calls one worker makes at once
    send_loops: int = 2  # sender rounds under way at once: a slow call holds up only its own
    worker_poll_ms: int = 100  # how long a worker's idle loop waits before looking again
    line_timeout: tuple[float, float] = (3.0, 10.0)  # (connect, read); see crm.outbox.SEND_LEASE
    staff_idle_timeout: timedelta = timedelta(hours=2)
    staff_session_lifetime: timedelta = timedelta(hours=12)
    session_cookie_secure: bool = True  # False only where the inbox is served over plain HTTP
    trusted_proxies: int = 0  # reverse proxies in front that set X-Forwarded-For/-Proto
    multicast_per_second: int = 150  # campaign multicasts per sender (LINE allows 200)
    push_per_second: int = 2000  # personalised campaign pushes per sender (LINE's limit)
    campaign_senders: int = 1  # sender loops in the scheduler process
    campaign_lease_seconds: int = 30  # a batch whose sender died is taken again after this
    # Where LINE's servers and customers' phones reach this app (coupon and member QR images,
    # links); the local address in the sandbox.
    public_base_url: str | None = None  # None: the QR images are left out, codes still shown
    line_basic_id: str = "@sandbox"  # the account's basic ID (@…), for counter QR links

    def with_changes(self, **changes) -> Settings:
        """A copy with some values replaced (tests and commands)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build and validate settings from environment variables."""
        env = dict(os.environ if environ is None else environ)
        secret = env.get("LINE_CHANNEL_SECRET", "").strip()
        token = env.get("LINE_CHANNEL_ACCESS_TOKEN", "").strip()
        sandbox = not secret and not token
        if sandbox:
            secret, token = SANDBOX_CHANNEL_SECRET, SANDBOX_ACCESS_TOKEN
        else:
            _check_channel(env)
        return cls(
            line_channel_secret=secret,
            line_channel_access_token=token,
            line_api_host=_api_host(env, sandbox),
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret_key=_secret_key(env, sandbox),
            shop_timezone=_timezone(env),
            port=_int(env, "PORT", 5000),
            sandbox=sandbox,
            webhook_max_bytes=_int(env, "WEBHOOK_MAX_BYTES", 1024 * 1024),
            send_threads=_int(env, "SEND_THREADS", 64),
            send_loops=_int(env, "SEND_LOOPS", 2),
            worker_poll_ms=_int(env, "WORKER_POLL_MS", 100),
            staff_idle_timeout=timedelta(minutes=_int(env, "STAFF_IDLE_MINUTES", 120)),
            staff_session_lifetime=timedelta(hours=_int(env, "STAFF_SESSION_HOURS", 12)),
            session_cookie_secure=_cookie_secure(env, sandbox),
            trusted_proxies=_trusted_proxies(env),
            multicast_per_second=_int(env, "CAMPAIGN_MULTICAST_PER_SECOND", 150),
            push_per_second=_int(env, "CAMPAIGN_PUSH_PER_SECOND", 2000),
            campaign_senders=_int(env, "CAMPAIGN_SENDERS", 1),
            campaign_lease_seconds=_int(env, "CAMPAIGN_LEASE_SECONDS", 30),
            public_base_url=_public_base_url(env, sandbox),
            line_basic_id=_basic_id(env, sandbox),
        )


def _trusted_proxies(env: dict[str, str]) -> int:
    """How many proxies' X-Forwarded-* headers to believe; 0 (none) unless told."""
    if env.get("TRUSTED_PROXIES", "").strip() in ("", "0"):
        return 0
    return _int(env, "TRUSTED_PROXIES", 0)


def _cookie_secure(env: dict[str, str], sandbox: bool) -> bool:
    """Session cookies go over HTTPS only, except in the local sandbox or when told so."""
    raw = env.get("SESSION_COOKIE_SECURE", "").strip().lower()
    if raw == "":
        return not sandbox
    if raw not in ("0", "1", "true", "false"):
        raise ConfigError(f"SESSION_COOKIE_SECURE must be 1 or 0, got {raw!r}")
    return raw in ("1", "true")


def _check_channel(env: dict[str, str]) -> None:
    """Both channel credentials must be present, and the secret must look like one."""
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"):
        if not env.get(name, "").strip():
            raise ConfigError(f"{name} is missing: set both LINE channel variables, or neither")
    raw_secret = env["LINE_CHANNEL_SECRET"]
    if raw_secret != raw_secret.strip():
        raise ConfigError("LINE_CHANNEL_SECRET has surrounding whitespace; signatures would fail")
    if not _CHANNEL_SECRET_RE.match(raw_secret):
        raise ConfigError(
            "LINE_CHANNEL_SECRET must be the 32 hex characters from the console's Basic settings "
            "(not the access token)"
        )


def _api_host(env: dict[str, str], sandbox: bool) -> str | None:
    """Where the SDK sends API calls; the SDK concatenates paths, so no trailing slash."""
    host = env.get("LINE_API_HOST", "").strip().rstrip("/")
    if host and not re.match(r"^https?://[^/\s]+$", host):
        raise ConfigError(f"LINE_API_HOST must be a URL like http://127.0.0.1:8090, got {host!r}")
    if host:
        return host
    if sandbox:
        return f"http://127.0.0.1:{_int(env, 'SANDBOX_PORT', SANDBOX_PORT)}"
    return None


def _public_base_url(env: dict[str, str], sandbox: bool) -> str | None:
    """The app's address as the outside world sees it (LINE fetches coupon and member QR
    images from it); without one, cards show codes and numbers without a QR image."""
    url = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if url and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", url):
        raise ConfigError(f"PUBLIC_BASE_URL must be a URL like https://crm.example.jp, got {url!r}")
    if url and not sandbox and not url.startswith("https://"):
        raise ConfigError("PUBLIC_BASE_URL must start with https://: LINE shows no http images")
    if url:
        return url
    if sandbox:
        return f"http://127.0.0.1:{_int(env, 'PORT', 5000)}"
    return None


def _basic_id(env: dict[str, str], sandbox: bool) -> str:
    """The account's basic ID (@abc1234), which counter QR links open a chat with."""
    basic_id = env.get("LINE_BASIC_ID", "").strip()
    if basic_id and not re.match(r"^@[0-9a-z._-]{3,30}$", basic_id):
        raise ConfigError(f"LINE_BASIC_ID must look like @abc1234, got {basic_id!r}")
    return basic_id or "@sandbox"


def _secret_key(env: dict[str, str], sandbox: bool) -> str:
    """The session-signing key; only the sandbox may run without one."""
    key = env.get("SECRET_KEY", "")
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY is too short: use at least 16 random characters")
        return key
    if sandbox:
        return secrets.token_hex(32)
    raise ConfigError("SECRET_KEY is missing: it is required when a LINE channel is configured")


def _timezone(env: dict[str, str]) -> str:
    """The shop's IANA time zone name, checked against the tz database."""
    name = env.get("SHOP_TIMEZONE") or "Asia/Tokyo"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"SHOP_TIMEZONE {name!r} is not a known time zone") from exc
    return name


def _int(env: dict[str, str], name: str, default: int) -> int:
    """A positive integer variable, or its default."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
