"""The questions-and-inquiries report for a range of shop days: what the FAQ did with customers'
questions each day (answered, suggested, handed off, and deflected: 解決しました), the
questions it could not answer (to write new FAQs from), inquiries opened per category, and how
long staff took to first respond and to resolve, per week, per category and per staff member.

The period's rows are read once and summed in Python: a shop sees at most some thousands of
questions in a few weeks, and medians and percentiles then work the same on SQLite and
PostgreSQL. A median of an even count is the mean of the middle two; p90 is the nearest-rank
value (the smallest time at least 90 % of inquiries met), so it is always a time that happened.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.faq.matching import normalise
from crm.faq.models import (
    DECISION_ANSWER,
    DECISION_HANDOFF,
    DECISION_SUGGEST,
    OUTCOME_RESOLVED,
    FaqLookup,
)
from crm.inquiries.models import Inquiry
from crm.models import Staff

MAX_DAYS = 366
TOP_UNANSWERED = 20


@dataclass(frozen=True)
class DayQuestions:
    """One shop day's questions by what the FAQ did with them."""

    day: date
    answered: int = 0
    suggested: int = 0
    handed_off: int = 0
    deflected: int = 0  # the customer tapped 解決しました

    @property
    def asked(self) -> int:
        return self.answered + self.suggested + self.handed_off


@dataclass(frozen=True)
class UnansweredQuestion:
    """Customers' questions the FAQ handed to staff, the same once normalised."""

    text: str  # as the latest customer wrote it
    count: int
    first_asked: datetime
    last_asked: datetime


@dataclass(frozen=True)
class Durations:
    """How long some inquiries took: their number, median and 90th percentile."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True)
class ResponseTimes:
    """First-response and resolution times of one group of inquiries (a week, a category…)."""

    label: str
    first_response: Durations
    resolution: Durations


@dataclass(frozen=True)
class InquiryReport:
    first_day: date
    last_day: date
    days: list[DayQuestions]
    unanswered: list[UnansweredQuestion]
    opened_by_category: list[tuple[str | None, int]]  # most first; None: no category
    overall: ResponseTimes
    weeks: list[ResponseTimes]  # labelled with the Monday that starts the week (ISO date)
    categories: list[ResponseTimes]
    staff: list[ResponseTimes]  # first response by the first responder, resolution by resolver

    @property
    def asked(self) -> int:
        return sum(d.asked for d in self.days)

    @property
    def answered(self) -> int:
        return sum(d.answered for d in self.days)

    @property
    def suggested(self) -> int:
        return sum(d.suggested for d in self.days)

    @property
    def handed_off(self) -> int:
        return sum(d.handed_off for d in self.days)

    @property
    def deflected(self) -> int:
        return sum(d.deflected for d in self.days)

    @property
    def inquiries_opened(self) -> int:
        return sum(count for _, count in self.opened_by_category)

    def rate(self, count: int) -> float | None:
        """A share of the questions asked in the period (None when nobody asked)."""
        return count / self.asked if self.asked else None


def period_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants that start the first shop day and end the last (exclusive)."""
    start = datetime.combine(first_day, time(), zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def inquiry_report(
    session: Session, first_day: date, last_day: date, zone: ZoneInfo
) -> InquiryReport:
    """The report for shop days first_day..last_day, both included (at most MAX_DAYS)."""
    if last_day < first_day:
        first_day, last_day = last_day, first_day
    first_day = max(first_day, last_day - timedelta(days=MAX_DAYS - 1))
    start, end = period_bounds(first_day, last_day, zone)
    lookups = _lookups(session, start, end)
    inquiries = _inquiries(session, start, end)
    names = _staff_names(session)
    return InquiryReport(
        first_day=first_day,
        last_day=last_day,
        days=questions_per_day(lookups, first_day, last_day, zone),
        unanswered=unanswered_questions(lookups),
        opened_by_category=opened_by_category(inquiries),
        overall=response_times("", inquiries),
        weeks=_grouped(inquiries, lambda i: _week_of(i.opened_at, zone).isoformat()),
        categories=_grouped(inquiries, lambda i: i.category or ""),
        staff=staff_response_times(inquiries, names),
    )


def _lookups(session: Session, start: datetime, end: datetime) -> list[FaqLookup]:
    statement = (
        select(FaqLookup)
        .where(FaqLookup.asked_at >= start, FaqLookup.asked_at < end)
        .order_by(FaqLookup.asked_at, FaqLookup.id)
    )
    return list(session.scalars(statement))


def _inquiries(session: Session, start: datetime, end: datetime) -> list[Inquiry]:
    statement = (
        select(Inquiry)
        .where(Inquiry.opened_at >= start, Inquiry.opened_at < end)
        .order_by(Inquiry.opened_at, Inquiry.id)
    )
    return list(session.scalars(statement))


def _staff_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Staff.id, Staff.display_name)).all())


