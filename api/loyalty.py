"""/api/v1 loyalty: stamps here (a POS gives stamps with an idempotency key; a customer's cards
and ledger; revoking a grant), stamp programs in api/loyalty_programs.py, coupon templates in
api/loyalty_coupons.py, issuing and redeeming codes in api/loyalty_codes.py, all under this
module's blueprint. A refusal is answered with the
domain's own code (api/loyalty_errors.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, jsonify
from sqlalchemy import func, select

from api import loyalty_codes, loyalty_coupons, loyalty_programs
from api.loyalty_errors import LoyaltyError, answer_loyalty_error, stamp_error
from api.loyalty_programs import ensure_default_program
from api.loyalty_schemas import (
    REPLAYED_HEADER,
    Card,
    CustomerStamps,
    NextReward,
    ProgramCard,
    Revocation,
    RevokeIn,
    RewardIssued,
    RewardRefused,
    StampsIn,
)
from api.loyalty_schemas import StampEntry as StampEntryBody
from api.schemas import Error, PageQuery
from api.spec import operation
from crm.clock import utcnow
from crm.loyalty import stamps as stamp_rules
from crm.loyalty.coupons import shown_code
from crm.loyalty.models import (
    CARD_COMPLETED,
    COUPON_LOST,
    IssuedCoupon,
    StampCard,
    StampEntry,
    StampProgram,
)
from crm.loyalty.notify import push_grant
from crm.loyalty.programs import get_program
from crm.loyalty.stamps import CardView, GrantResult, StampRefused, card_view, card_views
from crm.models import Customer
from crm.shop import shop_timezone_name
from request_scope import request_session, services

bp = Blueprint("loyalty", __name__)
bp.register_blueprint(loyalty_programs.bp)
bp.register_blueprint(loyalty_coupons.bp)
bp.register_blueprint(loyalty_codes.bp)
bp.register_error_handler(LoyaltyError, answer_loyalty_error)
API_KEY_PREFIX = "api:"  # API keys never meet counter-QR (qr:) or starter keys


# ---------------------------------------------------------------- bodies


def next_reward(view: CardView) -> NextReward | None:
    """The next milestone on the card, or None past the last one."""
    reward = view.next_reward
    if reward is None:
        return None
    return NextReward(stamps=reward.stamps, coupon_id=reward.coupon_id, title=reward.coupon.title)


def program_card(view: CardView) -> ProgramCard:
    """One program as the customer's card in it reads now."""
    return ProgramCard(
        program_id=view.program.id,
        name=view.program.name,
        count=view.stamps,
        goal=view.goal,
        expires_at=view.expires_at,
        next_reward=next_reward(view),
        completed_cards=view.completed_cards,
        is_default=view.program.is_default,
    )


def card_body(session, result: GrantResult, count: int, now) -> dict:
    """The card the customer holds after the grant, and the rewards the grant earned."""
    card = result.card
    if result.replayed:
        view = card_view(session, card.customer_id, card.program, now)
    else:
        view = stamped_view(session, card)
    return Card(
        customer_id=card.customer_id,
        program_id=card.program_id,
        program_name=card.program.name,
        stamps=view.stamps,
        goal=view.goal,
        card_number=view.card.number if view.card else card.number,
        expires_at=view.expires_at,
        next_reward=next_reward(view),
        completed_cards=view.completed_cards,
        entry_id=result.entry.id,
        rewards=(
            replayed_rewards(session, result.entry) if result.replayed else rewards(result, count)
        ),
    ).model_dump(mode="json")


def stamped_view(session, card: StampCard) -> CardView:
    """The card a grant just stamped, as `card_view` reads it, without reading the card again
    (a grant answers at the counter: one query fewer is felt)."""
    program = card.program
    completed = session.scalar(
        select(func.count()).where(
            StampCard.customer_id == card.customer_id,
            StampCard.program_id == program.id,
            StampCard.status == CARD_COMPLETED,
        )
    )
    upcoming = [reward for reward in program.rewards if reward.stamps > card.stamps]
    return CardView(
        program=program,
        card=card,
        stamps=card.stamps,
        goal=program.stamps_needed,
        next_reward=upcoming[0] if upcoming else None,
        expires_at=card.expires_at,
        completed_cards=int(completed or 0),
    )


def rewards(result: GrantResult, count: int) -> list[RewardIssued | RewardRefused]:
    """The grant's milestone coupons: each code issued, or why not."""
    coupon_ids = milestone_coupons(result.card.program, result.entry, count)
    answers = []
    for coupon_id, outcome in zip(coupon_ids, result.rewards, strict=False):
        if outcome.issued is not None:
            issued = outcome.issued
            answers.append(
                RewardIssued(
                    coupon_id=issued.coupon_id,
                    issued_coupon_id=issued.id,
                    code=shown_code(issued.code),
                )
            )
        else:
            answers.append(RewardRefused(coupon_id=coupon_id, refused=outcome.refused))
    return answers


