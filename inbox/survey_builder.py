"""The survey builder's form, both ways: a survey's questions as form rows, and a posted form as
questions JSON for `crm/surveys.py` to check. One row per question; a choice per line written
`ラベル` or `ラベル = value`, with `#タグ` words for the tags it adds; one branch per question
(more can be made through the API and are kept as they are when the row does not touch them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from crm.flow_steps import CHOICE_TYPES, STEP_TYPES
from crm.loyalty.coupons import list_coupons
from crm.loyalty.models import Coupon

NEW_ROWS = 1  # blank rows offered after the questions
_TAG = re.compile(r"#(\S+)")


@dataclass
class Row:
    """One question as the form shows it."""

    key: str = ""
    text: str = ""
    type: str = "single_choice"
    choices: str = ""
    attribute: str = ""
    branch_op: str = ""
    branch_value: str = ""
    branch_goto: str = ""
    branch_tags: str = ""
    branch_reply: bool = False
    next: str = ""
    min: str = ""
    max: str = ""
    extra_branches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def rows_of(questions: list[dict[str, Any]]) -> list[Row]:
    return [_row(question) for question in questions]


def _row(question: dict[str, Any]) -> Row:
    branches = question.get("branches") or []
    first = branches[0] if branches else {}
    return Row(
        key=question["key"],
        text=question["text"],
        type=question["type"],
        choices="\n".join(_choice_line(c) for c in question.get("choices") or ()),
        attribute=question.get("attribute") or "",
        branch_op=(first.get("if") or {}).get("op", ""),
        branch_value=_text((first.get("if") or {}).get("value", "")),
        branch_goto=first.get("goto", ""),
        branch_tags=" ".join(f"#{t}" for t in first.get("tags") or ()),
        branch_reply=bool(first.get("needs_reply")),
        next=question.get("next") or "",
        min=_text(question.get("min", "")),
        max=_text(question.get("max", "")),
        extra_branches=branches[1:],
    )


def _choice_line(choice: dict[str, Any]) -> str:
    label, value = choice["label"], str(choice["value"])
    line = label if value == label else f"{label} = {value}"
    tags = " ".join(f"#{t}" for t in choice.get("tags") or ())
    return f"{line} {tags}".strip()


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def rows_from_form(form) -> list[Row]:
    """The posted rows, in order; rows marked for removal left out."""
    rows = []
    for index in range(int(form.get("rows", "0") or 0)):
        prefix = f"q{index}_"
        if form.get(prefix + "remove"):
            continue
        rows.append(
            Row(
                key=form.get(prefix + "key", "").strip(),
                text=form.get(prefix + "text", ""),
                type=form.get(prefix + "type", "single_choice"),
                choices=form.get(prefix + "choices", ""),
                attribute=form.get(prefix + "attribute", ""),
                branch_op=form.get(prefix + "branch_op", ""),
                branch_value=form.get(prefix + "branch_value", "").strip(),
                branch_goto=form.get(prefix + "branch_goto", "").strip(),
                branch_tags=form.get(prefix + "branch_tags", ""),
                branch_reply=bool(form.get(prefix + "branch_reply")),
                next=form.get(prefix + "next", "").strip(),
                min=form.get(prefix + "min", "").strip(),
                max=form.get(prefix + "max", "").strip(),
            )
        )
    return rows


def questions_of(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows with a text as questions JSON; a row without a key gets q1, q2, …"""
    questions = []
    used = {row.key for row in rows if row.key}
    for number, row in enumerate((r for r in rows if not r.blank), start=1):
        key = row.key or _free_key(number, used)
        used.add(key)
        questions.append(_question(row, key))
    return questions


def _free_key(number: int, used: set[str]) -> str:
    while f"q{number}" in used:
        number += 1
    return f"q{number}"


def _question(row: Row, key: str) -> dict[str, Any]:
    question: dict[str, Any] = {"key": key, "text": row.text.strip(), "type": row.type}
    if row.type in CHOICE_TYPES:
        question["choices"] = [_choice(line) for line in row.choices.splitlines() if line.strip()]
    if row.attribute:
        question["attribute"] = row.attribute
    if row.next:
        question["next"] = row.next
    for name in ("min", "max"):
        number = _number(getattr(row, name))
        if row.type == "number" and number is not None:
            question[name] = number
    branches = ([_branch(row)] if row.branch_op else []) + row.extra_branches
    if branches:
        question["branches"] = branches
    return question


def _choice(line: str) -> dict[str, Any]:
    tags = _TAG.findall(line)
    text = _TAG.sub("", line).strip()
    label, _, value = text.partition(" = ")
    choice: dict[str, Any] = {"label": label.strip(), "value": (value or label).strip()}
    if tags:
        choice["tags"] = tags
    return choice


def _branch(row: Row) -> dict[str, Any]:
    value: Any = row.branch_value
    if row.branch_op == "in":
        value = [v.strip() for v in row.branch_value.split(",") if v.strip()]
    elif _number(row.branch_value) is not None:
        value = _number(row.branch_value)
    branch: dict[str, Any] = {"if": {"op": row.branch_op, "value": value}, "goto": row.branch_goto}
    tags = _TAG.findall(row.branch_tags)
    if tags:
        branch["tags"] = tags
    if row.branch_reply:
        branch["needs_reply"] = True
    return branch


def _number(text: str) -> int | float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def problem_row(field_path: str) -> int | None:
    """`questions[2].choices` → 2: which row an error belongs to."""
    match = re.match(r"questions\[(\d+)\]", field_path)
    return int(match.group(1)) if match else None


TYPES = STEP_TYPES


def reward_from_form(form) -> int | None:
    """The reward coupon chosen in the form (None: no reward)."""
    value = (form.get("reward_coupon_id") or "").strip()
    return int(value) if value.isdigit() else None


def reward_choices(session: Session, chosen: int | None) -> list[Coupon]:
    """Coupons a survey can give: the active ones, and the one it gives now even if paused."""
    return [c for c in list_coupons(session) if c.active or c.id == chosen]
