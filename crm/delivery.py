"""The one pipeline for anything sent to many customers (campaigns now; steps and reminders
later): runs, recipients, the politeness rules, batches with retry keys, outcomes in bulk.

1. `start_due_runs` (the scheduler's tick): a due campaign gets a run row, unique on
   (campaign, scheduled time), so a second scheduler or a restart never starts it twice; its
   recipients are written by ONE `INSERT … SELECT` (unique on run and customer), each with the
   rule that decides it: held back (blocked, no_consent, topic, frequency_cap, holdout),
   deferred (quiet hours, with the time it may go) or pending.
2. `claim_batches` (any number of senders): up to 500 pending recipients of one run become a
   batch whose retry key is committed before LINE is called; rows are claimed with
   `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer). The rules that can change
   after materialising (blocked, consent, topic) are checked again here, at send time.
3. The sender calls LINE (bot/campaign_sending.py) and `record_batch` writes what happened:
   sent (2xx, or 409: LINE accepted this key before), retried later with the same key (429,
   5xx, no answer), or failed with LINE's message; every recipient sent gets an outbound
   interaction (sender `campaign`) in the same transaction, written in bulk.
4. A batch whose sender died keeps its key and lease: when the lease runs out another sender
   claims it and sends it again with the same key, so LINE answers 409 and nobody gets it twice.

A campaign with a coupon issues each recipient's code as their batch is cut, in the same
transaction (crm/campaign_coupons.py says who gets what when an issue is refused); a batch
claimed again finds the codes already issued rather than issuing new ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.campaign_coupons import coupon_outcomes
from crm.campaign_messages import coupon_in, is_personalised, personalised
from crm.campaigns import audience_tree, next_run_time
from crm.interactions import OUTBOUND, summarise_messages
from crm.line_limits import MAX_MULTICAST_RECIPIENTS
from crm.models import (
    BLOCKED,
    CAMPAIGN_PAUSED,
    CAMPAIGN_SCHEDULED,
    CAMPAIGN_SENDING,
    CAMPAIGN_SENT,
    DELIVERY_SENT,
    RECIPIENT_FAILED,
    RECIPIENT_HELD_BACK,
    RECIPIENT_PENDING,
    RECIPIENT_SENT,
    Campaign,
    CampaignBatch,
    CampaignRecipient,
    CampaignRun,
    Customer,
    Interaction,
)
from crm.outbox import ALREADY_ACCEPTED, FAILED, MAX_ATTEMPTS, RETRY, RETRY_DELAYS, SENT
from crm.outbox import SendOutcome as SendOutcome
from crm.politeness import Politeness, quiet_until
from crm.segments import Context, SegmentError, compile_conditions, register_field
from crm.topics import opted_out_of

BATCH_SIZE = MAX_MULTICAST_RECIPIENTS
BATCH_LEASE = timedelta(seconds=30)  # longer than a LINE call with its timeouts
# A coupon campaign issues each code while its batch is cut: one small batch per claim keeps
# that transaction (and SQLite's write lock) short, well inside the lease.
COUPON_BATCH_SIZE = 100
BATCH_SENDING, BATCH_PENDING, BATCH_DONE = "sending", "pending", "done"
SENDER = "campaign"
MULTICAST, PUSH = "multicast", "push"
RETRY_KEYS = uuid.UUID("6f1c1b57-2f57-4d3e-9a59-0d9e3c4b6a10")  # namespace of per-push keys


# 1. Runs and recipients --------------------------------------------------------------------


def start_due_runs(session: Session, now: datetime, rules: Politeness) -> list[int]:
    """Start a run for every campaign whose time has come; returns the new runs' ids."""
    due = session.scalars(
        select(Campaign)
        .where(Campaign.status == CAMPAIGN_SCHEDULED, Campaign.next_run_at <= now)
        .order_by(Campaign.next_run_at)
        .with_for_update(skip_locked=True)
    ).all()
    started = []
    for campaign in due:
        run = _new_run(session, campaign, now)
        if run is not None:
            materialise(session, run, campaign, rules, now)
            started.append(run.id)
    return started


