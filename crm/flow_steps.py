"""A flow's steps as data: reading a definition, checking it, and choosing the next step.

Pure rules: no database, no LINE. A definition is a list of steps (JSON, as the API and the
survey builder send it); `check_steps` names every problem with the field at fault, and
`next_step` decides where an answer leads. Branches only go forward, so a run always ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm.answer_reading import Choice as ReadableChoice
from crm.line_limits import (
    MAX_BUTTON_LABEL,
    MAX_QUICK_REPLY_ITEMS,
    MAX_TEXT_UTF16,
    utf16_length,
)

SINGLE_CHOICE = "single_choice"
MULTIPLE_CHOICE = "multiple_choice"
RATING = "rating"
NPS = "nps"
TEXT = "text"
NUMBER = "number"
DATE = "date"
MESSAGE = "message"
STEP_TYPES = (SINGLE_CHOICE, MULTIPLE_CHOICE, RATING, NPS, TEXT, NUMBER, DATE, MESSAGE)
CHOICE_TYPES = (SINGLE_CHOICE, MULTIPLE_CHOICE)
NUMERIC_TYPES = (RATING, NPS, NUMBER)
SCALES = {RATING: (1, 5), NPS: (0, 10)}

END = "end"  # a branch's `goto` that finishes the run
OPERATORS = ("lte", "gte", "eq", "in")
MAX_STEPS = 50
MAX_CHOICES = 30  # up to 13 as quick replies, more as a Flex list
MAX_KEY = 40
MAX_VALUE = 100  # a choice's stored value; it travels in postback data (300 at most)
MAX_TAGS_PER_CHOICE = 10
DEFAULT_TEXT_LIMIT = 1000
SKIP = "skip"  # after the re-asks, go on without an answer
ON_UNREADABLE = (SKIP, END)
REASKS = 2  # a wrong typed answer is asked again at most this often


@dataclass(frozen=True)
class Choice(ReadableChoice):
    """A choice with what choosing it does to the customer's tags."""

    tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Branch:
    op: str
    value: Any
    goto: str
    tags: tuple[str, ...] = ()
    needs_reply: bool = False  # put the customer's chat in the staff's needs-reply folder


@dataclass(frozen=True)
class Step:
    key: str
    text: str
    type: str
    choices: tuple[Choice, ...] = ()
    attribute: str | None = None
    branches: tuple[Branch, ...] = ()
    next: str | None = None  # where to go when no branch is taken; None: the following step
    min: float | None = None
    max: float | None = None
    max_length: int = DEFAULT_TEXT_LIMIT
    on_unreadable: str = SKIP

    @property
    def asks(self) -> bool:
        """A message-only step shows its text and goes on; every other step waits for an answer."""
        return self.type != MESSAGE

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        return SCALES.get(self.type, (self.min, self.max))


@dataclass(frozen=True)
class Problem:
    field: str  # e.g. "questions[2].branches[0].goto"
    message: str


@dataclass
class _Checker:
    problems: list[Problem] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))


def read_steps(raw: list[dict[str, Any]]) -> tuple[Step, ...]:
    """Steps from a definition already accepted by `check_steps`."""
    return tuple(_step(item) for item in raw)


def _step(item: dict[str, Any]) -> Step:
    return Step(
        key=item["key"],
        text=item["text"],
        type=item["type"],
        choices=tuple(
            Choice(
                c["label"],
                str(c["value"]),
                tuple(c.get("tags") or ()),
                tuple(c.get("remove_tags") or ()),
            )
            for c in item.get("choices") or ()
        ),
        attribute=item.get("attribute"),
        branches=tuple(
            Branch(
                b["if"]["op"],
                b["if"]["value"],
                b["goto"],
                tuple(b.get("tags") or ()),
                bool(b.get("needs_reply")),
            )
            for b in item.get("branches") or ()
        ),
        next=item.get("next"),
        min=item.get("min"),
        max=item.get("max"),
        max_length=item.get("max_length") or DEFAULT_TEXT_LIMIT,
        on_unreadable=item.get("on_unreadable") or SKIP,
    )


