"""FAQ tables: the shop's entries (example questions, an answer, a category) and one row per
question the bot looked up, with what it decided and what the customer did next (reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, BigId, JSONDocument, created_at, updated_at

# What the bot did with a question (crm/faq/matching.py decides).
DECISION_ANSWER = "answer"
DECISION_SUGGEST = "suggest"
DECISION_HANDOFF = "handoff"
DECISIONS = (DECISION_ANSWER, DECISION_SUGGEST, DECISION_HANDOFF)

# What the customer did after the bot's answer or suggestions.
OUTCOME_RESOLVED = "resolved"  # 解決しました: the FAQ deflected the inquiry
OUTCOME_HANDOFF = "handoff"  # スタッフに聞く
OUTCOME_PICKED = "picked"  # tapped one of the もしかして suggestions
OUTCOMES = (OUTCOME_RESOLVED, OUTCOME_HANDOFF, OUTCOME_PICKED)

ANSWER_TEXT = "text"
ANSWER_FLEX = "flex"
ANSWER_KINDS = (ANSWER_TEXT, ANSWER_FLEX)


class Faq(Base):
    """One frequently asked question: how customers ask it and what the bot answers."""

    __tablename__ = "faqs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category: Mapped[str | None] = mapped_column(String(50))
    questions: Mapped[list[str]] = mapped_column(JSONDocument)  # example questions, ≥ 1
    answer: Mapped[str] = mapped_column(Text)  # the text, or the Flex card's alt text
    answer_kind: Mapped[str] = mapped_column(String(8), default=ANSWER_TEXT)
    answer_flex: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)  # a bubble
    quick_replies: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class FaqLookup(Base):
    """A customer's question the FAQ looked up: the decision, the best match, what came next."""

    __tablename__ = "faq_lookups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(String(500))
    decision: Mapped[str] = mapped_column(String(8))
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faqs.id", ondelete="SET NULL"))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    suggested_ids: Mapped[list[int]] = mapped_column(JSONDocument, default=list)
    category: Mapped[str | None] = mapped_column(String(50))
    outcome: Mapped[str | None] = mapped_column(String(8))
    outcome_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_faq_lookups_asked", "asked_at"),
        Index("ix_faq_lookups_customer", "customer_id", "id"),
    )
