"""The sandbox's rich menus answer the real SDK the way LINE does, and the phone page shows
them with areas a person can tap."""

import json
import struct

import pytest
import requests
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    CreateRichMenuAliasRequest,
    MessageAction,
    MessagingApi,
    MessagingApiBlob,
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    RichMenuSize,
    RichMenuSwitchAction,
    UpdateRichMenuAliasRequest,
    URIAction,
)

from sandbox.rich_menu_api import NO_IMAGE
from sandbox.state import tiny_png
from tests import sandbox_admin as sb
from tests.browser import BROWSER_MARKS, chromium_page
from tests.conftest import TEST_TOKEN, wait_until

PNG = "image/png"
HALF = 1250


@pytest.fixture
def client(line):
    client = ApiClient(Configuration(host=line.url, access_token=TEST_TOKEN))
    yield client
    client.close()


@pytest.fixture
def api(client):
    return MessagingApi(client)


@pytest.fixture
def blob(client):
    return MessagingApiBlob(client)


def menu_request(height: int = 843, chat_bar_text: str = "メニュー", areas=None) -> RichMenuRequest:
    """A 2500-wide menu split in two: a postback on the left, a message on the right."""
    areas = areas or [
        RichMenuArea(
            bounds=RichMenuBounds(x=0, y=0, width=HALF, height=height),
            action=PostbackAction(data="action=help", display_text="ヘルプ"),
        ),
        RichMenuArea(
            bounds=RichMenuBounds(x=HALF, y=0, width=HALF, height=height),
            action=MessageAction(text="営業時間"),
        ),
    ]
    return RichMenuRequest(
        size=RichMenuSize(width=2500, height=height),
        selected=True,
        name="基本メニュー",
        chat_bar_text=chat_bar_text,
        areas=areas,
    )


def menu_json(**changes) -> dict:
    """The same menu as LINE's JSON, for requests the SDK would refuse before sending."""
    return {**menu_request().to_dict(), **changes}


