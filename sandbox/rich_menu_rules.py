"""Checks rich menus and their images the way LINE does.

Limits: https://developers.line.biz/en/reference/messaging-api/#rich-menu-object and
https://developers.line.biz/en/reference/messaging-api/#upload-rich-menu-image"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from sandbox.validation import Problem

MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT = 800, 2500, 250
MIN_ASPECT_RATIO = 1.45
MAX_NAME = 300
MAX_CHAT_BAR_TEXT = 14
MAX_AREAS = 20
MAX_LABEL = 20
MAX_DATA = 300
MAX_URI = 1000
MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg")
ALIAS_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
URI_SCHEMES = ("http://", "https://", "line://", "tel:")
PICKER_MODES = ("date", "time", "datetime")
INPUT_OPTIONS = ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(action: dict, key: str, path: str, low: int, high: int) -> list[Problem]:
    """A string field of `low` to `high` characters (low 0: the field may be left out)."""
    value = action.get(key)
    if value is None and low == 0:
        return []
    if not isinstance(value, str) or not low <= len(value) <= high:
        return [(f"Length must be between {low} and {high}", f"{path}.{key}")]
    return []


def _postback(action: dict, path: str) -> list[Problem]:
    problems = _text(action, "data", path, 1, MAX_DATA)
    problems += _text(action, "displayText", path, 0, MAX_DATA)
    problems += _text(action, "fillInText", path, 0, MAX_DATA)
    if "text" in action and "displayText" in action:
        problems.append(("text and displayText cannot be used together", f"{path}.text"))
    option = action.get("inputOption")
    if option is not None and option not in INPUT_OPTIONS:
        problems.append((f"Must be one of {', '.join(INPUT_OPTIONS)}", f"{path}.inputOption"))
    return problems


def _message(action: dict, path: str) -> list[Problem]:
    return _text(action, "text", path, 1, MAX_DATA)


def _uri(action: dict, path: str) -> list[Problem]:
    problems = _text(action, "uri", path, 1, MAX_URI)
    if not problems and not action["uri"].startswith(URI_SCHEMES):
        problems.append(("Invalid URI scheme: use http, https, line or tel", f"{path}.uri"))
    return problems


def _datetimepicker(action: dict, path: str) -> list[Problem]:
    problems = _text(action, "data", path, 1, MAX_DATA)
    if action.get("mode") not in PICKER_MODES:
        problems.append((f"Must be one of {', '.join(PICKER_MODES)}", f"{path}.mode"))
    return problems


def _richmenuswitch(action: dict, path: str) -> list[Problem]:
    problems = _text(action, "data", path, 1, MAX_DATA)
    alias = action.get("richMenuAliasId")
    if not isinstance(alias, str) or not ALIAS_ID.fullmatch(alias):
        problems.append(("Invalid rich menu alias ID", f"{path}.richMenuAliasId"))
    return problems


def _clipboard(action: dict, path: str) -> list[Problem]:
    return _text(action, "clipboardText", path, 1, 1000)


ACTION_CHECKS: dict[str, Callable[[dict, str], list[Problem]]] = {
    "postback": _postback,
    "message": _message,
    "uri": _uri,
    "datetimepicker": _datetimepicker,
    "richmenuswitch": _richmenuswitch,
    "clipboard": _clipboard,
}


def check_area_action(action: Any, path: str) -> list[Problem]:
    """An area's action: one of the types a rich menu takes, with its fields in LINE's limits."""
    if not isinstance(action, dict):
        return [("May not be empty", path)]
    checker = ACTION_CHECKS.get(action.get("type"))
    if checker is None:
        return [(f"Must be one of {', '.join(ACTION_CHECKS)}", f"{path}.type")]
    return _text(action, "label", path, 0, MAX_LABEL) + checker(action, path)


def check_size(size: Any) -> list[Problem]:
    """800 to 2500 pixels wide, at least 250 high, at least 1.45 times as wide as high."""
    if not isinstance(size, dict):
        return [("May not be empty", "size")]
    width, height = size.get("width"), size.get("height")
    problems = []
    if not _is_int(width) or not MIN_WIDTH <= width <= MAX_WIDTH:
        problems.append((f"Must be between {MIN_WIDTH} and {MAX_WIDTH}", "size.width"))
    if not _is_int(height) or height < MIN_HEIGHT:
        problems.append((f"Must be at least {MIN_HEIGHT}", "size.height"))
    if not problems and width / height < MIN_ASPECT_RATIO:
        problems.append((f"Width / height must be at least {MIN_ASPECT_RATIO}", "size"))
    return problems


def check_bounds(bounds: Any, size: dict | None, path: str) -> list[Problem]:
    """Whole pixels, inside the menu (when its size is valid)."""
    if not isinstance(bounds, dict):
        return [("May not be empty", path)]
    low = {"x": 0, "y": 0, "width": 1, "height": 1}
    problems = [
        (f"Must be at least {minimum}", f"{path}.{key}")
        for key, minimum in low.items()
        if not _is_int(bounds.get(key)) or bounds[key] < minimum
    ]
    if problems or size is None:
        return problems
    right, bottom = bounds["x"] + bounds["width"], bounds["y"] + bounds["height"]
    if right > size["width"] or bottom > size["height"]:
        return [("Must be within the rich menu's size", path)]
    return []


def check_rich_menu(menu: dict) -> list[Problem]:
    """Every problem LINE would report for a rich menu object."""
    problems = check_size(menu.get("size"))
    size = menu["size"] if not problems else None
    if not isinstance(menu.get("selected"), bool):
        problems.append(("Must be a boolean", "selected"))
    problems += _text(menu, "name", "", 1, MAX_NAME)
    problems += _text(menu, "chatBarText", "", 1, MAX_CHAT_BAR_TEXT)
    areas = menu.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= MAX_AREAS:
        return [*problems, (f"Size must be between 1 and {MAX_AREAS}", "areas")]
    for index, area in enumerate(areas):
        path = f"areas[{index}]"
        if not isinstance(area, dict):
            problems.append(("Must be an object", path))
            continue
        problems += check_bounds(area.get("bounds"), size, f"{path}.bounds")
        problems += check_area_action(area.get("action"), f"{path}.action")
    return [(message, prop.lstrip(".")) for message, prop in problems]


def image_size(body: bytes, content_type: str) -> tuple[int, int] | None:
    """The pixel size in a PNG's or JPEG's header, or None if the bytes are not that format."""
    if content_type == "image/png":
        return _png_size(body)
    return _jpeg_size(body)


def _png_size(body: bytes) -> tuple[int, int] | None:
    if body[:8] != b"\x89PNG\r\n\x1a\n" or body[12:16] != b"IHDR" or len(body) < 24:
        return None
    return struct.unpack(">II", body[16:24])


# JPEG frame headers (SOF0-SOF15) carry the size; C4, C8 and CC share the range but do not.
_SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}


def _jpeg_size(body: bytes) -> tuple[int, int] | None:
    if body[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 4 <= len(body):
        if body[at] != 0xFF:
            return None
        marker = body[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE_MARKERS:
            at += 2
            continue
        (length,) = struct.unpack(">H", body[at + 2 : at + 4])
        if marker in _SOF_MARKERS and at + 9 <= len(body):
            height, width = struct.unpack(">HH", body[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None
