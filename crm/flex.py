"""Flex templates from flex_templates/, filled and checked against LINE's limits.

A placeholder standing alone as a string value can also take JSON (a slot): a list is spliced
into the list around it, a dict replaces it, None drops the key it is the value of. A template's
`parts` are pieces filled on their own (`flex_part`) to build what repeats a variable number of
times, such as a stamp card's cells; they are never sent themselves.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from crm.line_limits import (
    MAX_ALT_TEXT,
    MAX_BUBBLE_BYTES,
    MAX_BUTTON_LABEL,
    MAX_CAROUSEL_BUBBLES,
    MAX_CAROUSEL_BYTES,
    MAX_POSTBACK_DATA,
)
from crm.settings import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "flex_templates"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
PARTS = "parts"  # a template's pieces for `flex_part`, left out of the message
_DROP = object()  # a slot filled with None: the key it is the value of goes


class FlexError(ValueError):
    """A template is missing a value or breaks one of LINE's limits."""


@cache
def _load(name: str) -> dict[str, Any]:
    """The parsed template (cached; templates are files shipped with the code)."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise FlexError(f"bad template name {name!r}")
    return json.loads((TEMPLATE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def render_flex(name: str, **values: Any) -> dict[str, Any]:
    """A ready-to-send Flex message dict from the named template."""
    template = {key: value for key, value in _load(name).items() if key != PARTS}
    message = {"type": "flex", **_fill(template, values)}
    check_flex_message(message)
    return message


def flex_part(name: str, part: str, **values: Any) -> dict[str, Any]:
    """One of the named template's `parts`, filled, to be placed in a slot of the message."""
    parts = _load(name).get(PARTS) or {}
    if part not in parts:
        raise FlexError(f"template {name!r} has no part {part!r}")
    return _fill(parts[part], values)


def _fill(node: Any, values: dict[str, Any]) -> Any:
    """Replace {{name}} in every string of the JSON tree; slots take their JSON."""
    if isinstance(node, dict):
        filled = {key: _fill(value, values) for key, value in node.items()}
        return {key: value for key, value in filled.items() if value is not _DROP}
    if isinstance(node, list):
        items = []
        for item in node:
            value = _fill(item, values)
            if isinstance(value, list) and _slot(item, values) is not None:
                items.extend(value)  # a list slot's components join the list around it
            elif value is not _DROP:
                items.append(value)
        return items
    if isinstance(node, str):
        slot = _slot(node, values)
        if slot is not None:
            return _DROP if slot is _DROP else copy.deepcopy(slot)
        return PLACEHOLDER.sub(lambda m: _value(m.group(1), values), node)
    return node


def _slot(node: Any, values: dict[str, Any]) -> Any:
    """The JSON a lone `{{name}}` stands for (None when it is plain text to fill)."""
    match = PLACEHOLDER.fullmatch(node) if isinstance(node, str) else None
    if match is None or match.group(1) not in values:
        return None
    value = values[match.group(1)]
    if value is None:
        return _DROP
    return value if isinstance(value, list | dict) else None


def _value(key: str, values: dict[str, str]) -> str:
    if key not in values:
        raise FlexError(f"no value for placeholder {{{{{key}}}}}")
    return str(values[key])


def check_flex_message(message: dict[str, Any]) -> None:
    """Raise FlexError unless LINE would accept this Flex message."""
    alt_text = message.get("altText") or ""
    if not 1 <= len(alt_text) <= MAX_ALT_TEXT:
        raise FlexError(f"altText must be 1-{MAX_ALT_TEXT} characters, got {len(alt_text)}")
    contents = message.get("contents") or {}
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    kind = contents.get("type")
    if kind == "bubble" and size > MAX_BUBBLE_BYTES:
        raise FlexError(f"bubble is {size} bytes; LINE allows {MAX_BUBBLE_BYTES}")
    if kind == "carousel":
        _check_carousel(contents, size)
    elif kind != "bubble":
        raise FlexError(f"contents must be a bubble or a carousel, got {kind!r}")
    for component in walk(contents):
        _check_component(component)


def _check_carousel(contents: dict[str, Any], size: int) -> None:
    bubbles = contents.get("contents") or []
    if not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
        raise FlexError(f"a carousel holds 1-{MAX_CAROUSEL_BUBBLES} bubbles, got {len(bubbles)}")
    if size > MAX_CAROUSEL_BYTES:
        raise FlexError(f"carousel is {size} bytes; LINE allows {MAX_CAROUSEL_BYTES}")


def walk(node: Any):
    """Every dict in the tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def _check_component(component: dict[str, Any]) -> None:
    """Per-component limits: text present, postback data and button labels within bounds."""
    if (
        component.get("type") == "text"
        and not component.get("text")
        and not component.get("contents")
    ):
        raise FlexError("a text component has empty text")
    if component.get("type") == "postback" and len(component.get("data", "")) > MAX_POSTBACK_DATA:
        raise FlexError(f"postback data is over {MAX_POSTBACK_DATA} characters")
    action = component.get("action")
    is_button = component.get("type") == "button" and isinstance(action, dict)
    if is_button and len(action.get("label", "")) > MAX_BUTTON_LABEL:
        raise FlexError(f"button label is over {MAX_BUTTON_LABEL} characters")
