"""Loyalty tables: stamp-card programs, each customer's cards, coupons and the codes issued from
them, and the two append-only ledgers every change writes (who, how, when, why).

Balances are kept in step with the ledger inside the same transaction: a card's `stamps` is the
sum of its ledger rows, an issued coupon's `uses` the count of its redemptions not undone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, BigId, JSONDocument, created_at, updated_at

# How a card's stamps expire.
EXPIRY_NONE = "none"
EXPIRY_FROM_LAST = "from_last"  # N days after the latest stamp
EXPIRY_FROM_FIRST = "from_first"  # N days after the card's first stamp
EXPIRY_FIXED = "fixed"  # at the end of a date, in the shop's time zone
EXPIRY_KINDS = (EXPIRY_NONE, EXPIRY_FROM_LAST, EXPIRY_FROM_FIRST, EXPIRY_FIXED)

# A card's life.
CARD_ACTIVE = "active"
CARD_COMPLETED = "completed"
CARD_EXPIRED = "expired"

# Stamp ledger kinds; `via` says how a stamp came
# (staff, counter_qr, member_qr, api, follow, system).
STAMP_GRANT = "grant"
STAMP_STARTER = "starter"
STAMP_REVOKE = "revoke"
STAMP_EXPIRE = "expire"
STAMP_CARRY = "carry"  # stamps past the goal, carried onto the next card
STAMP_VIAS = ("staff", "counter_qr", "member_qr", "api", "follow", "system")

# Coupon discount types.
DISCOUNT_TYPES = ("amount", "percent", "free_item", "other")

# An issued coupon's state; `lost` is a lottery draw that did not win (no code, never shown).
COUPON_VALID = "valid"
COUPON_REDEEMED = "redeemed"
COUPON_EXPIRED = "expired"
COUPON_REVOKED = "revoked"
COUPON_LOST = "lost"

# Coupon ledger kinds.
COUPON_ISSUED = "issued"
COUPON_LOTTERY_LOST = "lottery_lost"
COUPON_REDEMPTION = "redeemed"
COUPON_UNDONE = "redemption_undone"
COUPON_REVOCATION = "revoked"
COUPON_EXPIRY = "expired"


class StampProgram(Base):
    """A stamp card's rules: the goal, milestone rewards, expiry and limits."""

    __tablename__ = "stamp_programs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    stamps_needed: Mapped[int] = mapped_column(Integer, default=10)
    per_day_limit: Mapped[int | None] = mapped_column(Integer)  # stamps per local day
    min_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    expiry_kind: Mapped[str] = mapped_column(String(16), default=EXPIRY_NONE)
    expiry_days: Mapped[int | None] = mapped_column(Integer)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    starter_stamps: Mapped[int] = mapped_column(Integer, default=0)
    remind_days_before: Mapped[int | None] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    rewards: Mapped[list[StampReward]] = relationship(
        back_populates="program",
        cascade="all, delete-orphan",
        order_by="StampReward.stamps",
        lazy="selectin",
    )

    __table_args__ = (
        # At most one program is the default.
        Index(
            "uq_stamp_programs_default",
            "is_default",
            unique=True,
            postgresql_where=sql_text("is_default"),
            sqlite_where=sql_text("is_default"),
        ),
    )


class StampReward(Base):
    """A milestone on a program's card: reaching `stamps` issues the coupon."""

    __tablename__ = "stamp_rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("stamp_programs.id", ondelete="CASCADE"))
    stamps: Mapped[int] = mapped_column(Integer)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="RESTRICT"))

    program: Mapped[StampProgram] = relationship(back_populates="rewards")
    coupon: Mapped[Coupon] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("program_id", "stamps"),)