def check_steps(raw: Any) -> list[Problem]:
    """Every problem of a definition, each naming its field; empty when it can run."""
    checker = _Checker()
    if not isinstance(raw, list) or not raw:
        checker.add("questions", "at least one question is needed")
        return checker.problems
    if len(raw) > MAX_STEPS:
        checker.add("questions", f"at most {MAX_STEPS} questions")
    keys: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"questions[{index}]"
        if not isinstance(item, dict):
            checker.add(where, "a question is an object")
            continue
        key = item.get("key")
        if key in keys:
            checker.add(f"{where}.key", f"duplicate key {key!r}")
        elif isinstance(key, str):
            keys[key] = index
        _check_step(checker, where, item)
    for index, item in enumerate(raw):
        if isinstance(item, dict):
            _check_gotos(checker, f"questions[{index}]", index, item, keys)
    return checker.problems


def _check_step(checker: _Checker, where: str, item: dict[str, Any]) -> None:
    key, text, kind = item.get("key"), item.get("text"), item.get("type")
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or key == END:
        checker.add(f"{where}.key", f"a key of 1 to {MAX_KEY} characters, not {END!r}")
    if not isinstance(text, str) or not text.strip():
        checker.add(f"{where}.text", "the question's text is missing")
    elif utf16_length(text) > MAX_TEXT_UTF16:
        checker.add(f"{where}.text", f"longer than LINE's {MAX_TEXT_UTF16} characters")
    if kind not in STEP_TYPES:
        checker.add(f"{where}.type", f"unknown type {kind!r}; one of {', '.join(STEP_TYPES)}")
        return
    TYPE_CHECKS.get(kind, _no_check)(checker, where, item)
    if item.get("attribute") is not None and (
        kind == MESSAGE or not isinstance(item["attribute"], str) or not item["attribute"]
    ):
        checker.add(f"{where}.attribute", "an attribute name, on a question that takes an answer")
    if item.get("on_unreadable", SKIP) not in ON_UNREADABLE:
        checker.add(f"{where}.on_unreadable", f"one of {', '.join(ON_UNREADABLE)}")
    for number, branch in enumerate(item.get("branches") or ()):
        _check_branch(checker, f"{where}.branches[{number}]", kind, branch)


def _check_choices(checker: _Checker, where: str, item: dict[str, Any]) -> None:
    choices = item.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        checker.add(f"{where}.choices", "at least two choices")
        return
    if len(choices) > MAX_CHOICES:
        checker.add(f"{where}.choices", f"at most {MAX_CHOICES} choices")
    seen: set[str] = set()
    for number, choice in enumerate(choices):
        at = f"{where}.choices[{number}]"
        if not isinstance(choice, dict):
            checker.add(at, "a choice is an object with a label and a value")
            continue
        label, value = choice.get("label"), choice.get("value")
        if not isinstance(label, str) or not label.strip():
            checker.add(f"{at}.label", "the choice's label is missing")
        elif len(label) > MAX_BUTTON_LABEL:
            checker.add(
                f"{at}.label", f"at most {MAX_BUTTON_LABEL} characters (LINE's button label)"
            )
        if not isinstance(value, str | int) or str(value) == "":
            checker.add(f"{at}.value", "a value to store")
        elif len(str(value)) > MAX_VALUE:
            checker.add(f"{at}.value", f"at most {MAX_VALUE} characters")
        elif str(value) in seen:
            checker.add(f"{at}.value", f"duplicate value {value!r}")
        else:
            seen.add(str(value))
        for name in ("tags", "remove_tags"):
            _check_tags(checker, f"{at}.{name}", choice.get(name))


def _check_tags(checker: _Checker, where: str, tags: Any) -> None:
    if tags is None:
        return
    if not isinstance(tags, list) or len(tags) > MAX_TAGS_PER_CHOICE:
        checker.add(where, f"a list of at most {MAX_TAGS_PER_CHOICE} tag names")
    elif not all(isinstance(t, str) and 0 < len(t.strip()) <= 50 for t in tags):
        checker.add(where, "tag names of 1 to 50 characters")


