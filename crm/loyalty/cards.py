"""What a customer sees of their loyalty in LINE: the stamp card (stamps drawn as a grid), coupon
cards with code and QR, the list of valid coupons and the member card, as Flex messages rendered
from flex_templates/ and checked against LINE's limits.

QR images are served by the app (web/qr.py) under the public base URL; without one the cards
show codes and numbers only. A member QR's address is signed with the deployment's secret, so
member numbers cannot be walked through by changing the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm.bot_texts import load_texts
from crm.flex import flex_part, render_flex
from crm.line_limits import (
    MAX_ALT_TEXT,
    MAX_CAROUSEL_BUBBLES,
    MAX_CAROUSEL_BYTES,
    truncate_utf16,
)
from crm.loyalty.coupons import shown_code
from crm.loyalty.models import EXPIRY_FIXED, EXPIRY_FROM_FIRST, EXPIRY_FROM_LAST, IssuedCoupon
from crm.loyalty.stamps import CardView
from crm.shop import shop_timezone_name

DEFAULT_TIMEZONE = "Asia/Tokyo"  # when the caller knows no better and staff chose none
CELLS_PER_ROW = 5
CAROUSEL_MARGIN = 200  # bytes for the carousel's own JSON around its bubbles
MEMBER_TOKEN = re.compile(r"(\d{8})-([A-Za-z0-9_-]{16})")
EXPIRY_RULES = {
    EXPIRY_FROM_LAST: "loyalty_expiry_from_last",
    EXPIRY_FROM_FIRST: "loyalty_expiry_from_first",
}
SOURCE_NOTES = {
    "follow": "loyalty_coupon_from_follow",
    "survey": "loyalty_coupon_from_survey",
    "reward": "loyalty_coupon_from_reward",
}


@dataclass(frozen=True)
class CardLook:
    """What every card needs from the shop: its words, its time zone, where QR images live."""

    texts: dict[str, str]
    tz: ZoneInfo
    base_url: str | None = None


def card_look(session: Session, base_url: str | None, tz: ZoneInfo | None = None) -> CardLook:
    """The shop's texts and time zone (staff's choice, else `tz`, else Asia/Tokyo)."""
    if tz is None:
        tz = ZoneInfo(shop_timezone_name(session, DEFAULT_TIMEZONE))
    return CardLook(load_texts(session), tz, base_url.rstrip("/") if base_url else None)


def say(text: str, **values: Any) -> str:
    """A shop text with its `{name}` blanks filled (plain replacement: a stray brace is kept)."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def text_message(text: str) -> dict[str, Any]:
    """A plain text message, cut to LINE's length."""
    return {"type": "text", "text": truncate_utf16(text)}


def _alt(text: str) -> str:
    return text[:MAX_ALT_TEXT]


def carousel_message(alt_text: str, bubbles: list[dict[str, Any]]) -> dict[str, Any]:
    """Bubbles side by side: the first ones, as many as LINE takes (12 bubbles, 50 KB)."""
    shown = bubbles[:MAX_CAROUSEL_BUBBLES]
    while len(shown) > 1 and _json_bytes(shown) > MAX_CAROUSEL_BYTES - CAROUSEL_MARGIN:
        shown = shown[:-1]
    return render_flex("carousel", alt_text=_alt(alt_text), bubbles=shown)


def _json_bytes(node: Any) -> int:
    return len(json.dumps(node, ensure_ascii=False, separators=(",", ":")).encode())


# ---------------------------------------------------------------- dates


def shown_day(moment: datetime, tz: ZoneInfo) -> str:
    """The last day something is good for: an end at local midnight belongs to the day before."""
    local = moment.astimezone(tz)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        local -= timedelta(days=1)
    return f"{local:%Y/%m/%d}"


def shown_moment(moment: datetime, tz: ZoneInfo, *, end: bool = True) -> str:
    """A date, with the time unless it is a day's boundary (an end shows the day before)."""
    local = moment.astimezone(tz)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return shown_day(moment, tz) if end else f"{local:%Y/%m/%d}"
    return f"{local:%Y/%m/%d %H:%M}"


# ---------------------------------------------------------------- stamp card


