"""LINE's Messaging API limits, each defined once, and LINE's way of counting text length.

See docs in ../shared/reference/line-platform.md: text is counted in UTF-16 code units.
"""

from __future__ import annotations

MAX_TEXT_UTF16 = 5000  # a text message's `text`
MAX_MESSAGES_PER_REQUEST = 5  # messages in one reply, push or multicast
MAX_MULTICAST_RECIPIENTS = 500  # user IDs in one multicast
MAX_QUICK_REPLY_ITEMS = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_ALT_TEXT = 400  # a Flex message's altText
MAX_POSTBACK_DATA = 300
MAX_BUTTON_LABEL = 40
MAX_BUBBLE_BYTES = 30 * 1024  # one Flex bubble's JSON
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_CAROUSEL_BUBBLES = 12


def utf16_length(text: str) -> int:
    """Length as LINE counts it: a character outside the BMP (most emoji) counts 2."""
    return len(text.encode("utf-16-le")) // 2


def truncate_utf16(text: str, limit: int = MAX_TEXT_UTF16) -> str:
    """Cut text to `limit` UTF-16 code units with an ellipsis, never splitting a pair."""
    if utf16_length(text) <= limit:
        return text
    units, out = 0, []
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > limit - 1:
            break
        out.append(char)
        units += width
    return "".join(out) + "…"
