"""Rich menus on LINE (the sandbox, over HTTP, through the real SDK): publishing the default menu,
tag menus linked to the customers with the tag and unlinked when the tag goes, republishing, and
LINE's errors kept on the menu for staff. Also the menu's アンケート button in the chat."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from bot.rich_menu import publish_menu, sync_links
from crm.flows import create_flow
from crm.rich_menus.definitions import MenuInput
from crm.rich_menus.menus import change_menu, create_menu, default_areas, default_menu
from crm.rich_menus.models import MENU_FAILED, MENU_PUBLISHED, CustomerRichMenu, RichMenu
from crm.tags import create_tag, tag_customer, untag_customer
from scheduler.jobs import rich_menu_links
from scheduler.runner import JOBS
from tests import sandbox_admin as sb
from tests.chat import Chat
from tests.conftest import TEST_TOKEN
from tests.fonts import NEEDS_JAPANESE_FONT

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def _line_get(line, path: str) -> requests.Response:
    return requests.get(f"{line.url}{path}", headers=AUTH, timeout=5)


def _default_id(db) -> int:
    with db.transaction() as session:
        return default_menu(session).id


def _menu(db, menu_id: int) -> RichMenu:
    with db.read_session() as session:
        return session.get(RichMenu, menu_id)


def _vip_menu(db, tag_id: int, priority: int = 0, name: str = "VIPメニュー") -> int:
    areas = [
        {"label": "VIP特典", "action": {"type": "feature", "value": "coupons"}},
        {"label": "予約", "action": {"type": "uri", "value": "https://shop.example.jp/vip"}},
    ]
    data = MenuInput(
        name=name, size="compact", layout="2x1", areas=areas, tag_id=tag_id, priority=priority
    )
    with db.transaction() as session:
        return create_menu(session, data).id


def _tagged(db, customer_ids: list[int], name: str = "VIP") -> int:
    with db.transaction() as session:
        tag = create_tag(session, name)
        for customer_id in customer_ids:
            tag_customer(session, customer_id, tag.id)
        return tag.id


def _line_user(db, customer_id: int) -> str:
    from crm.models import Customer

    with db.read_session() as session:
        return session.get(Customer, customer_id).line_user_id


def _linked(line, user_id: str) -> str | None:
    response = _line_get(line, f"/v2/bot/user/{user_id}/richmenu")
    return response.json()["richMenuId"] if response.status_code == 200 else None


@NEEDS_JAPANESE_FONT
def test_the_default_menu_is_published_with_its_picture_and_shown_to_everyone(db, line, settings):
    menu_id = _default_id(db)
    result = publish_menu(db, settings, menu_id)

    assert result.error is None
    menu = _menu(db, menu_id)
    assert (menu.status, menu.line_rich_menu_id) == (MENU_PUBLISHED, result.line_rich_menu_id)
    assert menu.last_error is None and menu.published_at is not None
    on_line = _line_get(line, f"/v2/bot/richmenu/{menu.line_rich_menu_id}").json()
    assert on_line["size"] == {"width": 2500, "height": 1686}
    assert on_line["chatBarText"] == "メニュー"
    labels = [area["action"]["label"] for area in on_line["areas"]]
    assert labels == [
        "お問い合わせ",
        "スタンプカード",
        "クーポン",
        "アンケート",
        "配信設定",
        "ヘルプ",
    ]
    assert on_line["areas"][5]["bounds"] == {"x": 1666, "y": 843, "width": 834, "height": 843}
    image = _line_get(line, f"/v2/bot/richmenu/{menu.line_rich_menu_id}/content")
    assert image.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (2500, 1686)
    default = _line_get(line, "/v2/bot/user/all/richmenu").json()
    assert default["richMenuId"] == menu.line_rich_menu_id


@NEEDS_JAPANESE_FONT
def test_a_republished_menu_replaces_the_old_one_on_line(db, line, settings):
    menu_id = _default_id(db)
    first = publish_menu(db, settings, menu_id).line_rich_menu_id
    with db.transaction() as session:
        menu = session.get(RichMenu, menu_id)
        areas = default_areas()
        areas[5]["label"] = "よくある質問"
        change_menu(session, menu, MenuInput(name=menu.name, areas=areas, is_default=True))
    second = publish_menu(db, settings, menu_id).line_rich_menu_id

    assert second != first
    assert _line_get(line, f"/v2/bot/richmenu/{first}").status_code == 404
    assert _line_get(line, "/v2/bot/user/all/richmenu").json()["richMenuId"] == second
    on_line = _line_get(line, f"/v2/bot/richmenu/{second}").json()
    assert on_line["areas"][5]["action"]["displayText"] == "よくある質問"


@NEEDS_JAPANESE_FONT
def test_customers_with_the_tag_get_the_tag_menu_and_lose_it_with_the_tag(
    db, line, settings, customers
):
    vip, regular = customers(2)
    tag_id = _tagged(db, [vip])
    publish_menu(db, settings, _default_id(db))
    vip_menu = _vip_menu(db, tag_id)

    published = publish_menu(db, settings, vip_menu)

    assert published.error is None
    assert _linked(line, _line_user(db, vip)) == published.line_rich_menu_id
    assert _linked(line, _line_user(db, regular)) is None  # sees the default
    with db.read_session() as session:
        [row] = session.scalars(select(CustomerRichMenu)).all()
    assert (row.customer_id, row.rich_menu_id) == (vip, vip_menu)

    with db.transaction() as session:
        untag_customer(session, vip, tag_id)
        tag_customer(session, regular, tag_id)
    synced = sync_links(db, settings)

    assert (synced.linked, synced.unlinked, synced.errors) == (1, 1, [])
    assert _linked(line, _line_user(db, vip)) is None
    assert _linked(line, _line_user(db, regular)) == published.line_rich_menu_id
    assert sync_links(db, settings).linked == 0  # nothing left to do: no calls


@NEEDS_JAPANESE_FONT
def test_republishing_a_tag_menu_moves_its_customers_and_deletes_the_old_menu(
    db, line, settings, customers
):
    members = customers(3)
    tag_id = _tagged(db, members)
    menu_id = _vip_menu(db, tag_id)
    first = publish_menu(db, settings, menu_id).line_rich_menu_id

    second = publish_menu(db, settings, menu_id).line_rich_menu_id

    assert {_linked(line, _line_user(db, c)) for c in members} == {second}
    assert _line_get(line, f"/v2/bot/richmenu/{first}").status_code == 404


@NEEDS_JAPANESE_FONT
def test_the_highest_priority_tag_menu_wins(db, line, settings, customers):
    [both] = customers(1)
    low = _vip_menu(db, _tagged(db, [both], "常連"), priority=1, name="常連メニュー")
    high = _vip_menu(db, _tagged(db, [both], "VIP"), priority=5)
    publish_menu(db, settings, low)

    published = publish_menu(db, settings, high)

    assert _linked(line, _line_user(db, both)) == published.line_rich_menu_id


@NEEDS_JAPANESE_FONT
def test_links_go_in_calls_of_at_most_500_users(db, line, settings, customers):
    many = customers(501)
    menu_id = _vip_menu(db, _tagged(db, many))

    publish_menu(db, settings, menu_id)

    links = [r for r in sb.api_requests(line) if r["path"] == "/v2/bot/richmenu/bulk/link"]
    assert len(links) == 2
    with db.read_session() as session:
        assert len(session.scalars(select(CustomerRichMenu)).all()) == 501


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (429, {"message": "Too Many Requests"}, "LINE is busy (429: Too Many Requests)"),
        (500, {"message": "Internal error"}, "LINE had an internal error (500: Internal error)"),
        (
            400,
            {
                "message": "The request body has 1 error(s)",
                "details": [
                    {"message": "Length must be between 1 and 14", "property": "chatBarText"}
                ],
            },
            "LINE refused it (400: The request body has 1 error(s) "
            "(chatBarText: Length must be between 1 and 14))",
        ),
    ],
)
@NEEDS_JAPANESE_FONT
def test_lines_error_is_kept_on_the_menu_and_the_live_menu_stays(
    db, line, settings, status, body, shown
):
    menu_id = _default_id(db)
    live = publish_menu(db, settings, menu_id).line_rich_menu_id
    sb.add_fault(line, endpoint="richmenu", status=status, body=body)

    result = publish_menu(db, settings, menu_id)

    assert result.error.startswith(shown)
    menu = _menu(db, menu_id)
    assert (menu.status, menu.line_rich_menu_id) == (MENU_FAILED, live)
    assert menu.last_error == result.error
    assert _line_get(line, "/v2/bot/user/all/richmenu").json()["richMenuId"] == live

    again = publish_menu(db, settings, menu_id)  # LINE is back: nothing was lost
    assert again.error is None
    assert _menu(db, menu_id).status == MENU_PUBLISHED
    assert len(_line_get(line, "/v2/bot/richmenu/list").json()["richmenus"]) == 1


@NEEDS_JAPANESE_FONT
def test_a_busy_line_during_linking_leaves_the_links_to_the_next_run(db, line, settings, customers):
    members = customers(2)
    menu_id = _vip_menu(db, _tagged(db, members))
    publish_menu(db, settings, menu_id)
    with db.transaction() as session:
        for customer_id in members:
            untag_customer(session, customer_id, session.get(RichMenu, menu_id).tag_id)
    sb.add_fault(line, endpoint="richmenu", status=429, body={"message": "Too Many Requests"})

    busy = sync_links(db, settings)

    assert busy.unlinked == 0 and "429" in busy.errors[0]
    assert "Unlinking customers failed" in _menu(db, menu_id).last_error
    with db.read_session() as session:
        assert len(session.scalars(select(CustomerRichMenu)).all()) == 2
    assert sync_links(db, settings).unlinked == 2
    assert _menu(db, menu_id).last_error is None


@NEEDS_JAPANESE_FONT
def test_the_scheduler_job_links_newly_tagged_customers_and_unlinks_a_menu_turned_off(
    db, line, services, customers
):
    first, later = customers(2)
    tag_id = _tagged(db, [first])
    menu_id = _vip_menu(db, tag_id)
    line_id = publish_menu(db, services.settings, menu_id).line_rich_menu_id
    with db.transaction() as session:
        tag_customer(session, later, tag_id)

    rich_menu_links(services)

    assert _linked(line, _line_user(db, later)) == line_id
    with db.transaction() as session:
        session.get(RichMenu, menu_id).active = False
    rich_menu_links(services)
    assert {_linked(line, _line_user(db, c)) for c in (first, later)} == {None}
    assert JOBS["rich_menu_links"].run is rich_menu_links


# ---------------------------------------------------------------- the アンケート button


@pytest.fixture
def chat(post_events, work, line):
    return Chat(post_events, work, line, sb.create_user(line, "常連さん"))


def test_the_survey_button_starts_the_newest_active_survey(db, chat):
    question = {"key": "q1", "type": "text", "text": "ご来店ありがとうございます。"}
    with db.transaction() as session:
        create_flow(session, "survey", "古いアンケート", [dict(question, text="古い")])
        create_flow(session, "survey", "新しいアンケート", [question])
        create_flow(session, "survey", "止めたアンケート", [question], active=False)

    replies = chat.tap("action=survey")

    assert replies[0]["text"] == "ご来店ありがとうございます。"


def test_the_survey_button_with_no_survey_says_so_politely(db, chat):
    [reply] = chat.tap("action=survey")
    assert "アンケートはありません" in reply["text"]
