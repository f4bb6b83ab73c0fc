"""Loyalty in the chat: the stamp card, coupons and member card on request (keywords and
rich-menu postbacks), a stamp for the counter QR the customer scanned with LINE's camera, and the
welcome gifts on a first follow. `bot/handlers.py` routes to these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.messages import text_message
from bot.turn import Turn
from crm.loyalty.cards import (
    CardLook,
    card_look,
    coupons_message,
    member_card_message,
    say,
    stamp_card_message,
    stamp_cards_message,
)
from crm.loyalty.counter import (
    TOKEN_EXPIRED,
    TOKEN_INVALID,
    TOKEN_USED,
    TokenRefused,
    find_token,
    member_number,
    read_token,
)
from crm.loyalty.coupons import valid_coupons
from crm.loyalty.models import StampProgram
from crm.loyalty.notify import coupon_messages, grant_messages
from crm.loyalty.programs import default_program
from crm.loyalty.stamps import (
    DAILY_LIMIT,
    KEY_USED,
    PROGRAM_INACTIVE,
    TOO_SOON,
    StampRefused,
    card_view,
    card_views,
    grant_stamps,
)
from crm.loyalty.welcome import welcome_gifts


def look_of(turn: Turn) -> CardLook:
    """The shop's texts, time zone and QR image address for this turn's cards."""
    return card_look(turn.session, turn.loyalty.public_base_url, turn.shop_tz)


def send_stamp_cards(turn: Turn) -> None:
    """スタンプカード: the card of every active program, the default one first."""
    default_program(turn.session)  # exists out of the box, made the first time it is asked for
    views = card_views(turn.session, turn.customer.id, turn.now)
    turn.reply([stamp_cards_message(views, look_of(turn))])


def send_coupons(turn: Turn) -> None:
    """クーポン: the customer's coupons that can still be used, soonest ending first."""
    issued = valid_coupons(turn.session, turn.customer.id, turn.now)
    turn.reply([coupons_message(issued, turn.now, look_of(turn))])


def send_member_card(turn: Turn) -> None:
    """会員証: the member number and its QR, for the counter to scan."""
    number = member_number(turn.session, turn.customer.id)
    card = member_card_message(
        number, turn.customer.display_name, look_of(turn), turn.loyalty.secret_key
    )
    turn.reply([card])


# ---------------------------------------------------------------- the counter QR

TOKEN_TEXTS = {
    TOKEN_USED: "loyalty_token_used",
    TOKEN_EXPIRED: "loyalty_token_expired",
    TOKEN_INVALID: "loyalty_token_invalid",
}


def take_counter_token(turn: Turn, text: str) -> bool:
    """A message holding a counter token earns its stamp, once; True when it held one. A used,
    expired or forged token, or a limit, gets a reply that says why nothing was earned."""
    found = find_token(text)
    if found is None:
        return False
    try:
        token = read_token(turn.loyalty.secret_key or "", found, turn.event.occurred_at)
    except TokenRefused as refused:
        turn.reply([text_message(turn.texts[TOKEN_TEXTS[refused.reason]])])
        return True
    program = turn.session.get(StampProgram, token.program_id)
    if program is None:
        turn.reply([text_message(turn.texts[TOKEN_TEXTS[TOKEN_INVALID]])])
        return True
    try:
        result = grant_stamps(
            turn.session,
            turn.customer,
            program,
            token.count,
            turn.now,
            turn.shop_tz,
            via="counter_qr",
            idempotency_key=token.idempotency_key,
        )
    except StampRefused as refused:
        turn.reply([text_message(_refusal_text(turn, program, refused))])
        return True
    if result.replayed:  # this customer sent the same token again
        turn.reply([text_message(turn.texts[TOKEN_TEXTS[TOKEN_USED]])])
        return True
    turn.reply(
        grant_messages(
            turn.session, result, turn.now, turn.loyalty.public_base_url, tz=turn.shop_tz
        )
    )
    return True


def _refusal_text(turn: Turn, program: StampProgram, refused: StampRefused) -> str:
    texts = turn.texts
    if refused.reason == KEY_USED:
        return texts["loyalty_token_used"]
    if refused.reason == DAILY_LIMIT:
        return say(texts["loyalty_daily_limit"], limit=program.per_day_limit)
    if refused.reason == TOO_SOON:
        return say(texts["loyalty_too_soon"], time=_local_time(turn, refused.detail))
    if refused.reason == PROGRAM_INACTIVE:
        return texts["loyalty_program_closed"]
    return texts["loyalty_token_invalid"]


def _local_time(turn: Turn, moment: str) -> str:
    """When the next stamp may come (StampRefused carries it as ISO), in the shop's time."""
    when = datetime.fromisoformat(moment).astimezone(turn.shop_tz)
    today = turn.now.astimezone(turn.shop_tz).date()
    return f"{when:%H:%M}" if when.date() == today else f"{when:%m/%d %H:%M}"


# ---------------------------------------------------------------- a first follow


def give_welcome_gifts(turn: Turn) -> None:
    """A new friend's starter stamps and welcome coupon, after the greeting."""
    look = look_of(turn)
    starters, welcome = welcome_gifts(turn.session, turn.customer, turn.now, turn.shop_tz)
    for result in starters:
        view = card_view(turn.session, turn.customer.id, result.card.program, turn.now)
        headline = say(look.texts["loyalty_starter_stamps"], count=result.entry.delta)
        turn.reply([stamp_card_message(view, look, headline)])
    if welcome is not None and welcome.issued is not None:
        turn.reply(coupon_messages([welcome.issued], turn.now, look.base_url, tz=look.tz))


COMMANDS: dict[str, Callable[[Turn], None]] = {
    "スタンプカード": send_stamp_cards,
    "クーポン": send_coupons,
    "会員証": send_member_card,
}

POSTBACKS: dict[str, Callable[[Turn], None]] = {
    "stamp_card": send_stamp_cards,
    "coupons": send_coupons,
    "member_card": send_member_card,
}