# Questions ---------------------------------------------------------------------------------

_DECISION_FIELDS = {
    DECISION_ANSWER: "answered",
    DECISION_SUGGEST: "suggested",
    DECISION_HANDOFF: "handed_off",
}


def questions_per_day(
    lookups: Iterable[FaqLookup], first_day: date, last_day: date, zone: ZoneInfo
) -> list[DayQuestions]:
    """Every shop day of the period (quiet ones too) with its questions by decision."""
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for lookup in lookups:
        day = counts[lookup.asked_at.astimezone(zone).date()]
        day[_DECISION_FIELDS.get(lookup.decision, "handed_off")] += 1
        if lookup.outcome == OUTCOME_RESOLVED:
            day["deflected"] += 1
    days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
    return [DayQuestions(day, **counts.get(day, {})) for day in days]


def unanswered_questions(
    lookups: Iterable[FaqLookup], limit: int = TOP_UNANSWERED
) -> list[UnansweredQuestion]:
    """Questions handed to staff, grouped by their normalised text: the most asked first, then
    the most recently asked. Lookups come in order of asking."""
    groups: dict[str, list[FaqLookup]] = defaultdict(list)
    for lookup in lookups:
        if lookup.decision == DECISION_HANDOFF:
            groups[normalise(lookup.text) or lookup.text.strip()].append(lookup)
    found = [
        UnansweredQuestion(rows[-1].text, len(rows), rows[0].asked_at, rows[-1].asked_at)
        for rows in groups.values()
    ]
    found.sort(key=lambda q: (q.count, q.last_asked), reverse=True)
    return found[:limit]


# Inquiries ---------------------------------------------------------------------------------


def opened_by_category(inquiries: Iterable[Inquiry]) -> list[tuple[str | None, int]]:
    """Inquiries opened per category, the most first (None: opened without a category)."""
    counts = Counter(inquiry.category for inquiry in inquiries)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))


def durations(values: Iterable[timedelta]) -> Durations:
    """The count, median and nearest-rank 90th percentile of some durations."""
    ordered = sorted(values)
    if not ordered:
        return Durations()
    seconds = statistics.median(value.total_seconds() for value in ordered)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return Durations(len(ordered), timedelta(seconds=seconds), p90)


def _first_response(inquiry: Inquiry) -> timedelta | None:
    if inquiry.first_response_at is None:
        return None
    return inquiry.first_response_at - inquiry.opened_at


def _resolution(inquiry: Inquiry) -> timedelta | None:
    """Time to a staff member's resolution; a customer's 解決しました is not staff's work."""
    if inquiry.resolved_at is None or inquiry.resolved_by_id is None:
        return None
    return inquiry.resolved_at - inquiry.opened_at


def _times(inquiries: Iterable[Inquiry], measure: Callable) -> Durations:
    return durations(t for t in map(measure, inquiries) if t is not None)


def response_times(label: str, inquiries: list[Inquiry]) -> ResponseTimes:
    return ResponseTimes(label, _times(inquiries, _first_response), _times(inquiries, _resolution))


def _grouped(inquiries: list[Inquiry], key: Callable[[Inquiry], str]) -> list[ResponseTimes]:
    groups: dict[str, list[Inquiry]] = defaultdict(list)
    for inquiry in inquiries:
        groups[key(inquiry)].append(inquiry)
    return [response_times(label, rows) for label, rows in sorted(groups.items())]


def _week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday (shop time) of the week this moment falls in."""
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def staff_response_times(inquiries: list[Inquiry], names: dict[int, str]) -> list[ResponseTimes]:
    """Per staff member: first responses they gave, resolutions they made; by name."""
    responded: dict[int, list[Inquiry]] = defaultdict(list)
    resolved: dict[int, list[Inquiry]] = defaultdict(list)
    for inquiry in inquiries:
        if inquiry.first_responder_id is not None:
            responded[inquiry.first_responder_id].append(inquiry)
        if inquiry.resolved_by_id is not None:
            resolved[inquiry.resolved_by_id].append(inquiry)
    rows = [
        ResponseTimes(
            names.get(staff_id, f"#{staff_id}"),
            _times(responded.get(staff_id, []), _first_response),
            _times(resolved.get(staff_id, []), _resolution),
        )
        for staff_id in set(responded) | set(resolved)
    ]
    return sorted(rows, key=lambda row: row.label)


# FAQs --------------------------------------------------------------------------------------


def faq_use_counts(session: Session, since: datetime) -> dict[int, int]:
    """How often each FAQ answered a question since then: the bot's own answers and
    suggestions the customer tapped (both leave the FAQ on the lookup)."""
    rows = session.execute(
        select(FaqLookup.faq_id, func.count())
        .where(FaqLookup.asked_at >= since, FaqLookup.faq_id.is_not(None))
        .group_by(FaqLookup.faq_id)
    )
    return dict(rows.all())
