"""The loyalty report's figures: stamps given and taken back per day, cards completed per day, and
per coupon template what became of the codes issued in the period (redeemed, expired, revoked,
still open) with the redemption rate.

Days are the shop's calendar days. The database groups rows into quarter hours since the epoch
(every time zone's offset is a whole number of quarter hours), and Python folds those into local
days: one indexed range scan per figure, at most 96 groups per day, whatever the volume.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from crm.loyalty.models import (
    COUPON_EXPIRED,
    COUPON_LOST,
    COUPON_REVOKED,
    COUPON_VALID,
    STAMP_CARRY,
    STAMP_GRANT,
    STAMP_REVOKE,
    STAMP_STARTER,
    Coupon,
    IssuedCoupon,
    StampCard,
    StampEntry,
)

MAX_DAYS = 366
QUARTER_HOUR = 900  # seconds
GIVEN_KINDS = (STAMP_GRANT, STAMP_CARRY, STAMP_STARTER)


@dataclass(frozen=True)
class DayFigures:
    day: date
    stamps_given: int = 0
    stamps_revoked: int = 0
    cards_completed: int = 0


@dataclass(frozen=True)
class CouponFigures:
    """Codes of one template issued in the period, by what became of them."""

    coupon_id: int
    title: str
    issued: int
    redeemed: int  # used at least once
    expired: int
    revoked: int
    still_valid: int
    lottery_lost: int

    @property
    def redemption_rate(self) -> float | None:
        return self.redeemed / self.issued if self.issued else None


@dataclass(frozen=True)
class LoyaltyReport:
    first_day: date
    last_day: date
    days: list[DayFigures]
    coupons: list[CouponFigures]

    @property
    def stamps_given(self) -> int:
        return sum(d.stamps_given for d in self.days)

    @property
    def stamps_revoked(self) -> int:
        return sum(d.stamps_revoked for d in self.days)

    @property
    def cards_completed(self) -> int:
        return sum(d.cards_completed for d in self.days)


def period_bounds(first_day: date, last_day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants around whole local days, both days included."""
    start = datetime.combine(first_day, time.min, tz)
    return start, datetime.combine(last_day + timedelta(days=1), time.min, tz)


def loyalty_report(
    session: Session, first_day: date, last_day: date, tz: ZoneInfo, now: datetime
) -> LoyaltyReport:
    """Every figure of the report for the local days first_day…last_day (at most MAX_DAYS)."""
    if last_day < first_day:
        first_day, last_day = last_day, first_day
    last_day = min(last_day, first_day + timedelta(days=MAX_DAYS - 1))
    start, end = period_bounds(first_day, last_day, tz)
    given, revoked = _stamps_by_day(session, start, end, tz)
    completed = _completed_by_day(session, start, end, tz)
    days = [
        DayFigures(day, given.get(day, 0), revoked.get(day, 0), completed.get(day, 0))
        for day in _each_day(first_day, last_day)
    ]
    return LoyaltyReport(first_day, last_day, days, coupon_figures(session, start, end, now))


def _each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _quarter_hours(session: Session, column):
    """The column's quarter hour since the epoch, as the database computes it."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / QUARTER_HOUR), Integer)
    return cast(func.strftime("%s", column), Integer) // QUARTER_HOUR


def _fold(rows, tz: ZoneInfo) -> dict[date, int]:
    """(quarter hour, amount) rows as amounts per local day."""
    days: dict[date, int] = defaultdict(int)
    for quarter, amount in rows:
        at = datetime.fromtimestamp(int(quarter) * QUARTER_HOUR, UTC)
        days[at.astimezone(tz).date()] += int(amount or 0)
    return days


def _stamps_by_day(session, start, end, tz) -> tuple[dict[date, int], dict[date, int]]:
    bucket = _quarter_hours(session, StampEntry.occurred_at).label("bucket")
    given = func.sum(case((StampEntry.kind.in_(GIVEN_KINDS), StampEntry.delta), else_=0))
    revoked = func.sum(case((StampEntry.kind == STAMP_REVOKE, -StampEntry.delta), else_=0))
    rows = session.execute(
        select(bucket, given, revoked)
        .where(StampEntry.occurred_at >= start, StampEntry.occurred_at < end)
        .group_by(bucket)
    ).all()
    return _fold(((b, g) for b, g, _r in rows), tz), _fold(((b, r) for b, _g, r in rows), tz)


def _completed_by_day(session, start, end, tz) -> dict[date, int]:
    bucket = _quarter_hours(session, StampCard.completed_at).label("bucket")
    rows = session.execute(
        select(bucket, func.count())
        .where(StampCard.completed_at >= start, StampCard.completed_at < end)
        .group_by(bucket)
    ).all()
    return _fold(rows, tz)


def coupon_figures(
    session: Session, start: datetime, end: datetime, now: datetime
) -> list[CouponFigures]:
    """Per template, the codes issued in [start, end) by what became of them by `now`."""
    ended = (IssuedCoupon.valid_until.is_not(None)) & (IssuedCoupon.valid_until <= now)
    won = IssuedCoupon.status != COUPON_LOST

    def count_when(condition):
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(
            Coupon.id,
            Coupon.title,
            count_when(won),
            count_when(won & (IssuedCoupon.uses > 0)),
            count_when(
                (IssuedCoupon.uses == 0)
                & (
                    (IssuedCoupon.status == COUPON_EXPIRED)
                    | ((IssuedCoupon.status == COUPON_VALID) & ended)
                )
            ),
            count_when((IssuedCoupon.status == COUPON_REVOKED) & (IssuedCoupon.uses == 0)),
            count_when((IssuedCoupon.status == COUPON_VALID) & ~ended),
            count_when(IssuedCoupon.status == COUPON_LOST),
        )
        .join(Coupon, Coupon.id == IssuedCoupon.coupon_id)
        .where(IssuedCoupon.issued_at >= start, IssuedCoupon.issued_at < end)
        .group_by(Coupon.id, Coupon.title)
        .order_by(Coupon.id)
    ).all()
    return [CouponFigures(row[0], row[1], *(int(n or 0) for n in row[2:])) for row in rows]
