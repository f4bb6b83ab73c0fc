"""Customers as staff keep them: tags, notes, custom fields, consent, filters and CSV export."""

import csv
import io

import pytest
from sqlalchemy import select

from crm.models import AuditEntry, Customer, CustomerAttribute, CustomerTag, Note, Tag
from tests.conftest import csrf_from, sign_in


def _customer(db, name="鈴木一郎", **fields) -> Customer:
    with db.transaction() as session:
        customer = Customer(
            line_user_id="U" + format(abs(hash(name)), "032x")[:32], display_name=name, **fields
        )
        session.add(customer)
    return customer


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data})


def _tag(client, db, name) -> int:
    _post(client, "/inbox/settings/tags", name=name, color="#06c755")
    with db.read_session() as session:
        return session.scalars(select(Tag.id).where(Tag.name == name)).one()


def _define(client, db, key, label, kind, choices=""):
    response = _post(
        client, "/inbox/settings/attributes", key=key, label=label, kind=kind, choices=choices
    )
    assert response.status_code == 302
    from crm.models import AttributeDefinition

    with db.read_session() as session:
        return session.scalars(
            select(AttributeDefinition.id).where(AttributeDefinition.key == key)
        ).one()


def test_tags_notes_and_consent_from_the_panel(admin_client, db):
    customer = _customer(db)
    vip = _tag(admin_client, db, "VIP")
    base = f"/inbox/customers/{customer.id}"
    _post(admin_client, f"{base}/tags", tag_id=str(vip), next=base)
    _post(admin_client, f"{base}/tags", tag_id=str(vip), next=base)  # idempotent
    _post(admin_client, f"{base}/notes", body="アレルギー: えび\n次回は窓際希望", next=base)
    _post(admin_client, f"{base}/consent", marketing_consent="0", next=base)
    page = admin_client.get(base).text
    assert "VIP" in page and "アレルギー: えび" in page and "配信停止" in page
    with db.read_session() as session:
        assert session.scalars(select(CustomerTag)).all()[0].tag_id == vip
        assert len(session.scalars(select(CustomerTag)).all()) == 1
        note = session.scalars(select(Note)).one()
        assert note.staff_id == admin_client.staff.id
        assert session.get(Customer, customer.id).marketing_consent is False
        actions = set(session.scalars(select(AuditEntry.action)).all())
    assert {"customer.tag", "customer.note", "customer.consent"} <= actions
    _post(admin_client, f"{base}/tags/{vip}/remove", next=base)
    with db.read_session() as session:
        assert session.scalars(select(CustomerTag)).all() == []


def test_empty_note_is_refused(admin_client, db):
    customer = _customer(db)
    response = _post(admin_client, f"/inbox/customers/{customer.id}/notes", body="   ")
    assert response.status_code == 302
    assert "メモは1〜5,000文字" in admin_client.get(response.location).text
    with db.read_session() as session:
        assert session.scalars(select(Note)).all() == []


def test_custom_fields_are_validated_by_type(admin_client, db):
    customer = _customer(db)
    birthday = _define(admin_client, db, "birthday", "誕生日", "date")
    visits = _define(admin_client, db, "visits", "来店回数", "number")
    course = _define(admin_client, db, "course", "コース", "choice", "ランチ、ディナー")
    path = f"/inbox/customers/{customer.id}/attributes"
    _post(
        admin_client,
        path,
        **{
            f"attr_{birthday}": "1990/04/01",
            f"attr_{visits}": "1,200",
            f"attr_{course}": "ディナー",
        },
    )
    with db.read_session() as session:
        values = dict(
            session.execute(select(CustomerAttribute.definition_id, CustomerAttribute.value)).all()
        )
    assert values == {birthday: "1990-04-01", visits: "1200", course: "ディナー"}
    for field, bad, message in (
        (birthday, "4月1日", "YYYY-MM-DD"),
        (visits, "many", "数値"),
        (course, "朝食", "一覧の値"),
    ):
        response = _post(admin_client, path, **{f"attr_{field}": bad})
        assert message in admin_client.get(response.location).text
    with db.read_session() as session:
        after = dict(
            session.execute(select(CustomerAttribute.definition_id, CustomerAttribute.value)).all()
        )
    assert after == values  # a bad value changes nothing
    _post(admin_client, path, **{f"attr_{visits}": ""})  # clearing
    with db.read_session() as session:
        assert visits not in dict(
            session.execute(select(CustomerAttribute.definition_id, CustomerAttribute.value)).all()
        )


