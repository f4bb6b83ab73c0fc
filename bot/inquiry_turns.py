"""Questions in the chat: FAQ answers, もしかして suggestions, the お問い合わせ category menu,
and the hand-off to staff (after which the bot stays quiet in that chat until staff resolve it
or resume it). `route_question` is asked after flows and keyword commands."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from sqlalchemy import select

from bot.faq_messages import (
    answer_messages,
    category_faq_messages,
    category_menu_messages,
    suggestion_messages,
)
from bot.messages import ack_messages, text_message
from bot.turn import Turn
from crm.business_hours import away_reply_due, away_text, load_business_hours
from crm.faq.answering import FaqMatch, match_text, record_lookup, record_outcome
from crm.faq.entries import load_faq_settings
from crm.faq.matching import is_pleasantry
from crm.faq.models import (
    DECISION_ANSWER,
    DECISION_SUGGEST,
    OUTCOME_HANDOFF,
    OUTCOME_PICKED,
    OUTCOME_RESOLVED,
    Faq,
    FaqLookup,
)
from crm.inquiries.handoff_words import wants_staff
from crm.inquiries.lifecycle import (
    continue_inquiry,
    deflect_inquiry,
    hand_off,
    open_inquiry,
    pick_category,
)
from crm.inquiries.models import SOURCE_HANDOFF, SOURCE_MESSAGE, SOURCE_UNMATCHED, Inquiry
from crm.inquiries.routing import load_inquiry_settings

ACK_COOLDOWN_MINUTES = 30
MAX_CATEGORY_FAQS = 12


def route_question(turn: Turn, text: str) -> bool:
    """A message no flow or command took: True when the bot dealt with it (an FAQ answer or
    suggestions), False when staff must answer it (an inquiry is opened or continued)."""
    if wants_staff(text):
        ask_for_staff(turn, text)
        return False
    inquiry = open_inquiry(turn.session, turn.customer.id)
    if turn.conversation().bot_paused:
        _note_for_staff(turn, inquiry, text, SOURCE_MESSAGE)
        send_away_message(turn)
        return False
    if answer_from_faq(turn, text, inquiry):
        return True
    _note_for_staff(turn, inquiry, text, SOURCE_UNMATCHED)
    acknowledge(turn)
    return False


def answer_from_faq(turn: Turn, text: str, inquiry: Inquiry | None) -> bool:
    """Answer or suggest from the FAQs; False when they have nothing close enough, the shop
    turned FAQ answers off, or the message is only a greeting or thanks (not a question)."""
    settings = load_faq_settings(turn.session)
    if not settings.enabled or is_pleasantry(text):
        return False
    found = match_text(turn.session, text, settings.thresholds)
    category = _category_in_hand(turn, inquiry)
    lookup = record_lookup(turn.session, turn.customer.id, text, found, turn.now, category)
    reply = REPLIES.get(found.decision)
    if reply is None:
        return False
    turn.session.flush()  # the buttons name the lookup
    turn.reply(reply(found, lookup.id, turn.texts))
    return True


def _answer(found: FaqMatch, lookup_id: int, texts: dict[str, str]) -> list[dict]:
    return answer_messages(found.best, lookup_id, texts)


def _suggest(found: FaqMatch, lookup_id: int, texts: dict[str, str]) -> list[dict]:
    return suggestion_messages([faq for faq, _score in found.matches], lookup_id, texts)


REPLIES: dict[str, Callable[[FaqMatch, int, dict[str, str]], list[dict]]] = {
    DECISION_ANSWER: _answer,
    DECISION_SUGGEST: _suggest,
}


def _category_in_hand(turn: Turn, inquiry: Inquiry | None) -> str | None:
    """The category the customer is asking about: their open inquiry's, or the one they
    picked in the お問い合わせ menu."""
    if inquiry is not None and inquiry.category:
        return inquiry.category
    return turn.conversation().inquiry_category


def note_media_for_staff(turn: Turn, kind: str) -> None:
    """A photo, file or location outside a survey is for staff (part of the inquiry); a
    sticker alone is not a question."""
    if kind != "sticker":
        inquiry = open_inquiry(turn.session, turn.customer.id)
        _note_for_staff(turn, inquiry, f"[{kind}]", SOURCE_MESSAGE)


def _note_for_staff(turn: Turn, inquiry: Inquiry | None, text: str, source: str) -> None:
    continue_inquiry(turn.session, turn.customer.id, inquiry, turn.now, source=source, text=text)


def acknowledge(turn: Turn) -> None:
    """Outside business hours the away message (once a day, saying when staff will answer);
    otherwise an acknowledgement at most every half hour."""
    if send_away_message(turn):
        return
    last = turn.customer.last_auto_reply_at
    if last is None or (turn.now - last).total_seconds() >= ACK_COOLDOWN_MINUTES * 60:
        turn.customer.last_auto_reply_at = turn.now
        turn.reply(ack_messages(turn.texts))


def send_away_message(turn: Turn) -> bool:
    """Outside business hours, tell the customer when staff will answer; True if sent."""
    hours = load_business_hours(turn.session)
    if not hours.enabled:
        return False
    if not away_reply_due(hours, turn.now, turn.customer.last_away_reply_at, turn.shop_tz):
        return False
    turn.customer.last_away_reply_at = turn.now
    turn.customer.last_auto_reply_at = turn.now  # the away message is the acknowledgement
    turn.reply([text_message(away_text(hours, turn.now, turn.shop_tz))])
    return True


def ask_for_staff(turn: Turn, text: str | None = None, category: str | None = None) -> None:
    """The customer wants a person: pause the bot in this chat, open (or continue) the
    inquiry, and say when staff will answer."""
    was_paused = turn.conversation().bot_paused
    hand_off(
        turn.session,
        turn.customer.id,
        turn.now,
        source=SOURCE_HANDOFF,
        text=text,
        category=category,
    )
    turn.customer.last_auto_reply_at = turn.now
    hours = load_business_hours(turn.session)
    if hours.enabled and not hours.is_open(turn.now.astimezone(turn.shop_tz)):
        turn.customer.last_away_reply_at = turn.now
        turn.reply([text_message(away_text(hours, turn.now, turn.shop_tz))])
        return
    turn.reply([text_message(turn.texts["handoff_already" if was_paused else "handoff_ack"])])


# Postbacks ---------------------------------------------------------------------------------------


def on_faq_postback(turn: Turn) -> None:
    """`action=faq&id=…[&lookup=…]`: a suggestion or a category's FAQ tapped: its answer."""
    data = _data(turn)
    faq = _active_faq(turn, data.get("id"))
    lookup_id = _int(data.get("lookup"))
    if lookup_id is not None:
        record_outcome(
            turn.session,
            lookup_id,
            turn.customer.id,
            OUTCOME_PICKED,
            turn.now,
            faq_id=faq.id if faq else None,
        )
    if faq is None:
        turn.reply([text_message(turn.texts["faq_gone"])])
        return
    lookup = _picked_lookup(turn, faq, lookup_id)
    turn.reply(answer_messages(faq, lookup.id, turn.texts))
    turn.note_customer_answered(faq.questions[0])


