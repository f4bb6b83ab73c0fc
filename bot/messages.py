"""The messages the bot sends, built from the shop's configured texts."""

from __future__ import annotations

from typing import Any

from crm.flex import render_flex
from crm.line_limits import MAX_QUICK_REPLY_ITEMS, MAX_QUICK_REPLY_LABEL, truncate_utf16


def text_message(text: str, quick_replies: list[str] | None = None) -> dict[str, Any]:
    """A text message, cut to LINE's 5,000 UTF-16 units, with optional quick-reply words."""
    message: dict[str, Any] = {"type": "text", "text": truncate_utf16(text)}
    if quick_replies:
        items = [_quick_reply(label) for label in quick_replies[:MAX_QUICK_REPLY_ITEMS]]
        message["quickReply"] = {"items": items}
    return message


def _quick_reply(label: str) -> dict[str, Any]:
    """A quick-reply button that sends its own label as the user's message."""
    return {
        "type": "action",
        "action": {"type": "message", "label": label[:MAX_QUICK_REPLY_LABEL], "text": label},
    }


def greeting_messages(texts: dict[str, str]) -> list[dict[str, Any]]:
    """The welcome card sent on follow."""
    card = render_flex(
        "welcome",
        shop_name=texts["shop_name"],
        title=texts["greeting_title"],
        body=texts["greeting_body"],
        help_label=texts["greeting_help_label"],
    )
    return [card]


def help_messages(texts: dict[str, str]) -> list[dict[str, Any]]:
    """What the bot can do."""
    return [text_message(texts["help"])]


def ack_messages(texts: dict[str, str]) -> list[dict[str, Any]]:
    """The acknowledgement for a message no feature handles: staff will answer."""
    return [text_message(texts["ack"], quick_replies=["ヘルプ"])]