def _new_run(session: Session, campaign: Campaign, now: datetime) -> CampaignRun | None:
    """The run for the campaign's scheduled time, unless one exists (then None)."""
    scheduled_for = campaign.next_run_at
    run = CampaignRun(
        campaign_id=campaign.id,
        scheduled_for=scheduled_for,
        status=CAMPAIGN_SENDING,
        messages=campaign.messages,
        personalised=is_personalised(campaign.messages),
        started_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        run = None  # another scheduler started this one: move on to the next time
    campaign.status = CAMPAIGN_SENDING
    if campaign.recurrence:
        campaign.next_run_at = next_run_time(campaign, scheduled_for + timedelta(seconds=1))
    else:
        campaign.next_run_at = None
    return run


def holdout_bucket(customer_id, campaign_id):
    """A stable pseudo-random 0–99 per customer and campaign (SQL or Python integers, within
    64 bits): the same customers stay in the control group each time a recurring campaign runs."""
    return (customer_id * 2_654_435_761 + campaign_id * 40_503) % 4_294_967_291 % 100


def materialise(
    session: Session, run: CampaignRun, campaign: Campaign, rules: Politeness, now: datetime
) -> int:
    """Write the run's recipients with ONE INSERT … SELECT, in customer order; returns how
    many. During quiet hours the run waits for them to end (its recipients say why)."""
    tree = audience_tree(session, campaign)
    audience = true() if tree is None else compile_conditions(Context(session, now), tree)
    run.not_before = quiet_until(rules, now, campaign.timezone)
    decisions = _decisions(campaign, rules, now)
    status = case(
        *[(test, literal(RECIPIENT_HELD_BACK)) for _, test in decisions],
        else_=literal(RECIPIENT_PENDING),
    )
    reason = case(
        *[(test, literal(name)) for name, test in decisions],
        else_=literal("quiet_hours" if run.not_before else None),
    )
    chosen = (
        select(literal(run.id), literal(campaign.id), Customer.id, status, reason)
        .where(audience)
        .order_by(Customer.id)
    )
    columns = ["run_id", "campaign_id", "customer_id", "status", "reason"]
    result = session.execute(insert(CampaignRecipient).from_select(columns, chosen))
    run.last_recipient_id = (
        session.scalar(
            select(func.max(CampaignRecipient.id)).where(CampaignRecipient.run_id == run.id)
        )
        or 0
    )
    run.materialised_at = now
    return result.rowcount


def preview_counts(
    session: Session, campaign: Campaign, rules: Politeness, now: datetime
) -> dict[str, int]:
    """What a run starting now would do, without writing anything: recipients by outcome
    (`send`, `deferred` or a held-back reason), from the same rules as `materialise`."""
    tree = audience_tree(session, campaign)
    audience = true() if tree is None else compile_conditions(Context(session, now), tree)
    quiet = quiet_until(rules, now, campaign.timezone)
    outcome = case(
        *[(test, literal(name)) for name, test in _decisions(campaign, rules, now)],
        else_=literal("deferred" if quiet else "send"),
    ).label("outcome")
    rows = session.execute(
        select(outcome, func.count()).select_from(Customer).where(audience).group_by(outcome)
    ).all()
    return dict(rows)


def _standing_rules(campaign: Campaign) -> list[tuple[str, Any]]:
    """The rules a customer can change at any moment: checked again at send time."""
    rules = [
        ("blocked", Customer.follow_status == BLOCKED),
        ("no_consent", Customer.marketing_consent.is_(False)),
    ]
    if campaign.topic_id is not None:
        rules.append(("topic", opted_out_of(campaign.topic_id)))
    return rules


def _decisions(campaign: Campaign, rules: Politeness, now: datetime) -> list[tuple[str, Any]]:
    """(reason, SQL test) in the order they are checked; the first that holds decides."""
    decisions = _standing_rules(campaign)
    if rules.cap_messages > 0:
        decisions.append(("frequency_cap", _over_cap(rules, now) >= rules.cap_messages))
    if campaign.holdout_percent:
        bucket = holdout_bucket(Customer.id, campaign.id)
        decisions.append(("holdout", bucket < campaign.holdout_percent))
    return decisions


def _over_cap(rules: Politeness, now: datetime):
    """Campaign messages the customer got within the cap's days."""
    return (
        select(func.count())
        .where(
            CampaignRecipient.customer_id == Customer.id,
            CampaignRecipient.sent_at >= now - timedelta(days=rules.cap_days),
            CampaignRecipient.status == RECIPIENT_SENT,
        )
        .scalar_subquery()
    )


def defer_for_quiet_hours(session: Session, now: datetime, rules: Politeness) -> int:
    """Runs still sending when quiet hours begin wait for them to end (nothing is dropped);
    returns how many runs were told to wait."""
    waiting = 0
    running = session.scalars(
        select(CampaignRun).where(CampaignRun.status == CAMPAIGN_SENDING)
    ).all()
    for run in running:
        until = quiet_until(rules, now, run.campaign.timezone)
        if until is not None and (run.not_before is None or run.not_before < until):
            run.not_before = until
            waiting += 1
    return waiting


# 2. Batches --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    recipient_id: int
    customer_id: int
    line_user_id: str
    display_name: str | None
    messages: list[dict[str, Any]] | None = None  # their own (a coupon's code), else the run's


@dataclass(frozen=True)
class BatchJob:
    """A claimed batch, read before LINE is called."""

    batch_id: int
    run_id: int
    campaign_id: int
    retry_key: str
    attempt: int
    messages: list[dict[str, Any]]
    personalised: bool
    recipients: list[Recipient]

    @property
    def method(self) -> str:
        return PUSH if self.personalised else MULTICAST

    def push_key(self, recipient: Recipient) -> str:
        """The retry key of one push of a personalised batch, derived from the batch's."""
        return str(uuid.uuid5(RETRY_KEYS, f"{self.retry_key}:{recipient.customer_id}"))

    def messages_for(self, recipient: Recipient) -> list[dict[str, Any]]:
        if not self.personalised:
            return self.messages
        return personalised(recipient.messages or self.messages, recipient.display_name)


def any_campaign_work(session: Session, now: datetime) -> bool:
    """Is any batch or recipient waiting? (A cheap read before the write lock.)"""
    return bool(_open_batches(session, now, 1, lock=False) or _runs_with_work(session, now, 1))


def claim_batches(
    session: Session,
    now: datetime,
    batches: int,
    size: int = BATCH_SIZE,
    lease: timedelta = BATCH_LEASE,
    base_url: str | None = None,
) -> list[BatchJob]:
    """Up to `batches` batches: retries due first, then new ones from the runs under way.
    `base_url` (Settings.public_base_url) is where coupon cards' QR images are served."""
    jobs = [
        _reclaim(session, batch, now, lease, base_url)
        for batch in _open_batches(session, now, batches)
    ]
    jobs = [job for job in jobs if job is not None]
    for run in _runs_with_work(session, now, batches, lock=True):
        if coupon_in(run.messages) is not None:
            if len(jobs) < batches:
                small = min(size, COUPON_BATCH_SIZE)
                jobs += _new_batches(session, run, now, small, 1, lease, base_url)
            continue
        while len(jobs) < batches and run.claimed_up_to < run.last_recipient_id:
            jobs += _new_batches(session, run, now, size, batches - len(jobs), lease, base_url)
    return jobs


def _open_batches(
    session: Session, now: datetime, limit: int, lock: bool = True
) -> list[CampaignBatch]:
    """Batches due again: a retry whose wait is over, or one whose sender's lease ran out."""
    statement = (
        select(CampaignBatch)
        .where(
            CampaignBatch.status != BATCH_DONE,
            or_(
                and_(CampaignBatch.status == BATCH_PENDING, CampaignBatch.next_attempt_at <= now),
                and_(CampaignBatch.status == BATCH_SENDING, CampaignBatch.locked_until < now),
            ),
        )
        .order_by(CampaignBatch.id)
        .limit(limit)
    )
    if lock:
        statement = statement.with_for_update(skip_locked=True)
    return list(session.scalars(statement))


def _runs_with_work(
    session: Session, now: datetime, limit: int, lock: bool = False
) -> list[CampaignRun]:
    """Runs under way, their campaign not paused, out of quiet hours, with recipients not yet
    handed to a batch. Locked (PostgreSQL) while a sender cuts batches from it."""
    statement = (
        select(CampaignRun)
        .join(Campaign, Campaign.id == CampaignRun.campaign_id)
        .where(
            CampaignRun.status == CAMPAIGN_SENDING,
            Campaign.status == CAMPAIGN_SENDING,
            CampaignRun.claimed_up_to < CampaignRun.last_recipient_id,
            or_(CampaignRun.not_before.is_(None), CampaignRun.not_before <= now),
        )
        .order_by(CampaignRun.id)
        .limit(limit)
    )
    if lock:
        statement = statement.with_for_update(of=CampaignRun)
    return list(session.scalars(statement))


def _new_batches(
    session: Session,
    run: CampaignRun,
    now: datetime,
    size: int,
    count: int,
    lease: timedelta,
    base_url: str | None,
) -> list[BatchJob]:
    """Cut up to `count` batches of `size` from the run's next pending recipients."""
    # A window of ids after the cursor bounds what any plan reads (a run's ids are contiguous:
    # one INSERT wrote them), however stale the table's statistics are.
    window_end = min(run.last_recipient_id, run.claimed_up_to + size * count * 4)
    window = CampaignRecipient.id.between(run.claimed_up_to + 1, window_end)
    rows = session.execute(_pending_recipients(run.id, window).limit(size * count)).all()
    exhausted = len(rows) < size * count  # the rest of the window was held back when written
    run.claimed_up_to = window_end if exhausted else rows[-1][0]
    if not rows:
        return []
    changed = _held_back_now(session, run, rows[0][0], rows[-1][0])
    recipients = [Recipient(*row) for row in rows if row[0] not in changed]
    recipients = _with_coupons(session, run, recipients, now, base_url)
    jobs = []
    for start in range(0, len(recipients), size):
        chunk = recipients[start : start + size]
        batch = CampaignBatch(
            run_id=run.id,
            first_id=chunk[0].recipient_id,
            last_id=chunk[-1].recipient_id,
            retry_key=str(uuid.uuid4()),
            status=BATCH_SENDING,
            attempts=1,
            locked_until=now + lease,
        )
        session.add(batch)
        session.flush()
        jobs.append(_job(batch, run, chunk))
    return jobs


def _held_back_now(session: Session, run: CampaignRun, first: int, last: int) -> set[int]:
    """Send time is the last word: customers who blocked, withdrew consent or opted out of
    the topic since the run started are held back now, with the reason (rare: usually none)."""
    decisions = _standing_rules(run.campaign)
    reason = case(*[(test, literal(name)) for name, test in decisions], else_=literal(None))
    found = session.execute(
        select(CampaignRecipient.id, reason)
        .join(Customer, Customer.id == CampaignRecipient.customer_id)
        .where(
            CampaignRecipient.run_id == run.id,
            CampaignRecipient.id.between(first, last),
            CampaignRecipient.status == RECIPIENT_PENDING,
            or_(*[test for _, test in decisions]),
        )
    ).all()
    for recipient_id, why in found:
        session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id == recipient_id)
            .values(status=RECIPIENT_HELD_BACK, reason=why)
            .execution_options(synchronize_session=False)
        )
    return {recipient_id for recipient_id, _ in found}


