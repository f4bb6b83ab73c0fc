"""Flex templates are filled safely and held to LINE's limits before sending."""

import json

import pytest

from bot.messages import greeting_messages, text_message
from crm.bot_texts import DEFAULT_TEXTS
from crm.flex import FlexError, check_flex_message, render_flex, walk
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


# Slots and parts: what repeats a variable number of times (a stamp card's cells).


def test_a_slot_takes_json_splices_lists_and_none_drops_its_key():
    from crm.flex import flex_part

    cells = [flex_part("stamp_card", "filled"), flex_part("stamp_card", "empty", label="2")]
    row = flex_part("stamp_card", "row", cells=cells)
    assert row["contents"] == cells
    coupon = render_flex(
        "coupon",
        alt_text="クーポン",
        shop_name="店",
        hero=None,
        title="{{title}}",  # a value is never read as a placeholder again
        discount=None,
        description=None,
        valid_until="有効期限なし",
        notes=[flex_part("coupon", "note", text="一"), flex_part("coupon", "note", text="二")],
        code_label="コード",
        code="AAAA-BBBB-CCCC",
        qr=None,
        hint="見せてください",
    )
    assert "hero" not in coupon["contents"]
    assert "parts" not in coupon
    body = [c.get("text") for c in coupon["contents"]["body"]["contents"]]
    assert body[:5] == ["{{title}}", None, "有効期限なし", "一", "二"]  # None: the separator
    assert "{{" not in json.dumps(coupon["contents"]["body"]["contents"][-2], ensure_ascii=False)


def test_an_unknown_part_is_refused():
    from crm.flex import flex_part

    with pytest.raises(FlexError, match="no part"):
        flex_part("welcome", "cell")


def _program(goal: int, rewards=(), **rules):
    from types import SimpleNamespace

    fields = {"expiry_kind": "none", "expiry_days": None, "expiry_date": None}
    fields["per_day_limit"] = 1
    fields.update(rules)
    coupon = SimpleNamespace(title="ドリンク1杯無料")
    return SimpleNamespace(
        name="スタンプカード" * 14,
        rewards=[SimpleNamespace(stamps=n, coupon=coupon) for n in rewards],
        **fields,
    )


def _view(program, stamps: int, goal: int):
    from crm.loyalty.stamps import CardView

    upcoming = [r for r in program.rewards if r.stamps > stamps]
    return CardView(program, None, stamps, goal, upcoming[0] if upcoming else None, None, 3)


def _look():
    from zoneinfo import ZoneInfo

    from crm.loyalty.cards import CardLook

    return CardLook(dict(DEFAULT_TEXTS), ZoneInfo("Asia/Tokyo"), "https://crm.example.jp")


@pytest.mark.parametrize(
    ("goal", "stamps", "rows"), [(1, 0, 1), (10, 7, 2), (12, 12, 3), (50, 49, 10)]
)
def test_the_stamp_grid_has_a_cell_per_stamp_in_rows_of_five(goal, stamps, rows):
    from crm.loyalty.cards import stamp_card_message

    program = _program(goal, rewards=(goal // 2 or 1, goal))
    card = stamp_card_message(_view(program, stamps, goal), _look(), "スタンプを1個押しました！")
    grid = card["contents"]["body"]["contents"][2]["contents"]
    assert len(grid) == rows
    cells = [cell for row in grid for cell in row["contents"]]
    assert len(cells) == goal
    assert sum(cell["contents"][0]["text"] == "★" for cell in cells) == stamps
    assert len(json.dumps(card["contents"], ensure_ascii=False).encode()) < 30 * 1024


@pytest.mark.parametrize(
    ("stamps", "rewards", "expected"),
    [
        (7, (10,), "あと3個で ドリンク1杯無料"),
        (2, (5, 10), "あと3個で ドリンク1杯無料"),
        (7, (), "あと3個でカード達成"),
        (10, (10,), "カード達成！"),
    ],
)
def test_the_next_reward_line(stamps, rewards, expected):
    from crm.loyalty.cards import next_reward_text

    program = _program(10, rewards=rewards)
    assert next_reward_text(_view(program, stamps, 10), DEFAULT_TEXTS) == expected


def test_a_full_carousel_of_long_coupons_stays_within_lines_limits():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from crm.loyalty.cards import coupons_message

    now = datetime(2026, 4, 1, tzinfo=UTC)
    coupon = SimpleNamespace(
        title="長" * 100,
        description="説明" * 500,
        image_url="https://img.example.jp/" + "a" * 1970,
        discount_type="amount",
        discount_value=1_000_000,
    )
    issued = [
        SimpleNamespace(
            coupon=coupon,
            code=f"{n:012d}",
            valid_until=datetime(2026, 4, 30, 15, tzinfo=UTC),
            valid_from=None,
            usable_times=3,
            uses=1,
            source="survey",
        )
        for n in range(15)
    ]
    message = coupons_message(issued, now, _look())
    check_flex_message(message)
    bubbles = message["contents"]["contents"]
    assert 1 <= len(bubbles) < 12
    texts = [c.get("text") for c in walk(bubbles[0])]
    assert "1,000,000円引き" in texts
    assert "有効期限 2026/04/30まで" in texts  # midnight in Tokyo: the day before is the last
    assert "あと2回使えます" in texts


@pytest.mark.parametrize(
    ("utc_hour", "end", "shown"),
    [
        (15, True, "2026/04/30"),  # Tokyo midnight ending a validity: the 30th is the last day
        (15, False, "2026/05/01"),  # Tokyo midnight starting one: valid from the 1st
        (6, True, "2026/04/30 15:00"),
    ],
)
def test_dates_on_cards_are_the_shops_days(utc_hour, end, shown):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from crm.loyalty.cards import shown_moment

    moment = datetime(2026, 4, 30, utc_hour, tzinfo=UTC)
    assert shown_moment(moment, ZoneInfo("Asia/Tokyo"), end=end) == shown
