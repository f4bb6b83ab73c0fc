"""Stamp-card programs: the goal, milestone rewards, expiry, limits and starter stamps.

A default program exists out of the box (10 stamps, at most one a day, a free-drink coupon at
10, stamps valid for a year after the latest one, a reminder two weeks before); it is created
the first time anything asks for it and is the one used when no program is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.field_errors import FieldError
from crm.loyalty.models import (
    EXPIRY_FIXED,
    EXPIRY_FROM_LAST,
    EXPIRY_KINDS,
    EXPIRY_NONE,
    Coupon,
    StampProgram,
    StampReward,
)

MAX_STAMPS = 50  # LINE's own shop card allows 1–50 points
DEFAULT_NAME = "スタンプカード"
DEFAULT_REWARD_TITLE = "ドリンク1杯無料"


class ProgramError(FieldError):
    """A program definition refused, naming the field."""


@dataclass(frozen=True)
class ProgramInput:
    """A program as staff or the API describe it; `rewards` maps stamps → coupon id."""

    name: str
    stamps_needed: int = 10
    per_day_limit: int | None = 1
    min_interval_minutes: int | None = None
    expiry_kind: str = EXPIRY_NONE
    expiry_days: int | None = None
    expiry_date: date | None = None
    starter_stamps: int = 0
    remind_days_before: int | None = None
    rewards: dict[int, int] = field(default_factory=dict)
    active: bool = True


def check_program(session: Session, data: ProgramInput) -> None:
    """Raise ProgramError naming the first field LINE customers could not live with."""
    name = (data.name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ProgramError("name", "1–100 characters")
    _check_range("stamps_needed", data.stamps_needed, 1, MAX_STAMPS)
    _check_range("per_day_limit", data.per_day_limit, 1, MAX_STAMPS, optional=True)
    _check_range("min_interval_minutes", data.min_interval_minutes, 1, 60 * 24 * 30, optional=True)
    _check_range("starter_stamps", data.starter_stamps, 0, data.stamps_needed - 1)
    _check_range("remind_days_before", data.remind_days_before, 1, 90, optional=True)
    _check_expiry(data)
    for stamps, coupon_id in data.rewards.items():
        _check_range(f"rewards.{stamps}", stamps, 1, data.stamps_needed)
        if session.get(Coupon, coupon_id) is None:
            raise ProgramError(f"rewards.{stamps}", f"no coupon {coupon_id}")


def _check_expiry(data: ProgramInput) -> None:
    if data.expiry_kind not in EXPIRY_KINDS:
        raise ProgramError("expiry_kind", " / ".join(EXPIRY_KINDS))
    if data.expiry_kind == EXPIRY_FIXED and data.expiry_date is None:
        raise ProgramError("expiry_date", "a date is needed for a fixed expiry")
    if data.expiry_kind not in (EXPIRY_NONE, EXPIRY_FIXED):
        _check_range("expiry_days", data.expiry_days, 1, 3650)


def _check_range(where: str, value, low: int, high: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProgramError(where, f"a whole number from {low} to {high}")


def create_program(session: Session, data: ProgramInput) -> StampProgram:
    check_program(session, data)
    program = StampProgram(is_default=False)
    _apply(program, data)
    session.add(program)
    session.flush()
    return program


def change_program(session: Session, program: StampProgram, data: ProgramInput) -> None:
    """New rules apply to stamps from now on; cards keep their stamps."""
    check_program(session, data)
    _apply(program, data)
    session.flush()


def _apply(program: StampProgram, data: ProgramInput) -> None:
    program.name = data.name.strip()
    program.stamps_needed = data.stamps_needed
    program.per_day_limit = data.per_day_limit
    program.min_interval_minutes = data.min_interval_minutes
    program.expiry_kind = data.expiry_kind
    program.expiry_days = (
        data.expiry_days if data.expiry_kind not in (EXPIRY_NONE, EXPIRY_FIXED) else None
    )
    program.expiry_date = data.expiry_date if data.expiry_kind == EXPIRY_FIXED else None
    program.starter_stamps = data.starter_stamps
    program.remind_days_before = data.remind_days_before
    program.active = data.active
    wanted = dict(data.rewards)
    for reward in list(program.rewards):
        if wanted.get(reward.stamps) == reward.coupon_id:
            wanted.pop(reward.stamps)
        else:
            program.rewards.remove(reward)
    for stamps, coupon_id in sorted(wanted.items()):
        program.rewards.append(StampReward(stamps=stamps, coupon_id=coupon_id))


def make_default(session: Session, program: StampProgram) -> None:
    """This program is the one used when none is named."""
    session.execute(update(StampProgram).where(StampProgram.is_default).values(is_default=False))
    session.flush()
    program.is_default = True
    session.flush()


def list_programs(session: Session, active_only: bool = False) -> list[StampProgram]:
    statement = select(StampProgram).order_by(StampProgram.is_default.desc(), StampProgram.id)
    if active_only:
        statement = statement.where(StampProgram.active)
    return list(session.scalars(statement))


def get_program(session: Session, program_id: int | None) -> StampProgram | None:
    """The program with that id, or the default one when no id is given."""
    if program_id is None:
        return default_program(session)
    return session.get(StampProgram, program_id)


def default_program(session: Session) -> StampProgram:
    """The default program, created with its reward coupon the first time it is asked for."""
    found = session.scalar(select(StampProgram).where(StampProgram.is_default))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            return _create_default(session)
    except IntegrityError:  # another process created it at the same moment
        return session.scalar(select(StampProgram).where(StampProgram.is_default))


def _create_default(session: Session) -> StampProgram:
    reward = Coupon(
        title=DEFAULT_REWARD_TITLE,
        description="スタンプ10個のごほうびです。お好きなドリンクを1杯どうぞ。",
        discount_type="free_item",
        valid_days=90,
        per_customer_limit=1000,
        usable_times=1,
        remind_days_before=7,
    )
    session.add(reward)
    session.flush()
    program = StampProgram(
        name=DEFAULT_NAME,
        stamps_needed=10,
        per_day_limit=1,
        expiry_kind=EXPIRY_FROM_LAST,
        expiry_days=365,
        remind_days_before=14,
        is_default=True,
        rewards=[StampReward(stamps=10, coupon_id=reward.id)],
    )
    session.add(program)
    session.flush()
    return program
