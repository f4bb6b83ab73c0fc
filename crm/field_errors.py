"""One shape for input refused field by field: `where` names the part at fault
(`conditions.all[2].op`, `messages[1].text`, `send_at`), `message` says why. The API answers it
with 422 naming `where`; the inbox shows both."""

from __future__ import annotations


class FieldError(ValueError):
    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
