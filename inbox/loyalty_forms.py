"""The stamp-program and coupon forms: what staff typed, as ProgramInput / CouponInput for
crm/loyalty to check, and a stored program or coupon back as the form's fields.

Numbers stay text until they are read here, so a form sent back with an error shows what was
typed. Coupon dates are whole days in the shop's time zone: valid from the start of the first day
to the end of the last."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.loyalty.coupons import CouponError, CouponInput
from crm.loyalty.models import Coupon, StampProgram
from crm.loyalty.programs import ProgramError, ProgramInput

REWARD_ROWS = 4
NO_END, UNTIL_DATE, DAYS_AFTER_ISSUE = "none", "until", "days"
VALIDITY_MODES = (NO_END, UNTIL_DATE, DAYS_AFTER_ISSUE)


def _number(form, name: str, error: type[ValueError], optional: bool = True) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw and optional:
        return None
    try:
        return int(raw)
    except ValueError:
        raise error(name, "a whole number") from None


def _text(value) -> str:
    return "" if value is None else str(value)


def _day(raw: str, where: str, error: type[ValueError]) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise error(where, "a date as YYYY-MM-DD") from None


# ---------------------------------------------------------------- programs


@dataclass
class ProgramFields:
    name: str = ""
    stamps_needed: str = "10"
    per_day_limit: str = "1"
    min_interval_minutes: str = ""
    expiry_kind: str = "none"
    expiry_days: str = ""
    expiry_date: str = ""
    starter_stamps: str = "0"
    remind_days_before: str = ""
    rewards: list[tuple[str, str]] = field(default_factory=list)  # (stamps, coupon id)
    active: bool = True
    make_default: bool = False


def program_fields_from_form(form) -> ProgramFields:
    """The program form as typed (blank reward rows dropped)."""
    names = (
        "stamps_needed",
        "per_day_limit",
        "min_interval_minutes",
        "expiry_days",
        "expiry_date",
        "starter_stamps",
        "remind_days_before",
    )
    rewards = [
        (form.get(f"reward{n}_stamps", "").strip(), form.get(f"reward{n}_coupon", ""))
        for n in range(REWARD_ROWS)
    ]
    return ProgramFields(
        name=form.get("name", "").strip()[:100],
        expiry_kind=form.get("expiry_kind", "none"),
        rewards=[(s, c) for s, c in rewards if s or c],
        active=form.get("active") == "1",
        make_default=form.get("make_default") == "1",
        **{name: form.get(name, "").strip()[:20] for name in names},
    )


def program_input(fields: ProgramFields) -> ProgramInput:
    """Raises ProgramError naming a field that is not a number or date."""
    form = fields.__dict__
    return ProgramInput(
        name=fields.name,
        stamps_needed=_number(form, "stamps_needed", ProgramError, optional=False),
        per_day_limit=_number(form, "per_day_limit", ProgramError),
        min_interval_minutes=_number(form, "min_interval_minutes", ProgramError),
        expiry_kind=fields.expiry_kind,
        expiry_days=_number(form, "expiry_days", ProgramError),
        expiry_date=_day(fields.expiry_date, "expiry_date", ProgramError),
        starter_stamps=_number(form, "starter_stamps", ProgramError) or 0,
        remind_days_before=_number(form, "remind_days_before", ProgramError),
        rewards=_rewards(fields.rewards),
        active=fields.active,
    )


def _rewards(rows: list[tuple[str, str]]) -> dict[int, int]:
    rewards: dict[int, int] = {}
    for n, (stamps, coupon) in enumerate(rows):
        where = f"rewards.{stamps or n + 1}"
        if not (stamps.isdigit() and coupon.isdigit()):
            raise ProgramError(where, "a number of stamps and a coupon")
        if int(stamps) in rewards:
            raise ProgramError(where, "one reward per number of stamps")
        rewards[int(stamps)] = int(coupon)
    return rewards


def program_fields_of(program: StampProgram) -> ProgramFields:
    """A stored program as the form shows it."""
    return ProgramFields(
        name=program.name,
        stamps_needed=_text(program.stamps_needed),
        per_day_limit=_text(program.per_day_limit),
        min_interval_minutes=_text(program.min_interval_minutes),
        expiry_kind=program.expiry_kind,
        expiry_days=_text(program.expiry_days),
        expiry_date=program.expiry_date.isoformat() if program.expiry_date else "",
        starter_stamps=_text(program.starter_stamps),
        remind_days_before=_text(program.remind_days_before),
        rewards=[(str(r.stamps), str(r.coupon_id)) for r in program.rewards],
        active=program.active,
        make_default=program.is_default,
    )


# ---------------------------------------------------------------- coupons


@dataclass
class CouponFields:
    title: str = ""
    description: str = ""
    image_url: str = ""
    discount_type: str = "percent"
    discount_value: str = ""
    valid_from: str = ""  # YYYY-MM-DD, shop time
    validity: str = NO_END
    valid_until: str = ""  # YYYY-MM-DD, the last valid day
    valid_days: str = ""
    per_customer_limit: str = "1"
    total_limit: str = ""
    lottery_percent: str = ""
    usable_times: str = "1"
    remind_days_before: str = ""
    active: bool = True


NUMBER_FIELDS = (
    "discount_value",
    "valid_days",
    "per_customer_limit",
    "total_limit",
    "lottery_percent",
    "usable_times",
    "remind_days_before",
)


def coupon_fields_from_form(form) -> CouponFields:
    """The coupon form as typed."""
    validity = form.get("validity", NO_END)
    return CouponFields(
        title=form.get("title", "").strip()[:100],
        description=form.get("description", "").strip()[:1000],
        image_url=form.get("image_url", "").strip()[:2000],
        discount_type=form.get("discount_type", ""),
        valid_from=form.get("valid_from", "").strip(),
        validity=validity if validity in VALIDITY_MODES else NO_END,
        valid_until=form.get("valid_until", "").strip(),
        active=form.get("active") == "1",
        **{name: form.get(name, "").strip()[:20] for name in NUMBER_FIELDS},
    )


def coupon_input(fields: CouponFields, tz: ZoneInfo, kept: Coupon | None = None) -> CouponInput:
    """Raises CouponError naming a field that is not a number or date. A date left as it was
    keeps the stored instant (one the API set to a time of day stays as it is)."""
    form = fields.__dict__
    numbers = {name: _number(form, name, CouponError) for name in NUMBER_FIELDS}
    until_day = _day(fields.valid_until, "valid_until", CouponError)
    if fields.validity == UNTIL_DATE and until_day is None:
        raise CouponError("valid_until", "choose the last valid day")
    if fields.validity == DAYS_AFTER_ISSUE and numbers["valid_days"] is None:
        raise CouponError("valid_days", "a whole number from 1 to 3650")
    from_day = _day(fields.valid_from, "valid_from", CouponError)
    return CouponInput(
        title=fields.title,
        description=fields.description or None,
        image_url=fields.image_url or None,
        discount_type=fields.discount_type,
        discount_value=numbers["discount_value"],
        valid_from=_start_of(from_day, tz, kept.valid_from if kept else None),
        valid_until=(
            _end_of(until_day, tz, kept.valid_until if kept else None)
            if fields.validity == UNTIL_DATE
            else None
        ),
        valid_days=numbers["valid_days"] if fields.validity == DAYS_AFTER_ISSUE else None,
        per_customer_limit=numbers["per_customer_limit"] or 1,
        total_limit=numbers["total_limit"],
        lottery_percent=numbers["lottery_percent"],
        usable_times=numbers["usable_times"] or 1,
        remind_days_before=numbers["remind_days_before"],
        active=fields.active,
    )


def _start_of(day: date | None, tz: ZoneInfo, kept: datetime | None) -> datetime | None:
    if day is None:
        return None
    if kept is not None and first_day(kept, tz) == day:
        return kept
    return datetime.combine(day, time.min, tz)


def _end_of(day: date | None, tz: ZoneInfo, kept: datetime | None) -> datetime | None:
    if day is None:
        return None
    if kept is not None and last_day(kept, tz) == day:
        return kept
    return datetime.combine(day + timedelta(days=1), time.min, tz)


def first_day(instant: datetime, tz: ZoneInfo) -> date:
    """The shop day an instant falls on."""
    return instant.astimezone(tz).date()


def last_day(until: datetime, tz: ZoneInfo) -> date:
    """The last shop day still valid before `until` (an end at midnight is the day before)."""
    return (until.astimezone(tz) - timedelta(microseconds=1)).date()


def coupon_fields_of(coupon: Coupon, tz: ZoneInfo) -> CouponFields:
    """A stored coupon as the form shows it, its instants as shop days."""
    validity = NO_END
    if coupon.valid_until:
        validity = UNTIL_DATE
    elif coupon.valid_days:
        validity = DAYS_AFTER_ISSUE
    return CouponFields(
        title=coupon.title,
        description=coupon.description or "",
        image_url=coupon.image_url or "",
        discount_type=coupon.discount_type,
        discount_value=_text(coupon.discount_value),
        valid_from=first_day(coupon.valid_from, tz).isoformat() if coupon.valid_from else "",
        validity=validity,
        valid_until=last_day(coupon.valid_until, tz).isoformat() if coupon.valid_until else "",
        valid_days=_text(coupon.valid_days),
        per_customer_limit=_text(coupon.per_customer_limit),
        total_limit=_text(coupon.total_limit),
        lottery_percent=_text(coupon.lottery_percent),
        usable_times=_text(coupon.usable_times),
        remind_days_before=_text(coupon.remind_days_before),
        active=coupon.active,
    )


def customer_ids_from(form) -> list[int]:
    """Ids ticked in the list and ids pasted (separated by commas, spaces or new lines)."""
    pasted = form.get("customer_ids", "").replace(",", " ").replace("、", " ").split()
    ids = [*form.getlist("customer_id"), *pasted]
    return list(dict.fromkeys(int(i) for i in ids if i.isdigit() and len(i) < 19))