def milestone_coupons(program: StampProgram, entry: StampEntry, count: int) -> list[int]:
    """The reward coupons a grant of `count` passed, in the order `grant_stamps` issues them:
    the milestones on the card its first ledger row went onto, then on each card it carried
    stamps onto."""
    goal = program.stamps_needed
    spans = [(entry.balance_after - entry.delta, entry.balance_after)]
    left = count - entry.delta
    while left > 0:
        spans.append((0, min(left, goal)))
        left -= min(left, goal)
    return [r.coupon_id for low, high in spans for r in program.rewards if low < r.stamps <= high]


def replayed_rewards(session, entry: StampEntry) -> list[RewardIssued | RewardRefused]:
    """The reward codes issued with an earlier grant (refusals that left no row are not kept)."""
    rows = session.scalars(
        select(IssuedCoupon)
        .where(
            IssuedCoupon.customer_id == entry.customer_id,
            IssuedCoupon.source == "reward",
            IssuedCoupon.source_id == entry.program_id,
            IssuedCoupon.issued_at == entry.occurred_at,
        )
        .order_by(IssuedCoupon.id)
    )
    return [
        RewardRefused(coupon_id=row.coupon_id, refused="lottery_lost")
        if row.status == COUPON_LOST
        else RewardIssued(
            coupon_id=row.coupon_id, issued_coupon_id=row.id, code=shown_code(row.code)
        )
        for row in rows
    ]


def entry_body(entry: StampEntry) -> StampEntryBody:
    """One stamp ledger row as the API shows it."""
    return StampEntryBody.model_validate(entry)


# ---------------------------------------------------------------- stamps


@operation(
    bp,
    "/customers/<id:customer_id>/stamps",
    "Give stamps (a POS): the card after the grant and the reward coupons it earned. The same "
    "idempotency_key again gives no stamp and answers the card as it is now, the codes that "
    "grant issued, and the header Idempotent-Replayed: true",
    {
        201: (Card, "the customer's card"),
        404: (Error, "no such customer or program"),
        422: (Error, "daily_limit, too_soon, bad_count, key_used, program_inactive or a field"),
    },
    method="POST",
    body=StampsIn,
)
def grant(customer_id: int, body: StampsIn):
    """Give stamps once per idempotency key; push the card to the customer."""
    settings = services().settings
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        program = get_program(session, body.program_id) or abort(404)
        now = utcnow()
        tz = ZoneInfo(shop_timezone_name(session, settings.shop_timezone))
        try:
            result = stamp_rules.grant_stamps(
                session,
                customer,
                program,
                body.count,
                now,
                tz,
                via="api",
                idempotency_key=API_KEY_PREFIX + body.idempotency_key,
            )
        except StampRefused as exc:
            raise stamp_error(exc) from None
        if not result.replayed:
            push_grant(session, customer, result, now, settings.public_base_url)
        answer = card_body(session, result, body.count, now)
    response = jsonify(answer)
    response.status_code = 201
    if result.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


@operation(
    bp,
    "/customers/<id:customer_id>/stamps",
    "A customer's cards in every active program, and their stamp ledger (newest first)",
    {200: (CustomerStamps, "cards and a page of the ledger"), 404: (Error, "no such customer")},
    query=PageQuery,
)
def customer_stamps(customer_id: int, query: PageQuery):
    """The customer's cards, and a page of their stamp ledger."""
    session = request_session()
    session.get(Customer, customer_id) or abort(404)
    ensure_default_program(session)
    now = utcnow()
    statement = select(StampEntry).where(StampEntry.customer_id == customer_id)
    if query.cursor is not None:
        statement = statement.where(StampEntry.id < query.cursor)
    rows = session.scalars(statement.order_by(StampEntry.id.desc()).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    answer = CustomerStamps(
        customer_id=customer_id,
        programs=[program_card(view) for view in card_views(session, customer_id, now)],
        ledger=[entry_body(row) for row in page],
        next_cursor=page[-1].id if len(rows) > query.limit else None,
    )
    return jsonify(answer.model_dump(mode="json"))


@operation(
    bp,
    "/stamp-entries/<id:entry_id>/revoke",
    "Take back a grant's stamps, with a reason (kept in the ledger and the audit log)",
    {
        200: (Revocation, "the revoking ledger row and the card after it"),
        404: (Error, "no such ledger row"),
        409: (Error, "already_revoked, card_closed (completed or expired since) or not_a_grant"),
        422: (Error, "reason_required"),
    },
    method="POST",
    body=RevokeIn,
)
def revoke(entry_id: int, body: RevokeIn):
    """Take back a grant's stamps, once, with a reason."""
    with services().db.transaction() as session:
        grant_row = session.get(StampEntry, entry_id) or abort(404)
        now = utcnow()
        try:
            entry = stamp_rules.revoke_grant(
                session, grant_row.id, now, staff_id=None, reason=body.reason, via="api"
            )
        except StampRefused as exc:
            raise stamp_error(exc) from None
        program = session.get(StampProgram, entry.program_id)
        view = card_view(session, entry.customer_id, program, now)
        answer = Revocation(entry=entry_body(entry), program=program_card(view))
    return jsonify(answer.model_dump(mode="json"))
