"""Flows: a multi-step conversation with one customer (a survey now; the inquiry menu and the
preference centre later). A flow's steps are versioned; a run pins the version it started on;
a customer has at most one run in progress (a partial unique index says so).

When a flow starts while the customer is in another one:
- the customer asked for it (a keyword, a button, following the account): the other run is
  cancelled and the new one starts; asking for the flow they are already in asks its current
  question again instead of starting over;
- staff, the API or a campaign started it: it does not start, and the caller is told why
  (`in_a_run`), so nobody is pulled out of a survey they are answering.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from crm.answer_reading import normalise
from crm.attributes import AttributeValueError, find_attribute, set_customer_value
from crm.audit import record_audit
from crm.conversations import note_customer_message
from crm.flow_steps import SKIP, Step, next_step, read_steps, step_of
from crm.loyalty.models import IssuedCoupon
from crm.loyalty.survey_rewards import issue_survey_reward
from crm.models import (
    BLOCKED,
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_EXPIRED,
    RUN_IN_PROGRESS,
    Customer,
    Flow,
    FlowAnswer,
    FlowRun,
    FlowVersion,
)
from crm.notes import MAX_NOTE_LENGTH, add_note
from crm.tags import find_or_create_tag, find_tag, tag_customer, untag_customer

log = logging.getLogger(__name__)
_KEYWORDS = "flows.keywords"  # session.info: active flows by keyword, read once per session
_RUNS = "flows.active_runs"  # session.info: customers' runs in progress, read once per round
_STEPS = "flows.steps"  # session.info: versions' steps, read once per session

TRIGGERS = ("follow", "keyword", "postback", "staff", "api", "campaign")
CUSTOMER_TRIGGERS = frozenset({"follow", "keyword", "postback"})


@dataclass(frozen=True)
class Prompt:
    """What the bot says next in a run: message-only steps passed on the way, then the question
    waiting for an answer, or nothing more when the run has finished."""

    run: FlowRun
    messages: tuple[Step, ...] = ()
    question: Step | None = None
    rewards: tuple[IssuedCoupon, ...] = ()  # coupons the completed run earned (a survey's reward)

    @property
    def finished(self) -> bool:
        return self.question is None


@dataclass(frozen=True)
class NotStarted:
    reason: str  # "inactive", "blocked", "in_a_run"


@dataclass
class Effects:
    """What an answer changed besides the answer itself, applied by the caller's hooks."""

    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    attribute: tuple[str, str] | None = None  # (name, value as text)
    needs_reply: bool = False
    note: str | None = None  # for staff, on the customer, when the answer needs a reply


def create_flow(session: Session, kind: str, name: str, steps: list[dict], **options: Any) -> Flow:
    """A new flow with its first version (steps already checked by `check_steps`)."""
    flow = Flow(kind=kind, name=name, version=1, **options)
    session.add(flow)
    session.flush()
    session.add(FlowVersion(flow_id=flow.id, number=1, steps=steps))
    session.flush()
    return flow


def replace_steps(session: Session, flow: Flow, steps: list[dict]) -> FlowVersion:
    """A new version; runs in progress keep the version they started on."""
    flow.version += 1
    version = FlowVersion(flow_id=flow.id, number=flow.version, steps=steps)
    session.add(version)
    session.flush()
    return version


def newest_version(session: Session, flow: Flow) -> FlowVersion:
    statement = select(FlowVersion).where(
        FlowVersion.flow_id == flow.id, FlowVersion.number == flow.version
    )
    return session.scalars(statement).one()


def steps_of(run: FlowRun) -> tuple[Step, ...]:
    """The run's steps (versions never change, so each is read once per session)."""
    session = object_session(run)
    cache = session.info.setdefault(_STEPS, {}) if session is not None else {}
    if run.version_id not in cache:
        cache[run.version_id] = read_steps(run.version.steps)
    return cache[run.version_id]


def current_step(run: FlowRun) -> Step | None:
    return step_of(steps_of(run), run.step_key)