def stamp_card_message(
    view: CardView, look: CardLook, headline: str | None = None
) -> dict[str, Any]:
    """One program's card: progress, the grid of stamps, the next reward, expiry."""
    texts, program = look.texts, view.program
    stamps = min(view.stamps, view.goal)
    alt = f"{headline} " if headline else ""
    return render_flex(
        "stamp_card",
        alt_text=_alt(f"{alt}{program.name} {stamps}/{view.goal}"),
        shop_name=texts["shop_name"],
        program_name=program.name,
        headline=_part("stamp_card", "headline", headline),
        stamps=str(stamps),
        goal=str(view.goal),
        completed=_part(
            "stamp_card",
            "completed",
            say(texts["loyalty_cards_completed"], count=view.completed_cards)
            if view.completed_cards
            else None,
        ),
        rows=stamp_rows(view, texts),
        next_reward=next_reward_text(view, texts),
        notes=[flex_part("stamp_card", "note", text=note) for note in _card_notes(view, look)],
        coupons_label=texts["loyalty_coupons_label"],
        member_label=texts["loyalty_member_label"],
    )


def stamp_cards_message(views: list[CardView], look: CardLook) -> dict[str, Any]:
    """Every program's card: one bubble, or a carousel when there are several."""
    if not views:
        return text_message(look.texts["loyalty_no_programs"])
    cards = [stamp_card_message(view, look) for view in views[:MAX_CAROUSEL_BUBBLES]]
    if len(cards) == 1:
        return cards[0]
    alt = " / ".join(card["altText"] for card in cards)
    return carousel_message(alt, [card["contents"] for card in cards])


def stamp_rows(view: CardView, texts: dict[str, str]) -> list[dict[str, Any]]:
    """The grid: a cell per stamp of the goal, filled up to the count, milestones marked."""
    milestones = {reward.stamps for reward in view.program.rewards}
    cells = [_cell(n, view.stamps, milestones, texts) for n in range(1, view.goal + 1)]
    return [
        flex_part("stamp_card", "row", cells=cells[start : start + CELLS_PER_ROW])
        for start in range(0, len(cells), CELLS_PER_ROW)
    ]


def _cell(n: int, stamps: int, milestones: set[int], texts: dict[str, str]) -> dict[str, Any]:
    if n <= stamps:
        return flex_part("stamp_card", "filled")
    if n in milestones:
        return flex_part("stamp_card", "reward", label=texts["loyalty_reward_cell"])
    return flex_part("stamp_card", "empty", label=str(n))


def next_reward_text(view: CardView, texts: dict[str, str]) -> str:
    """あと3個で ドリンク1杯無料; the stamps left to the goal when no reward is ahead."""
    if view.stamps >= view.goal:
        return texts["loyalty_card_full"]
    if view.next_reward is not None:
        left = view.next_reward.stamps - view.stamps
        return say(texts["loyalty_next_reward"], left=left, reward=view.next_reward.coupon.title)
    return say(texts["loyalty_goal_left"], left=view.goal - view.stamps)


def _card_notes(view: CardView, look: CardLook) -> list[str]:
    texts, program = look.texts, view.program
    notes = []
    if view.expires_at is not None:
        notes.append(say(texts["loyalty_card_expires"], date=shown_day(view.expires_at, look.tz)))
    elif program.expiry_kind == EXPIRY_FIXED and program.expiry_date is not None:
        notes.append(say(texts["loyalty_card_expires"], date=f"{program.expiry_date:%Y/%m/%d}"))
    elif program.expiry_kind in EXPIRY_RULES and program.expiry_days:
        notes.append(say(texts[EXPIRY_RULES[program.expiry_kind]], days=program.expiry_days))
    if program.per_day_limit:
        notes.append(say(texts["loyalty_per_day"], limit=program.per_day_limit))
    return notes


def _part(template: str, part: str, text: str | None) -> dict[str, Any] | None:
    """A text part, or None (the slot is left out) when there is nothing to say."""
    return flex_part(template, part, text=text) if text else None


# ---------------------------------------------------------------- coupons


def coupon_message(issued: IssuedCoupon, now: datetime, look: CardLook) -> dict[str, Any]:
    """One issued coupon: what it gives, until when, its code and QR."""
    coupon, texts = issued.coupon, look.texts
    code = shown_code(issued.code or "")
    return render_flex(
        "coupon",
        alt_text=_alt(say(texts["loyalty_coupon_alt"], title=coupon.title)),
        shop_name=texts["shop_name"],
        hero=flex_part("coupon", "hero", url=coupon.image_url) if coupon.image_url else None,
        title=coupon.title,
        discount=_part("coupon", "discount", discount_text(coupon, texts)),
        description=_part("coupon", "description", (coupon.description or "").strip()),
        valid_until=_validity(issued, look),
        notes=[flex_part("coupon", "note", text=note) for note in _coupon_notes(issued, now, look)],
        code_label=texts["loyalty_code_label"],
        code=code,
        qr=(
            flex_part("coupon", "qr", url=coupon_qr_url(look.base_url, issued.code))
            if look.base_url and issued.code
            else None
        ),
        hint=texts["loyalty_coupon_hint"],
    )


