"""Reading typed survey answers leniently: a value, or a stable reason it could not be read.

Customers type in Japanese or English, full-width or half-width, katakana or hiragana. Every
reader folds those variants first and never raises on anything a customer can type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

Reason = Literal[
    "empty",
    "no_such_choice",
    "ambiguous",
    "not_a_number",
    "out_of_range",
    "not_a_date",
    "too_long",
]


@dataclass(frozen=True)
class Choice:
    """One choice of a question: the label customers see and the value we store."""

    label: str
    value: str


@dataclass(frozen=True)
class Unreadable:
    """Why an answer could not be read; `reason` is a stable code the bot words for the customer."""

    reason: Reason


_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in (*range(0x30A1, 0x30F7), 0x30FD, 0x30FE)}


def normalise(text: str) -> str:
    """Fold the ways one answer can be typed (width, case, kana, spacing) into one form."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_KATAKANA_TO_HIRAGANA)
    return " ".join(folded.split())


# Choices -----------------------------------------------------------------------------------------

_POSITION = re.compile(r"(\d{1,4})\s*(?:番目?|\.)?")  # "2", "2番", "2番目"; NFKC made "②" "2"
_LEADING_NUMBER = re.compile(r"\d+")
_SEPARATOR = re.compile(r"\s*(?:[,、;/&+]|と|\band\b)\s*|\s+")  # between several choices


def _by_label_or_value(text: str, choices: list[Choice]) -> list[Choice]:
    return [c for c in choices if text in (normalise(c.label), normalise(c.value))]


def _by_leading_number(text: str, choices: list[Choice]) -> list[Choice]:
    """With labels like '2人', '4人', a typed '2' means '2人', not the second choice."""
    if not text.isdigit():
        return []
    return [c for c in choices if (m := _LEADING_NUMBER.match(normalise(c.label))) and m[0] == text]


def _by_position(text: str, choices: list[Choice]) -> list[Choice]:
    match = _POSITION.fullmatch(text)
    if match and 1 <= int(match[1]) <= len(choices):
        return [choices[int(match[1]) - 1]]
    return []


def _by_label_start(text: str, choices: list[Choice]) -> list[Choice]:
    return [c for c in choices if normalise(c.label).startswith(text)]


# Tried in order; the first that finds anything decides.
_CHOICE_MATCHERS = (_by_label_or_value, _by_leading_number, _by_position, _by_label_start)


def read_choice(text: str, choices: list[Choice]) -> Choice | Unreadable:
    """One choice by its label, its value, its number (1..n) or the unambiguous start of a label."""
    wanted = normalise(text).rstrip("。.!?").strip()
    if not wanted:
        return Unreadable("empty")
    for matcher in _CHOICE_MATCHERS:
        found = matcher(wanted, choices)
        if len(found) == 1:
            return found[0]
        if found:
            return Unreadable("ambiguous")
    return Unreadable("no_such_choice")


def read_choices(text: str, choices: list[Choice]) -> list[Choice] | Unreadable:
    """Several choices at once ('1,3', '１と３', 'ランチ、ディナー'), in the choices' order."""
    # Words at even places, separators at odd ones; a label may hold a separator ('とんかつ').
    parts = re.split(f"({_SEPARATOR.pattern})", normalise(text))
    widest = max((len(_SEPARATOR.split(normalise(c.label))) for c in choices), default=1)
    picked: set[Choice] = set()
    start = 0
    while start < len(parts):
        read, start = _read_longest_run(parts, start, widest, choices)
        if isinstance(read, Choice):
            picked.add(read)
        elif read.reason != "empty":
            return read
    if not picked:
        return Unreadable("empty")
    return [c for c in choices if c in picked]


def _read_longest_run(
    parts: list[str], start: int, widest: int, choices: list[Choice]
) -> tuple[Choice | Unreadable, int]:
    """The longest run of words from `start` that is one choice ('set a', not 'set'); where next."""
    for end in range(min(len(parts), start + 2 * widest - 1), start + 1, -2):
        read = read_choice("".join(parts[start:end]), choices)
        if isinstance(read, Choice):
            return read, end + 1
    return read_choice(parts[start], choices), start + 2


# Numbers -----------------------------------------------------------------------------------------

_KANJI_DIGITS = {k: n for n, k in enumerate("〇一二三四五六七八九")}
_NUMBER = re.compile(
    r"(?:約|星|[★☆]|¥|\$)?\s*(?P<sign>[-+−]?)\s*"
    r"(?:(?P<arabic>(?:\d{1,3}(?:,\d{3})+|\d{1,18})(?:\.\d{1,18})?|\.\d{1,18})"
    r"|(?P<kanji>(?P<tens>[一二三四五六七八九]?十)?(?P<ones>[〇一二三四五六七八九])?))"
    r"\s*(?P<scale>万|千)?\s*(?:円|点|個|つ|人|名|回|歳|才|枚|本|杯|件|%|yen)?(?:です)?"
)
_SCALES = {None: 1, "千": 1_000, "万": 10_000}
_STARS = re.compile(r"[★☆]+")


