"""One customer talking to the bot over real HTTP: a signed webhook in, the worker's rounds, and
what the sandbox delivered back."""

from __future__ import annotations

from tests import line_payloads as lp
from tests import sandbox_admin as sb


class Chat:
    """One customer talking to the bot: say or tap, run the worker, read what came back."""

    def __init__(self, post_events, work, line, user):
        self.post_events, self.work, self.line, self.user = post_events, work, line, user
        self.seen = 0

    def send(self, event) -> list[dict]:
        """Post one event, run the worker, return the messages that arrived since last time."""
        assert self.post_events(event).status_code == 200
        self.work()
        messages = sb.delivered(self.line, self.user)
        new, self.seen = messages[self.seen :], len(messages)
        return [m["message"] for m in new]

    def say(self, text: str) -> list[dict]:
        return self.send(lp.text(self.user, text))

    def tap(self, data: str, params: dict | None = None) -> list[dict]:
        return self.send(lp.postback(self.user, data, params))
