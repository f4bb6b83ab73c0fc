"""The rich menu picture and definitions, without a database: LINE's sizes and byte limit, labels
drawn with real Japanese glyphs (never boxes), and definitions refused field by field."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image, ImageChops, ImageFont

from crm.rich_menus.definitions import (
    MenuError,
    MenuInput,
    area_bounds,
    check_menu,
    line_menu,
)
from crm.rich_menus.image import MAX_BYTES, japanese_font, render_menu
from crm.rich_menus.menus import default_areas, default_input
from tests.fonts import NEEDS_JAPANESE_FONT


def _menu(size="large", layout="3x2", areas=None, theme=None):
    return SimpleNamespace(
        id=1,
        size=size,
        layout=layout,
        areas=areas if areas is not None else default_areas(),
        theme=theme or {},
        chat_bar_text="メニュー",
    )


def _one_label(label: str) -> SimpleNamespace:
    """A compact menu of one area: just the label, no icon, black on white."""
    area = {"label": label, "action": {"type": "message", "value": "x"}, "icon": "none"}
    return _menu("compact", "1x1", [area], {"text": "#000000", "background": "#ffffff"})


def _bad_font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's own font: Latin only, so Japanese comes out as boxes (tofu)."""
    return ImageFont.load_default(size)


def _picture(menu, font=japanese_font) -> Image.Image:
    return Image.open(io.BytesIO(render_menu(menu, font).body)).convert("L")


def _ink(picture: Image.Image) -> int:
    """How many pixels are not the white background."""
    return sum(picture.point(lambda value: 255 if value < 128 else 0).histogram()[255:])


def _differs(one: Image.Image, other: Image.Image) -> int:
    return _ink(ImageChops.invert(ImageChops.difference(one, other)))


@pytest.mark.parametrize(
    ("size", "layout", "pixels"),
    [
        ("large", "3x2", (2500, 1686)),
        ("large", "2x2", (2500, 1686)),
        ("compact", "3x1", (2500, 843)),
    ],
)
@NEEDS_JAPANESE_FONT
def test_the_picture_is_lines_size_and_under_one_megabyte(size, layout, pixels):
    areas = default_areas()[: int(layout[0]) * int(layout[2])]
    image = render_menu(_menu(size, layout, areas))
    assert image.content_type == "image/png"
    assert len(image.body) < MAX_BYTES
    picture = Image.open(io.BytesIO(image.body))
    assert picture.format == "PNG"
    assert picture.size == pixels


@NEEDS_JAPANESE_FONT
def test_a_japanese_label_is_drawn_with_real_glyphs_not_boxes():
    real = _picture(_one_label("お問い合わせ"))
    tofu = _picture(_one_label("お問い合わせ"), _bad_font)
    assert _ink(real) > 5000  # the label is there, big
    assert _differs(real, tofu) > 5000  # and it is not the boxes a Latin font draws

    # With a font lacking Japanese, different labels come out as the same boxes…
    same_length_tofu = [_picture(_one_label(text), _bad_font) for text in ("配信設定", "会員証明")]
    assert _differs(*same_length_tofu) == 0
    # …while the Japanese font draws each label as itself.
    same_length_real = [_picture(_one_label(text)) for text in ("配信設定", "会員証明")]
    assert _differs(*same_length_real) > 2000


@NEEDS_JAPANESE_FONT
def test_the_areas_tile_the_whole_picture():
    boxes = area_bounds("large", "3x2")
    assert [b["width"] for b in boxes[:3]] == [833, 833, 834]
    assert sum(b["width"] * b["height"] for b in boxes) == 2500 * 1686
    assert boxes[5] == {"x": 1666, "y": 843, "width": 834, "height": 843}


def test_the_default_menu_sends_the_bots_postbacks_with_the_label_shown():
    body = line_menu(_menu(), "基本メニュー")
    actions = [area["action"] for area in body["areas"]]
    assert [a["data"] for a in actions] == [
        "action=inquiry",
        "action=stamp_card",
        "action=coupons",
        "action=survey",
        "action=preferences",
        "action=help",
    ]
    assert actions[0] == {
        "type": "postback",
        "label": "お問い合わせ",
        "data": "action=inquiry",
        "displayText": "お問い合わせ",
    }
    assert body["size"] == {"width": 2500, "height": 1686}
    assert body["chatBarText"] == "メニュー"


def _area(label="ヘルプ", kind="feature", value="help", **extra):
    return {"label": label, "action": {"type": kind, "value": value}, **extra}


def _first(area: dict) -> list[dict]:
    """The default menu's areas with the first one replaced."""
    return [area, *default_areas()[1:]]


def _input(**changes) -> MenuInput:
    base = default_input()
    return MenuInput(**{**base.__dict__, **changes})


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"name": " "}, "name"),
        ({"size": "huge"}, "size"),
        ({"size": "compact"}, "layout"),  # 3x2 is for the large size only
        ({"chat_bar_text": "十五文字のチャットバーテキストです"}, "chat_bar_text"),
        ({"areas": default_areas()[:5]}, "areas"),
        ({"areas": _first(_area("あ" * 21))}, "areas[0].label"),
        ({"areas": _first(_area(value="lottery"))}, "areas[0].action.value"),
        (
            {"areas": _first(_area(kind="uri", value="javascript:alert(1)"))},
            "areas[0].action.value",
        ),
        (
            {"areas": _first(_area(kind="uri", value="https://x.jp/" + "a" * 1000))},
            "areas[0].action.value",
        ),
        (
            {"areas": _first(_area(kind="message", value=""))},
            "areas[0].action.value",
        ),
        ({"areas": _first(_area(kind="postback"))}, "areas[0].action.type"),
        ({"areas": _first(_area(color="red"))}, "areas[0].color"),
        ({"areas": _first(_area(icon="rocket"))}, "areas[0].icon"),
        ({"theme": {"text": "white"}}, "theme.text"),
        ({"tag_id": 3}, "tag_id"),  # the default menu is everyone's
        ({"active": False}, "active"),
    ],
)
def test_a_definition_line_would_refuse_names_the_field(changes, where):
    with pytest.raises(MenuError) as refused:
        check_menu(_input(**changes))
    assert refused.value.where == where


@pytest.mark.parametrize(
    ("area", "action"),
    [
        (_area("第2回", value="survey:12"), {"type": "postback", "data": "action=survey&id=12"}),
        (
            _area("予約", "uri", "https://shop.example.jp/r"),
            {"type": "uri", "uri": "https://shop.example.jp/r"},
        ),
        (_area("電話", "uri", "tel:0312345678"), {"type": "uri", "uri": "tel:0312345678"}),
        (_area("営業時間", "message", "営業時間"), {"type": "message", "text": "営業時間"}),
    ],
)
def test_each_kind_of_action_becomes_lines_action(area, action):
    menu = _menu("compact", "1x1", [area])
    check_menu(_input(size="compact", layout="1x1", areas=[area]))
    [made] = line_menu(menu, "x")["areas"]
    assert {key: made["action"][key] for key in action} == action
    assert made["action"]["label"] == area["label"]
