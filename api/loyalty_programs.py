"""/api/v1/stamp-programs: the shop's stamp cards (goal, milestone rewards, expiry, limits),
listed, created and replaced; one of them is the default used when a grant names none."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from api.errors import InvalidParameter
from api.loyalty_schemas import Program, ProgramIn, ProgramList, ProgramReward
from api.schemas import Error
from api.spec import operation
from crm.loyalty.models import StampProgram
from crm.loyalty.programs import (
    ProgramError,
    ProgramInput,
    change_program,
    create_program,
    default_program,
    list_programs,
    make_default,
)
from request_scope import request_session, services

bp = Blueprint("loyalty_programs", __name__)


def ensure_default_program(session) -> None:
    """A new shop's default card exists before anyone reads the cards."""
    if not any(program.is_default for program in list_programs(session)):
        with services().db.transaction() as writing:
            default_program(writing)
        session.rollback()  # a new read transaction sees it (SQLite reads a snapshot)


def program_body(program: StampProgram) -> dict:
    """A program as the API shows it, rewards with their coupons' titles."""
    rewards_ = [
        ProgramReward(stamps=r.stamps, coupon_id=r.coupon_id, title=r.coupon.title)
        for r in program.rewards
    ]
    return Program(
        id=program.id,
        name=program.name,
        stamps_needed=program.stamps_needed,
        per_day_limit=program.per_day_limit,
        min_interval_minutes=program.min_interval_minutes,
        expiry_kind=program.expiry_kind,
        expiry_days=program.expiry_days,
        expiry_date=program.expiry_date,
        starter_stamps=program.starter_stamps,
        remind_days_before=program.remind_days_before,
        rewards=rewards_,
        active=program.active,
        is_default=program.is_default,
        created_at=program.created_at,
    ).model_dump(mode="json")


def program_input(body: ProgramIn) -> ProgramInput:
    """The domain's input; two rewards at one milestone are refused here, naming the second."""
    rewards_: dict[int, int] = {}
    for index, reward in enumerate(body.rewards):
        if reward.stamps in rewards_:
            raise InvalidParameter(f"rewards[{index}].stamps", "two rewards at one milestone")
        rewards_[reward.stamps] = reward.coupon_id
    fields = body.model_dump(exclude={"rewards", "is_default"})
    return ProgramInput(**fields, rewards=rewards_)


def save_program(session, program: StampProgram | None, body: ProgramIn) -> StampProgram:
    """Create or replace a program from the body; a 422 names the field."""
    data = program_input(body)
    try:
        if program is None:
            program = create_program(session, data)
        else:
            change_program(session, program, data)
    except ProgramError as exc:
        raise InvalidParameter(field_of(exc.where, body), exc.message) from None
    if body.is_default and not program.is_default:
        make_default(session, program)
    elif program.is_default and not body.is_default:
        raise InvalidParameter("is_default", "make another program the default instead")
    session.refresh(program)
    return program


def field_of(where: str, body: ProgramIn) -> str:
    """The domain names a reward by its milestone (`rewards.5`); the API by its place."""
    if not where.startswith("rewards."):
        return where
    stamps = int(where.removeprefix("rewards."))
    index = next(i for i, r in enumerate(body.rewards) if r.stamps == stamps)
    return f"rewards[{index}]"


@operation(
    bp,
    "/stamp-programs",
    "Stamp programs, the default first",
    {200: (ProgramList, "every program")},
)
def programs():
    """Every program, the default first."""
    session = request_session()
    ensure_default_program(session)
    return jsonify({"data": [program_body(p) for p in list_programs(session)]})


@operation(
    bp,
    "/stamp-programs",
    "Create a stamp program",
    {201: (Program, "the program")},
    method="POST",
    body=ProgramIn,
)
def create(body: ProgramIn):
    """Create a program (the default one too, with is_default)."""
    with services().db.transaction() as session:
        answer = program_body(save_program(session, None, body))
    return jsonify(answer), 201


@operation(
    bp,
    "/stamp-programs/<id:program_id>",
    "Replace a stamp program's rules; cards keep their stamps, new rules apply from now on",
    {200: (Program, "the program"), 404: (Error, "no such program")},
    method="PUT",
    body=ProgramIn,
)
def replace(program_id: int, body: ProgramIn):
    """Replace a program's rules."""
    with services().db.transaction() as session:
        program = session.get(StampProgram, program_id) or abort(404)
        answer = program_body(save_program(session, program, body))
    return jsonify(answer)
