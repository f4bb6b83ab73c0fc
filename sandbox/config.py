"""The sandbox's settings (`POST /_sandbox/config`), each checked before any is applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.rate_limits import LINE_RATE_LIMITS, WINDOWS


@dataclass
class Config:
    """How the sandbox behaves; rate limits are per endpoint's window (a second, an hour for
    rich menu create and delete), None for no limit."""

    latency_ms: int = 0
    reply_token_ttl: float = 60.0
    content_prepare_seconds: float = 0.0
    quota: int = 200
    quota_enforced: bool = False  # True: a send past `quota` is refused with LINE's 429
    rate_limit_per_second: int | None = None  # every endpoint without its own entry below
    rate_limits: dict[str, int | None] = field(default_factory=dict)  # by endpoint name

    def rate_limit(self, endpoint: str) -> int | None:
        """The requests per window `endpoint` accepts (None: unlimited)."""
        per_second = None if endpoint in WINDOWS else self.rate_limit_per_second
        return self.rate_limits.get(endpoint, per_second)


def _number(kind: type) -> Callable[[Any, str], Any]:
    def parse(value: Any, key: str):
        if isinstance(value, bool):
            raise ValueError(f"{key} must be a number")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number") from None
        if number < 0:
            raise ValueError(f"{key} must not be negative")
        return number

    return parse


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _limit(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number of requests per window, or null")
    return value


def _limits(value: Any, key: str) -> dict[str, int | None]:
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object of endpoint: requests per window")
    unknown = sorted(set(value) - set(LINE_RATE_LIMITS))
    if unknown:
        raise ValueError(
            f"{key}: unknown endpoint {unknown[0]!r}, not one of {sorted(LINE_RATE_LIMITS)}"
        )
    return {name: _limit(limit, f"{key}.{name}") for name, limit in value.items()}


PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "latency_ms": _number(int),
    "reply_token_ttl": _number(float),
    "content_prepare_seconds": _number(float),
    "quota": _number(int),
    "quota_enforced": _flag,
    "rate_limit_per_second": _limit,
    "rate_limits": _limits,
}


def parse_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as typed values; ValueError naming the first bad one."""
    parsed = {}
    for key, value in settings.items():
        if key not in PARSERS:
            raise ValueError(f"unknown setting {key!r}")
        parsed[key] = PARSERS[key](value, key)
    return parsed
