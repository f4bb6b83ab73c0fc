"""LINE's rate limits: at most N requests to an endpoint in any rolling window, else 429.

LINE counts per channel and per endpoint (https://developers.line.biz/en/reference/messaging-api/#rate-limits);
the sandbox has one channel, so one window per endpoint name. The window is a second, except
for creating and deleting rich menus, which LINE counts per hour."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 1.0
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
# LINE's own limits per window; multicast is 200 since 2025-04-23 (it was 2,000).
LINE_RATE_LIMITS = {
    "reply": 2000,
    "push": 2000,
    "multicast": 200,
    "profile": 2000,
    "content": 2000,
    "quota": 2000,
    "loading": 100,
    "richmenu": 2000,
    "richmenu_create": 100,  # per hour
    "richmenu_delete": 100,  # per hour
}
WINDOWS = {"richmenu_create": 3600.0, "richmenu_delete": 3600.0}  # others: WINDOW_SECONDS


class RateLimiter:
    """A sliding-window log per endpoint: admitting a request is O(1) amortised, and the window
    holds at most `limit` timestamps. Only admitted requests count, so a client that backs off
    gets exactly the limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, endpoint: str, limit: int | None) -> bool:
        """Whether one more request to `endpoint` fits in its window (None: no limit)."""
        if limit is None:
            return True
        now, window = self.clock(), WINDOWS.get(endpoint, WINDOW_SECONDS)
        with self._lock:
            times = self._admitted.setdefault(endpoint, deque())
            while times and now - times[0] >= window:
                times.popleft()
            if len(times) >= limit:
                return False
            times.append(now)
            return True
