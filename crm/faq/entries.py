"""FAQ entries: what staff and the API write (example questions, an answer, a category, the
active flag), checked field by field, and the shop's FAQ settings (thresholds, on/off)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.faq.matching import Thresholds
from crm.faq.models import ANSWER_FLEX, ANSWER_KINDS, ANSWER_TEXT, Faq
from crm.field_errors import FieldError, distinct_texts
from crm.line_limits import (
    MAX_ALT_TEXT,
    MAX_BUBBLE_BYTES,
    MAX_QUICK_REPLY_ITEMS,
    MAX_QUICK_REPLY_LABEL,
    MAX_TEXT_UTF16,
    utf16_length,
)
from crm.shop_settings import read_setting, write_setting

MAX_QUESTIONS = 50
MAX_QUESTION_LENGTH = 200
MAX_CATEGORY_LENGTH = 50
# The answer's own quick replies leave room for 解決しました and スタッフに聞く.
MAX_FAQ_QUICK_REPLIES = MAX_QUICK_REPLY_ITEMS - 2
SETTING_KEY = "faq"


class FaqError(FieldError):
    """An FAQ refused, naming the field."""


@dataclass(frozen=True)
class FaqInput:
    """An FAQ as staff or the API describe it."""

    questions: list[str]
    answer: str
    category: str | None = None
    active: bool = True
    answer_kind: str = ANSWER_TEXT
    answer_flex: dict[str, Any] | None = None
    quick_replies: list[str] = field(default_factory=list)


def clean_faq(data: FaqInput) -> FaqInput:
    """The input with blanks trimmed and duplicates dropped, or FaqError for the first field
    the bot could not use."""
    questions = _clean_questions(data.questions)
    answer = (data.answer or "").replace("\r\n", "\n").strip()
    if not answer:
        raise FaqError("answer", "an answer is required")
    if utf16_length(answer) > MAX_TEXT_UTF16:
        raise FaqError("answer", f"at most {MAX_TEXT_UTF16} characters (LINE's limit)")
    category = (data.category or "").strip() or None
    if category is not None and len(category) > MAX_CATEGORY_LENGTH:
        raise FaqError("category", f"at most {MAX_CATEGORY_LENGTH} characters")
    if data.answer_kind not in ANSWER_KINDS:
        raise FaqError("answer_kind", "text or flex")
    flex = _check_flex(data.answer_flex, answer) if data.answer_kind == ANSWER_FLEX else None
    return FaqInput(
        questions=questions,
        answer=answer,
        category=category,
        active=bool(data.active),
        answer_kind=data.answer_kind,
        answer_flex=flex,
        quick_replies=_clean_quick_replies(data.quick_replies),
    )


def _clean_questions(questions: list[str]) -> list[str]:
    if not isinstance(questions, list):
        raise FaqError("questions", "a list of example questions")
    return distinct_texts(
        questions,
        "questions",
        FaqError,
        most=MAX_QUESTIONS,
        longest=MAX_QUESTION_LENGTH,
        none_message="at least one example question",
        many_message=f"at most {MAX_QUESTIONS} example questions",
    )


def _clean_quick_replies(labels: list[str]) -> list[str]:
    cleaned = [label.strip() for label in labels or [] if isinstance(label, str) and label.strip()]
    if len(cleaned) > MAX_FAQ_QUICK_REPLIES:
        raise FaqError("quick_replies", f"at most {MAX_FAQ_QUICK_REPLIES}")
    for index, label in enumerate(cleaned):
        if len(label) > MAX_QUICK_REPLY_LABEL:
            raise FaqError(f"quick_replies[{index}]", f"at most {MAX_QUICK_REPLY_LABEL} characters")
    return list(dict.fromkeys(cleaned))


def _check_flex(bubble: Any, answer: str) -> dict[str, Any]:
    """A Flex answer is one bubble (or carousel) within LINE's size; the answer is its alt text."""
    if not isinstance(bubble, dict) or bubble.get("type") not in ("bubble", "carousel"):
        raise FaqError("answer_flex", 'a Flex container: {"type": "bubble", …}')
    if len(json.dumps(bubble, ensure_ascii=False).encode()) > MAX_BUBBLE_BYTES:
        raise FaqError("answer_flex", "larger than LINE's 30 KB for one bubble")
    if len(answer) > MAX_ALT_TEXT:
        raise FaqError("answer", f"the Flex card's alt text: at most {MAX_ALT_TEXT} characters")
    return bubble


def create_faq(session: Session, data: FaqInput, staff_id: int | None = None) -> Faq:
    data = clean_faq(data)
    position = (session.scalar(select(func.max(Faq.position))) or 0) + 1
    faq = Faq(position=position, created_by_id=staff_id, **_columns(data))
    session.add(faq)
    session.flush()
    return faq


def update_faq(faq: Faq, data: FaqInput) -> Faq:
    for name, value in _columns(clean_faq(data)).items():
        setattr(faq, name, value)
    return faq


def delete_faq(session: Session, faq: Faq) -> None:
    """Remove the FAQ; its past lookups stay in the reports (their faq_id becomes empty)."""
    session.delete(faq)
    session.flush()


def _columns(data: FaqInput) -> dict[str, Any]:
    return {
        "questions": data.questions,
        "answer": data.answer,
        "category": data.category,
        "active": data.active,
        "answer_kind": data.answer_kind,
        "answer_flex": data.answer_flex,
        "quick_replies": data.quick_replies,
    }


def list_faqs(session: Session, *, category: str | None = None) -> list[Faq]:
    statement = select(Faq).order_by(Faq.position, Faq.id)
    if category is not None:
        statement = statement.where(Faq.category == category)
    return list(session.scalars(statement))


def faq_categories(session: Session) -> list[str]:
    """The categories FAQs use, in order of first use."""
    rows = session.execute(
        select(Faq.category, func.min(Faq.position))
        .where(Faq.category.is_not(None))
        .group_by(Faq.category)
        .order_by(func.min(Faq.position))
    )
    return [category for category, _ in rows]


@dataclass(frozen=True)
class FaqSettings:
    """Whether the bot answers from the FAQs, and at which scores (crm/faq/matching.py)."""

    enabled: bool = True
    thresholds: Thresholds = field(default_factory=Thresholds)


def load_faq_settings(session: Session) -> FaqSettings:
    stored = read_setting(session, SETTING_KEY) or {}
    defaults = Thresholds()
    thresholds = Thresholds(
        answer=float(stored.get("answer", defaults.answer)),
        suggest=float(stored.get("suggest", defaults.suggest)),
        margin=float(stored.get("margin", defaults.margin)),
    )
    return FaqSettings(enabled=bool(stored.get("enabled", True)), thresholds=thresholds)


def save_faq_settings(session: Session, settings: FaqSettings) -> None:
    """Store the settings; thresholds must be 0 ≤ suggest ≤ answer ≤ 1 and 0 ≤ margin ≤ 1."""
    t = settings.thresholds
    if not 0.0 <= t.suggest <= t.answer <= 1.0:
        raise FaqError("suggest", "0 ≤ suggest ≤ answer ≤ 1")
    if not 0.0 <= t.margin <= 1.0:
        raise FaqError("margin", "between 0 and 1")
    value = {"enabled": settings.enabled, "answer": t.answer, "suggest": t.suggest}
    write_setting(session, SETTING_KEY, {**value, "margin": t.margin})
