"""The values of the segment builder's rows, by shape: how each is read from the form (a bad one
is refused with a sentence staff understand), written back from a saved tree, and entered (the
inputs and the words around them). One entry of `SHAPES` per shape; `shape_of` picks it for a
field and operator."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.segments import LARGEST, SegmentError
from inbox.segment_fields import Choices, SegmentField

NO_VALUE_OPS = frozenset({"is_set", "not_set", "answered", "not_answered"})
MAX_DAYS = 36500
Reader = Callable[[str, str, str], Any]  # (value, value2, where) → the tree's value


# Reading --------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Full-width digits and signs as ASCII (typed with a Japanese IME), spaces trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def _read_text(text: str, where: str) -> str:
    text = text.strip()
    if not text:
        raise SegmentError(f"{where}.value", _("Enter a value."))
    if len(text) > 500 or "\x00" in text:
        raise SegmentError(f"{where}.value", _("At most 500 characters."))
    return text


def _read_choice(text: str, where: str) -> str:
    if not text:
        raise SegmentError(f"{where}.value", _("Choose a value."))
    return text


def _read_number(text: str, where: str) -> int | float:
    try:
        number = float(_plain(text).replace(",", ""))
    except ValueError:
        raise SegmentError(f"{where}.value", _("Enter a number.")) from None
    if not abs(number) <= LARGEST:  # also refuses NaN
        raise SegmentError(f"{where}.value", _("Enter a number."))
    return int(number) if number.is_integer() else number


def _read_days(text: str, where: str) -> int:
    text = _plain(text)
    if not text.isdigit() or int(text) > MAX_DAYS:
        raise SegmentError(f"{where}.value", _("Enter a whole number of days (0 to 36,500)."))
    return int(text)


def _read_count(text: str, where: str) -> int:
    text = _plain(text)
    if not text.isdigit() or len(text) > 15:
        raise SegmentError(f"{where}.value", _("Enter a whole number of messages."))
    return int(text)


def _read_date(text: str, where: str) -> str:
    try:
        return date.fromisoformat(_plain(text).replace("/", "-")).isoformat()
    except ValueError:
        raise SegmentError(f"{where}.value", _("Enter a date as YYYY-MM-DD.")) from None


def _read_bool(text: str, where: str) -> bool:
    return text == "true"


def _read_raw(text: str, where: str) -> Any:
    """A field the builder does not know (kept as the API saved it): JSON, else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pair(read: Callable[[str, str], Any]) -> Reader:
    return lambda value, value2, where: [read(value, where), read(value2, where)]


def _single(read: Callable[[str, str], Any]) -> Reader:
    return lambda value, value2, where: read(value, where)


def _days_count(value: str, value2: str, where: str) -> dict[str, int]:
    return {"days": _read_days(value, where), "count": _read_count(value2, where)}


# Writing (a saved tree shown as rows) ----------------------------------------------------


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _write_single(value: Any) -> tuple[str, str]:
    return (_number_text(value) if isinstance(value, int | float) else str(value), "")


def _write_pair(value: Any) -> tuple[str, str]:
    low, high = value
    return (_write_single(low)[0], _write_single(high)[0])


def _write_bool(value: Any) -> tuple[str, str]:
    return ("true" if value is True else "false", "")


def _write_days_count(value: Any) -> tuple[str, str]:
    return (str(value["days"]), str(value["count"]))


def write_raw(value: Any) -> tuple[str, str]:
    return (json.dumps(value, ensure_ascii=False), "")


@dataclass(frozen=True)
class Shape:
    """How one kind of value is read from the form, written back, and entered."""

    read: Reader | None  # None: the operator takes no value
    write: Callable[[Any], tuple[str, str]]
    inputs: tuple[tuple[str, str], ...]  # (form name, widget kind) in the order shown
    defaults: tuple[str, str] = ("", "")  # (value, value2) a new row starts with


ONE_TEXT, ONE_NUMBER, ONE_SELECT = (
    (("value", "text"),),
    (("value", "number"),),
    (("value", "select"),),
)
TWO_NUMBERS = (("value", "number"), ("value2", "number"))
SHAPES: dict[str, Shape] = {
    "none": Shape(None, lambda value: ("", ""), ()),
    "text": Shape(_single(_read_text), _write_single, ONE_TEXT),
    "choice": Shape(_single(_read_choice), _write_single, ONE_SELECT),
    "bool": Shape(_single(_read_bool), _write_bool, ONE_SELECT),
    "number": Shape(_single(_read_number), _write_single, ONE_NUMBER),
    "days": Shape(_single(_read_days), _write_single, ONE_NUMBER, ("30", "")),
    "date": Shape(_single(_read_date), _write_single, (("value", "date"),)),
    "days_count": Shape(
        _days_count, _write_days_count, (("value2", "number"), ("value", "number")), ("30", "1")
    ),
    "number_range": Shape(_pair(_read_number), _write_pair, TWO_NUMBERS),
    "days_range": Shape(_pair(_read_days), _write_pair, TWO_NUMBERS, ("7", "30")),
    "date_range": Shape(_pair(_read_date), _write_pair, (("value", "date"), ("value2", "date"))),
    "raw": Shape(_single(_read_raw), write_raw, ONE_TEXT),
}


def shape_of(spec: SegmentField | None, op: str) -> str:
    """The value's shape for a field and operator (`between` takes two); a field or operator
    the builder does not offer (saved through the API) keeps its value as JSON."""
    if spec is None or op not in dict(spec.ops):
        return "raw"
    if op in NO_VALUE_OPS:
        return "none"
    return f"{spec.shape}_range" if op == "between" else spec.shape


# Entering ---------------------------------------------------------------------------------

BOOL_CHOICES = (("true", _l("agreed")), ("false", _l("did not agree")))


@dataclass(frozen=True)
class Widget:
    """One input of a row: its form name (`value` or `value2`) and how it is entered."""

    name: str
    kind: str
    value: str
    choices: Choices = ()
    before: object = ""
    after: object = ""
    suggestions: tuple[str, ...] = ()


def choices_of(spec: SegmentField | None, shape: str) -> Choices:
    if shape == "bool":
        return tuple((value, str(label)) for value, label in BOOL_CHOICES)
    return spec.choices if spec is not None and shape == "choice" else ()


NO_WORDS = (("", ""), ("", ""))
WORDS = {
    "days": lambda op: ((("", _l("days") if op == "lt" else _l("days ago"))),),
    "days_range": lambda op: (("", ""), ("–", _l("days ago"))),
    "number_range": lambda op: (("", ""), ("–", "")),
    "date_range": lambda op: (("", ""), ("–", "")),
    "days_count": lambda op: (("", _l("messages")), (_l("in the last"), _l("days"))),
}


def words_of(shape: str, op: str) -> tuple[tuple[object, object], ...]:
    """(before, after) each input: "30 days ago", "7 – 30 days ago", "3 messages in the last
    30 days"."""
    return WORDS[shape](op) if shape in WORDS else NO_WORDS