def _check_number(checker: _Checker, where: str, item: dict[str, Any]) -> None:
    low, high = item.get("min"), item.get("max")
    for name, value in (("min", low), ("max", high)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            checker.add(f"{where}.{name}", "a number")
            return
    if low is not None and high is not None and low > high:
        checker.add(f"{where}.min", "min is above max")


def _check_text(checker: _Checker, where: str, item: dict[str, Any]) -> None:
    limit = item.get("max_length")
    if limit is not None and (not isinstance(limit, int) or not 0 < limit <= MAX_TEXT_UTF16):
        checker.add(f"{where}.max_length", f"a length of 1 to {MAX_TEXT_UTF16}")


def _no_check(checker: _Checker, where: str, item: dict[str, Any]) -> None:
    return


def _message_check(checker: _Checker, where: str, item: dict[str, Any]) -> None:
    if item.get("branches"):
        checker.add(f"{where}.branches", "a message-only step has no answer to branch on")


TYPE_CHECKS: dict[str, Callable[[_Checker, str, dict[str, Any]], None]] = {
    SINGLE_CHOICE: _check_choices,
    MULTIPLE_CHOICE: _check_choices,
    NUMBER: _check_number,
    TEXT: _check_text,
    MESSAGE: _message_check,
}


def _check_branch(checker: _Checker, where: str, kind: str, branch: Any) -> None:
    if not isinstance(branch, dict) or not isinstance(branch.get("if"), dict):
        checker.add(where, 'a branch is {"if": {"op", "value"}, "goto"}')
        return
    op, value = branch["if"].get("op"), branch["if"].get("value")
    if op not in OPERATORS:
        checker.add(f"{where}.if.op", f"one of {', '.join(OPERATORS)}")
    elif op in ("lte", "gte") and (kind not in NUMERIC_TYPES or not _is_number(value)):
        checker.add(f"{where}.if", f"{op} compares a number with a rating, NPS or number answer")
    elif op == "in" and not isinstance(value, list):
        checker.add(f"{where}.if.value", "in needs a list of values")
    _check_tags(checker, f"{where}.tags", branch.get("tags"))


def _check_gotos(checker: _Checker, where: str, index: int, item: dict, keys: dict) -> None:
    targets = [
        (f"{where}.branches[{number}].goto", branch.get("goto"))
        for number, branch in enumerate(item.get("branches") or ())
        if isinstance(branch, dict)
    ]
    if item.get("next") is not None:
        targets.append((f"{where}.next", item["next"]))
    for at, goto in targets:
        if goto == END:
            continue
        if not isinstance(goto, str) or goto not in keys:
            checker.add(at, f"no question with key {goto!r}")
        elif keys[goto] <= index:
            checker.add(at, f"{goto!r} comes before this question: it would loop")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def matches(branch: Branch, answer: Any) -> bool:
    """Does an answer meet a branch's condition? A skipped question (None) meets none."""
    if answer is None:
        return False
    return CONDITIONS[branch.op](answer, branch.value)


def _lte(answer: Any, limit: Any) -> bool:
    return _is_number(answer) and answer <= limit


def _gte(answer: Any, limit: Any) -> bool:
    return _is_number(answer) and answer >= limit


def _eq(answer: Any, value: Any) -> bool:
    if isinstance(answer, list):
        return str(value) in answer
    return answer == value or str(answer) == str(value)


def _in(answer: Any, values: list) -> bool:
    wanted = {str(v) for v in values}
    if isinstance(answer, list):
        return bool(wanted.intersection(answer))
    return str(answer) in wanted


CONDITIONS: dict[str, Callable[[Any, Any], bool]] = {
    "lte": _lte,
    "gte": _gte,
    "eq": _eq,
    "in": _in,
}


@dataclass(frozen=True)
class Next:
    """Where an answer leads: the next step's key (None: the run is over), and the effects of
    the branch taken."""

    key: str | None
    branch: Branch | None = None


def next_step(steps: tuple[Step, ...], key: str, answer: Any) -> Next:
    """The first branch whose condition the answer meets decides; else the step's `next`; else
    the following step."""
    position = [step.key for step in steps].index(key)
    step = steps[position]
    for branch in step.branches:
        if matches(branch, answer):
            return Next(None if branch.goto == END else branch.goto, branch)
    if step.next is not None:
        return Next(None if step.next == END else step.next)
    following = steps[position + 1 :]
    return Next(following[0].key if following else None)


def step_of(steps: tuple[Step, ...], key: str | None) -> Step | None:
    return next((step for step in steps if step.key == key), None)


def quick_reply_fits(step: Step) -> bool:
    """Choices short and few enough to be quick-reply buttons; else a Flex list."""
    return len(step.choices) <= MAX_QUICK_REPLY_ITEMS - 1 and all(  # one slot for やめる
        len(choice.label) <= 20 for choice in step.choices
    )