def load_active_runs(session: Session, customer_ids: list[int]) -> None:
    """Read these customers' runs in progress in one query; `active_run` then needs none of
    its own for them for the rest of the session (a round of event handling)."""
    cache = session.info.setdefault(_RUNS, {})
    wanted = [customer_id for customer_id in customer_ids if customer_id not in cache]
    if not wanted:
        return
    cache.update(dict.fromkeys(wanted))
    statement = select(FlowRun).where(
        FlowRun.customer_id.in_(wanted), FlowRun.status == RUN_IN_PROGRESS
    )
    cache.update((run.customer_id, run) for run in session.scalars(statement))


def forget_runs(session: Session) -> None:
    """Drop the remembered runs (a savepoint was rolled back: some may be gone)."""
    session.info.pop(_RUNS, None)


def active_run(session: Session, customer_id: int) -> FlowRun | None:
    cache = session.info.get(_RUNS)
    if cache is not None and customer_id in cache:
        run = cache[customer_id]
        return run if run is not None and run.status == RUN_IN_PROGRESS else None
    statement = select(FlowRun).where(
        FlowRun.customer_id == customer_id, FlowRun.status == RUN_IN_PROGRESS
    )
    return session.scalars(statement).first()


def _remember(session: Session, run: FlowRun) -> None:
    cache = session.info.get(_RUNS)
    if cache is not None:
        cache[run.customer_id] = run


