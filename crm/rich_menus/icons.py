"""Simple line icons for the rich menu's tiles, drawn in a square box in the label's colour."""

from __future__ import annotations

from collections.abc import Callable

from PIL import ImageDraw

Box = tuple[int, int, int, int]


def _stroke(box: Box) -> int:
    return max((box[2] - box[0]) // 14, 3)


def _chat(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A speech bubble with three dots."""
    left, top, right, bottom = box
    size, line = right - left, _stroke(box)
    bubble = (left, top + size // 8, right, bottom - size // 5)
    draw.rounded_rectangle(bubble, radius=size // 5, outline=color, width=line)
    tail = [
        (left + size // 4, bubble[3] - line),
        (left + size // 5, bottom),
        (left + size // 2, bubble[3] - line),
    ]
    draw.polygon(tail, fill=color)
    middle_y, dot = (bubble[1] + bubble[3]) // 2, size // 14
    for step in (-1, 0, 1):
        x = (left + right) // 2 + step * size // 4
        draw.ellipse((x - dot, middle_y - dot, x + dot, middle_y + dot), fill=color)


def _stamp(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A ring with a check mark: a stamp on a card."""
    left, top, right, _bottom = box
    size, line = right - left, _stroke(box)
    draw.ellipse(box, outline=color, width=line)
    check = [
        (left + size * 0.28, top + size * 0.52),
        (left + size * 0.44, top + size * 0.68),
        (left + size * 0.74, top + size * 0.34),
    ]
    draw.line(check, fill=color, width=line + line // 2, joint="curve")


def _ticket(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A coupon: a ticket with a dashed tear line."""
    left, top, right, bottom = box
    size, line = right - left, _stroke(box)
    body = (left, top + size // 5, right, bottom - size // 5)
    draw.rounded_rectangle(body, radius=size // 12, outline=color, width=line)
    tear_x = left + size * 2 // 3
    for y in range(body[1] + line * 2, body[3] - line, line * 3):
        draw.line([(tear_x, y), (tear_x, y + line * 1.5)], fill=color, width=line)
    _percent(draw, ((left + tear_x) // 2, (body[1] + body[3]) // 2), size // 7, line, color)


def _percent(draw: ImageDraw.ImageDraw, centre, half: int, line: int, color: str) -> None:
    x, y = centre
    dot = max(half // 3, line)
    draw.line([(x + half, y - half), (x - half, y + half)], fill=color, width=line)
    draw.ellipse(
        (x - half - dot, y - half - dot, x - half + dot, y - half + dot),
        outline=color,
        width=line // 2 + 1,
    )
    draw.ellipse(
        (x + half - dot, y + half - dot, x + half + dot, y + half + dot),
        outline=color,
        width=line // 2 + 1,
    )


def _card(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A member card: a card with a stripe and a name line."""
    left, top, right, bottom = box
    size, line = right - left, _stroke(box)
    body = (left, top + size // 6, right, bottom - size // 6)
    draw.rounded_rectangle(body, radius=size // 12, outline=color, width=line)
    draw.rectangle((left, body[1] + size // 6, right, body[1] + size // 6 + line * 2), fill=color)
    draw.line(
        [(left + size // 8, body[3] - size // 6), (left + size // 2, body[3] - size // 6)],
        fill=color,
        width=line,
    )


def _survey(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A clipboard with three lines."""
    left, top, right, bottom = box
    size, line = right - left, _stroke(box)
    board = (left + size // 8, top + size // 10, right - size // 8, bottom)
    draw.rounded_rectangle(board, radius=size // 14, outline=color, width=line)
    draw.rounded_rectangle(
        (left + size * 3 // 8, top, right - size * 3 // 8, top + size // 5), radius=line, fill=color
    )
    for row in range(3):
        y = top + size * (40 + row * 18) // 100
        draw.line([(left + size // 4, y), (right - size // 4, y)], fill=color, width=line)


def _bell(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A bell: notification settings."""
    left, top, right, bottom = box
    size, line = right - left, _stroke(box)
    draw.chord(
        (left + size // 6, top + size // 8, right - size // 6, bottom + size // 3),
        180,
        360,
        outline=color,
        width=line,
    )
    rim_y = top + size * 7 // 10
    draw.line(
        [(left + size // 6, top + size // 2), (left + size // 6, rim_y)], fill=color, width=line
    )
    draw.line(
        [(right - size // 6, top + size // 2), (right - size // 6, rim_y)], fill=color, width=line
    )
    draw.line([(left + size // 10, rim_y), (right - size // 10, rim_y)], fill=color, width=line)
    clapper = size // 10
    middle = (left + right) // 2
    draw.ellipse(
        (middle - clapper, rim_y + line, middle + clapper, rim_y + line + clapper * 2), fill=color
    )


def _help(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A question mark in a ring."""
    left, top, right, _bottom = box
    size, line = right - left, _stroke(box)
    draw.ellipse(box, outline=color, width=line)
    middle = (left + right) // 2
    draw.arc(
        (middle - size // 6, top + size // 5, middle + size // 6, top + size // 2),
        180,
        90,
        fill=color,
        width=line,
    )
    draw.line([(middle, top + size // 2), (middle, top + size * 62 // 100)], fill=color, width=line)
    dot = line
    draw.ellipse(
        (middle - dot, top + size * 72 // 100, middle + dot, top + size * 72 // 100 + dot * 2),
        fill=color,
    )


def _link(draw: ImageDraw.ImageDraw, box: Box, color: str) -> None:
    """A globe: a web page."""
    left, top, right, bottom = box
    size, line = right - left, _stroke(box)
    draw.ellipse(box, outline=color, width=line)
    draw.ellipse((left + size // 4, top, right - size // 4, bottom), outline=color, width=line)
    middle = (top + bottom) // 2
    draw.line([(left, middle), (right, middle)], fill=color, width=line)


ICON_DRAWERS: dict[str, Callable[[ImageDraw.ImageDraw, Box, str], None]] = {
    "chat": _chat,
    "stamp": _stamp,
    "ticket": _ticket,
    "card": _card,
    "survey": _survey,
    "bell": _bell,
    "help": _help,
    "link": _link,
}
