"""A survey's results: rates, per-question counts, mean rating, NPS, free texts, CSV rows.

Counts are grouped by the database (`GROUP BY step_key, value` over the survey's answers, one
index); what remains in Python is per distinct value, not per answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
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

    @property
    def started(self) -> int:
        return sum(self.runs.values())

    @property
    def completion_rate(self) -> float | None:
        return self.runs[RUN_COMPLETED] / self.started if self.started else None


def survey_results(session: Session, survey: Flow, period: Period = Period()) -> SurveyResults:
    steps = read_steps(newest_version(session, survey).steps)
    runs = _runs_by_status(session, survey.id, period)
    grouped = _grouped_answers(session, survey.id, period)
    questions = [
        _question(session, survey.id, step, grouped.get(step.key, {}), period)
        for step in steps
        if step.asks
    ]
    return SurveyResults(survey, runs, questions)


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


def _answers(survey_id: int, period: Period):
    statement = select(FlowAnswer).where(FlowAnswer.flow_id == survey_id)
    if period.since is None and period.until is None:
        return statement
    return _in_period(statement.join(FlowRun, FlowRun.id == FlowAnswer.run_id), period)


def _grouped_answers(session: Session, survey_id: int, period: Period) -> dict[str, Counter]:
    """{question key: Counter(value → answers)} with values as Python objects (lists as tuples)."""
    answers = _answers(survey_id, period).subquery()
    statement = select(answers.c.step_key, answers.c.value, func.count()).group_by(
        answers.c.step_key, answers.c.value
    )
    grouped: dict[str, Counter] = {}
    for key, value, count in session.execute(statement):
        grouped.setdefault(key, Counter())[_hashable(value)] += count
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
    answers = _answers(survey_id, period).where(
        FlowAnswer.step_key == key, FlowAnswer.value.is_not(None)
    )
    ids = answers.with_only_columns(FlowAnswer.id).order_by(FlowAnswer.id.desc()).limit(TEXTS_SHOWN)
    statement = (
        select(FlowAnswer, FlowRun.customer_id, Customer.display_name)
        .join(FlowRun, FlowRun.id == FlowAnswer.run_id)
        .join(Customer, Customer.id == FlowRun.customer_id)
        .where(FlowAnswer.id.in_(ids.scalar_subquery()))
        .order_by(FlowAnswer.id.desc())
    )
    return [
        (str(answer.value), customer_id, name, answer.answered_at)
        for answer, customer_id, name in session.execute(statement)
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
        select(FlowRun, Customer.display_name)
        .join(Customer, Customer.id == FlowRun.customer_id)
        .where(FlowRun.flow_id == survey.id)
        .order_by(FlowRun.id),
        period,
    ).execution_options(yield_per=1000)
    batch: list = []
    for row in session.execute(statement):
        batch.append(row)
        if len(batch) == 1000:
            yield from _export_batch(session, batch, steps, tz)
            batch = []
    yield from _export_batch(session, batch, steps, tz)


def _export_batch(
    session: Session, batch: list, steps: list[Step], tz: tzinfo
) -> Iterator[list[str]]:
    if not batch:
        return
    ids = [run.id for run, _name in batch]
    answers: dict[int, dict[str, Any]] = {run_id: {} for run_id in ids}
    for answer in session.scalars(select(FlowAnswer).where(FlowAnswer.run_id.in_(ids))):
        answers[answer.run_id][answer.step_key] = answer.value
    for run, name in batch:
        given = answers[run.id]
        yield [
            str(run.id),
            str(run.customer_id),
            name or "",
            run.status,
            _local(run.started_at, tz),
            _local(run.finished_at, tz),
        ] + [_cell(given.get(step.key)) for step in steps]


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return str(value)
