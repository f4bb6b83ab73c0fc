"""A campaign's messages: checked against LINE's limits before they are saved, and filled in
per customer when they name them.

Accepted message objects (1 to 5, as LINE takes them):
    {"type": "text", "text": "…{name}さん…"}
    {"type": "image", "originalContentUrl": "https://…", "previewImageUrl": "https://…"}
    {"type": "sticker", "packageId": "446", "stickerId": "1988"}
    {"type": "flex", "altText": "…", "contents": {…}}            a Flex message as is
    {"type": "flex", "template": "welcome", "values": {…}}      rendered from flex_templates/
    {"type": "coupon", "coupon_id": 7}                          each recipient's own code
`{name}` anywhere in a text or a Flex string becomes the customer's LINE display name; such a
campaign cannot go by multicast (one message for all) and is pushed per recipient instead, as
is a campaign with a coupon (one per campaign: crm/campaign_coupons.py issues the codes).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy.orm import Session

from crm.field_errors import FieldError
from crm.flex import FlexError, check_flex_message, render_flex
from crm.line_limits import MAX_MESSAGES_PER_REQUEST, MAX_TEXT_UTF16, utf16_length
from crm.loyalty.models import Coupon

NAME = "{name}"
NAME_FALLBACK = "お客様"  # when LINE gave no display name
LONGEST_NAME = 20  # LINE display names are at most 20 characters
MAX_URL = 2000
COUPON = "coupon"
# A test send has no customer to issue a code to: the coupon's place says so.
TEST_COUPON_TEXT = "（テスト送信）ここにお客様ごとのクーポンが届きます"


class MessageError(FieldError):
    """A message LINE would refuse; `where` names it (messages[1].text)."""


def checked_messages(session: Session, messages: Any) -> list[dict[str, Any]]:
    """The messages as they will be stored (templates rendered), or MessageError."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES_PER_REQUEST:
        raise MessageError("messages", f"1 to {MAX_MESSAGES_PER_REQUEST} messages")
    checked = [
        _checked(session, message, f"messages[{index}]") for index, message in enumerate(messages)
    ]
    coupons = [index for index, message in enumerate(checked) if message["type"] == COUPON]
    if len(coupons) > 1:
        raise MessageError(f"messages[{coupons[1]}].type", "at most one coupon per campaign")
    return checked


def _checked(session: Session, message: Any, where: str) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("type") not in CHECKS:
        raise MessageError(f"{where}.type", f"one of {', '.join(CHECKS)}")
    if "\x00" in json.dumps(message):
        raise MessageError(where, "contains a NUL character")
    return CHECKS[message["type"]](session, message, where)


def _text(session: Session, message: dict[str, Any], where: str) -> dict[str, Any]:
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise MessageError(f"{where}.text", "a text is required")
    longest = text.replace(NAME, "x" * LONGEST_NAME)
    if utf16_length(longest) > MAX_TEXT_UTF16:
        raise MessageError(
            f"{where}.text", f"at most {MAX_TEXT_UTF16} characters (with the longest name)"
        )
    return {"type": "text", "text": text}


def _https(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("https://") or len(value) > MAX_URL:
        raise MessageError(where, f"an https:// URL of at most {MAX_URL} characters")
    return value


def _image(session: Session, message: dict[str, Any], where: str) -> dict[str, Any]:
    return {
        "type": "image",
        "originalContentUrl": _https(
            message.get("originalContentUrl"), f"{where}.originalContentUrl"
        ),
        "previewImageUrl": _https(message.get("previewImageUrl"), f"{where}.previewImageUrl"),
    }


def _sticker(session: Session, message: dict[str, Any], where: str) -> dict[str, Any]:
    ids = {key: message.get(key) for key in ("packageId", "stickerId")}
    for key, value in ids.items():
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).isdigit():
            raise MessageError(f"{where}.{key}", "a sticker id (digits)")
    return {"type": "sticker", **{key: str(value) for key, value in ids.items()}}


def _flex(session: Session, message: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        if "template" in message:
            values = message.get("values") or {}
            if not isinstance(values, dict):
                raise MessageError(f"{where}.values", "an object of placeholder values")
            filled = {key: str(value) for key, value in values.items()}
            rendered = render_flex(str(message["template"]), **filled)
        else:
            rendered = {k: message.get(k) for k in ("type", "altText", "contents")}
            check_flex_message(rendered)
        check_flex_message(personalised(rendered, "x" * LONGEST_NAME))
    except (FlexError, FileNotFoundError) as exc:
        raise MessageError(where, f"not a Flex message LINE accepts: {exc}") from None
    return rendered


def _coupon(session: Session, message: dict[str, Any], where: str) -> dict[str, Any]:
    """A coupon that can be issued: it exists and is active (whether it still has codes left
    is decided per recipient at send time)."""
    coupon_id = message.get("coupon_id")
    if isinstance(coupon_id, bool) or not isinstance(coupon_id, int) or not 0 < coupon_id < 2**62:
        raise MessageError(f"{where}.coupon_id", "a coupon id")
    coupon = session.get(Coupon, coupon_id)
    if coupon is None:
        raise MessageError(f"{where}.coupon_id", f"no coupon {coupon_id}")
    if not coupon.active:
        raise MessageError(f"{where}.coupon_id", f"coupon {coupon_id} is not active")
    return {"type": COUPON, "coupon_id": coupon_id}


CHECKS = {"text": _text, "image": _image, "sticker": _sticker, "flex": _flex, COUPON: _coupon}


def is_personalised(messages: list[dict[str, Any]]) -> bool:
    """Does any message name the customer or carry a coupon (so it must be pushed one by
    one)?"""
    return coupon_in(messages) is not None or NAME in json.dumps(messages, ensure_ascii=False)


def coupon_in(messages: list[dict[str, Any]]) -> int | None:
    """The id of the coupon the messages give, if they give one."""
    return next((m["coupon_id"] for m in messages if m.get("type") == COUPON), None)


def with_coupon(
    messages: list[dict[str, Any]], replacement: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The messages with the coupon's place taken by `replacement` (a recipient's coupon card,
    or a text), at most as many as LINE takes in one request."""
    filled = [
        part
        for message in messages
        for part in (replacement if message.get("type") == COUPON else [message])
    ]
    return filled[:MAX_MESSAGES_PER_REQUEST]


def personalised(messages: Any, display_name: str | None) -> Any:
    """The messages with `{name}` filled in (strings only: the JSON cannot break)."""
    name = (display_name or "").strip() or NAME_FALLBACK
    return _fill(copy.deepcopy(messages), name)


def _fill(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, name) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, name) for item in node]
    if isinstance(node, str):
        return node.replace(NAME, name)
    return node


def preview_text(messages: list[dict[str, Any]]) -> str:
    """One line for lists and the timeline: the first text, or the first alt text."""
    for message in messages:
        text = message.get("text") or message.get("altText")
        if text:
            return text
    return {"image": "[画像]", "sticker": "[スタンプ]", COUPON: "[クーポン]"}.get(
        messages[0].get("type"), ""
    )
