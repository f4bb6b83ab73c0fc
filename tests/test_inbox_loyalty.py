"""Loyalty in the staff inbox, server-rendered through the test client: the counter screen
(find, give stamps, limits, the rotating QR, redeem, refuse a second redemption, undo by the same
clerk only), the customer panel (give, take back with a reason, issue), the editors (admins only,
errors named), issuing to chosen customers, the report, and loyalty events on the timeline."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from crm.clock import utcnow
from crm.conversations import conversation_for, folder_counts
from crm.loyalty.counter import make_token, member_number, read_token
from crm.loyalty.coupons import (
    CouponInput,
    create_coupon,
    issue_coupon,
    redeem,
    revoke,
    shown_code,
)
from crm.loyalty.models import (
    Coupon,
    IssuedCoupon,
    StampEntry,
    StampProgram,
)
from crm.loyalty.programs import ProgramInput, change_program, default_program
from crm.loyalty.stamps import grant_stamps
from crm.models import BLOCKED, FOLLOWING, AuditEntry, Customer, Interaction, Staff
from tests.conftest import csrf_from, sign_in

TOKYO = ZoneInfo("Asia/Tokyo")
HX = {"HX-Request": "true"}
# The report's fixed days: Tuesday 2026-03-10 12:00 in Tokyo.
NOON = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


@pytest.fixture
def now():
    """A moment a few seconds ahead of the real time, for tests to travel to and onwards.
    Near the real time, because signed-in sessions end after 2 idle hours; ahead of it, because
    a session cookie signed in the future is refused, so a test never travels back past a
    request it made."""
    return (utcnow() + timedelta(seconds=5)).replace(microsecond=0)


@pytest.fixture
def shop(db):
    """花子 (a friend with a member number), a blocked friend with a hostile name, the default
    stamp card and a lunch coupon."""
    with db.transaction() as session:
        hanako = Customer(line_user_id="U" + "1" * 32, display_name="花子", follow_status=FOLLOWING)
        taro = Customer(
            line_user_id="U" + "2" * 32, display_name="<b>太郎</b>", follow_status=BLOCKED
        )
        session.add_all([hanako, taro])
        session.flush()
        number = member_number(session, hanako.id)
        program = default_program(session)
        coupon = create_coupon(
            session,
            CouponInput(
                title="ランチ10%オフ", discount_type="percent", discount_value=10, valid_days=30
            ),
        )
        return SimpleNamespace(
            hanako=hanako.id, taro=taro.id, number=number, program=program.id, coupon=coupon.id
        )


@pytest.fixture
def clerk(app, make_staff):
    """A second browser: an agent signed in; `.csrf` holds its token."""
    staff = make_staff("clerk@shop.example", "agent", "佐藤")
    client = app.test_client()
    assert sign_in(client, staff.email).status_code == 302
    client.csrf = csrf_from(client.get("/inbox/counter").text)
    client.staff = staff
    return client


def _post(client, path, hx=True, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, headers=HX if hx else {})


def _issue(db, coupon_id, customer_id, now=None) -> str:
    with db.transaction() as session:
        result = issue_coupon(
            session,
            session.get(Coupon, coupon_id),
            session.get(Customer, customer_id),
            now or utcnow(),
            source="staff",
        )
        return result.issued.code


def _stamps(db, customer_id) -> int:
    with db.read_session() as session:
        total = session.scalar(
            select(func.coalesce(func.sum(StampEntry.delta), 0)).where(
                StampEntry.customer_id == customer_id
            )
        )
    return int(total)


def _alert_field(html: str) -> str:
    """The field a refused form names in its alert."""
    return re.search(r'role="alert"><strong>(.*?)</strong>', html).group(1)


def _audit(db, action) -> list[AuditEntry]:
    with db.read_session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# ---------------------------------------------------------------- the counter screen


def test_the_counter_finds_a_member_gives_a_stamp_and_refuses_the_daily_limit(clerk, db, shop, now):
    page = clerk.get("/inbox/counter")
    assert page.status_code == 200
    assert '<svg viewBox="0 0' in page.text and 'hx-trigger="every 2s"' in page.text
    assert "LINEで読み取るとスタンプ" in page.text  # ja by default
    found = clerk.get(f"/inbox/counter/find?q=M-{shop.number}&scanned=1", headers=HX)
    assert "花子" in found.text and f"M-{shop.number}" in found.text
    assert 'name="via" value="member_qr"' in found.text
    assert "<html" not in found.text  # a fragment for htmx
    with time_machine.travel(now, tick=False):
        given = _post(
            clerk,
            f"/inbox/counter/customers/{shop.hanako}/stamps",
            program_id=shop.program,
            count=1,
            via="member_qr",
        )
        assert given.status_code == 200
        assert "スタンプを押しました: 1 / 10" in given.text
        assert 'data-stamps="1"' in given.text
        again = _post(
            clerk, f"/inbox/counter/customers/{shop.hanako}/stamps", program_id=shop.program
        )
    assert "本日の上限に達しています（1日 1 個まで）" in again.text
    assert 'data-outcome="refused"' in again.text and 'data-stamps="1"' in again.text
    assert _stamps(db, shop.hanako) == 1
    with db.read_session() as session:
        entry = session.scalars(select(StampEntry)).one()
        assert (entry.via, entry.staff_id) == ("member_qr", clerk.staff.id)
        pushed = session.scalars(
            select(Interaction).where(
                Interaction.customer_id == shop.hanako, Interaction.direction == "out"
            )
        ).all()
    assert len(pushed) == 1  # the card, queued for the customer's LINE
    assert len(_audit(db, "stamp.grant")) == 1  # the refused one wrote nothing


def test_too_soon_says_when_the_next_stamp_is_possible(clerk, db, shop, now):
    with db.transaction() as session:
        program = session.get(StampProgram, shop.program)
        change_program(
            session,
            program,
            ProgramInput(name="スタンプカード", per_day_limit=None, min_interval_minutes=60),
        )
    path = f"/inbox/counter/customers/{shop.hanako}/stamps"
    with time_machine.travel(now, tick=False):
        _post(clerk, path, program_id=shop.program)
        refused = _post(clerk, path, program_id=shop.program)
    next_one = (now + timedelta(minutes=60)).astimezone(TOKYO).strftime("%m/%d %H:%M")
    assert f"前回から時間が短すぎます: 次は {next_one} から" in refused.text
    with time_machine.travel(now + timedelta(minutes=61), tick=False):
        assert "2 / 10" in _post(clerk, path, program_id=shop.program).text


def test_searching_by_name_lists_customers_with_their_names_escaped(clerk, shop):
    found = clerk.get("/inbox/counter/find?q=太郎", headers=HX)
    assert "&lt;b&gt;太郎&lt;/b&gt;" in found.text and "<b>太郎" not in found.text
    assert f"/inbox/counter/customers/{shop.taro}" in found.text
    nobody = clerk.get("/inbox/counter/find?q=次郎", headers=HX)
    assert "該当するお客様はいません" in nobody.text
    by_number = clerk.get(f"/inbox/counter/find?q={shop.number}", headers=HX)
    assert 'id="customer-card"' in by_number.text and 'value="staff"' in by_number.text
    whole_page = clerk.get(f"/inbox/counter?customer={shop.hanako}")
    assert "<html" in whole_page.text and 'id="customer-card"' in whole_page.text


def test_a_typed_code_is_redeemed_once_and_undone_by_the_same_clerk_only(
    clerk, admin_client, db, shop
):
    code = _issue(db, shop.coupon, shop.hanako)
    typed = shown_code(code).lower().replace("-", " ")  # as a clerk might type it
    found = clerk.get(f"/inbox/counter/find?q={typed}", headers=HX)
    assert "ランチ10%オフ" in found.text and "このクーポンを使う" in found.text
    used = _post(clerk, "/inbox/counter/redeem", code=typed)
    assert "クーポンを使いました: ランチ10%オフ" in used.text
    assert 'id="customer-card"' in used.text  # the customer's card, with the undo button
    entry_id = int(re.search(r"/inbox/counter/redemptions/(\d+)/undo", used.text).group(1))
    second = _post(admin_client, "/inbox/counter/redeem", code=code)
    assert "このクーポンはすでに使われています" in second.text
    lookup = clerk.get(f"/inbox/counter/find?q={code}", headers=HX)
    assert "このクーポンはすでに使われています" in lookup.text and "取り消す" in lookup.text
    assert "取り消す" not in admin_client.get(f"/inbox/counter/find?q={code}", headers=HX).text
    other = _post(admin_client, f"/inbox/counter/redemptions/{entry_id}/undo")
    assert "使った本人だけが取り消せます" in other.text
    undone = _post(clerk, f"/inbox/counter/redemptions/{entry_id}/undo")
    assert "利用を取り消しました" in undone.text
    assert "ランチ10%オフ" in undone.text and "使う" in undone.text  # usable again
    twice = _post(clerk, f"/inbox/counter/redemptions/{entry_id}/undo")
    assert "すでに取り消されています" in twice.text
    with db.read_session() as session:
        issued = session.scalars(select(IssuedCoupon)).one()
        assert (issued.status, issued.uses) == ("valid", 0)
    assert [a.detail["entry"] for a in _audit(db, "coupon.redeem")] == [entry_id]
    assert [a.staff_id for a in _audit(db, "coupon.undo")] == [clerk.staff.id]


def test_undo_is_refused_after_five_minutes(clerk, db, shop, now):
    code = _issue(db, shop.coupon, shop.hanako, now)
    with time_machine.travel(now, tick=False):
        used = _post(clerk, "/inbox/counter/redeem", code=code, hx=False)
    assert used.status_code == 200 and "<html" in used.text  # without htmx: the whole page
    entry_id = re.search(r"/inbox/counter/redemptions/(\d+)/undo", used.text).group(1)
    with time_machine.travel(now + timedelta(minutes=6), tick=False):
        late = _post(clerk, f"/inbox/counter/redemptions/{entry_id}/undo")
    assert "取り消せるのは5分以内です" in late.text


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("unknown", "クーポンコードが見つかりません"),
        ("expired", "このクーポンは有効期限が切れています"),
        ("revoked", "このクーポンは取り消されたため使えません"),
        ("not_yet_valid", "このクーポンはまだ使えません"),
    ],
)
def test_unusable_codes_are_refused_with_a_clear_message(clerk, db, shop, now, state, message):
    starts = now + timedelta(days=2) if state == "not_yet_valid" else None
    with db.transaction() as session:
        coupon = create_coupon(
            session,
            CouponInput(
                title="半額", discount_type="percent", discount_value=50, valid_from=starts
            ),
        )
        issued = issue_coupon(
            session, coupon, session.get(Customer, shop.hanako), now, source="staff"
        ).issued
        if state == "expired":
            issued.valid_until = now + timedelta(minutes=10)
        if state == "revoked":
            revoke(session, issued, now, staff_id=None, reason="誤発行")
        code = "ZZZZ-ZZZZ-ZZZZ" if state == "unknown" else issued.code
    with time_machine.travel(now + timedelta(minutes=30), tick=False):
        looked_up = clerk.get(f"/inbox/counter/find?q={code}", headers=HX)
        redeemed = _post(clerk, "/inbox/counter/redeem", code=code)
    assert message in looked_up.text and message in redeemed.text
    assert "このクーポンを使う" not in looked_up.text


def test_a_scanned_qr_that_is_no_member_is_read_as_a_coupon_code(clerk, shop):
    scanned = clerk.get("/inbox/counter/find?q=https://example.com/x&scanned=1", headers=HX)
    assert "クーポンコードが見つかりません" in scanned.text


def test_the_rotating_qr_stays_while_fresh_and_changes_after_use_or_20_seconds(
    clerk, db, services, shop, now
):
    with time_machine.travel(now, tick=False):
        page = clerk.get("/inbox/counter").text
    token = re.search(r"token=(STAMP-[A-Za-z0-9_-]+)", page).group(1)
    poll = f"/inbox/counter/qr?program_id={shop.program}&count=1&token={token}"
    with time_machine.travel(now + timedelta(seconds=10), tick=False):
        assert clerk.get(poll, headers=HX).status_code == 204
    secret = services.settings.secret_key
    with db.transaction() as session:  # a customer sends the token from LINE
        counted = read_token(secret, token, now + timedelta(seconds=12))
        grant_stamps(
            session,
            session.get(Customer, shop.hanako),
            session.get(StampProgram, shop.program),
            1,
            now + timedelta(seconds=12),
            TOKYO,
            via="counter_qr",
            idempotency_key=counted.idempotency_key,
        )
    with time_machine.travel(now + timedelta(seconds=13), tick=False):
        after_use = clerk.get(poll, headers=HX)
    assert after_use.status_code == 200 and "花子さんがスタンプを受け取りました" in after_use.text
    assert f"/inbox/counter?customer={shop.hanako}" in after_use.text  # their card, one tap away
    assert token not in after_use.text
    fresh = re.search(r"token=(STAMP-[A-Za-z0-9_-]+)", after_use.text).group(1)
    poll = f"/inbox/counter/qr?program_id={shop.program}&count=1&token={fresh}"
    with time_machine.travel(now + timedelta(seconds=30), tick=False):
        assert clerk.get(poll, headers=HX).status_code == 204
    with time_machine.travel(now + timedelta(seconds=34), tick=False):
        renewed = clerk.get(poll, headers=HX)
    assert renewed.status_code == 200 and fresh not in renewed.text
    assert "<svg" in renewed.text and "受け取りました" not in renewed.text
    forged, _info = make_token("another-secret-key-" * 3, shop.program, 1, now)
    forged_poll = f"/inbox/counter/qr?program_id={shop.program}&count=1&token={forged}"
    with time_machine.travel(now + timedelta(seconds=35), tick=False):  # never back: cookies
        assert clerk.get(forged_poll, headers=HX).status_code == 200


def test_counter_posts_need_the_csrf_token(clerk, db, shop):
    refused = clerk.post(
        f"/inbox/counter/customers/{shop.hanako}/stamps", data={"program_id": shop.program}
    )
    assert refused.status_code == 400
    assert clerk.post("/inbox/counter/redeem", data={"code": "X"}).status_code == 400
    assert _stamps(db, shop.hanako) == 0


def test_signed_out_staff_are_sent_to_sign_in(client, shop):
    response = client.get("/inbox/counter")
    assert response.status_code == 302 and "/inbox/" in response.headers["Location"]
    assert client.get("/inbox/counter/find?q=x", headers=HX).status_code == 401


# ---------------------------------------------------------------- the customer panel


def test_the_panel_gives_stamps_takes_them_back_with_a_reason_and_issues_a_coupon(clerk, db, shop):
    page = clerk.get(f"/inbox/customers/{shop.hanako}").text
    assert "スタンプ・クーポン" in page and f"M-{shop.number}" in page
    back = f"/inbox/customers/{shop.hanako}"
    given = _post(
        clerk,
        f"/inbox/loyalty/customers/{shop.hanako}/stamps",
        hx=False,
        program_id=shop.program,
        count=1,
        next=back,
    )
    assert given.status_code == 302 and given.headers["Location"] == back
    page = clerk.get(back).text
    assert "スタンプを押しました: 1 / 10" in page
    with db.read_session() as session:
        grant = session.scalars(select(StampEntry)).one()
    revoke_path = f"/inbox/loyalty/customers/{shop.hanako}/stamps/{grant.id}/revoke"
    assert f'action="{revoke_path}"' in page
    no_reason = _post(clerk, revoke_path, hx=False, reason=" ", next=back)
    assert "取り消す理由を書いてください" in clerk.get(no_reason.headers["Location"]).text
    _post(clerk, revoke_path, hx=False, reason="押し間違い", next=back)
    page = clerk.get(back).text
    assert "スタンプを 1 個取り消しました" in page and "押し間違い" in page
    assert f'action="{revoke_path}"' not in page  # nothing left to take back
    assert _stamps(db, shop.hanako) == 0
    [audit] = _audit(db, "stamp.revoke")
    assert audit.staff_id == clerk.staff.id and audit.detail["reason"] == "押し間違い"
    _post(clerk, f"/inbox/loyalty/customers/{shop.hanako}/coupons", hx=False, coupon_id=shop.coupon)
    page = clerk.get(back).text
    assert "クーポンをLINEで送りました: ランチ10%オフ" in page
    with db.read_session() as session:
        issued = session.scalars(select(IssuedCoupon)).one()
        assert (issued.source, issued.customer_id) == ("staff", shop.hanako)
        pushes = session.scalar(
            select(func.count()).where(Interaction.direction == "out").select_from(Interaction)
        )
    assert shown_code(issued.code) in page and "有効" in page
    assert pushes == 2  # the card after the stamps, then the coupon
    second = _post(
        clerk, f"/inbox/loyalty/customers/{shop.hanako}/coupons", hx=False, coupon_id=shop.coupon
    )
    assert "お一人あたりの上限" in clerk.get(second.headers["Location"]).text


def test_a_revocation_for_another_customers_entry_is_not_found(clerk, db, shop):
    _post(clerk, f"/inbox/counter/customers/{shop.hanako}/stamps", program_id=shop.program)
    with db.read_session() as session:
        entry_id = session.scalars(select(StampEntry.id)).one()
    wrong = _post(
        clerk, f"/inbox/loyalty/customers/{shop.taro}/stamps/{entry_id}/revoke", reason="x"
    )
    assert wrong.status_code == 404


def test_loyalty_events_are_small_centred_lines_and_do_not_count_as_unread(admin_client, db, shop):
    with db.transaction() as session:
        conversation_id = conversation_for(session, shop.hanako, utcnow()).id
    _post(admin_client, f"/inbox/counter/customers/{shop.hanako}/stamps", program_id=shop.program)
    with db.transaction() as session:
        event = session.scalars(select(Interaction).where(Interaction.direction == "event")).one()
        assert (event.text, event.payload["event"]) == ("スタンプ +1（スタンプカード）", "grant")
        event.payload = {**event.payload, "program": "<script>alert(1)</script>"}
        assert folder_counts(session, admin_client.staff.id)["needs_reply"] == 0
    page = admin_client.get(f"/inbox/conversations/{conversation_id}").text
    assert 'class="item event kind-stamp"' in page and 'class="system event-line"' in page
    assert "スタンプ +1（&lt;script&gt;alert(1)&lt;/script&gt;）" in page  # escaped
    assert "<script>alert" not in page
    since = admin_client.get(f"/inbox/conversations/{conversation_id}/timeline?from_id=0").text
    assert "event-line" in since
    with db.transaction() as session:  # the same facts, worded in English for English staff
        session.get(Staff, admin_client.staff.id).language = "en"
    english = admin_client.get(f"/inbox/conversations/{conversation_id}").text
    assert "Stamps +1 (&lt;script&gt;" in english


# ---------------------------------------------------------------- editors (admins)


PROGRAM_FORM = {
    "name": "ランチカード",
    "stamps_needed": "5",
    "per_day_limit": "1",
    "min_interval_minutes": "",
    "expiry_kind": "from_last",
    "expiry_days": "365",
    "expiry_date": "",
    "starter_stamps": "1",
    "remind_days_before": "7",
    "active": "1",
}


def test_agents_cannot_open_or_post_the_editors(clerk, shop):
    for path in (
        "/inbox/loyalty/programs",
        "/inbox/loyalty/programs/new",
        f"/inbox/loyalty/programs/{shop.program}",
        "/inbox/loyalty/coupons",
        "/inbox/loyalty/coupons/new",
        f"/inbox/loyalty/coupons/{shop.coupon}",
        f"/inbox/loyalty/coupons/{shop.coupon}/issue",
    ):
        assert clerk.get(path).status_code == 403, path
    assert _post(clerk, "/inbox/loyalty/programs/new", hx=False, **PROGRAM_FORM).status_code == 403
    assert (
        _post(
            clerk, f"/inbox/loyalty/coupons/{shop.coupon}/issue", customer_ids=str(shop.hanako)
        ).status_code
        == 403
    )
    assert clerk.get("/inbox/loyalty/report").status_code == 200  # agents read the report
    assert clerk.get("/inbox/loyalty").headers["Location"].endswith("/inbox/loyalty/report")


def test_an_admin_creates_a_program_with_a_reward_and_makes_it_default(admin_client, db, shop):
    form = {**PROGRAM_FORM, "reward0_stamps": "5", "reward0_coupon": str(shop.coupon)}
    form["make_default"] = "1"
    created = _post(admin_client, "/inbox/loyalty/programs/new", hx=False, **form)
    assert created.status_code == 302
    listing = admin_client.get("/inbox/loyalty/programs").text
    assert "ランチカード" in listing and "スタンプカードを保存しました" in listing
    with db.read_session() as session:
        program = session.scalar(select(StampProgram).where(StampProgram.name == "ランチカード"))
        assert program.is_default and program.expiry_kind == "from_last"
        assert program.expiry_days == 365 and program.starter_stamps == 1
        assert {r.stamps: r.coupon_id for r in program.rewards} == {5: shop.coupon}
    edit = admin_client.get(f"/inbox/loyalty/programs/{program.id}").text
    assert 'value="365"' in edit and f'<option value="{shop.coupon}" selected' in edit
    changed = _post(
        admin_client,
        f"/inbox/loyalty/programs/{program.id}",
        hx=False,
        **{**form, "stamps_needed": "8", "active": ""},
    )
    assert changed.status_code == 302
    with db.read_session() as session:
        program = session.get(StampProgram, program.id)
        assert (program.stamps_needed, program.active) == (8, False)
    _post(admin_client, f"/inbox/loyalty/programs/{shop.program}/default", hx=False)
    with db.read_session() as session:
        assert session.get(StampProgram, shop.program).is_default


@pytest.mark.parametrize(
    ("change", "field_label"),
    [
        ({"stamps_needed": "0"}, "満タンまでのスタンプ数"),
        ({"stamps_needed": "十"}, "満タンまでのスタンプ数"),
        ({"expiry_kind": "fixed"}, "有効期限日"),
        ({"reward0_stamps": "3", "reward0_coupon": ""}, "ごほうび"),
        ({"starter_stamps": "5"}, "友だち追加でもらえるスタンプ数"),
    ],
)
def test_program_errors_name_the_field_and_keep_what_was_typed(
    admin_client, db, shop, change, field_label
):
    response = _post(
        admin_client, "/inbox/loyalty/programs/new", hx=False, **{**PROGRAM_FORM, **change}
    )
    assert response.status_code == 422
    assert _alert_field(response.text) == field_label
    assert 'value="ランチカード"' in response.text
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(StampProgram)) == 1


COUPON_FORM = {
    "title": "月末までランチ500円引き",
    "description": "平日ランチに使えます",
    "image_url": "https://shop.example/lunch.png",
    "discount_type": "amount",
    "discount_value": "500",
    "valid_from": "2026-03-01",
    "validity": "until",
    "valid_until": "2026-03-31",
    "valid_days": "",
    "per_customer_limit": "1",
    "total_limit": "100",
    "lottery_percent": "30",
    "usable_times": "1",
    "remind_days_before": "3",
    "active": "1",
}


def test_an_admin_creates_a_coupon_valid_for_whole_shop_days(admin_client, db, shop):
    created = _post(admin_client, "/inbox/loyalty/coupons/new", hx=False, **COUPON_FORM)
    assert created.status_code == 302
    with db.read_session() as session:
        coupon = session.scalar(select(Coupon).where(Coupon.title == COUPON_FORM["title"]))
    assert coupon.valid_from == datetime(2026, 3, 1, tzinfo=TOKYO)
    assert coupon.valid_until == datetime(2026, 4, 1, tzinfo=TOKYO)  # the end of March 31st
    assert (coupon.total_limit, coupon.lottery_percent, coupon.discount_value) == (100, 30, 500)
    assert coupon.image_url == "https://shop.example/lunch.png"
    edit = admin_client.get(f"/inbox/loyalty/coupons/{coupon.id}").text
    assert 'value="2026-03-31"' in edit and 'value="until" checked' in edit
    days = {**COUPON_FORM, "validity": "days", "valid_days": "14", "valid_from": ""}
    assert (
        _post(admin_client, f"/inbox/loyalty/coupons/{coupon.id}", hx=False, **days).status_code
        == 302
    )
    with db.read_session() as session:
        coupon = session.get(Coupon, coupon.id)
        assert (coupon.valid_until, coupon.valid_days, coupon.valid_from) == (None, 14, None)


@pytest.mark.parametrize(
    ("change", "field_label"),
    [
        ({"discount_type": "percent", "discount_value": "150"}, "値"),
        ({"image_url": "http://shop.example/a.png"}, "画像URL（https）"),
        ({"valid_until": "2026-02-01"}, "有効期限（最終日）"),
        ({"validity": "days", "valid_days": ""}, "発行からの日数"),
        ({"lottery_percent": "abc"}, "抽選の当選確率（パーセント）"),
        ({"title": ""}, "タイトル"),
    ],
)
def test_coupon_errors_name_the_field(admin_client, db, shop, change, field_label):
    response = _post(
        admin_client, "/inbox/loyalty/coupons/new", hx=False, **{**COUPON_FORM, **change}
    )
    assert response.status_code == 422
    assert _alert_field(response.text) == field_label
    assert 'aria-invalid="true"' in response.text
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Coupon)) == 2  # default + lunch


def test_an_admin_gives_a_coupon_to_chosen_customers_with_one_result_each(admin_client, db, shop):
    form_page = admin_client.get(
        f"/inbox/loyalty/coupons/{shop.coupon}/issue?customer_ids={shop.hanako}"
    ).text
    assert f'value="{shop.hanako}" checked' in form_page
    found = admin_client.get(
        f"/inbox/loyalty/coupons/{shop.coupon}/issue/candidates?q=太郎&customer_id={shop.hanako}",
        headers=HX,
    ).text
    assert f'value="{shop.hanako}" checked' in found and f'value="{shop.taro}">' in found
    result = admin_client.post(
        f"/inbox/loyalty/coupons/{shop.coupon}/issue",
        data={
            "csrf_token": admin_client.csrf,
            "customer_id": [str(shop.hanako), str(shop.taro)],
            "customer_ids": f"{shop.hanako}, 999999",
        },
    ).text
    rows = re.findall(r"<tr class=\"(issued|not-issued)\">(.*?)</tr>", result, re.S)
    assert [kind for kind, _row in rows] == ["issued", "not-issued", "not-issued"]
    assert "LINEで送りました" in rows[0][1] and "ブロック" in rows[1][1]
    assert "#999999" in rows[2][1] and "お客様が見つかりません" in rows[2][1]
    with db.read_session() as session:
        assert session.scalar(select(Coupon.issued_count).where(Coupon.id == shop.coupon)) == 1
    [audit] = _audit(db, "loyalty.coupon.issue")
    assert audit.detail == {"customers": 3, "issued": 1}


# ---------------------------------------------------------------- the report


def test_the_report_counts_stamps_per_shop_day_cards_and_coupons(admin_client, db, shop):
    with db.transaction() as session:
        program = session.get(StampProgram, shop.program)
        reward_coupon = program.rewards[0].coupon_id
        change_program(
            session,
            program,
            ProgramInput(
                name="スタンプカード",
                stamps_needed=2,
                per_day_limit=None,
                rewards={2: reward_coupon},
            ),
        )
        hanako = session.get(Customer, shop.hanako)
        late_evening = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)  # 23:30 in Tokyo on the 9th
        grant_stamps(session, hanako, program, 1, late_evening, TOKYO, via="staff")
        grant_stamps(session, hanako, program, 2, NOON, TOKYO, via="staff")  # completes a card
        lunch = session.get(Coupon, shop.coupon)
        issue_coupon(session, lunch, hanako, NOON, source="staff")
        issue_coupon(session, lunch, session.get(Customer, shop.taro), NOON, source="staff")
    page = admin_client.get("/inbox/loyalty/report?since=2026-03-09&until=2026-03-10").text
    charts = json.loads(re.search(r'id="loyalty-charts">(.*?)</script>', page, re.S).group(1))
    assert charts["stamps"]["labels"] == ["03/09", "03/10"]
    assert charts["stamps"]["series"][0]["data"] == [1, 2]  # the day is the shop's day
    assert charts["cards"]["series"][0]["data"] == [0, 1]
    labels, data = charts["coupons"]["labels"], charts["coupons"]["series"][0]["data"]
    issued = dict(zip(labels, data, strict=True))
    assert issued == {"ドリンク1杯無料": 1, "ランチ10%オフ": 1}  # the blocked friend got none
    assert 'id="total-stamps">3<' in page and 'id="total-cards">1<' in page
    assert "chart.umd.min.js" in page and "loyalty-report.js" in page
    assert "<td>0</td><td>1</td><td>0</td><td>0</td><td>0</td>" in page  # issued in March, expired
    with db.transaction() as session:
        code = session.scalar(select(IssuedCoupon.code).where(IssuedCoupon.coupon_id == lunch.id))
        redeem(session, code, NOON + timedelta(hours=1), via="staff")
    page = admin_client.get("/inbox/loyalty/report?since=2026-03-09&until=2026-03-10").text
    assert '<td class="rate">100%</td>' in page