def _with_coupons(
    session: Session,
    run: CampaignRun,
    recipients: list[Recipient],
    now: datetime,
    base_url: str | None,
) -> list[Recipient]:
    """A coupon campaign's recipients with their own messages (their code issued now, or found
    when an earlier attempt issued it); those refused a code are held back, with the reason."""
    coupon_id = coupon_in(run.messages)
    if coupon_id is None or not recipients:
        return recipients
    ids = [recipient.customer_id for recipient in recipients]
    outcomes = coupon_outcomes(session, run, coupon_id, ids, now, base_url)
    held: dict[str, list[int]] = {}
    for recipient in recipients:
        held_back = outcomes[recipient.customer_id].held_back
        if held_back:
            held.setdefault(held_back, []).append(recipient.recipient_id)
    for reason, recipient_ids in held.items():
        session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id.in_(recipient_ids))
            .values(status=RECIPIENT_HELD_BACK, reason=reason)
            .execution_options(synchronize_session=False)
        )
    return [
        replace(recipient, messages=outcomes[recipient.customer_id].messages)
        for recipient in recipients
        if not outcomes[recipient.customer_id].held_back
    ]


def _reclaim(
    session: Session, batch: CampaignBatch, now: datetime, lease: timedelta, base_url: str | None
) -> BatchJob | None:
    """Take a batch again for another attempt with its own retry key."""
    run = session.get(CampaignRun, batch.run_id)
    recipients = _with_coupons(session, run, _recipients_of(session, batch), now, base_url)
    if not recipients:
        batch.status = BATCH_DONE
        return None
    batch.status = BATCH_SENDING
    batch.attempts += 1
    batch.locked_until = now + lease
    return _job(batch, run, recipients)