def start_run(
    session: Session,
    customer: Customer,
    flow: Flow,
    now: datetime,
    trigger: str,
    context: dict[str, Any] | None = None,
) -> Prompt | NotStarted:
    """Start `flow` for the customer, by the rules in this module's docstring."""
    if not flow.active:
        return NotStarted("inactive")
    if customer.follow_status == BLOCKED:
        return NotStarted("blocked")
    current = active_run(session, customer.id)
    if current is not None:
        if trigger not in CUSTOMER_TRIGGERS:
            return NotStarted("in_a_run")
        if current.flow_id == flow.id:
            return _ask_again(current, now)
        finish_run(current, RUN_CANCELLED, now)
        session.flush()
    version = newest_version(session, flow)
    run = FlowRun(
        customer_id=customer.id,
        flow_id=flow.id,
        version_id=version.id,
        version=version,
        flow=flow,
        status=RUN_IN_PROGRESS,
        step_key=None,
        reasks=0,
        selected=[],
        trigger=trigger,
        started_at=now,
        last_activity_at=now,
        expires_at=now + timedelta(hours=flow.expire_hours),
        **(context or {}),  # conversation_id, staff_id
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return NotStarted("in_a_run")  # another transaction started a run for them just now
    _remember(session, run)
    return _settle(session, run, read_steps(version.steps)[0].key, now)


def _ask_again(run: FlowRun, now: datetime) -> Prompt:
    run.last_activity_at = now
    return Prompt(run, (), current_step(run))


def _settle(session: Session, run: FlowRun, key: str | None, now: datetime) -> Prompt:
    """Move the run to step `key`, passing message-only steps, to the next question or the end."""
    steps = steps_of(run)
    passed: list[Step] = []
    step = step_of(steps, key)
    while step is not None and not step.asks:
        passed.append(step)
        step = step_of(steps, next_step(steps, step.key, None).key)
    run.step_key = step.key if step else None
    run.reasks = 0
    run.selected = []
    run.last_activity_at = now
    rewards: tuple[IssuedCoupon, ...] = ()
    if step is None:
        finish_run(run, RUN_COMPLETED, now)
        rewards = tuple(issue_survey_reward(session, run, now))
    return Prompt(run, tuple(passed), step, rewards)


def finish_run(run: FlowRun, status: str, now: datetime) -> None:
    run.status = status
    run.finished_at = now
    run.last_activity_at = now


def answer_step(
    session: Session, run: FlowRun, value: Any, now: datetime
) -> tuple[Prompt, Effects]:
    """Keep the answer to the current question and go where it leads (None: skipped)."""
    steps = steps_of(run)
    step = step_of(steps, run.step_key)
    _keep_answer(session, run, step, value, now)
    effects = effects_of(step, value)
    went = next_step(steps, step.key, value)
    if went.branch is not None:
        effects.add_tags += list(went.branch.tags)
        effects.needs_reply = went.branch.needs_reply
        if went.branch.needs_reply:
            effects.note = f"{run.flow.name}: {step.text} → {shown_answer(step, value)}"
    return _settle(session, run, went.key, now), effects


def _keep_answer(session: Session, run: FlowRun, step: Step, value: Any, now: datetime) -> None:
    answer = FlowAnswer(
        run_id=run.id, flow_id=run.flow_id, step_key=step.key, value=value, answered_at=now
    )
    session.add(answer)


def shown_answer(step: Step, value: Any) -> str:
    """An answer as staff read it: choice labels rather than stored values."""
    labels = {choice.value: choice.label for choice in step.choices}
    if isinstance(value, list):
        return "、".join(labels.get(v, v) for v in value)
    return str(labels.get(value, value))


def effects_of(step: Step, value: Any) -> Effects:
    """Tags of the chosen choices and the attribute the question fills."""
    effects = Effects()
    if value is None:
        return effects
    chosen = [c for c in step.choices if c.value in (value if isinstance(value, list) else [value])]
    for choice in chosen:
        effects.add_tags += list(choice.tags)
        effects.remove_tags += list(choice.remove_tags)
    if step.attribute:
        text = "、".join(c.label for c in chosen) if chosen else str(value)
        effects.attribute = (step.attribute, text)
    return effects


def unreadable_answer(
    session: Session, run: FlowRun, now: datetime, reasks: int
) -> tuple[Prompt | None, Effects]:
    """A typed answer the question could not read: ask again (None) up to `reasks` times, then
    skip the question or end the run, as the step says."""
    run.last_activity_at = now
    if run.reasks < reasks:
        run.reasks += 1
        return None, Effects()
    step = current_step(run)
    if step.on_unreadable == SKIP:
        return answer_step(session, run, None, now)
    _keep_answer(session, run, step, None, now)
    return _settle(session, run, None, now), Effects()  # the step says: end the run


def toggle_choice(run: FlowRun, value: str) -> list[str]:
    """A tap on a multiple-choice button: select or unselect it, in the choices' order."""
    chosen = set(run.selected or [])
    chosen ^= {value}
    run.selected = [c.value for c in current_step(run).choices if c.value in chosen]
    return run.selected


def cancel_active_run(session: Session, customer_id: int, now: datetime) -> FlowRun | None:
    run = active_run(session, customer_id)
    if run is not None:
        finish_run(run, RUN_CANCELLED, now)
    return run


def resume_run(session: Session, customer_id: int, now: datetime) -> Prompt | None:
    """The customer's latest cancelled run, in progress again, if it has not expired and no
    other run has started since."""
    if active_run(session, customer_id) is not None:
        return None
    statement = (
        select(FlowRun)
        .where(FlowRun.customer_id == customer_id)
        .order_by(FlowRun.id.desc())
        .limit(1)
    )
    run = session.scalars(statement).first()
    if run is None or run.status != RUN_CANCELLED or run.expires_at <= now:
        return None
    run.status = RUN_IN_PROGRESS
    run.finished_at = None
    session.flush()
    _remember(session, run)
    return _ask_again(run, now)


def expire_runs(session: Session, now: datetime) -> int:
    """Runs left unanswered past their time: expired. Returns how many."""
    statement = (
        update(FlowRun)
        .where(FlowRun.status == RUN_IN_PROGRESS, FlowRun.expires_at <= now)
        .values(status=RUN_EXPIRED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount


def runs_to_remind(session: Session, now: datetime, limit: int = 200) -> list[FlowRun]:
    """Runs in progress of flows that send one reminder, quiet for that long, not reminded yet
    and not expired; oldest first."""
    reminding = select(Flow).where(Flow.remind_after_hours.is_not(None))
    found: list[FlowRun] = []
    for flow in session.scalars(reminding):
        statement = (
            select(FlowRun)
            .where(
                FlowRun.flow_id == flow.id,
                FlowRun.status == RUN_IN_PROGRESS,
                FlowRun.reminded_at.is_(None),
                FlowRun.expires_at > now,
                FlowRun.last_activity_at <= now - timedelta(hours=flow.remind_after_hours),
            )
            .order_by(FlowRun.id)
            .limit(limit - len(found))
        )
        found += session.scalars(statement)
        if len(found) >= limit:
            break
    return found


def answers_of(session: Session, run_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each run's answers by question key."""
    found: dict[int, dict[str, Any]] = {run_id: {} for run_id in run_ids}
    if run_ids:
        statement = select(FlowAnswer).where(FlowAnswer.run_id.in_(run_ids))
        for answer in session.scalars(statement):
            found[answer.run_id][answer.step_key] = answer.value
    return found


def count_runs(session: Session, flow_id: int) -> dict[str, int]:
    statement = (
        select(FlowRun.status, func.count())
        .where(FlowRun.flow_id == flow_id)
        .group_by(FlowRun.status)
    )
    counts = dict.fromkeys((RUN_IN_PROGRESS, RUN_COMPLETED, RUN_CANCELLED, RUN_EXPIRED), 0)
    counts.update(dict(session.execute(statement).all()))
    return counts


def keyword_form(keyword: str | None) -> str | None:
    """How a flow's keyword is stored and matched: width, case and kana folded."""
    return normalise(keyword) if keyword and keyword.strip() else None


def flow_for_keyword(session: Session, typed: str) -> Flow | None:
    """The active flow a typed keyword starts (keywords read once per session)."""
    keywords = session.info.get(_KEYWORDS)
    if keywords is None:
        statement = select(Flow.keyword, Flow.id).where(Flow.active, Flow.keyword.is_not(None))
        keywords = session.info[_KEYWORDS] = dict(session.execute(statement).all())
    flow_id = keywords.get(normalise(typed))
    return session.get(Flow, flow_id) if flow_id else None


def follow_flows(session: Session) -> list[Flow]:
    """Active flows that start when someone adds the account, oldest first."""
    statement = select(Flow).where(Flow.active, Flow.on_follow).order_by(Flow.id)
    return list(session.scalars(statement))


def apply_effects(
    session: Session, customer_id: int, effects: Effects, now: datetime, run: FlowRun
) -> None:
    """Tags, the attribute and the needs-reply flag an answer sets, in the answer's
    transaction, with one audit entry on the customer."""
    for name in effects.add_tags:
        tag_customer(session, customer_id, find_or_create_tag(session, name).id)
    for name in effects.remove_tags:
        tag = find_tag(session, name)
        if tag is not None:
            untag_customer(session, customer_id, tag.id)
    attribute = _set_attribute(session, customer_id, effects.attribute)
    if effects.needs_reply:
        note_customer_message(session, customer_id, now, run.flow.name)
    if effects.note:
        add_note(session, customer_id, None, effects.note[:MAX_NOTE_LENGTH])
    if effects.add_tags or effects.remove_tags or attribute or effects.needs_reply:
        detail = {
            "run": run.id,
            "flow": run.flow.name,
            "added_tags": effects.add_tags,
            "removed_tags": effects.remove_tags,
            "attribute": attribute,
            "needs_reply": effects.needs_reply,
        }
        record_audit(
            session, None, "flow.answer", now, target=("customer", customer_id), detail=detail
        )


def _set_attribute(session: Session, customer_id: int, attribute: tuple[str, str] | None):
    if attribute is None:
        return None
    name, value = attribute
    definition = find_attribute(session, name)
    if definition is None:
        log.warning("flow answer names attribute %r, which no longer exists", name)
        return None
    try:
        stored = set_customer_value(session, customer_id, definition, value)
    except AttributeValueError as exc:
        log.info("answer %r does not fit attribute %r: %s", value, name, exc)
        return None
    return {"name": definition.label, "value": stored}
