"""Checks send requests the way LINE does, answering with LINE's error details."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_MESSAGES = 5
MAX_TEXT_UTF16 = 5000
MAX_ALT_TEXT = 400
MAX_BUBBLE_BYTES = 30 * 1024
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_QUICK_REPLIES = 13
MAX_POSTBACK_DATA = 300
MAX_QUICK_REPLY_LABEL = 20
MAX_AGGREGATION_UNITS = 1
AGGREGATION_UNIT = re.compile(r"[A-Za-z0-9_]{1,30}")

Problem = tuple[str, str]  # (message, property)


def utf16_length(text: str) -> int:
    """Characters as LINE counts them: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def check_messages(messages: Any) -> list[Problem]:
    """Every problem LINE would report for a `messages` array."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [(f"Size must be between 1 and {MAX_MESSAGES}", "messages")]
    problems: list[Problem] = []
    for index, message in enumerate(messages):
        path = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(("Must be an object", path))
            continue
        checker = MESSAGE_CHECKS.get(message.get("type"))
        if checker is None:
            problems.append(("Invalid message type", f"{path}.type"))
            continue
        problems += checker(message, path)
        problems += _check_quick_reply(message.get("quickReply"), f"{path}.quickReply")
    return problems


def _text(message: dict, path: str) -> list[Problem]:
    text = message.get("text")
    if not isinstance(text, str) or not text:
        return [("May not be empty", f"{path}.text")]
    if utf16_length(text) > MAX_TEXT_UTF16:
        return [(f"Length must be between 0 and {MAX_TEXT_UTF16}", f"{path}.text")]
    return []


def _sticker(message: dict, path: str) -> list[Problem]:
    return [
        ("May not be empty", f"{path}.{k}")
        for k in ("packageId", "stickerId")
        if not message.get(k)
    ]


def _media(message: dict, path: str) -> list[Problem]:
    problems = []
    for key in ("originalContentUrl", "previewImageUrl"):
        url = message.get(key)
        if not isinstance(url, str) or not url.startswith("https://"):
            problems.append(("Must be an HTTPS URL", f"{path}.{key}"))
    return problems


def _audio(message: dict, path: str) -> list[Problem]:
    problems = []
    url = message.get("originalContentUrl")
    if not isinstance(url, str) or not url.startswith("https://"):
        problems.append(("Must be an HTTPS URL", f"{path}.originalContentUrl"))
    if not isinstance(message.get("duration"), int):
        problems.append(("May not be empty", f"{path}.duration"))
    return problems


def _location(message: dict, path: str) -> list[Problem]:
    problems = [
        ("May not be empty", f"{path}.{k}")
        for k in ("latitude", "longitude")
        if message.get(k) is None
    ]
    for key in ("title", "address"):
        if len(str(message.get(key) or "")) > 100:
            problems.append(("Length must be between 0 and 100", f"{path}.{key}"))
    return problems


def _alt_text(message: dict, path: str) -> list[Problem]:
    alt = message.get("altText")
    if not isinstance(alt, str) or not alt:
        return [("May not be empty", f"{path}.altText")]
    if len(alt) > MAX_ALT_TEXT:
        return [(f"Length must be between 0 and {MAX_ALT_TEXT}", f"{path}.altText")]
    return []


def _flex(message: dict, path: str) -> list[Problem]:
    problems = _alt_text(message, path)
    contents = message.get("contents")
    kind = contents.get("type") if isinstance(contents, dict) else None
    if kind not in ("bubble", "carousel"):
        return [
            *problems,
            ("Must be one of the following values: [bubble, carousel]", f"{path}.contents.type"),
        ]
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if kind == "bubble" and size > MAX_BUBBLE_BYTES:
        problems.append(("Flex bubble is too large", f"{path}.contents"))
    if kind == "carousel":
        bubbles = contents.get("contents") or []
        if not 1 <= len(bubbles) <= 12:
            problems.append(("Size must be between 1 and 12", f"{path}.contents.contents"))
        if size > MAX_CAROUSEL_BYTES:
            problems.append(("Flex carousel is too large", f"{path}.contents"))
    problems += _check_actions(contents, f"{path}.contents")
    return problems


def _template(message: dict, path: str) -> list[Problem]:
    problems = _alt_text(message, path)
    if not isinstance(message.get("template"), dict):
        problems.append(("May not be empty", f"{path}.template"))
    return problems


def _imagemap(message: dict, path: str) -> list[Problem]:
    return _alt_text(message, path)


MESSAGE_CHECKS: dict[str, Callable[[dict, str], list[Problem]]] = {
    "text": _text,
    "sticker": _sticker,
    "image": _media,
    "video": _media,
    "audio": _audio,
    "location": _location,
    "flex": _flex,
    "template": _template,
    "imagemap": _imagemap,
}


def _check_quick_reply(quick_reply: Any, path: str) -> list[Problem]:
    if quick_reply is None:
        return []
    items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLIES:
        return [(f"Size must be between 1 and {MAX_QUICK_REPLIES}", f"{path}.items")]
    problems = []
    for index, item in enumerate(items):
        action = item.get("action") if isinstance(item, dict) else None
        item_path = f"{path}.items[{index}].action"
        if not isinstance(action, dict):
            problems.append(("May not be empty", item_path))
            continue
        if len(str(action.get("label") or "")) > MAX_QUICK_REPLY_LABEL:
            problems.append(
                (f"Length must be between 0 and {MAX_QUICK_REPLY_LABEL}", f"{item_path}.label")
            )
        problems += _check_action(action, item_path)
    return problems


def _check_action(action: dict, path: str) -> list[Problem]:
    kind = action.get("type")
    problems = []
    if kind in ("postback", "datetimepicker"):
        data = action.get("data")
        if not isinstance(data, str) or len(data) > MAX_POSTBACK_DATA:
            problems.append((f"Length must be between 0 and {MAX_POSTBACK_DATA}", f"{path}.data"))
        if len(str(action.get("displayText") or "")) > 300:
            problems.append(("Length must be between 0 and 300", f"{path}.displayText"))
    if kind == "message" and not 1 <= len(str(action.get("text") or "")) <= 300:
        problems.append(("Length must be between 1 and 300", f"{path}.text"))
    return problems


def _check_actions(node: Any, path: str) -> list[Problem]:
    """Actions anywhere inside a Flex container."""
    problems: list[Problem] = []
    if isinstance(node, dict):
        if isinstance(node.get("action"), dict):
            problems += _check_action(node["action"], f"{path}.action")
        for key, value in node.items():
            if isinstance(value, (dict, list)) and key != "action":
                problems += _check_actions(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            problems += _check_actions(item, f"{path}[{index}]")
    return problems


def check_send_options(body: dict) -> list[Problem]:
    """Push and multicast's optional fields: `notificationDisabled` and at most one
    `customAggregationUnits` name (up to 30 letters, digits or underscores)."""
    problems: list[Problem] = []
    if not isinstance(body.get("notificationDisabled", False), bool):
        problems.append(("Must be a boolean", "notificationDisabled"))
    units = body.get("customAggregationUnits")
    if units is None:
        return problems
    if not isinstance(units, list) or len(units) > MAX_AGGREGATION_UNITS:
        return [
            *problems,
            (f"Size must be between 0 and {MAX_AGGREGATION_UNITS}", "customAggregationUnits"),
        ]
    for index, unit in enumerate(units):
        if not isinstance(unit, str) or not AGGREGATION_UNIT.fullmatch(unit):
            problems.append(("Invalid unit name", f"customAggregationUnits[{index}]"))
    return problems


def error_body(problems: list[Problem]) -> dict:
    """LINE's 400 body for validation errors."""
    return {
        "message": f"The request body has {len(problems)} error(s)",
        "details": [{"message": message, "property": prop} for message, prop in problems],
    }