def _recipients_of(session: Session, batch: CampaignBatch) -> list[Recipient]:
    """The batch's recipients still waiting for LINE's word."""
    in_batch = CampaignRecipient.id.between(batch.first_id, batch.last_id)
    rows = session.execute(_pending_recipients(batch.run_id, in_batch)).all()
    return [Recipient(*row) for row in rows]


def _pending_recipients(run_id: int, which):
    """A run's pending recipients (`which` narrows them by id) with what sending needs."""
    return (
        select(
            CampaignRecipient.id,
            CampaignRecipient.customer_id,
            Customer.line_user_id,
            Customer.display_name,
        )
        .join(Customer, Customer.id == CampaignRecipient.customer_id)
        .where(
            CampaignRecipient.run_id == run_id,
            which,
            CampaignRecipient.status == RECIPIENT_PENDING,
        )
        .order_by(CampaignRecipient.id)
    )


def _job(batch: CampaignBatch, run: CampaignRun, recipients: list[Recipient]) -> BatchJob:
    return BatchJob(
        batch_id=batch.id,
        run_id=run.id,
        campaign_id=run.campaign_id,
        retry_key=batch.retry_key,
        attempt=batch.attempts,
        messages=run.messages,
        personalised=run.personalised,
        recipients=recipients,
    )


