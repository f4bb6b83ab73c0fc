"""What the bot does with a customer's question: match it against the shop's active FAQs (an
index built once per process and rebuilt when an FAQ changes), log the lookup for reports, and
record what the customer did next (解決しました, スタッフに聞く, a suggestion tapped)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.faq.entries import load_faq_settings
from crm.faq.matching import FaqEntry, FaqIndex, Thresholds
from crm.faq.models import (
    DECISION_ANSWER,
    DECISION_HANDOFF,
    OUTCOME_PICKED,
    OUTCOMES,
    Faq,
    FaqLookup,
)

MAX_LOOKUP_TEXT = 500


@dataclass(frozen=True)
class FaqMatch:
    """The decision for a text and the FAQs behind it, best first, with their scores."""

    decision: str
    matches: list[tuple[Faq, float]]

    @property
    def best(self) -> Faq | None:
        return self.matches[0][0] if self.matches else None

    @property
    def score(self) -> float:
        return self.matches[0][1] if self.matches else 0.0


_SESSION_KEY = "faq_index"  # in session.info: the index this session already checked


class _IndexCache:
    """One FaqIndex per database, kept while the active FAQs are unchanged (their count, the
    latest edit and the highest id say so: one small query per session, that is per round of
    event handling or per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple, FaqIndex]] = {}

    def index(self, session: Session) -> FaqIndex:
        checked = session.info.get(_SESSION_KEY)
        if checked is None:
            checked = session.info[_SESSION_KEY] = self._current(session)
        return checked

    def _current(self, session: Session) -> FaqIndex:
        key = str(session.get_bind().url)
        version = tuple(
            session.execute(
                select(func.count(), func.max(Faq.updated_at), func.max(Faq.id)).where(Faq.active)
            ).one()
        )
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
        index = FaqIndex.build(_entries(session))
        with self._lock:
            self._entries[key] = (version, index)
        return index


_CACHE = _IndexCache()


def _entries(session: Session) -> list[FaqEntry]:
    faqs = session.scalars(select(Faq).where(Faq.active).order_by(Faq.position, Faq.id))
    return [FaqEntry(faq.id, faq.questions, faq.category, faq.answer) for faq in faqs]


def match_text(session: Session, text: str, thresholds: Thresholds | None = None) -> FaqMatch:
    """Exactly what the bot would do with this text: answer, suggest or hand off."""
    if thresholds is None:
        thresholds = load_faq_settings(session).thresholds
    found = _CACHE.index(session).match(text, thresholds)
    faqs = {faq.id: faq for faq in _load(session, [faq_id for faq_id, _ in found.matches])}
    matches = [(faqs[faq_id], score) for faq_id, score in found.matches if faq_id in faqs]
    if not matches:
        return FaqMatch(DECISION_HANDOFF, [])
    return FaqMatch(found.decision, matches)


def _load(session: Session, ids: list) -> list[Faq]:
    if not ids:
        return []
    return list(session.scalars(select(Faq).where(Faq.id.in_(ids))))


def record_lookup(
    session: Session,
    customer_id: int,
    text: str,
    found: FaqMatch,
    now: datetime,
    category: str | None = None,
) -> FaqLookup:
    """Log the question and the decision for the reports (flushed by the caller when it needs
    the id: an answer's and suggestions' buttons name it)."""
    best = found.best
    lookup = FaqLookup(
        customer_id=customer_id,
        asked_at=now,
        text=text[:MAX_LOOKUP_TEXT],
        decision=found.decision,
        faq_id=best.id if best is not None and found.decision == DECISION_ANSWER else None,
        score=found.score,
        suggested_ids=[faq.id for faq, _ in found.matches],
        category=category or (best.category if best is not None else None),
    )
    session.add(lookup)
    return lookup


def record_outcome(
    session: Session,
    lookup_id: int,
    customer_id: int,
    outcome: str,
    now: datetime,
    faq_id: int | None = None,
) -> FaqLookup | None:
    """What the customer did after the answer: the lookup when this changed it, None when the
    lookup is not this customer's or already has its outcome (an old or doubled tap). A tapped
    suggestion (`picked`) can still be followed by 解決しました or スタッフに聞く."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown FAQ outcome {outcome!r}")
    lookup = session.get(FaqLookup, lookup_id)
    if lookup is None or lookup.customer_id != customer_id:
        return None
    if lookup.outcome not in (None, OUTCOME_PICKED) or lookup.outcome == outcome:
        return None
    lookup.outcome = outcome
    lookup.outcome_at = now
    if faq_id is not None:
        lookup.faq_id = faq_id
    return lookup
