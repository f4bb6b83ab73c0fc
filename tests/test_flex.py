"""Flex templates are filled safely and held to LINE's limits before sending."""

import json

import pytest

from bot.messages import greeting_messages, text_message
from crm.bot_texts import DEFAULT_TEXTS
from crm.flex import FlexError, check_flex_message, render_flex
from crm.line_limits import truncate_utf16


def _welcome(**overrides):
    values = {"shop_name": "カフェ", "title": "ようこそ", "body": "本文", "help_label": "ヘルプ"}
    return render_flex("welcome", **{**values, **overrides})


def test_welcome_card_carries_the_values_and_alt_text():
    message = _welcome(title='引用"符"と{括弧}')
    assert message["type"] == "flex"
    assert message["altText"] == '引用"符"と{括弧}'
    assert message["contents"]["body"]["contents"][0]["text"] == '引用"符"と{括弧}'
    json.loads(json.dumps(message))  # still valid JSON whatever the value held


def test_missing_value_is_refused():
    with pytest.raises(FlexError, match="help_label"):
        render_flex("welcome", shop_name="a", title="b", body="c")


def test_alt_text_over_400_is_refused():
    with pytest.raises(FlexError, match="altText"):
        _welcome(title="あ" * 401)


def test_bubble_over_30kb_is_refused():
    with pytest.raises(FlexError, match="bytes"):
        _welcome(body="x" * 31000)


def test_long_button_label_is_refused():
    with pytest.raises(FlexError, match="label"):
        _welcome(help_label="l" * 41)


def test_carousel_limits():
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": []}}
    carousel = {
        "type": "flex",
        "altText": "a",
        "contents": {"type": "carousel", "contents": [bubble] * 13},
    }
    with pytest.raises(FlexError, match="1-12"):
        check_flex_message(carousel)
    carousel["contents"]["contents"] = [bubble] * 12
    check_flex_message(carousel)


def test_greeting_uses_shop_texts():
    texts = {**DEFAULT_TEXTS, "greeting_title": "いらっしゃいませ"}
    [card] = greeting_messages(texts)
    assert card["altText"] == "いらっしゃいませ"


@pytest.mark.parametrize(
    ("text", "limit", "expected_units"),
    [("abc", 5, 3), ("a" * 10, 5, 5), ("😀" * 4, 5, 5), ("😀😀😀", 6, 6)],
)
def test_truncate_counts_utf16_units_like_line(text, limit, expected_units):
    cut = truncate_utf16(text, limit)
    assert len(cut.encode("utf-16-le")) // 2 <= limit
    assert len(cut.encode("utf-16-le")) // 2 >= expected_units - 2
    assert "\ud83d" not in cut


def test_text_message_quick_replies_capped_at_13():
    message = text_message("hi", quick_replies=[str(i) for i in range(20)])
    assert len(message["quickReply"]["items"]) == 13