# 3. Outcomes -------------------------------------------------------------------------------


def record_batch(
    session: Session, job: BatchJob, outcomes: dict[int, SendOutcome], now: datetime
) -> None:
    """Write what LINE answered for each recipient of a batch (by recipient id)."""
    by_result: dict[str, list[int]] = {}
    for recipient_id, outcome in outcomes.items():
        result = SENT if outcome.result == ALREADY_ACCEPTED else outcome.result
        by_result.setdefault(result, []).append(recipient_id)
    batch = session.get(CampaignBatch, job.batch_id)
    batch.locked_until = None
    _mark_sent(session, job, set(by_result.get(SENT, [])), now)
    gave_up = job.attempt >= MAX_ATTEMPTS
    failed = by_result.get(FAILED, []) + (by_result.get(RETRY, []) if gave_up else [])
    _mark_failed(session, failed, outcomes)
    if by_result.get(RETRY) and not gave_up:
        batch.status = BATCH_PENDING
        batch.next_attempt_at = now + RETRY_DELAYS[min(job.attempt, len(RETRY_DELAYS)) - 1]
    else:
        batch.status = BATCH_DONE


def _mark_sent(session: Session, job: BatchJob, sent: set[int], now: datetime) -> None:
    """Sent recipients and their timeline entries: for a multicast, one INSERT … SELECT (the
    same messages for all); a personalised batch writes each recipient's own text."""
    if not sent:
        return
    session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id.in_(sent))
        .values(status=RECIPIENT_SENT, sent_at=now, error_status=None, error_message=None)
        .execution_options(synchronize_session=False)
    )
    if job.personalised:
        rows = [
            _interaction(job, recipient, now)
            for recipient in job.recipients
            if recipient.recipient_id in sent
        ]
        session.execute(insert(Interaction), rows)
        return
    shared = _interaction(job, None, now)
    columns = [name for name in shared if name != "customer_id"]
    chosen = select(
        CampaignRecipient.customer_id,
        *[literal(shared[name], type_=Interaction.__table__.c[name].type) for name in columns],
    ).where(CampaignRecipient.id.in_(sent))
    session.execute(insert(Interaction).from_select(["customer_id", *columns], chosen))


