"""Bodies of the loyalty endpoints: stamps, stamp programs, coupons, issuing and redemption.
Input models check shape and types; crm/loyalty checks what they mean (a 422 names the field:
`valid_days`, `rewards[1].coupon_id`, `count`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictBool, StrictInt

from api.schemas import DATABASE_ID_MAX, Body
from api.survey_schemas import Input, Text

DbId = Annotated[int, Field(ge=1, le=DATABASE_ID_MAX)]
MAX_ISSUE = 1000  # customers per issue request
REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on an answer given again for the same key
ISSUE_REASONS = "limit_reached, sold_out, lottery_lost, blocked, inactive, ended, unknown_customer"

# ---------------------------------------------------------------- stamps


class StampsIn(Input):
    count: StrictInt = Field(
        1, description="stamps to add, 1-50", json_schema_extra={"minimum": 1, "maximum": 50}
    )
    program_id: DbId | None = Field(None, description="absent: the default program")
    idempotency_key: Text = Field(
        min_length=1,
        max_length=190,
        description="chosen by the caller (a POS receipt number, a UUID): the same key again "
        "gives the same answer and no second stamp",
    )


class NextReward(Body):
    stamps: int = Field(description="the milestone, in stamps on the card")
    coupon_id: int
    title: str


class RewardIssued(Body):
    coupon_id: int
    issued_coupon_id: int
    code: str = Field(description="as people read it: XXXX-XXXX-XXXX")


class RewardRefused(Body):
    coupon_id: int
    refused: str = Field(description=ISSUE_REASONS)


class Card(Body):
    """The customer's card after a grant."""

    customer_id: int
    program_id: int
    program_name: str
    stamps: int = Field(description="on the card the customer holds now")
    goal: int
    card_number: int = Field(description="1st, 2nd... card of this customer in the program")
    expires_at: datetime | None
    next_reward: NextReward | None
    completed_cards: int
    entry_id: int = Field(description="the grant's ledger row (what /stamp-entries revokes)")
    rewards: list[RewardIssued | RewardRefused] = Field(
        description="milestone coupons this grant earned"
    )


class ProgramCard(Body):
    program_id: int
    name: str
    count: int = Field(description="stamps on the current card")
    goal: int
    expires_at: datetime | None
    next_reward: NextReward | None
    completed_cards: int
    is_default: bool


class StampEntry(Body):
    id: int
    program_id: int
    kind: Literal["grant", "starter", "revoke", "expire", "carry"]
    delta: int
    balance_after: int
    via: str = Field(description="staff, counter_qr, member_qr, api, follow or system")
    staff_id: int | None
    reason: str | None
    occurred_at: datetime


class CustomerStamps(Body):
    customer_id: int
    programs: list[ProgramCard]
    ledger: list[StampEntry] = Field(description="newest first, a page of `limit`")
    next_cursor: int | None = Field(description="pass as `cursor` for the next ledger page")


class RevokeIn(Input):
    reason: Text = Field(max_length=1000, description="kept in the ledger and the audit log")


class Revocation(Body):
    entry: StampEntry = Field(description="the revoking ledger row")
    program: ProgramCard


# ---------------------------------------------------------------- stamp programs


class RewardIn(Input):
    stamps: StrictInt = Field(ge=1, le=50)
    coupon_id: DbId


class ProgramIn(Input):
    """A whole program (PUT replaces every field)."""

    name: Text = Field(min_length=1, max_length=100)
    stamps_needed: StrictInt = Field(10, ge=1, le=50)
    per_day_limit: StrictInt | None = Field(1, ge=1, le=50, description="null: no limit")
    min_interval_minutes: StrictInt | None = Field(None, ge=1, le=60 * 24 * 30)
    expiry_kind: Literal["none", "from_last", "from_first", "fixed"] = "none"
    expiry_days: StrictInt | None = Field(None, ge=1, le=3650)
    expiry_date: date | None = Field(None, description="the last day, for `fixed`")
    starter_stamps: StrictInt = Field(0, ge=0, le=49, description="given on a first follow")
    remind_days_before: StrictInt | None = Field(None, ge=1, le=90)
    rewards: list[RewardIn] = Field(default_factory=list, max_length=50)
    active: StrictBool = True
    is_default: StrictBool = Field(False, description="true: used when no program is named")


class ProgramReward(Body):
    stamps: int
    coupon_id: int
    title: str


