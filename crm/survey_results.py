"""A survey's results: rates, per-question counts, mean rating, NPS, free texts, CSV rows.

Counts are grouped by the database (`GROUP BY step_key, value` over the survey's answers, one
index); what remains in Python is per distinct value, not per answer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from crm.flow_steps import CHOICE_TYPES, NPS, SCALES, TEXT, Step, read_steps
from crm.flows import newest_version
from crm.models import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_EXPIRED,
    RUN_IN_PROGRESS,
    Customer,
    Flow,
    FlowAnswer,
    FlowRun,
)

TEXTS_SHOWN = 50
PUSHED_TRIGGERS = ("staff", "api", "campaign")
EXPORT_BATCH = 2000


@dataclass(frozen=True)
class Period:
    """Runs started in [since, until); None: open."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass
class QuestionResult:
    step: Step
    answered: int = 0
    skipped: int = 0
    counts: list[tuple[str, int]] = field(default_factory=list)  # label, answers
    mean: float | None = None
    nps: float | None = None  # promoters − detractors, in percent
    texts: list[tuple[str, int, str | None, datetime]] = field(default_factory=list)


@dataclass
class SurveyResults:
    survey: Flow
    runs: dict[str, int]
    questions: list[QuestionResult]
    sent: int = 0  # runs started by a push (staff, the API, a campaign) rather than the customer

    @property
    def started(self) -> int:
        return sum(self.runs.values())

    @property
    def completion_rate(self) -> float | None:
        return self.runs[RUN_COMPLETED] / self.started if self.started else None


def survey_results(session: Session, survey: Flow, period: Period = Period()) -> SurveyResults:
    steps = read_steps(newest_version(session, survey).steps)
    runs = _runs_by_status(session, survey.id, period)
    grouped = _grouped_answers(session, survey.id, period, steps)
    questions = [
        _question(session, survey.id, step, grouped.get(step.key, {}), period)
        for step in steps
        if step.asks
    ]
    return SurveyResults(survey, runs, questions, _sent(session, survey.id, period))


def _sent(session: Session, survey_id: int, period: Period) -> int:
    statement = select(func.count()).where(
        FlowRun.flow_id == survey_id, FlowRun.trigger.in_(PUSHED_TRIGGERS)
    )
    return session.scalar(_in_period(statement, period))


def _in_period(statement, period: Period):
    if period.since is not None:
        statement = statement.where(FlowRun.started_at >= period.since)
    if period.until is not None:
        statement = statement.where(FlowRun.started_at < period.until)
    return statement


def _runs_by_status(session: Session, survey_id: int, period: Period) -> dict[str, int]:
    statement = _in_period(
        select(FlowRun.status, func.count()).where(FlowRun.flow_id == survey_id), period
    ).group_by(FlowRun.status)
    counts = dict.fromkeys((RUN_IN_PROGRESS, RUN_COMPLETED, RUN_CANCELLED, RUN_EXPIRED), 0)
    counts.update(dict(session.execute(statement).all()))
    return counts


def _answers(survey_id: int, period: Period, *columns):
    """The survey's answers given in the period (an answer comes minutes after its run starts;
    filtering by its own time keeps to one index)."""
    statement = select(*columns).where(FlowAnswer.flow_id == survey_id)
    if period.since is not None:
        statement = statement.where(FlowAnswer.answered_at >= period.since)
    if period.until is not None:
        statement = statement.where(FlowAnswer.answered_at < period.until)
    return statement


def _grouped_answers(
    session: Session, survey_id: int, period: Period, steps: tuple[Step, ...]
) -> dict[str, Counter]:
    """{question key: Counter(value → answers)}, values as Python objects (lists as tuples).
    Free texts are all different: only answered and skipped are counted for them."""
    grouped: dict[str, Counter] = {}
    counted = [step.key for step in steps if step.asks and step.type != TEXT]
    if counted:
        as_text = cast(FlowAnswer.value, Text)  # text groups faster than JSONB on PostgreSQL
        statement = (
            _answers(survey_id, period, FlowAnswer.step_key, as_text, func.count())
            .where(FlowAnswer.step_key.in_(counted))
            .group_by(FlowAnswer.step_key, as_text)
        )
        for key, value, count in session.execute(statement):
            value = None if value is None else json.loads(value)
            grouped.setdefault(key, Counter())[_hashable(value)] += count
    texts = [step.key for step in steps if step.type == TEXT]
    if texts:
        statement = (
            _answers(
                survey_id, period, FlowAnswer.step_key, func.count(), func.count(FlowAnswer.value)
            )
            .where(FlowAnswer.step_key.in_(texts))
            .group_by(FlowAnswer.step_key)
        )
        for key, every, answered in session.execute(statement):
            grouped[key] = Counter({"": answered, None: every - answered})
    return grouped


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _question(
    session: Session, survey_id: int, step: Step, values: Counter, period: Period
) -> QuestionResult:
    result = QuestionResult(step)
    result.skipped = values.pop(None, 0)
    result.answered = sum(values.values())
    SUMMARIES.get(_kind(step), _no_summary)(result, values)
    if step.type == TEXT:
        result.texts = _latest_texts(session, survey_id, step.key, period)
    return result


