"""What the bot does for each kind of event: record it, then maybe answer. Dispatch by table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from bot.flow_turns import (
    cancel_run_on_block,
    on_flow_postback,
    on_survey_postback,
    remind_of_question,
    route_text_to_flow,
    start_follow_flows,
)
from bot.inquiry_turns import POSTBACKS as INQUIRY_POSTBACKS
from bot.inquiry_turns import note_media_for_staff, route_question
from bot.loyalty_turns import COMMANDS as LOYALTY_COMMANDS
from bot.loyalty_turns import POSTBACKS as LOYALTY_POSTBACKS
from bot.loyalty_turns import give_welcome_gifts, take_counter_token
from bot.messages import greeting_messages, help_messages, text_message
from bot.preference_turns import COMMANDS as PREFERENCE_COMMANDS
from bot.preference_turns import POSTBACKS as PREFERENCE_POSTBACKS
from bot.turn import Turn
from crm.answer_reading import normalise
from crm.customers import record_follow, record_unfollow
from crm.interactions import mark_unsent
from crm.staff_line import link_by_code, looks_like_code

STAFF_LINKED = "このLINEアカウントをスタッフとして連携しました。配信のテスト送信がここに届きます。"
STAFF_CODE_UNKNOWN = (
    "このコードは無効か期限切れです。受信箱の「マイアカウント」で新しいコードを発行してください。"
)


def on_follow(turn: Turn) -> None:
    """Added or unblocked: (re)activate the customer and greet them; a first follow also brings
    the starter stamps and the welcome coupon."""
    is_unblocked = bool((turn.event.raw.get("follow") or {}).get("isUnblocked"))
    record_follow(turn.session, turn.customer, turn.event.occurred_at, is_unblocked)
    turn.record("follow", payload={"isUnblocked": is_unblocked})
    turn.ensure_conversation()
    turn.reply(greeting_messages(turn.texts))
    if turn.customer.follow_count == 1 and not is_unblocked:
        give_welcome_gifts(turn)
    start_follow_flows(turn)


def on_unfollow(turn: Turn) -> None:
    """Blocked: keep the customer and history, stop messaging them."""
    record_unfollow(turn.session, turn.customer, turn.event.occurred_at)
    turn.record("unfollow")
    cancel_run_on_block(turn)
    turn.ensure_conversation()


def on_message(turn: Turn) -> None:
    """Any message: log it with its metadata, then route text: counter QR, staff link, an
    active flow, keyword commands, then the FAQ and staff (bot/inquiry_turns.py)."""
    message = turn.event.message
    kind = str(message.get("type") or "unknown")
    summary = MESSAGE_SUMMARIES.get(kind, _no_summary)(message)
    turn.record(kind, text=summary, payload=message, line_message_id=_str(message.get("id")))
    if turn.event.is_standby:
        turn.note_customer_spoke(summary or f"[{kind}]")
        return
    if kind == "text" and route_text(turn, message.get("text") or ""):
        turn.note_customer_answered(summary)
        return
    turn.note_customer_spoke(summary or f"[{kind}]")
    if kind != "text" and not remind_of_question(turn):
        note_media_for_staff(turn, kind)


def on_postback(turn: Turn) -> None:
    """A button tap: log data and params, then run the action it names."""
    postback = turn.event.postback
    data = str(postback.get("data") or "")
    turn.record("postback", text=data, payload=postback)
    action = (parse_qs(data).get("action") or [""])[0]
    handler = POSTBACK_ACTIONS.get(action)
    if handler:
        handler(turn)
    else:
        turn.note_customer_spoke(f"[postback] {data}")


def on_unsend(turn: Turn) -> None:
    """The customer took a message back: hide it, keep the record."""
    message_id = _str((turn.event.raw.get("unsend") or {}).get("messageId"))
    if message_id:
        mark_unsent(turn.session, turn.customer, message_id, turn.event.occurred_at)
    turn.record("unsend", payload={"messageId": message_id})


def route_text(turn: Turn, text: str) -> bool:
    """True when the bot dealt with the text; False when staff must answer it."""
    if (
        take_counter_token(turn, text)
        or link_staff_account(turn, text)
        or route_text_to_flow(turn, text, TEXT_COMMANDS)
    ):
        return True
    command = TEXT_COMMANDS.get(normalise(text))
    if command:
        command(turn)
        return True
    return route_question(turn, text)


def link_staff_account(turn: Turn, text: str) -> bool:
    """A staff member's one-time code from the inbox links this LINE account to them."""
    if looks_like_code(text) is None:
        return False
    staff = link_by_code(turn.session, text, turn.customer.line_user_id, turn.now)
    turn.reply([text_message(STAFF_LINKED if staff else STAFF_CODE_UNKNOWN)])
    return True


def send_help(turn: Turn) -> None:
    turn.reply(help_messages(turn.texts))


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _no_summary(message: dict[str, Any]) -> str | None:
    return None


def _location_summary(message: dict[str, Any]) -> str | None:
    parts = [message.get("title"), message.get("address")]
    return " ".join(str(p) for p in parts if p) or None


MESSAGE_SUMMARIES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "text": lambda m: m.get("text"),
    "file": lambda m: m.get("fileName"),
    "location": _location_summary,
    "sticker": lambda m: m.get("text") or None,
}

# Keys in `normalise`d form: width, case and katakana/hiragana are folded (ヘルプ = へるぷ).
TEXT_COMMANDS: dict[str, Callable[[Turn], None]] = {
    "へるぷ": send_help,
    "help": send_help,
    **{normalise(keyword): command for keyword, command in LOYALTY_COMMANDS.items()},
    **{normalise(keyword): command for keyword, command in PREFERENCE_COMMANDS.items()},
}

POSTBACK_ACTIONS: dict[str, Callable[[Turn], None]] = {
    "help": send_help,
    "flow": on_flow_postback,
    "survey": on_survey_postback,
    **LOYALTY_POSTBACKS,
    **PREFERENCE_POSTBACKS,
    **INQUIRY_POSTBACKS,
}

EVENT_HANDLERS: dict[str, Callable[[Turn], None]] = {
    "follow": on_follow,
    "unfollow": on_unfollow,
    "message": on_message,
    "postback": on_postback,
    "unsend": on_unsend,
}