def _picked_lookup(turn: Turn, faq: Faq, lookup_id: int | None) -> FaqLookup:
    """The lookup the answer's buttons report to: the suggestion's own, or (from the category
    menu) a new one, counted as answered by the FAQ."""
    lookup = turn.session.get(FaqLookup, lookup_id) if lookup_id is not None else None
    if lookup is not None and lookup.customer_id == turn.customer.id:
        return lookup
    lookup = FaqLookup(
        customer_id=turn.customer.id,
        asked_at=turn.now,
        text=faq.questions[0][:500],
        decision=DECISION_ANSWER,
        faq_id=faq.id,
        score=1.0,
        suggested_ids=[faq.id],
        category=faq.category,
    )
    turn.session.add(lookup)
    turn.session.flush()
    return lookup


def on_faq_feedback(turn: Turn) -> None:
    """`action=faq_feedback&lookup=…&outcome=resolved|handoff`: 解決しました or スタッフに聞く."""
    data = _data(turn)
    lookup_id, outcome = _int(data.get("lookup")), data.get("outcome")
    handler = FEEDBACK.get(outcome or "")
    if lookup_id is None or handler is None:
        return
    lookup = record_outcome(turn.session, lookup_id, turn.customer.id, outcome, turn.now)
    if lookup is not None:
        handler(turn, lookup)


def _resolved(turn: Turn, lookup: FaqLookup) -> None:
    deflect_inquiry(turn.session, turn.customer.id, turn.now)
    turn.reply([text_message(turn.texts["faq_thanks"])])
    turn.note_customer_answered(turn.texts["faq_resolved_label"])


def _wants_staff_after(turn: Turn, lookup: FaqLookup) -> None:
    ask_for_staff(turn, lookup.text, lookup.category)
    turn.note_customer_spoke(lookup.text)


FEEDBACK: dict[str, Callable[[Turn, FaqLookup], None]] = {
    OUTCOME_RESOLVED: _resolved,
    OUTCOME_HANDOFF: _wants_staff_after,
}


def on_inquiry_postback(turn: Turn) -> None:
    """`action=inquiry`: the category menu; `&category=…`: that category's FAQs, and the
    inquiry (if the customer goes on to need staff) is filed under it."""
    category = _data(turn).get("category")
    categories = list(load_inquiry_settings(turn.session).categories)
    if category not in categories:
        turn.reply(category_menu_messages(categories, turn.texts))
        return
    pick_category(turn.conversation(), category)
    faqs = turn.session.scalars(
        select(Faq)
        .where(Faq.active, Faq.category == category)
        .order_by(Faq.position, Faq.id)
        .limit(MAX_CATEGORY_FAQS)
    )
    turn.reply(category_faq_messages(category, list(faqs), turn.texts))
    turn.note_customer_answered(category)


def on_handoff_postback(turn: Turn) -> None:
    """`action=handoff`: the スタッフに聞く button."""
    inquiry = open_inquiry(turn.session, turn.customer.id)
    ask_for_staff(turn, category=_category_in_hand(turn, inquiry))
    turn.note_customer_spoke(turn.texts["faq_handoff_label"])


def _data(turn: Turn) -> dict[str, str]:
    parsed = parse_qs(str(turn.event.postback.get("data") or ""))
    return {key: values[0] for key, values in parsed.items() if values}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 18 else None


def _active_faq(turn: Turn, value: str | None) -> Faq | None:
    faq_id = _int(value)
    faq = turn.session.get(Faq, faq_id) if faq_id is not None else None
    return faq if faq is not None and faq.active else None


POSTBACKS: dict[str, Callable[[Turn], None]] = {
    "faq": on_faq_postback,
    "faq_feedback": on_faq_feedback,
    "inquiry": on_inquiry_postback,
    "handoff": on_handoff_postback,
}