def _interaction(job: BatchJob, recipient: Recipient | None, now: datetime) -> dict:
    """The outbound timeline entry of a recipient (None: any recipient of a multicast)."""
    messages = job.messages_for(recipient) if recipient else job.messages
    row = {
        "direction": OUTBOUND,
        "kind": messages[0].get("type", "unknown"),
        "occurred_at": now,
        "text": summarise_messages(messages),
        "payload": {"messages": messages, "campaign_id": job.campaign_id, "run_id": job.run_id},
        "sender": SENDER,
        "campaign_id": job.campaign_id,
        "delivery_status": DELIVERY_SENT,
        "delivery_method": job.method,
        "attempts": job.attempt,
        "sent_at": now,
        "created_at": now,
    }
    return {"customer_id": recipient.customer_id, **row} if recipient else row


def _mark_failed(session: Session, failed: list[int], outcomes: dict[int, SendOutcome]) -> None:
    """Refused recipients, one UPDATE per distinct answer (a multicast has one)."""
    by_answer: dict[tuple[int | None, str], list[int]] = {}
    for recipient_id in failed:
        outcome = outcomes[recipient_id]
        by_answer.setdefault((outcome.http_status, (outcome.message or "")[:1000]), []).append(
            recipient_id
        )
    for (status, message), ids in by_answer.items():
        session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id.in_(ids))
            .values(status=RECIPIENT_FAILED, error_status=status, error_message=message)
            .execution_options(synchronize_session=False)
        )


# 4. Finishing ------------------------------------------------------------------------------


def finish_runs(session: Session, now: datetime) -> list[int]:
    """Close runs with every recipient handed to a batch and no batch left open; their
    campaign is sent, or scheduled again."""
    open_batch = exists().where(
        CampaignBatch.run_id == CampaignRun.id, CampaignBatch.status != BATCH_DONE
    )
    done = session.scalars(
        select(CampaignRun).where(
            CampaignRun.status == CAMPAIGN_SENDING,
            CampaignRun.claimed_up_to >= CampaignRun.last_recipient_id,
            ~open_batch,
        )
    ).all()
    for run in done:
        run.status = CAMPAIGN_SENT
        run.finished_at = now
        campaign = session.get(Campaign, run.campaign_id)
        if campaign.status == CAMPAIGN_SENDING:
            _after_run(campaign, now)
    return [run.id for run in done]


def _after_run(campaign: Campaign, now: datetime) -> None:
    if campaign.recurrence and campaign.next_run_at is not None:
        campaign.status = CAMPAIGN_SCHEDULED
        if campaign.next_run_at < now:  # the run outlasted its next time: the one after
            campaign.next_run_at = next_run_time(campaign, now)
    else:
        campaign.status = CAMPAIGN_SENT


def is_paused(session: Session, campaign_id: int) -> bool:
    return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) == (
        CAMPAIGN_PAUSED
    )


# Segment fields ----------------------------------------------------------------------------


def _received(context: Context, op: str, value: Any, where: str):
    """`received_campaign`: `eq` a campaign id, `any` (value ignored), or `within_days` N."""
    sent = exists().where(
        CampaignRecipient.customer_id == Customer.id, CampaignRecipient.status == RECIPIENT_SENT
    )
    if op == "any":
        return sent
    if op == "eq":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
            raise SegmentError(f"{where}.value", "a campaign id")
        return sent.where(CampaignRecipient.campaign_id == value)
    if op == "within_days":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
            raise SegmentError(f"{where}.value", "a whole number of days")
        return sent.where(CampaignRecipient.sent_at >= context.now - timedelta(days=value))
    raise SegmentError(f"{where}.op", "eq (a campaign id), any or within_days")


def _not_received(context: Context, op: str, value: Any, where: str):
    return ~_received(context, op, value, where)


register_field("received_campaign", _received)
register_field("not_received_campaign", _not_received)