def test_customers_list_filters(admin_client, db):
    alice = _customer(db, "Alice", follow_status="following")
    bob = _customer(db, "Bob", follow_status="blocked")
    _customer(db, "Carol", follow_status="following")
    lunch = _tag(admin_client, db, "ランチ")
    _post(admin_client, f"/inbox/customers/{alice.id}/tags", tag_id=str(lunch))
    course = _define(admin_client, db, "course", "コース", "choice", "A,B")
    _post(admin_client, f"/inbox/customers/{bob.id}/attributes", **{f"attr_{course}": "B"})

    def names(query):
        html = admin_client.get(f"/inbox/customers?{query}").text
        return {n for n in ("Alice", "Bob", "Carol") if f">{n}<" in html}

    assert names("") == {"Alice", "Bob", "Carol"}
    assert names(f"tag={lunch}") == {"Alice"}
    assert names("status=blocked") == {"Bob"}
    assert names(f"attribute={course}&value=B") == {"Bob"}
    assert names("q=aro") == {"Carol"}


def test_csv_export_opens_in_excel_and_defuses_formulas(admin_client, db):
    _customer(db, '=HYPERLINK("http://evil")')
    _customer(db, "山田太郎")
    response = admin_client.get("/inbox/customers/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "line_user_id", "display_name"]
    names = {row[2] for row in rows[1:]}
    assert "山田太郎" in names
    assert '\'=HYPERLINK("http://evil")' in names
    with db.read_session() as session:
        assert session.scalars(select(AuditEntry.action)).all()[-1] == "customers.export"


def test_agents_cannot_export(client, make_staff, db):
    make_staff()
    make_staff("clerk@shop.example", "agent")
    sign_in(client, "clerk@shop.example")
    assert client.get("/inbox/customers/export.csv").status_code == 403
    page = client.get("/inbox/customers").text
    assert "CSVエクスポート" not in page
    csrf_from(page)


def test_settings_business_hours_and_bot_texts(admin_client, db):
    response = _post(
        admin_client,
        "/inbox/settings/hours",
        enabled="1",
        day_0="11:00-14:00, 17:00-22:00",
        day_1="",
        holidays="2026-12-31\n2027/01/01",
        away_message="営業時間外です",
    )
    assert response.status_code == 302
    from crm.business_hours import load_business_hours

    with db.read_session() as session:
        hours = load_business_hours(session)
    assert hours.enabled and len(hours.weekly[0]) == 2 and hours.weekly[1] == ()
    assert len(hours.holidays) == 2
    bad = _post(admin_client, "/inbox/settings/hours", day_0="25:00-26:00", away_message="x")
    assert "09:00-18:00" in admin_client.get(bad.location).text
    texts = {
        "shop_name": "カフェ山田",
        "greeting_title": "ようこそ",
        "greeting_body": "{shop_name}です",
        "ack": "受付しました",
        "help": "ヘルプです",
    }
    _post(admin_client, "/inbox/settings/bot-texts", **texts)
    from crm.bot_texts import load_texts

    with db.read_session() as session:
        assert load_texts(session)["greeting_body"] == "カフェ山田です"
    _post(admin_client, "/inbox/settings/timezone", timezone="Mars/Olympus")
    _post(admin_client, "/inbox/settings/timezone", timezone="Europe/Paris")
    from crm.shop import shop_timezone_name

    with db.read_session() as session:
        assert shop_timezone_name(session, "Asia/Tokyo") == "Europe/Paris"


def test_canned_responses_are_offered_in_the_reply_box(admin_client, db):
    _post(
        admin_client,
        "/inbox/settings/canned",
        shortcut="thanks",
        title="お礼",
        body="ありがとうございます！",
    )
    taken = _post(admin_client, "/inbox/settings/canned", shortcut="thanks", title="x", body="y")
    assert "既に使われています" in admin_client.get(taken.location).text
    customer = _customer(db)
    chat = admin_client.get(f"/inbox/customers/{customer.id}/chat")
    page = admin_client.get(chat.location).text
    assert 'data-shortcut="thanks"' in page and "ありがとうございます！" in page


def test_times_are_shown_in_the_shops_time_zone(admin_client, db):
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    customer = _customer(db, "時刻", first_contact_at=moment, last_contact_at=moment)
    assert "2026/01/01 09:30" in admin_client.get(f"/inbox/customers/{customer.id}").text
    _post(admin_client, "/inbox/settings/timezone", timezone="Europe/Paris")
    assert "2026/01/01 01:30" in admin_client.get(f"/inbox/customers/{customer.id}").text
    admin_client.post(
        "/inbox/language",
        data={"csrf_token": admin_client.csrf, "language": "en", "next": "/inbox/"},
    )
    assert "Jan 01, 2026 01:30" in admin_client.get(f"/inbox/customers/{customer.id}").text


@pytest.mark.parametrize(
    "path",
    [
        "/inbox/customers/99999999999999999999999",
        "/inbox/conversations/99999999999999999999999",
        "/inbox/conversations/0/timeline",
        "/inbox/customers/media/9223372036854775808",
        "/inbox/customers/9223372036854775807",
    ],
)
def test_an_id_no_database_can_hold_is_a_404_page(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 404
    assert "見つかりません" in response.text or "Not found" in response.text