def jpeg_header(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI, a JFIF APP0 segment and the frame header (SOF0)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def error_of(raised) -> tuple[int, dict]:
    return raised.value.status, json.loads(raised.value.body)


def raw(line, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {TEST_TOKEN}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{line.url}{path}", headers=headers, timeout=5, **kwargs)


def ready_menu(api, blob, height: int = 843, seed: str = "menu") -> str:
    """A created menu with its image."""
    rich_menu_id = api.create_rich_menu(menu_request(height)).rich_menu_id
    blob.set_rich_menu_image(
        rich_menu_id, body=tiny_png(seed, 2500, height), _headers={"Content-Type": PNG}
    )
    return rich_menu_id


def shown_to(line, user_id: str) -> str | None:
    """The rich menu the phone page shows the user."""
    menu = requests.get(f"{line.url}/_sandbox/users/{user_id}/richmenu", timeout=5).json()
    return menu["richMenu"] and menu["richMenu"]["richMenuId"]


# Menus ----------------------------------------------------------------------------------


def test_a_menu_is_created_read_listed_and_deleted(api, line):
    api.validate_rich_menu_object(menu_request())
    rich_menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    assert rich_menu_id.startswith("richmenu-") and len(rich_menu_id) == 41

    menu = api.get_rich_menu(rich_menu_id)
    assert (menu.name, menu.chat_bar_text, menu.selected) == ("基本メニュー", "メニュー", True)
    assert menu.areas[0].action.data == "action=help"
    assert menu.areas[1].action.text == "営業時間"
    assert [m.rich_menu_id for m in api.get_rich_menu_list().richmenus] == [rich_menu_id]

    api.delete_rich_menu(rich_menu_id)
    assert api.get_rich_menu_list().richmenus == []
    with pytest.raises(ApiException) as missing:
        api.get_rich_menu(rich_menu_id)
    assert error_of(missing) == (404, {"message": "Not found"})


def test_every_action_a_rich_menu_takes_is_accepted(api):
    actions = [
        PostbackAction(data="a=1", display_text="見る", input_option="openKeyboard"),
        MessageAction(text="予約"),
        URIAction(uri="https://example.com/menu"),
        URIAction(uri="tel:0312345678"),
        RichMenuSwitchAction(rich_menu_alias_id="tab-2", data="tab=2"),
    ]
    width = 2500 // len(actions)
    areas = [
        RichMenuArea(bounds=RichMenuBounds(x=i * width, y=0, width=width, height=843), action=a)
        for i, a in enumerate(actions)
    ]
    rich_menu_id = api.create_rich_menu(menu_request(areas=areas)).rich_menu_id
    kinds = [area.action.type for area in api.get_rich_menu(rich_menu_id).areas]
    assert kinds == ["postback", "message", "uri", "uri", "richmenuswitch"]


def _area(x=0, y=0, width=100, height=100, **action) -> dict:
    return {
        "bounds": {"x": x, "y": y, "width": width, "height": height},
        "action": action or {"type": "postback", "data": "x"},
    }


@pytest.mark.parametrize(
    ("changes", "prop"),
    [
        ({"size": {"width": 799, "height": 250}}, "size.width"),
        ({"size": {"width": 2501, "height": 843}}, "size.width"),
        ({"size": {"width": 2500, "height": 249}}, "size.height"),
        ({"size": {"width": 1200, "height": 1000}}, "size"),  # ratio 1.2 < 1.45
        ({"size": None}, "size"),
        ({"selected": "yes"}, "selected"),
        ({"name": "n" * 301}, "name"),
        ({"chatBarText": "あ" * 15}, "chatBarText"),
        ({"chatBarText": ""}, "chatBarText"),
        ({"areas": []}, "areas"),
        ({"areas": [_area()] * 21}, "areas"),
        ({"areas": [_area(x=2401, width=100)]}, "areas[0].bounds"),
        ({"areas": [_area(y=800, height=44)]}, "areas[0].bounds"),
        ({"areas": [_area(x=-1)]}, "areas[0].bounds.x"),
        ({"areas": [_area(width=0)]}, "areas[0].bounds.width"),
        ({"areas": [{"bounds": {"x": 0, "y": 0, "width": 1, "height": 1}}]}, "areas[0].action"),
        ({"areas": [_area(type="camera", label="写真")]}, "areas[0].action.type"),
        ({"areas": [_area(type="postback", data="d" * 301)]}, "areas[0].action.data"),
        ({"areas": [_area(type="postback")]}, "areas[0].action.data"),
        (
            {"areas": [_area(type="postback", data="x", displayText="d" * 301)]},
            "areas[0].action.displayText",
        ),
        ({"areas": [_area(type="message", text="")]}, "areas[0].action.text"),
        ({"areas": [_area(type="message", text="t" * 301)]}, "areas[0].action.text"),
        ({"areas": [_area(type="uri", uri="ftp://example.com/")]}, "areas[0].action.uri"),
        ({"areas": [_area(type="richmenuswitch", data="x")]}, "areas[0].action.richMenuAliasId"),
        (
            {"areas": [_area(type="richmenuswitch", richMenuAliasId="tab")]},
            "areas[0].action.data",
        ),
        ({"areas": [_area(type="datetimepicker", data="x", mode="week")]}, "areas[0].action.mode"),
        ({"areas": [_area(type="message", text="t", label="l" * 21)]}, "areas[0].action.label"),
    ],
)  # fmt: skip
def test_a_menu_is_validated_like_line(line, changes, prop):
    for path in ("/v2/bot/richmenu/validate", "/v2/bot/richmenu"):
        response = raw(line, "POST", path, json=menu_json(**changes))
        assert response.status_code == 400
        body = response.json()
        assert body["message"].startswith("The request body has")
        assert prop in [detail["property"] for detail in body["details"]]
    assert raw(line, "GET", "/v2/bot/richmenu/list").json() == {"richmenus": []}


def test_the_sdk_hears_lines_validation_errors(api):
    too_many = [RichMenuArea(bounds=RichMenuBounds(x=0, y=0, width=1, height=1),
                             action=MessageAction(text="x"))] * 21  # fmt: skip
    for request, prop in [
        (menu_request(areas=too_many), "areas"),
        (RichMenuRequest.from_dict({**menu_json(), "size": {"width": 800, "height": 600}}), "size"),
    ]:
        with pytest.raises(ApiException) as refused:
            api.validate_rich_menu_object(request)
        status, body = error_of(refused)
        assert status == 400
        assert body["details"][0]["property"] == prop


# Images ---------------------------------------------------------------------------------


def test_an_image_is_uploaded_once_and_downloaded(api, blob):
    rich_menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    image = tiny_png("upload", 2500, 843)
    blob.set_rich_menu_image(rich_menu_id, body=image, _headers={"Content-Type": PNG})
    assert bytes(blob.get_rich_menu_image(rich_menu_id)) == image

    with pytest.raises(ApiException) as again:
        blob.set_rich_menu_image(
            rich_menu_id, body=tiny_png("other", 2500, 843), _headers={"Content-Type": PNG}
        )
    assert error_of(again) == (
        400,
        {"message": "An image has already been uploaded to the richmenu"},
    )
    assert bytes(blob.get_rich_menu_image(rich_menu_id)) == image


def test_a_jpeg_is_measured_from_its_frame_header(api, blob):
    rich_menu_id = api.create_rich_menu(menu_request(1686)).rich_menu_id
    image = jpeg_header(2500, 1686)
    blob.set_rich_menu_image(rich_menu_id, body=image, _headers={"Content-Type": "image/jpeg"})
    assert bytes(blob.get_rich_menu_image(rich_menu_id)) == image


@pytest.mark.parametrize(
    ("content_type", "body", "status", "words"),
    [
        ("image/gif", b"GIF89a" + b"\x00" * 20, 415, "Unsupported media type"),
        ("text/plain", b"hello", 415, "Unsupported media type"),
        (PNG, tiny_png("big", 2500, 843) + b"\x00" * (1024 * 1024), 413, "1 MB"),
        (PNG, tiny_png("small", 2500, 1686), 400, "2500x1686 pixels; the rich menu is 2500x843"),
        ("image/jpeg", jpeg_header(1250, 843), 400, "1250x843"),
        (PNG, jpeg_header(2500, 843), 400, "not a valid image/png"),
        ("image/jpeg", b"\xff\xd8\xff", 400, "not a valid image/jpeg"),
    ],
)
def test_an_image_is_refused_like_line(api, blob, content_type, body, status, words):
    rich_menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    with pytest.raises(ApiException) as refused:
        blob.set_rich_menu_image(rich_menu_id, body=body, _headers={"Content-Type": content_type})
    code, answer = error_of(refused)
    assert code == status
    assert words in answer["message"]
    with pytest.raises(ApiException) as none:
        blob.get_rich_menu_image(rich_menu_id)
    assert none.value.status == 404


def test_an_image_for_no_menu_is_404(blob):
    with pytest.raises(ApiException) as missing:
        blob.set_rich_menu_image(
            "richmenu-" + "0" * 32, body=tiny_png("x"), _headers={"Content-Type": PNG}
        )
    assert missing.value.status == 404


# Default and per-user menus -------------------------------------------------------------


def test_a_menu_without_its_image_cannot_be_shown(api, line):
    user = sb.create_user(line, "画像待ち")
    rich_menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    for show in (
        lambda: api.set_default_rich_menu(rich_menu_id),
        lambda: api.link_rich_menu_id_to_user(user, rich_menu_id),
    ):
        with pytest.raises(ApiException) as refused:
            show()
        assert error_of(refused) == (400, {"message": NO_IMAGE})
    assert shown_to(line, user) is None


def test_a_users_own_menu_overrides_the_default_and_unlinking_falls_back(api, blob, line):
    user, other = sb.create_user(line, "VIP"), sb.create_user(line, "一般")
    default = ready_menu(api, blob, seed="default")
    vip = ready_menu(api, blob, 1686, seed="vip")
    with pytest.raises(ApiException) as none:
        api.get_default_rich_menu_id()
    assert none.value.status == 404

    api.set_default_rich_menu(default)
    assert api.get_default_rich_menu_id().rich_menu_id == default
    assert (shown_to(line, user), shown_to(line, other)) == (default, default)

    api.link_rich_menu_id_to_user(user, vip)
    assert api.get_rich_menu_id_of_user(user).rich_menu_id == vip
    assert (shown_to(line, user), shown_to(line, other)) == (vip, default)

    api.unlink_rich_menu_id_from_user(user)
    with pytest.raises(ApiException) as unlinked:
        api.get_rich_menu_id_of_user(user)
    assert error_of(unlinked) == (404, {"message": "the user has no richmenu"})
    assert shown_to(line, user) == default

    api.cancel_default_rich_menu()
    assert shown_to(line, user) is None


def test_deleting_a_menu_takes_it_off_the_default_and_the_users(api, blob, line):
    user = sb.create_user(line, "削除")
    rich_menu_id = ready_menu(api, blob)
    api.set_default_rich_menu(rich_menu_id)
    api.link_rich_menu_id_to_user(user, rich_menu_id)
    api.delete_rich_menu(rich_menu_id)
    assert shown_to(line, user) is None
    with pytest.raises(ApiException):
        api.get_default_rich_menu_id()
    with pytest.raises(ApiException):
        api.get_rich_menu_id_of_user(user)


def test_links_check_the_user_id_and_the_menu(api, blob, line):
    rich_menu_id = ready_menu(api, blob)
    with pytest.raises(ApiException) as bad_user:
        api.link_rich_menu_id_to_user("someone", rich_menu_id)
    assert bad_user.value.status == 400
    with pytest.raises(ApiException) as no_menu:
        api.link_rich_menu_id_to_user(sb.create_user(line, "A"), "richmenu-" + "0" * 32)
    assert no_menu.value.status == 404


def test_menus_are_linked_and_unlinked_in_bulk(api, blob, line):
    users = [sb.create_user(line, f"まとめて{n}") for n in range(3)]
    rich_menu_id = ready_menu(api, blob)
    linked = api.link_rich_menu_id_to_users_with_http_info(
        RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=users)
    )
    assert linked.status_code == 202
    assert [shown_to(line, u) for u in users] == [rich_menu_id] * 3
    api.unlink_rich_menu_id_from_users(RichMenuBulkUnlinkRequest(user_ids=users[:2]))
    assert [shown_to(line, u) for u in users] == [None, None, rich_menu_id]
    too_many = raw(
        line,
        "POST",
        "/v2/bot/richmenu/bulk/link",
        json={"richMenuId": rich_menu_id, "userIds": [users[0]] * 501},
    )
    assert too_many.status_code == 400
    assert too_many.json()["details"] == [
        {"message": "Size must be between 1 and 500", "property": "userIds"}
    ]


# Aliases and switching ------------------------------------------------------------------


def test_aliases_are_created_read_listed_moved_and_deleted(api, blob):
    first, second = ready_menu(api, blob, seed="1"), ready_menu(api, blob, seed="2")
    api.create_rich_menu_alias(
        CreateRichMenuAliasRequest(rich_menu_alias_id="tab-1", rich_menu_id=first)
    )
    assert api.get_rich_menu_alias("tab-1").rich_menu_id == first
    with pytest.raises(ApiException) as taken:
        api.create_rich_menu_alias(
            CreateRichMenuAliasRequest(rich_menu_alias_id="tab-1", rich_menu_id=second)
        )
    assert error_of(taken) == (400, {"message": "conflict richmenu alias id"})

    api.update_rich_menu_alias("tab-1", UpdateRichMenuAliasRequest(rich_menu_id=second))
    aliases = api.get_rich_menu_alias_list().aliases
    assert [(a.rich_menu_alias_id, a.rich_menu_id) for a in aliases] == [("tab-1", second)]

    api.delete_rich_menu_alias("tab-1")
    with pytest.raises(ApiException) as gone:
        api.get_rich_menu_alias("tab-1")
    assert gone.value.status == 404


def test_an_alias_needs_a_menu_with_an_image_and_a_well_formed_id(api, line):
    bare = api.create_rich_menu(menu_request()).rich_menu_id
    with pytest.raises(ApiException) as no_image:
        api.create_rich_menu_alias(
            CreateRichMenuAliasRequest(rich_menu_alias_id="tab", rich_menu_id=bare)
        )
    assert no_image.value.status == 400
    long_id = raw(
        line, "POST", "/v2/bot/richmenu/alias",
        json={"richMenuAliasId": "a" * 33, "richMenuId": bare},
    )  # fmt: skip
    assert long_id.status_code == 400
    assert long_id.json()["details"][0]["property"] == "richMenuAliasId"


def test_a_switch_tap_sends_a_postback_saying_how_it_went(api, blob, line):
    user = sb.create_user(line, "タブ")
    target = ready_menu(api, blob)
    api.create_rich_menu_alias(
        CreateRichMenuAliasRequest(rich_menu_alias_id="tab-2", rich_menu_id=target)
    )
    tapped = sb.user_event(line, user, "events", type="richmenuswitch",
                           richMenuAliasId="tab-2", data="tab=2")  # fmt: skip
    assert tapped["event"]["postback"] == {
        "data": "tab=2",
        "params": {"newRichMenuAliasId": "tab-2", "status": "SUCCESS"},
    }
    missing = sb.user_event(line, user, "events", type="richmenuswitch",
                            richMenuAliasId="nope", data="x")  # fmt: skip
    assert missing["event"]["postback"]["params"]["status"] == "RICHMENU_ALIAS_ID_NOTFOUND"
    api.delete_rich_menu(target)
    deleted = sb.user_event(line, user, "events", type="richmenuswitch",
                            richMenuAliasId="tab-2", data="x")  # fmt: skip
    assert deleted["event"]["postback"]["params"]["status"] == "RICHMENU_NOTFOUND"


# Limits and faults ----------------------------------------------------------------------


@pytest.fixture
def clock(line):
    now = [1000.0]
    line.state.rate_limiter.clock = lambda: now[0]
    return now


def test_creating_menus_is_limited_per_hour(api, line, clock):
    sb.configure(line, rate_limits={"richmenu_create": 2}, rate_limit_per_second=1000)
    api.create_rich_menu(menu_request())
    clock[0] += 60
    api.create_rich_menu(menu_request())
    clock[0] += 1800
    with pytest.raises(ApiException) as limited:
        api.create_rich_menu(menu_request())
    assert limited.value.status == 429
    assert len(api.get_rich_menu_list().richmenus) == 2  # listing has its own limit
    clock[0] = 1000.0 + 3600
    api.create_rich_menu(menu_request())
    assert len(api.get_rich_menu_list().richmenus) == 3


def test_a_fault_on_rich_menus_reaches_the_sdk(api, line):
    sb.add_fault(line, endpoint="richmenu", status=500, count=1)
    with pytest.raises(ApiException) as failed:
        api.get_rich_menu_list()
    assert failed.value.status == 500
    assert api.get_rich_menu_list().richmenus == []


# The phone page -------------------------------------------------------------------------


@pytest.fixture
def page():
    with chromium_page({"width": 420, "height": 900}) as tab:
        yield tab


def _tab_menu(api, blob, alias: str, text: str) -> str:
    """A menu with one area across the top half sending `text`, and a switch to `alias`."""
    areas = [
        RichMenuArea(bounds=RichMenuBounds(x=0, y=0, width=2500, height=400),
                     action=MessageAction(label=text, text=text)),
        RichMenuArea(bounds=RichMenuBounds(x=0, y=400, width=2500, height=443),
                     action=RichMenuSwitchAction(label="切替", rich_menu_alias_id=alias,
                                                 data=f"switch={alias}")),
    ]  # fmt: skip
    rich_menu_id = api.create_rich_menu(menu_request(areas=areas)).rich_menu_id
    blob.set_rich_menu_image(
        rich_menu_id, body=tiny_png(text, 2500, 843), _headers={"Content-Type": PNG}
    )
    return rich_menu_id


def browser(test):
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@browser
def interactions(db) -> list:
    """What the bot recorded from customers."""
    from sqlalchemy import select

    from crm.models import Interaction

    with db.read_session() as session:
        rows = session.scalars(select(Interaction).where(Interaction.direction == "in")).all()
        session.expunge_all()
        return rows


def received(db) -> list[tuple[str, str]]:
    return [(row.kind, row.text) for row in interactions(db)]


@browser
def test_a_person_taps_the_rich_menu_on_the_phone_page(page, live_app, line, db, api, blob):
    api.set_default_rich_menu(ready_menu(api, blob))
    page.on("dialog", lambda dialog: dialog.accept("メニュー利用者"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_selector("#rich-menu-bar:has-text('メニュー')")
    assert page.get_attribute("#rich-menu-bar", "aria-expanded") == "true"
    image = page.locator("#rich-menu-image")
    wait_until(lambda: image.evaluate("i => i.complete && i.naturalWidth === 2500"))

    page.click(".rich-menu-area[aria-label='ヘルプ']")  # the postback, with its displayText
    page.wait_for_selector(".msg.me:has-text('ヘルプ')")
    page.wait_for_selector("text=このアカウントでできること", timeout=15_000)
    page.click(".rich-menu-area[aria-label='営業時間']")  # the message
    page.wait_for_selector(".msg.me:has-text('営業時間')")

    wait_until(lambda: ("text", "営業時間") in received(db))
    assert ("postback", "action=help") in received(db)

    page.click("#rich-menu-bar")  # collapses to the chat bar text
    assert page.is_hidden("#rich-menu-panel")
    page.click("#rich-menu-bar")
    assert page.is_visible("#rich-menu-panel")


@browser
def test_a_switch_area_changes_the_menu_shown_and_sends_its_postback(
    page, live_app, line, db, api, blob
):
    first = _tab_menu(api, blob, "tab-b", "タブA")
    second = _tab_menu(api, blob, "tab-a", "タブB")
    for alias, rich_menu_id in (("tab-a", first), ("tab-b", second)):
        api.create_rich_menu_alias(
            CreateRichMenuAliasRequest(rich_menu_alias_id=alias, rich_menu_id=rich_menu_id)
        )
    api.set_default_rich_menu(first)
    page.on("dialog", lambda dialog: dialog.accept("タブ利用者"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_selector(".rich-menu-area[aria-label='タブA']")
    page.click(".rich-menu-area[aria-label='切替']")
    page.wait_for_selector(".rich-menu-area[aria-label='タブB']")
    [user] = line.state.users.values()
    assert shown_to(line, user.user_id) == first  # the switch is on screen, not a link
    page.click(".rich-menu-area[aria-label='タブB']")
    page.wait_for_selector(".msg.me:has-text('タブB')")
    page.evaluate("loadRichMenu()")  # the page's refresh keeps the switched menu on screen
    assert page.locator(".rich-menu-area[aria-label='タブB']").count() == 1
    wait_until(lambda: ("postback", "switch=tab-b") in received(db))
    [switch] = [row for row in interactions(db) if row.kind == "postback"]
    assert switch.payload["params"] == {"newRichMenuAliasId": "tab-b", "status": "SUCCESS"}