def coupons_message(issued: list[IssuedCoupon], now: datetime, look: CardLook) -> dict[str, Any]:
    """The customer's valid coupons side by side (12 at most), or a line saying there are none."""
    if not issued:
        return text_message(look.texts["loyalty_no_coupons"])
    cards = [coupon_message(item, now, look) for item in issued[:MAX_CAROUSEL_BUBBLES]]
    if len(cards) == 1:
        return cards[0]
    alt = say(look.texts["loyalty_coupons_alt"], count=len(issued))
    return carousel_message(alt, [card["contents"] for card in cards])


def discount_text(coupon, texts: dict[str, str]) -> str | None:
    """500円引き, 10%OFF, 無料; nothing for `other` (the title says it)."""
    if coupon.discount_type == "amount" and coupon.discount_value:
        return say(texts["loyalty_discount_amount"], value=f"{coupon.discount_value:,}")
    if coupon.discount_type == "percent" and coupon.discount_value:
        return say(texts["loyalty_discount_percent"], value=coupon.discount_value)
    if coupon.discount_type == "free_item":
        return texts["loyalty_discount_free_item"]
    return None


def _validity(issued: IssuedCoupon, look: CardLook) -> str:
    if issued.valid_until is None:
        return look.texts["loyalty_coupon_no_end"]
    until = shown_moment(issued.valid_until, look.tz)
    return say(look.texts["loyalty_coupon_valid_until"], date=until)


def _coupon_notes(issued: IssuedCoupon, now: datetime, look: CardLook) -> list[str]:
    texts, notes = look.texts, []
    if issued.valid_from is not None and issued.valid_from > now:
        notes.append(
            say(
                texts["loyalty_coupon_valid_from"],
                date=shown_moment(issued.valid_from, look.tz, end=False),
            )
        )
    if issued.usable_times > 1:
        left = issued.usable_times - issued.uses
        notes.append(say(texts["loyalty_coupon_uses_left"], count=left))
    if issued.source in SOURCE_NOTES:
        notes.append(texts[SOURCE_NOTES[issued.source]])
    return notes


# ---------------------------------------------------------------- member card


def member_card_message(
    number: str, display_name: str | None, look: CardLook, secret: str | None
) -> dict[str, Any]:
    """The member number as a QR the counter scans, and as digits to type."""
    texts = look.texts
    name = say(texts["loyalty_member_name"], name=display_name) if display_name else None
    url = member_qr_url(look.base_url, secret, number) if look.base_url and secret else None
    return render_flex(
        "member_card",
        alt_text=_alt(texts["loyalty_member_title"]),
        shop_name=texts["shop_name"],
        title=texts["loyalty_member_title"],
        member_name=_part("member_card", "name", name),
        qr=flex_part("member_card", "qr", url=url) if url else None,
        number_label=texts["loyalty_member_number_label"],
        number=f"{number[:4]} {number[4:]}",
        hint=texts["loyalty_member_hint"],
    )


# ---------------------------------------------------------------- QR image addresses


def coupon_qr_url(base_url: str, code: str) -> str:
    """Where the coupon code's QR image is served (web/qr.py)."""
    return f"{base_url.rstrip('/')}/qr/coupon/{code}.png"


def member_qr_url(base_url: str, secret: str, number: str) -> str:
    """Where the member number's QR image is served, signed so numbers cannot be guessed."""
    return f"{base_url.rstrip('/')}/qr/member/{member_qr_token(secret, number)}.png"


def member_qr_token(secret: str, number: str) -> str:
    """`12345678-<signature>`: the number with a signature only this deployment can make."""
    return f"{number}-{_member_signature(secret, number)}"


def read_member_qr_token(secret: str, token: str) -> str | None:
    """The member number a signed token names, or None when it was not signed by us."""
    match = MEMBER_TOKEN.fullmatch(token or "")
    if match is None:
        return None
    number, signature = match.groups()
    return number if hmac.compare_digest(signature, _member_signature(secret, number)) else None


def _member_signature(secret: str, number: str) -> str:
    digest = hmac.new(secret.encode(), b"member-qr\0" + number.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()
