"""Satisfaction after an inquiry (CSAT): when staff resolve a chat, the customer gets one 1–5
question, at most once per resolution and not again within `quiet_days`. A score of 2 or less
reopens the chat with a note. The question is a flow of kind `csat` (crm/flows.py), so runs,
answers, reminders and results work as for surveys; runs carry the chat and the staff member."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.flows import create_flow, newest_version, replace_steps
from crm.models import (
    BLOCKED,
    RUN_COMPLETED,
    Conversation,
    Customer,
    Flow,
    FlowAnswer,
    FlowRun,
    Staff,
)
from crm.shop_settings import read_setting, write_setting

CSAT = "csat"
SETTING_KEY = "csat"
SCORE = "score"
LOW_SCORE = 2
DEFAULT_QUESTION = "今回の対応はいかがでしたか？ 5段階でお答えください（5: とても満足）。"


class CsatError(ValueError):
    """Settings that cannot be saved."""


@dataclass(frozen=True)
class CsatSettings:
    enabled: bool = False
    quiet_days: int = 30
    question: str = DEFAULT_QUESTION


def load_csat_settings(session: Session) -> CsatSettings:
    stored = read_setting(session, SETTING_KEY) or {}
    return CsatSettings(**{k: v for k, v in stored.items() if k in CsatSettings.__annotations__})


def save_csat_settings(session: Session, settings: CsatSettings) -> None:
    if not 0 <= settings.quiet_days <= 365:
        raise CsatError("csat_days_invalid")
    if not settings.question.strip() or len(settings.question) > 1000:
        raise CsatError("csat_question_invalid")
    write_setting(session, SETTING_KEY, asdict(settings))


def _steps(question: str) -> list[dict]:
    return [
        {
            "key": SCORE,
            "text": question,
            "type": "rating",
            "branches": [
                {"if": {"op": "lte", "value": LOW_SCORE}, "goto": "end", "needs_reply": True}
            ],
        }
    ]


def csat_flow(session: Session, question: str) -> Flow:
    """The shop's one CSAT flow, made on first use; a new question text is a new version."""
    flow = session.scalars(select(Flow).where(Flow.kind == CSAT)).first()
    if flow is None:
        return create_flow(session, CSAT, "CSAT", _steps(question), expire_hours=72)
    if newest_version(session, flow).steps != _steps(question):
        replace_steps(session, flow, _steps(question))
    return flow


def csat_to_send(session: Session, conversation: Conversation, now: datetime) -> Flow | None:
    """The CSAT flow if this resolution should ask the customer, else None."""
    settings = load_csat_settings(session)
    customer = session.get(Customer, conversation.customer_id)
    if not settings.enabled or customer is None or customer.follow_status == BLOCKED:
        return None
    recent = (
        select(FlowRun.id)
        .join(Flow, Flow.id == FlowRun.flow_id)
        .where(
            Flow.kind == CSAT,
            FlowRun.customer_id == customer.id,
            FlowRun.started_at > now - timedelta(days=settings.quiet_days),
        )
    )
    if session.scalar(recent.limit(1)) is not None:
        return None
    return csat_flow(session, settings.question)


@dataclass(frozen=True)
class StaffScore:
    name: str
    answers: int
    mean: float


def scores_by_staff(session: Session, since: datetime) -> list[StaffScore]:
    """Mean CSAT score per staff member who resolved the chats, since `since`."""
    statement = (
        select(Staff.display_name, FlowAnswer.value)
        .join(FlowRun, FlowRun.id == FlowAnswer.run_id)
        .join(Flow, Flow.id == FlowRun.flow_id)
        .join(Staff, Staff.id == FlowRun.staff_id)
        .where(
            Flow.kind == CSAT,
            FlowRun.status == RUN_COMPLETED,
            FlowRun.started_at >= since,
            FlowAnswer.step_key == SCORE,
            FlowAnswer.value.is_not(None),
        )
    )
    totals: dict[str, list[int]] = {}
    for name, value in session.execute(statement):
        totals.setdefault(name, []).append(int(value))
    return sorted(
        (StaffScore(name, len(v), round(sum(v) / len(v), 2)) for name, v in totals.items()),
        key=lambda s: s.name,
    )
