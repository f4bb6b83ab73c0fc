"""The outbox state machine, row by row as in docs/architecture.md ("Delivery outcomes")."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.interactions import queue_outbound
from crm.models import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    DELIVERY_SENT,
    Customer,
    Interaction,
)
from crm.outbox import (
    ALREADY_ACCEPTED,
    BAD_REPLY_TOKEN,
    FAILED,
    MAX_ATTEMPTS,
    RETRY,
    SENT,
    SendOutcome,
    claim_due_messages,
    record_outcome,
)

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
TOKEN = "reply-token"
PENDING, SENT_, FAILED_ = DELIVERY_PENDING, DELIVERY_SENT, DELIVERY_FAILED


def _sending_row(attempts: int, reply_token: str | None) -> Interaction:
    """A row as `claim_due_messages` leaves it for the attempt under way."""
    return Interaction(
        delivery_status=DELIVERY_SENDING,
        attempts=attempts,
        reply_token=reply_token,
        locked_until=NOW + timedelta(seconds=20),
        next_attempt_at=NOW,
    )


# What LINE said, the attempt (tries so far, this one included; the reply token it used), and
# the row's next state: status, due after (pending only), reply token kept, error kept.
# Mirrors the table "Delivery outcomes" in docs/architecture.md.
sec, GIVE_UP = (lambda n: timedelta(seconds=n)), f"gave up after {MAX_ATTEMPTS} attempts: down"
BAD_TOKEN, USED = (
    "Invalid reply token",
    "reply token already used by the interrupted earlier attempt",
)
LINES_MESSAGE = "messages[0].text: May not be empty"
OUTCOME_TABLE = [
    # 2xx: sent, with LINE's request id
    (SendOutcome(SENT, 200, request_id="r1"), 1, TOKEN, SENT_, None, False, None),
    # 409, the retry key was accepted before (a resend after a crash): sent
    (SendOutcome(ALREADY_ACCEPTED, 409, request_id="r0"), 2, None, SENT_, None, False, None),
    # 400 invalid reply token on a first reply: LINE took nothing; push now with the retry key
    (SendOutcome(BAD_REPLY_TOKEN, 400, BAD_TOKEN), 1, TOKEN, PENDING, sec(0), False, BAD_TOKEN),
    # ... on a reply tried again after an attempt whose answer never came: that one used it
    (SendOutcome(BAD_REPLY_TOKEN, 400, BAD_TOKEN), 2, TOKEN, SENT_, None, False, USED),
    # 429, 5xx, timeout, network: the same request after a growing wait, token kept while fresh
    (SendOutcome(RETRY, 500, "boom"), 1, TOKEN, PENDING, sec(1), True, "boom"),
    (SendOutcome(RETRY, 429, "busy"), 3, None, PENDING, sec(10), False, "busy"),
    (SendOutcome(RETRY, 503, "down"), 8, None, PENDING, sec(4 * 3600), False, "down"),
    # the last try failed too: failed, gave up
    (SendOutcome(RETRY, 503, "down"), MAX_ATTEMPTS, None, FAILED_, None, False, GIVE_UP),
    # other 4xx, the monthly limit: failed for good, LINE's message kept for staff
    (SendOutcome(FAILED, 400, LINES_MESSAGE), 1, None, FAILED_, None, False, LINES_MESSAGE),
]


@pytest.mark.parametrize(
    ("outcome", "attempts", "token", "status", "due_after", "keeps_token", "error"),
    OUTCOME_TABLE,
    ids=[f"{row[0].result}-{row[0].http_status}-try{row[1]}" for row in OUTCOME_TABLE],
)
def test_record_outcome(outcome, attempts, token, status, due_after, keeps_token, error):
    row = _sending_row(attempts, token)
    record_outcome(row, outcome, NOW)
    assert row.delivery_status == status
    assert row.locked_until is None
    assert row.error_message == error
    assert (row.reply_token is not None) == keeps_token
    if status == PENDING:
        assert row.next_attempt_at == NOW + due_after
        assert row.error_status == outcome.http_status
    if status == SENT_:
        assert row.sent_at == NOW
        assert row.line_request_id == outcome.request_id


def _customer(session, user_id: str) -> Customer:
    customer = Customer(line_user_id=user_id, follow_status="following")
    session.add(customer)
    session.flush()
    return customer


def test_claim_replies_while_the_token_is_fresh_and_pushes_after(db):
    with db.transaction() as session:
        fresh, stale = _customer(session, "Ufresh"), _customer(session, "Ustale")
        for customer, expires in ((fresh, NOW + timedelta(seconds=5)), (stale, NOW)):
            queue_outbound(
                session,
                customer,
                messages=[{"type": "text", "text": "hi"}],
                sender="bot",
                now=NOW,
                reply_token=f"token-{customer.line_user_id}",
                reply_token_expires_at=expires,
            )
    with db.transaction() as session:
        jobs = {job.to: job for job in claim_due_messages(session, NOW, limit=10)}
    assert (jobs["Ufresh"].method, jobs["Ufresh"].reply_token) == ("reply", "token-Ufresh")
    assert (jobs["Ustale"].method, jobs["Ustale"].reply_token) == ("push", None)
    with db.read_session() as session:
        rows = session.scalars(select(Interaction)).all()
    assert {row.delivery_status for row in rows} == {DELIVERY_SENDING}
    assert {row.attempts for row in rows} == {1}


def test_claim_takes_one_message_per_customer_in_order_and_skips_leased_rows(db):
    with db.transaction() as session:
        customer = _customer(session, "Uorder")
        for text in ("1", "2"):
            queue_outbound(
                session, customer, messages=[{"type": "text", "text": text}], sender="bot", now=NOW
            )
    with db.transaction() as session:
        [first] = claim_due_messages(session, NOW, limit=10)
    assert first.messages[0]["text"] == "1"
    with db.transaction() as session:  # the first is being sent: the second waits
        assert claim_due_messages(session, NOW + timedelta(seconds=5), limit=10) == []
    with db.transaction() as session:  # its sender died: the lease runs out, it is taken again
        [again] = claim_due_messages(session, NOW + timedelta(seconds=21), limit=10)
    assert again.interaction_id == first.interaction_id
