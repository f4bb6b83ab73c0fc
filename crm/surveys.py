"""Surveys: flows of kind `survey`, created from a JSON definition, and their responses.

The definition's steps are checked by `crm/flow_steps.check_steps`; this module adds what needs
the database (the attribute a question fills exists, no other active flow has the keyword)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.attributes import find_attribute
from crm.flow_steps import Problem, check_steps
from crm.flows import answers_of, create_flow, keyword_form, replace_steps
from crm.models import Flow, FlowRun

SURVEY = "survey"


class SurveyError(ValueError):
    """A definition that cannot run; `problem.field` names the part at fault."""

    def __init__(self, problem: Problem):
        super().__init__(f"{problem.field}: {problem.message}")
        self.problem = problem


@dataclass(frozen=True)
class Response:
    run: FlowRun
    answers: dict[str, Any]


def check_survey(session: Session, questions: Any, keyword: str | None, own_id: int | None) -> None:
    """Raise SurveyError for the first problem of a definition."""
    problems = check_steps(questions)
    if not problems:
        problems = _missing_attributes(session, questions) + _keyword_taken(
            session, keyword, own_id
        )
    if problems:
        raise SurveyError(problems[0])


def _missing_attributes(session: Session, questions: list[dict]) -> list[Problem]:
    return [
        Problem(
            f"questions[{index}].attribute", f"no customer attribute named {item['attribute']!r}"
        )
        for index, item in enumerate(questions)
        if item.get("attribute") and find_attribute(session, item["attribute"]) is None
    ]


def _keyword_taken(session: Session, keyword: str | None, own_id: int | None) -> list[Problem]:
    form = keyword_form(keyword)
    if form is None:
        return []
    statement = select(Flow.id).where(Flow.active, Flow.keyword == form)
    if own_id is not None:
        statement = statement.where(Flow.id != own_id)
    if session.scalar(statement.limit(1)) is not None:
        return [Problem("keyword", f"another active flow starts with {keyword!r}")]
    return []


def create_survey(
    session: Session,
    name: str,
    questions: list[dict],
    *,
    keyword: str | None = None,
    on_follow: bool = False,
    expire_hours: int = 24,
    thanks: str | None = None,
) -> Flow:
    check_survey(session, questions, keyword, None)
    return create_flow(
        session,
        SURVEY,
        name,
        questions,
        keyword=keyword_form(keyword),
        on_follow=on_follow,
        expire_hours=expire_hours,
        thanks=thanks,
    )


def edit_questions(session: Session, survey: Flow, questions: list[dict]) -> None:
    """New questions as a new version: runs in progress finish on the version they started."""
    check_survey(session, questions, survey.keyword, survey.id)
    replace_steps(session, survey, questions)


def list_surveys(session: Session) -> list[Flow]:
    return list(session.scalars(select(Flow).where(Flow.kind == SURVEY).order_by(Flow.id.desc())))


def get_survey(session: Session, survey_id: int) -> Flow | None:
    survey = session.get(Flow, survey_id)
    return survey if survey is not None and survey.kind == SURVEY else None


def list_responses(
    session: Session, survey_id: int, before_id: int | None, limit: int
) -> list[Response]:
    """Runs of a survey, newest first, with their answers by question key."""
    statement = select(FlowRun).where(FlowRun.flow_id == survey_id)
    if before_id is not None:
        statement = statement.where(FlowRun.id < before_id)
    runs = list(session.scalars(statement.order_by(FlowRun.id.desc()).limit(limit)))
    answers = answers_of(session, [run.id for run in runs])
    return [Response(run, answers[run.id]) for run in runs]


def completed_at(run: FlowRun) -> datetime | None:
    return run.finished_at if run.status == "completed" else None