def _parse_number(text: str) -> int | float | None:
    """'1,200', '１２００円', '3.5', '-2', '二十', '3万' → the number, an int when whole."""
    match = _NUMBER.fullmatch(text)
    if not match or not (match["arabic"] or match["kanji"]):
        return None
    if match["arabic"]:
        number = Decimal(match["arabic"].replace(",", ""))
    else:
        tens = match["tens"] and _KANJI_DIGITS.get(match["tens"][:-1], 1)
        number = Decimal(10 * (tens or 0) + _KANJI_DIGITS.get(match["ones"] or "〇", 0))
    number *= _SCALES[match["scale"]] * (-1 if match["sign"] in ("-", "−") else 1)
    return int(number) if number == number.to_integral_value() else float(number)


def _within(number: int | float, low: float | None, high: float | None) -> bool:
    return (low is None or number >= low) and (high is None or number <= high)


def read_integer(text: str, low: int, high: int) -> int | Unreadable:
    """A whole number from low to high: '5', '５', '5点', '星4', '★★★' (a rating by stars)."""
    wanted = normalise(text)
    if not wanted:
        return Unreadable("empty")
    # A rating by stars: '★★★☆☆' is 3; white stars alone count too ('☆☆☆').
    stars = _STARS.fullmatch(wanted)
    number = (wanted.count("★") or len(wanted)) if stars else _parse_number(wanted)
    if not isinstance(number, int):
        return Unreadable("not_a_number")
    return number if _within(number, low, high) else Unreadable("out_of_range")


def read_number(text: str, low: float | None, high: float | None) -> int | float | Unreadable:
    """A number within optional bounds: '1,200', '１２００円', '3.5', '-2'; an int when whole."""
    wanted = normalise(text)
    if not wanted:
        return Unreadable("empty")
    number = _parse_number(wanted)
    if number is None:
        return Unreadable("not_a_number")
    return number if _within(number, low, high) else Unreadable("out_of_range")


# Dates -------------------------------------------------------------------------------------------

_ERAS = (  # (name, initial, first day), oldest first; an era ends where the next begins
    ("昭和", "s", date(1926, 12, 25)),
    ("平成", "h", date(1989, 1, 8)),
    ("令和", "r", date(2019, 5, 1)),
)
_ERA_SPANS = {
    key: (first, _ERAS[i + 1][2] if i + 1 < len(_ERAS) else date.max)
    for i, (name, initial, first) in enumerate(_ERAS)
    for key in (name, initial)
}
_RELATIVE_DAYS = {
    "今日": 0, "きょう": 0, "today": 0,
    "明日": 1, "あした": 1, "あす": 1, "tomorrow": 1,
    "昨日": -1, "きのう": -1, "yesterday": -1,
    "明後日": 2, "あさって": 2,
    "一昨日": -2, "おととい": -2,
}  # fmt: skip
_MONTH_DAY = r"(?P<month>\d{1,2})\s*(?:月|[./-])\s*(?P<day>\d{1,2})\s*日?"
_WESTERN = re.compile(r"(?P<year>\d{4})\s*(?:年|[./-])\s*" + _MONTH_DAY)
_COMPACT = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")  # 20260401
_ERA = re.compile(
    r"(?P<era>令和|平成|昭和|[rhs])\s*(?P<year>元|\d{1,2})\s*(?:年|[./-])\s*" + _MONTH_DAY
)
_THIS_YEAR = re.compile(_MONTH_DAY)
_RELATIVE = re.compile("|".join(_RELATIVE_DAYS))
_WEEKDAY = re.compile(r"\s*\([^()]*\)$")  # '4月1日(水)': the weekday in brackets is dropped


def _western_date(match: re.Match[str], today: date) -> date:
    return date(int(match["year"]), int(match["month"]), int(match["day"]))


def _era_date(match: re.Match[str], today: date) -> date:
    first, following = _ERA_SPANS[match["era"]]
    year = 1 if match["year"] == "元" else int(match["year"])
    day = date(first.year + year - 1, int(match["month"]), int(match["day"]))
    if not first <= day < following:
        raise ValueError(f"{day} is not in {match['era']}")
    return day


def _this_year_date(match: re.Match[str], today: date) -> date:
    return date(today.year, int(match["month"]), int(match["day"]))


def _relative_date(match: re.Match[str], today: date) -> date:
    return today + timedelta(days=_RELATIVE_DAYS[match[0]])


# Each form and how to build its day; a builder raises ValueError for a day that does not exist.
_DATE_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], date], date]], ...] = (
    (_WESTERN, _western_date),
    (_COMPACT, _western_date),
    (_ERA, _era_date),
    (_THIS_YEAR, _this_year_date),
    (_RELATIVE, _relative_date),
)


def read_date(text: str, today: date) -> date | Unreadable:
    """A calendar date: western or Japanese era ('令和8年4月1日', 'R8.4.1'), '4/1', '明日'."""
    wanted = _WEEKDAY.sub("", normalise(text))
    if not wanted:
        return Unreadable("empty")
    for form, build in _DATE_FORMS:
        if match := form.fullmatch(wanted):
            try:
                return build(match, today)
            except (ValueError, OverflowError):  # 2月30日, 令和1年4月1日, a day past date.max
                return Unreadable("not_a_date")
    return Unreadable("not_a_date")


# Free text ---------------------------------------------------------------------------------------


def read_text(text: str, max_length: int) -> str | Unreadable:
    """Free text as typed, without surrounding spaces, at most max_length characters."""
    answer = text.strip()
    if not answer:
        return Unreadable("empty")
    if len(answer) > max_length:
        return Unreadable("too_long")
    return answer
