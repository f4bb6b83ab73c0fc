"""The rich menu's picture, drawn by us: each area a coloured tile with a simple icon and its
label, in a Japanese font, at LINE's exact size and under its 1 MB limit
(https://developers.line.biz/en/reference/messaging-api/#upload-rich-menu-image)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from crm.rich_menus.definitions import PIXELS, area_bounds, icon_of
from crm.rich_menus.icons import ICON_DRAWERS

MAX_BYTES = 1024 * 1024
GUTTER = 6  # a thin white line between tiles
DEFAULT_TEXT, DEFAULT_BACKGROUND = "#ffffff", "#06c755"
# Japanese fonts where Debian (fonts-noto-cjk), Fedora, Arch and Homebrew put them.
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/opt/homebrew/share/fonts/NotoSansCJK-Bold.ttc",
)
FontMaker = Callable[[int], ImageFont.FreeTypeFont]


class JapaneseFontMissing(RuntimeError):
    """No font that draws Japanese is installed: the menu would show boxes, so none is drawn."""

    def __init__(self) -> None:
        super().__init__(
            "No Japanese font found: install fonts-noto-cjk (apt-get install fonts-noto-cjk)."
        )


@dataclass(frozen=True)
class MenuImage:
    body: bytes
    content_type: str


@lru_cache(maxsize=1)
def _japanese_face() -> tuple[str, int]:
    """The first installed font file, and the index of its Japanese face in a collection."""
    for path in FONT_FILES:
        if Path(path).is_file():
            return path, _japanese_index(path)
    raise JapaneseFontMissing()


def _japanese_index(path: str) -> int:
    """A .ttc holds JP, KR, SC, TC… faces; the JP one draws kanji the Japanese way."""
    for index in range(32):
        try:
            face = ImageFont.truetype(path, 10, index=index)
        except OSError:
            break
        if " JP" in face.getname()[0]:
            return index
    return 0


def check_japanese_font() -> None:
    """Raise JapaneseFontMissing when menus cannot be drawn."""
    _japanese_face()


@lru_cache(maxsize=64)
def japanese_font(size: int) -> ImageFont.FreeTypeFont:
    """The Japanese font at a pixel size."""
    path, index = _japanese_face()
    return ImageFont.truetype(path, size, index=index)


def draw_menu(menu, font: FontMaker = japanese_font) -> Image.Image:
    """The menu's picture: one tile per area in layout order."""
    theme = menu.theme or {}
    canvas = Image.new("RGB", PIXELS[menu.size], "#ffffff")
    draw = ImageDraw.Draw(canvas)
    text_color = theme.get("text") or DEFAULT_TEXT
    for box, area in zip(area_bounds(menu.size, menu.layout), menu.areas, strict=True):
        tile = _inset(box)
        draw.rectangle(
            tile, fill=area.get("color") or theme.get("background") or DEFAULT_BACKGROUND
        )
        _draw_tile(draw, tile, area, text_color, font)
    return canvas


def _inset(box: dict[str, int]) -> tuple[int, int, int, int]:
    half = GUTTER // 2
    x, y = box["x"], box["y"]
    return (x + half, y + half, x + box["width"] - half - 1, y + box["height"] - half - 1)


def _draw_tile(draw: ImageDraw.ImageDraw, tile, area: dict, color: str, font: FontMaker) -> None:
    """The icon above the label, both centred; with no icon the label sits in the middle."""
    left, top, right, bottom = tile
    width, height = right - left, bottom - top
    centre_x, centre_y = (left + right) // 2, (top + bottom) // 2
    drawer = ICON_DRAWERS.get(icon_of(area))
    label_y = centre_y
    if drawer is not None:
        icon = int(min(width, height) * 0.34)
        icon_top = centre_y - int(height * 0.30)
        drawer(draw, (centre_x - icon // 2, icon_top, centre_x + icon // 2, icon_top + icon), color)
        label_y = icon_top + icon + int(height * 0.17)
    _draw_label(draw, area["label"], (centre_x, label_y), int(width * 0.88), height, color, font)


def _draw_label(draw, label: str, centre, max_width: int, height: int, color, font) -> None:
    """As big as fits: one line if it reads well, else two."""
    size = max(int(height * 0.13), 24)
    lines = [label]
    fitted = _fit(draw, lines, size, max_width, font)
    if fitted < size * 0.7 and len(label) > 3:
        middle = (len(label) + 1) // 2
        lines = [label[:middle], label[middle:]]
        fitted = _fit(draw, lines, int(size * 0.85), max_width, font)
    text = "\n".join(lines)
    draw.multiline_text(
        centre, text, font=font(fitted), fill=color, anchor="mm", align="center", spacing=8
    )


def _fit(draw, lines: list[str], size: int, max_width: int, font: FontMaker) -> int:
    """The largest size up to `size` at which every line fits the width."""
    while size > 20:
        widest = max(draw.textlength(line, font=font(size)) for line in lines)
        if widest <= max_width:
            return size
        size = int(size * 0.92)
    return size


def render_menu(menu, font: FontMaker = japanese_font) -> MenuImage:
    """The picture LINE takes: PNG, or JPEG when a PNG would pass 1 MB."""
    picture = draw_menu(menu, font)
    png = io.BytesIO()
    picture.save(png, "PNG", optimize=False, compress_level=9)
    if png.tell() <= MAX_BYTES:
        return MenuImage(png.getvalue(), "image/png")
    for quality in (90, 80, 70, 60):
        jpeg = io.BytesIO()
        picture.save(jpeg, "JPEG", quality=quality)
        if jpeg.tell() <= MAX_BYTES:
            break
    return MenuImage(jpeg.getvalue(), "image/jpeg")