class Program(Body):
    id: int
    name: str
    stamps_needed: int
    per_day_limit: int | None
    min_interval_minutes: int | None
    expiry_kind: str
    expiry_days: int | None
    expiry_date: date | None
    starter_stamps: int
    remind_days_before: int | None
    rewards: list[ProgramReward]
    active: bool
    is_default: bool
    created_at: datetime


class ProgramList(Body):
    data: list[Program]


# ---------------------------------------------------------------- coupons

DiscountType = Literal["amount", "percent", "free_item", "other"]


class CouponIn(Input):
    title: Text = Field(min_length=1, max_length=100)
    description: Text | None = Field(None, max_length=1000)
    image_url: Text | None = Field(None, max_length=2000, description="https://")
    discount_type: DiscountType
    discount_value: StrictInt | None = Field(
        None, ge=0, le=10_000_000, description="yen for amount, 1-100 for percent"
    )
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = Field(None, description="or valid_days, not both")
    valid_days: StrictInt | None = Field(None, ge=1, le=3650, description="from issue")
    per_customer_limit: StrictInt = Field(1, ge=1, le=1000)
    total_limit: StrictInt | None = Field(None, ge=1, le=10_000_000, description="winners")
    lottery_percent: StrictInt | None = Field(None, ge=1, le=99, description="win rate")
    usable_times: StrictInt = Field(1, ge=1, le=100)
    remind_days_before: StrictInt | None = Field(None, ge=1, le=90)
    active: StrictBool = True


class CouponChange(Input):
    """Only the fields given change; null clears an optional field. Giving valid_until clears
    valid_days and the other way round. Codes already issued keep their validity."""

    title: Text | None = Field(None, min_length=1, max_length=100)
    description: Text | None = Field(None, max_length=1000)
    image_url: Text | None = Field(None, max_length=2000)
    discount_type: DiscountType | None = None
    discount_value: StrictInt | None = Field(None, ge=0, le=10_000_000)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: StrictInt | None = Field(None, ge=1, le=3650)
    per_customer_limit: StrictInt | None = Field(None, ge=1, le=1000)
    total_limit: StrictInt | None = Field(None, ge=1, le=10_000_000)
    lottery_percent: StrictInt | None = Field(None, ge=1, le=99)
    usable_times: StrictInt | None = Field(None, ge=1, le=100)
    remind_days_before: StrictInt | None = Field(None, ge=1, le=90)
    active: StrictBool | None = None


class CouponCounts(Body):
    issued: int = Field(description="codes given (lottery winners)")
    redeemed: int = Field(description="codes used at least once")
    expired: int
    revoked: int
    lottery_lost: int


class Coupon(Body):
    id: int
    title: str
    description: str | None
    image_url: str | None
    discount_type: str
    discount_value: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    per_customer_limit: int
    total_limit: int | None
    lottery_percent: int | None
    usable_times: int
    remind_days_before: int | None
    active: bool
    created_at: datetime
    updated_at: datetime
    counts: CouponCounts


class CouponPage(Body):
    data: list[Coupon]
    next_cursor: int | None


class IssueIn(Input):
    customer_ids: list[DbId] = Field(min_length=1, max_length=MAX_ISSUE)
    idempotency_key: Text | None = Field(
        None, min_length=1, max_length=190, description="the same key again: the first results"
    )


class Issued(Body):
    customer_id: int
    status: Literal["issued"]
    code: str
    issued_coupon_id: int
    valid_until: datetime | None


class Refused(Body):
    customer_id: int
    status: Literal["refused"]
    reason: str = Field(description=ISSUE_REASONS)


class IssueResults(Body):
    results: list[Issued | Refused] = Field(description="one per customer id, in order")


class RedemptionIn(Input):
    code: Text = Field(min_length=1, max_length=64, description="dashes, spaces, case ignored")


class Redemption(Body):
    id: int = Field(description="the issued coupon")
    code: str
    status: Literal["valid", "redeemed"] = Field(description="valid: uses are left")
    coupon_id: int
    title: str
    customer_id: int
    valid_until: datetime | None
    uses: int
    usable_times: int
    redemption_id: int = Field(description="the redemption's ledger row")


class CustomerCoupon(Body):
    id: int
    code: str
    status: Literal["valid", "redeemed", "expired", "revoked"]
    valid_from: datetime | None
    valid_until: datetime | None
    title: str
    coupon_id: int
    issued_at: datetime
    redeemed_at: datetime | None
    uses: int
    usable_times: int


class CustomerCouponPage(Body):
    items: list[CustomerCoupon]
    next_cursor: int | None
