"""Surveys: flows of kind `survey`, created from a JSON definition, and their responses.

The definition's steps are checked by `crm/flow_steps.check_steps`; this module adds what needs
the database (the attribute a question fills exists, no other active flow has the keyword)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.attributes import find_attribute
from crm.flow_steps import Problem, check_steps, read_steps
from crm.flows import (
    answers_of,
    create_flow,
    keyword_form,
    newest_version,
    replace_steps,
    shown_answer,
)
from crm.loyalty.survey_rewards import coupon_exists, reward_coupon_id, set_reward_coupon
from crm.models import Flow, FlowRun
from crm.shop_settings import read_setting, write_setting

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
    remind_after_hours: int | None = None,
    thanks: str | None = None,
    reward_coupon_id: int | None = None,
) -> Flow:
    check_survey(session, questions, keyword, None)
    _check_reminder(expire_hours, remind_after_hours)
    _check_reward(session, reward_coupon_id)
    flow = create_flow(
        session,
        SURVEY,
        name,
        questions,
        keyword=keyword_form(keyword),
        on_follow=on_follow,
        expire_hours=expire_hours,
        remind_after_hours=remind_after_hours,
        thanks=thanks,
    )
    if reward_coupon_id is not None:
        set_reward_coupon(session, flow.id, reward_coupon_id)
    return flow


def _check_reward(session: Session, coupon_id: int | None) -> None:
    if coupon_id is not None and not coupon_exists(session, coupon_id):
        raise SurveyError(Problem("reward_coupon_id", f"no coupon {coupon_id}"))


def survey_reward(session: Session, survey: Flow) -> int | None:
    """The coupon a completed run of the survey earns, if any."""
    return reward_coupon_id(session, survey.id)


def _check_reminder(expire_hours: int, remind_after_hours: int | None) -> None:
    if remind_after_hours is not None and remind_after_hours >= expire_hours:
        problem = Problem("remind_after_hours", "the reminder must come before the run expires")
        raise SurveyError(problem)


SETTINGS = ("name", "on_follow", "active", "expire_hours", "remind_after_hours", "thanks")


def change_survey(session: Session, survey: Flow, changes: dict[str, Any]) -> None:
    """Apply the given changes; new questions become a new version (runs in progress finish on
    the version they started), and an active survey's keyword must stay its own."""
    keyword = keyword_form(changes["keyword"]) if "keyword" in changes else survey.keyword
    questions = changes.get("questions")
    if questions is not None or "keyword" in changes or changes.get("active"):
        current = questions or newest_version(session, survey).steps
        check_survey(session, current, keyword, survey.id)
    if "reward_coupon_id" in changes:
        _check_reward(session, changes["reward_coupon_id"])
        set_reward_coupon(session, survey.id, changes["reward_coupon_id"])
    for name in SETTINGS:
        if name in changes:
            setattr(survey, name, changes[name])
    if survey.remind_after_hours == 0:
        survey.remind_after_hours = None
    _check_reminder(survey.expire_hours, survey.remind_after_hours)
    survey.keyword = keyword
    if questions is not None:
        replace_steps(session, survey, questions)


def delete_survey(session: Session, survey: Flow) -> None:
    """The survey with its versions, runs and answers."""
    set_reward_coupon(session, survey.id, None)
    session.delete(survey)


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


SAMPLE_SEEDED = "sample_survey_seeded"  # shop setting: seeded once, so deleting it sticks
SAMPLE_SURVEY: dict[str, Any] = {
    "name": "来店アンケート（サンプル）",
    "keyword": "アンケート",
    "questions": [
        {
            "key": "scene",
            "text": "ご利用シーンは？",
            "type": "single_choice",
            "choices": [
                {"label": "ランチ", "value": "lunch", "tags": ["ランチ"]},
                {"label": "ディナー", "value": "dinner", "tags": ["ディナー"]},
                {"label": "テイクアウト", "value": "takeout", "tags": ["テイクアウト"]},
            ],
        },
        {
            "key": "rating",
            "text": "満足度を5段階で教えてください。",
            "type": "rating",
            "branches": [
                {
                    "if": {"op": "lte", "value": 2},
                    "goto": "why",
                    "tags": ["要フォロー"],
                    "needs_reply": True,
                }
            ],
        },
        {"key": "nps", "text": "このお店を友人にすすめる可能性は？（0〜10）", "type": "nps"},
        {
            "key": "comment",
            "text": "ご意見・ご感想をお聞かせください。",
            "type": "text",
            "next": "end",
        },
        {"key": "why", "text": "どの点が残念でしたか？", "type": "text"},
    ],
}


def seed_sample_survey(session: Session) -> Flow | None:
    """The sample survey, once per database (the local sandbox's `make run`)."""
    if read_setting(session, SAMPLE_SEEDED):
        return None
    write_setting(session, SAMPLE_SEEDED, {"seeded": True})
    questions = SAMPLE_SURVEY["questions"]
    return create_survey(
        session, SAMPLE_SURVEY["name"], questions, keyword=SAMPLE_SURVEY["keyword"]
    )


@dataclass(frozen=True)
class CustomerSurvey:
    """A customer's latest run of one survey, with its answers by question text."""

    survey: Flow
    run: FlowRun
    answers: list[tuple[str, Any]]


def latest_surveys_of(session: Session, customer_id: int, limit: int = 5) -> list[CustomerSurvey]:
    """The customer's latest run of each survey they started, newest first."""
    latest = (
        select(func.max(FlowRun.id))
        .join(Flow, Flow.id == FlowRun.flow_id)
        .where(FlowRun.customer_id == customer_id, Flow.kind.in_((SURVEY, "csat")))
        .group_by(FlowRun.flow_id)
    )
    statement = (
        select(FlowRun).where(FlowRun.id.in_(latest.scalar_subquery())).order_by(FlowRun.id.desc())
    )
    runs = list(session.scalars(statement.limit(limit)))
    answers = answers_of(session, [run.id for run in runs])
    found = []
    for run in runs:
        steps = {step.key: step for step in read_steps(run.version.steps)}
        shown = [
            (steps[key].text, None if value is None else shown_answer(steps[key], value))
            for key, value in answers[run.id].items()
            if key in steps
        ]
        found.append(CustomerSurvey(run.flow, run, shown))
    return found


def active_surveys(session: Session) -> list[Flow]:
    statement = select(Flow).where(Flow.kind == SURVEY, Flow.active).order_by(Flow.name)
    return list(session.scalars(statement))
