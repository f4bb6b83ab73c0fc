"""The FAQ's messages: an answer with 解決しました / スタッフに聞く, the もしかして suggestions,
and the お問い合わせ category menu. Postback data names the lookup it belongs to, so the
customer's tap is recorded against the right question."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from crm.faq.models import ANSWER_FLEX, Faq
from crm.flex import check_flex_message, flex_part, render_flex
from crm.line_limits import (
    MAX_ALT_TEXT,
    MAX_BUTTON_LABEL,
    MAX_QUICK_REPLY_ITEMS,
    MAX_QUICK_REPLY_LABEL,
    truncate_utf16,
)

OUTCOME_BUTTONS = ("resolved", "handoff")


def faq_data(faq_id: int, lookup_id: int | None = None) -> str:
    values = {"action": "faq", "id": faq_id}
    if lookup_id is not None:
        values["lookup"] = lookup_id
    return urlencode(values)


def feedback_data(lookup_id: int, outcome: str) -> str:
    return urlencode({"action": "faq_feedback", "lookup": lookup_id, "outcome": outcome})


def handoff_data() -> str:
    return "action=handoff"


def category_data(category: str) -> str:
    return urlencode({"action": "inquiry", "category": category})


def answer_messages(faq: Faq, lookup_id: int, texts: dict[str, str]) -> list[dict[str, Any]]:
    """The FAQ's answer (text or Flex) with 解決しました / スタッフに聞く and its own quick
    replies underneath."""
    message = ANSWER_BUILDERS.get(faq.answer_kind, _text_answer)(faq)
    items = [
        _postback_item(texts["faq_resolved_label"], feedback_data(lookup_id, "resolved")),
        _postback_item(texts["faq_handoff_label"], feedback_data(lookup_id, "handoff")),
        *(_message_item(label) for label in faq.quick_replies),
    ]
    message["quickReply"] = {"items": items[:MAX_QUICK_REPLY_ITEMS]}
    return [message]


def _text_answer(faq: Faq) -> dict[str, Any]:
    return {"type": "text", "text": truncate_utf16(faq.answer)}


def _flex_answer(faq: Faq) -> dict[str, Any]:
    message = {
        "type": "flex",
        "altText": truncate_utf16(faq.answer, MAX_ALT_TEXT),
        "contents": faq.answer_flex,
    }
    check_flex_message(message)
    return message


ANSWER_BUILDERS = {"text": _text_answer, ANSWER_FLEX: _flex_answer}


def suggestion_messages(
    faqs: list[Faq], lookup_id: int, texts: dict[str, str]
) -> list[dict[str, Any]]:
    """もしかして: each close FAQ's first example question as a button, then スタッフに聞く."""
    buttons = [
        flex_part(
            "faq_suggestions",
            "button",
            label=_label(faq.questions[0], MAX_BUTTON_LABEL),
            data=faq_data(faq.id, lookup_id),
            text=truncate_utf16(faq.questions[0], 300),
        )
        for faq in faqs
    ]
    buttons.append(
        flex_part(
            "faq_suggestions",
            "staff_button",
            label=texts["faq_handoff_label"],
            data=feedback_data(lookup_id, "handoff"),
        )
    )
    alt = texts["faq_suggest_alt"].replace("{questions}", " / ".join(f.questions[0] for f in faqs))
    card = render_flex(
        "faq_suggestions",
        alt_text=truncate_utf16(alt, MAX_ALT_TEXT),
        intro=texts["faq_suggest_intro"],
        buttons=buttons,
    )
    return [card]


def category_menu_messages(categories: list[str], texts: dict[str, str]) -> list[dict[str, Any]]:
    """お問い合わせ: the shop's categories as quick replies, and スタッフに聞く."""
    items = [_postback_item(category, category_data(category)) for category in categories]
    items.append(_postback_item(texts["faq_handoff_label"], handoff_data()))
    text = {"type": "text", "text": texts["inquiry_menu_intro"]}
    return [{**text, "quickReply": {"items": items[:MAX_QUICK_REPLY_ITEMS]}}]


def category_faq_messages(
    category: str, faqs: list[Faq], texts: dict[str, str]
) -> list[dict[str, Any]]:
    """A category picked: its FAQs as quick replies (one tap shows the answer), or an
    invitation to write when the category has none."""
    if not faqs:
        return [
            {"type": "text", "text": texts["inquiry_category_no_faqs"].format(category=category)}
        ]
    room = MAX_QUICK_REPLY_ITEMS - 1
    items = [_postback_item(faq.questions[0], faq_data(faq.id)) for faq in faqs[:room]]
    items.append(_postback_item(texts["faq_handoff_label"], handoff_data()))
    text = texts["inquiry_category_intro"].replace("{category}", category)
    return [{"type": "text", "text": text, "quickReply": {"items": items}}]


def _postback_item(label: str, data: str) -> dict[str, Any]:
    action = {
        "type": "postback",
        "label": _label(label, MAX_QUICK_REPLY_LABEL),
        "data": data,
        "displayText": truncate_utf16(label, 300),
    }
    return {"type": "action", "action": action}


def _message_item(label: str) -> dict[str, Any]:
    action = {"type": "message", "label": _label(label, MAX_QUICK_REPLY_LABEL), "text": label}
    return {"type": "action", "action": action}


def _label(text: str, limit: int) -> str:
    """A label within LINE's limit, cut with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
