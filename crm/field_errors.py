"""One shape for input refused field by field: `where` names the part at fault
(`conditions.all[2].op`, `messages[1].text`, `send_at`), `message` says why. The API answers it
with 422 naming `where`; the inbox shows both."""

from __future__ import annotations

from collections.abc import Iterable


class FieldError(ValueError):
    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def distinct_texts(
    items: Iterable[object],
    where: str,
    error: type[FieldError],
    *,
    most: int,
    longest: int,
    none_message: str,
    many_message: str,
) -> list[str]:
    """The non-blank texts among `items`, trimmed, each once, in order; `error` names the list
    (`where`) when none is left or more than `most`, and the item (`where[2]`) longer than
    `longest` characters."""
    cleaned = list(dict.fromkeys(i.strip() for i in items if isinstance(i, str) and i.strip()))
    if not cleaned:
        raise error(where, none_message)
    if len(cleaned) > most:
        raise error(where, many_message)
    for index, text in enumerate(cleaned):
        if len(text) > longest:
            raise error(f"{where}[{index}]", f"at most {longest} characters")
    return cleaned
