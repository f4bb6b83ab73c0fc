"""The rich menu pages in the inbox: admins only, CSRF on every form, the editor refusing what
LINE would refuse, the server-drawn preview, publishing with LINE's answer shown."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from crm.rich_menus.models import MENU_PUBLISHED, CustomerRichMenu, RichMenu
from crm.tags import create_tag, tag_customer
from tests import sandbox_admin as sb
from tests.conftest import sign_in
from tests.fonts import NEEDS_JAPANESE_FONT


def _form(client, **changes) -> dict:
    """The editor's fields for a compact two-button menu."""
    form = {
        "csrf_token": client.csrf,
        "name": "VIPメニュー",
        "size": "compact",
        "layout": "2x1",
        "chat_bar_text": "VIP",
        "tag_id": "",
        "priority": "3",
        "active": "1",
        "text_color": "#ffffff",
        "background": "#111827",
        "area0_label": "VIP特典",
        "area0_type": "feature",
        "area0_feature": "coupons",
        "area0_color": "#b45309",
        "area1_label": "予約",
        "area1_type": "uri",
        "area1_text": "https://shop.example.jp/vip",
        "area1_color": "#1f2937",
    }
    form.update(changes)
    return form


def _menus(db) -> list[RichMenu]:
    with db.read_session() as session:
        return list(session.scalars(select(RichMenu).order_by(RichMenu.id)))


@NEEDS_JAPANESE_FONT
def test_the_list_makes_the_default_menu_and_shows_its_preview(admin_client, db):
    page = admin_client.get("/inbox/rich-menus")
    assert page.status_code == 200
    [menu] = _menus(db)
    assert menu.is_default and menu.name == "基本メニュー"
    assert f"/inbox/rich-menus/{menu.id}/preview.png" in page.text

    preview = admin_client.get(f"/inbox/rich-menus/{menu.id}/preview.png")
    assert preview.content_type == "image/png"
    assert Image.open(io.BytesIO(preview.data)).size == (2500, 1686)


def test_only_admins_open_the_pages(client, make_staff, db):
    clerk = make_staff("clerk@shop.example", role="agent")
    sign_in(client, clerk.email)
    assert client.get("/inbox/rich-menus").status_code == 403
    assert client.get("/inbox/rich-menus/new").status_code == 403
    assert client.post("/inbox/rich-menus/new", data={"name": "x"}).status_code in (400, 403)
    assert _menus(db) == []


def test_every_form_needs_the_csrf_token(admin_client, db):
    refused = admin_client.post("/inbox/rich-menus/new", data=_form(admin_client, csrf_token="x"))
    assert refused.status_code == 400
    assert _menus(db) == []


@NEEDS_JAPANESE_FONT
def test_a_tag_menu_is_saved_and_published_to_its_customers(admin_client, db, line, customers):
    [vip] = customers(1)
    with db.transaction() as session:
        tag_id = create_tag(session, "VIP").id
        tag_customer(session, vip, tag_id)
    saved = admin_client.post("/inbox/rich-menus/new", data=_form(admin_client, tag_id=tag_id))
    assert saved.status_code == 302
    [menu] = _menus(db)
    assert (menu.tag_id, menu.priority, menu.layout) == (tag_id, 3, "2x1")
    assert menu.areas[1] == {
        "label": "予約",
        "action": {"type": "uri", "value": "https://shop.example.jp/vip"},
        "color": "#1f2937",
    }

    published = admin_client.post(
        f"/inbox/rich-menus/{menu.id}/publish", data={"csrf_token": admin_client.csrf}
    )
    assert published.status_code == 302
    [menu] = _menus(db)
    assert menu.status == MENU_PUBLISHED
    assert "status-published" in admin_client.get(published.location).text
    with db.read_session() as session:
        [link] = session.scalars(select(CustomerRichMenu)).all()
    assert (link.customer_id, link.line_rich_menu_id) == (vip, menu.line_rich_menu_id)


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"area0_label": "あ" * 21}, "1〜20文字"),
        ({"chat_bar_text": ""}, "1〜14文字"),
        ({"area1_text": "javascript:alert(1)"}, "https://"),
        ({"layout": "3x2"}, "3x1 / 2x1 / 1x1"),
        ({"priority": "many"}, "整数で入力"),
    ],
)
def test_the_editor_refuses_what_line_would_refuse(admin_client, db, changes, shown):
    page = admin_client.post("/inbox/rich-menus/new", data=_form(admin_client, **changes))
    assert page.status_code == 422
    assert shown in page.text
    assert 'aria-invalid="true"' in page.text or "has-error" in page.text
    assert _menus(db) == []


@NEEDS_JAPANESE_FONT
def test_lines_error_is_shown_on_the_menu(admin_client, db, line):
    admin_client.get("/inbox/rich-menus")
    [menu] = _menus(db)
    body = {"message": "Too Many Requests"}
    sb.add_fault(line, endpoint="richmenu", status=429, body=body)

    answer = admin_client.post(
        f"/inbox/rich-menus/{menu.id}/publish", data={"csrf_token": admin_client.csrf}
    )

    page = admin_client.get(answer.location)
    assert "LINE is busy (429: Too Many Requests)" in page.text
    listing = admin_client.get("/inbox/rich-menus")
    assert "LINE is busy (429: Too Many Requests)" in listing.text