def _kind(step: Step) -> str:
    if step.type in CHOICE_TYPES:
        return "choices"
    return "scale" if step.type in SCALES else step.type


def _choices(result: QuestionResult, values: Counter) -> None:
    per_value: Counter = Counter()
    for value, count in values.items():
        for one in value if isinstance(value, tuple) else (value,):
            per_value[str(one)] += count
    result.counts = [(c.label, per_value.get(c.value, 0)) for c in result.step.choices]


def _scale(result: QuestionResult, values: Counter) -> None:
    low, high = result.step.bounds
    numbers = {int(v): c for v, c in values.items() if isinstance(v, int | float)}
    result.counts = [(str(n), numbers.get(n, 0)) for n in range(int(low), int(high) + 1)]
    _mean(result, numbers)
    if result.step.type == NPS and result.answered:
        promoters = sum(c for n, c in numbers.items() if n >= 9)
        detractors = sum(c for n, c in numbers.items() if n <= 6)
        result.nps = round((promoters - detractors) * 100 / result.answered, 1)


def _number(result: QuestionResult, values: Counter) -> None:
    _mean(result, {v: c for v, c in values.items() if isinstance(v, int | float)})


def _mean(result: QuestionResult, numbers: dict) -> None:
    total = sum(numbers.values())
    if total:
        result.mean = round(sum(n * c for n, c in numbers.items()) / total, 2)


def _dates(result: QuestionResult, values: Counter) -> None:
    result.counts = sorted((str(v), c) for v, c in values.items())[-31:]


def _no_summary(result: QuestionResult, values: Counter) -> None:
    return


SUMMARIES = {
    "choices": _choices,
    "scale": _scale,
    "number": _number,
    "date": _dates,
}


def _latest_texts(session: Session, survey_id: int, key: str, period: Period) -> list:
    latest = (
        _answers(survey_id, period, FlowAnswer.id)
        .where(FlowAnswer.step_key == key, FlowAnswer.value.is_not(None))
        .order_by(FlowAnswer.answered_at.desc())
        .limit(TEXTS_SHOWN)
    )
    statement = (
        select(FlowAnswer.value, FlowRun.customer_id, Customer.display_name, FlowAnswer.answered_at)
        .join(FlowRun, FlowRun.id == FlowAnswer.run_id)
        .join(Customer, Customer.id == FlowRun.customer_id)
        .where(FlowAnswer.id.in_(latest.scalar_subquery()))
        .order_by(FlowAnswer.answered_at.desc(), FlowAnswer.id.desc())
    )
    return [
        (str(value), customer, name, at) for value, customer, name, at in session.execute(statement)
    ]


def export_rows(
    session: Session, survey: Flow, tz: tzinfo, period: Period = Period()
) -> Iterator[list[str]]:
    """One row per run: run, customer, status, times in the shop's zone, then each question's
    answer as text."""
    steps = [s for s in read_steps(newest_version(session, survey).steps) if s.asks]
    yield ["run_id", "customer_id", "display_name", "status", "started_at", "finished_at"] + [
        s.key for s in steps
    ]
    statement = _in_period(
        select(
            FlowRun.id,
            FlowRun.customer_id,
            Customer.display_name,
            FlowRun.status,
            FlowRun.started_at,
            FlowRun.finished_at,
        )
        .join(Customer, Customer.id == FlowRun.customer_id)
        .where(FlowRun.flow_id == survey.id)
        .order_by(FlowRun.id),
        period,
    )
    runs = session.execute(statement).all()  # 100,000 runs are a few MB of tuples
    for start in range(0, len(runs), EXPORT_BATCH):
        yield from _export_batch(session, runs[start : start + EXPORT_BATCH], steps, tz)


def _export_batch(
    session: Session, batch: list, steps: list[Step], tz: tzinfo
) -> Iterator[list[str]]:
    answers: dict[int, dict[str, Any]] = {row[0]: {} for row in batch}
    statement = select(FlowAnswer.run_id, FlowAnswer.step_key, FlowAnswer.value).where(
        FlowAnswer.run_id.in_(list(answers))
    )
    for run_id, key, value in session.execute(statement):
        answers[run_id][key] = value
    for run_id, customer_id, name, status, started_at, finished_at in batch:
        given = answers[run_id]
        yield [
            str(run_id),
            str(customer_id),
            name or "",
            status,
            _local(started_at, tz),
            _local(finished_at, tz),
        ] + [_cell(given.get(step.key)) for step in steps]


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return str(value)