class StampCard(Base):
    """One customer's card in one program; a finished card is followed by a new one."""

    __tablename__ = "stamp_cards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("stamp_programs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer, default=1)  # 1st, 2nd… card of this customer
    stamps: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=CARD_ACTIVE)
    first_stamp_at: Mapped[datetime | None]
    last_stamp_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    # Many-to-one, loaded lazily: a program already in the session is taken from its identity
    # map without a query (a joined load would join and re-read it on every card read).
    program: Mapped[StampProgram] = relationship()

    __table_args__ = (
        UniqueConstraint("customer_id", "program_id", "number"),
        # One active card per customer and program.
        Index(
            "uq_stamp_cards_active",
            "customer_id",
            "program_id",
            unique=True,
            postgresql_where=sql_text("status = 'active'"),
            sqlite_where=sql_text("status = 'active'"),
        ),
        Index(
            "ix_stamp_cards_expiring",
            "expires_at",
            postgresql_where=sql_text("status = 'active'"),
            sqlite_where=sql_text("status = 'active'"),
        ),
    )


class StampEntry(Base):
    """One change to a card: stamps granted, revoked, expired or carried over."""

    __tablename__ = "stamp_ledger"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("stamp_cards.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    program_id: Mapped[int] = mapped_column(ForeignKey("stamp_programs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    # A key the caller chose (API) or a counter QR's nonce: the same one never counts twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    revokes_id: Mapped[int | None] = mapped_column(
        ForeignKey("stamp_ledger.id", ondelete="SET NULL"), unique=True
    )
    occurred_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_stamp_ledger_customer", "customer_id", "program_id", "occurred_at"),
        Index("ix_stamp_ledger_time", "occurred_at"),
    )


class Coupon(Base):
    """A coupon template: what it gives, when it is valid, how many may be issued."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2000))
    discount_type: Mapped[str] = mapped_column(String(16))
    discount_value: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None] = mapped_column(Integer)  # from issue, when no valid_until
    per_customer_limit: Mapped[int] = mapped_column(Integer, default=1)
    total_limit: Mapped[int | None] = mapped_column(Integer)
    lottery_percent: Mapped[int | None] = mapped_column(Integer)
    usable_times: Mapped[int] = mapped_column(Integer, default=1)
    remind_days_before: Mapped[int | None] = mapped_column(Integer)
    issued_count: Mapped[int] = mapped_column(Integer, default=0)  # winners only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class IssuedCoupon(Base):
    """One coupon given to one customer, with its own code. `slot` numbers a customer's draws of
    one coupon (1…per-customer limit) so the database refuses one draw too many."""

    __tablename__ = "issued_coupons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=COUPON_VALID)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    usable_times: Mapped[int] = mapped_column(Integer, default=1)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16))  # staff, api, campaign, reward, survey, follow
    source_id: Mapped[int | None] = mapped_column(BigId)  # the campaign, program or survey
    issued_at: Mapped[datetime]
    redeemed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]

    coupon: Mapped[Coupon] = relationship()  # lazily, from the identity map when loaded

    __table_args__ = (
        UniqueConstraint("coupon_id", "customer_id", "slot"),
        Index("ix_issued_coupons_customer", "customer_id", "status", "valid_until"),
        Index(
            "ix_issued_coupons_expiring",
            "valid_until",
            postgresql_where=sql_text("status = 'valid'"),
            sqlite_where=sql_text("status = 'valid'"),
        ),
    )


class CouponEntry(Base):
    """One event of an issued coupon: issued, a lottery lost, redeemed, undone, revoked,
    expired."""

    __tablename__ = "coupon_ledger"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issued_coupon_id: Mapped[int] = mapped_column(
        ForeignKey("issued_coupons.id", ondelete="CASCADE")
    )
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    via: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    undoes_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_ledger.id", ondelete="SET NULL"), unique=True
    )
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    occurred_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_coupon_ledger_coupon", "issued_coupon_id", "id"),
        Index("ix_coupon_ledger_customer", "customer_id", "id"),
        Index("ix_coupon_ledger_time", "coupon_id", "kind", "occurred_at"),
    )


class MemberCard(Base):
    """A customer's member number, shown as a QR in LINE and typed or scanned at the counter."""

    __tablename__ = "member_cards"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[created_at]
