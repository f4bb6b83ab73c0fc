"""The segment builder in the staff inbox: admins only, a live count and samples from the posted
rows, problems shown in place, save / duplicate / delete with CSRF and audit entries, a saved
tree shown as rows and saved back unchanged, and the customers list narrowed by a segment."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.attributes import delete_definition
from crm.clock import utcnow
from crm.models import AttributeDefinition, AuditEntry, Customer, Segment
from crm.saved_segments import save_segment
from crm.tags import find_or_create_tag, tag_customer
from inbox.segment_builder import builder_from_form, builder_of, tree_of
from inbox.segment_fields import field_catalogue
from tests import line_payloads as lp
from tests.conftest import csrf_from, sign_in
from tests.test_segments import shop  # noqa: F401  (the four-customer shop fixture)

EVIL_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def crowd(db):
    """60 regulars (常連, following; every third one blocked) and 5 others."""
    now = utcnow()
    with db.transaction() as session:
        regular = find_or_create_tag(session, "常連")
        for number in range(65):
            customer = Customer(
                line_user_id=lp.new_user_id(),
                display_name=f"客{number:02d}",
                follow_status="blocked" if number % 3 == 0 else "following",
                last_contact_at=now - timedelta(days=number),
            )
            session.add(customer)
            session.flush()
            if number < 60:
                tag_customer(session, customer.id, regular.id)
    return {"following regulars": 40, "regulars": 60}


def _rows(*conditions, match="all", **extra) -> dict:
    """Form fields for top-level conditions given as (field, op, value[, value2])."""
    form = {"items": str(len(conditions)), "match": match, **extra}
    for index, (field, op, *values) in enumerate(conditions):
        form.update({f"c{index}_field": field, f"c{index}_op": op})
        for name, value in zip(("value", "value2"), values, strict=False):
            form[f"c{index}_{name}"] = value
    return form


def _preview(client, form: dict):
    return client.post("/inbox/segments/preview", data={"csrf_token": client.csrf, **form})


def _count(html: str) -> int:
    match = re.search(r'id="segment-count" data-count="(\d+)"', html)
    assert match, html
    return int(match.group(1))


def _segment(db, name="ランチ", tree=None) -> int:
    tree = tree or {"all": [{"field": "tag", "op": "has", "value": "常連"}]}
    with db.transaction() as session:
        return save_segment(session, None, name, tree, utcnow()).id


def _actions(db) -> list[str]:
    with db.read_session() as session:
        return [entry.action for entry in session.scalars(select(AuditEntry))]


def test_admins_see_the_list_and_the_builder_in_japanese(admin_client, db, shop):  # noqa: F811
    _segment(db, "ランチ常連")
    listed = admin_client.get("/inbox/segments")
    assert listed.status_code == 200
    assert 'href="/inbox/segments"' in listed.text and "セグメント" in listed.text
    assert "ランチ常連" in listed.text and "新しいセグメント" in listed.text
    page = admin_client.get("/inbox/segments/new")
    assert page.status_code == 200
    for offered in ("ランチ", "会員ランク", "来店回数", "満足度", "最終接触", "アンケート: 来店"):
        assert offered in page.text, offered
    assert 'hx-trigger="input changed delay:400ms from:#segment-form' in page.text


def test_agents_get_403_on_everything(client, db, make_staff):
    segment_id = _segment(db)
    agent = make_staff("agent@shop.example", role="agent")
    sign_in(client, agent.email)
    page = client.get("/inbox/customers")
    assert 'href="/inbox/segments"' not in page.text
    token = csrf_from(page.text)
    for path in ("/inbox/segments", "/inbox/segments/new", f"/inbox/segments/{segment_id}/edit"):
        assert client.get(path).status_code == 403, path
    for path in (
        "/inbox/segments/new",
        f"/inbox/segments/{segment_id}/edit",
        f"/inbox/segments/{segment_id}/duplicate",
        f"/inbox/segments/{segment_id}/delete",
        "/inbox/segments/preview",
        "/inbox/segments/builder",
    ):
        form = {"csrf_token": token, "name": "x", **_rows(("tag", "has", "常連"))}
        assert client.post(path, data=form).status_code == 403, path
    with db.read_session() as session:
        assert session.scalars(select(Segment)).one().name == "ランチ"


def test_the_preview_counts_and_shows_20_newest_samples(admin_client, db, crowd):
    answer = _preview(
        admin_client, _rows(("tag", "has", "常連"), ("follow_status", "eq", "following"))
    )
    assert answer.status_code == 200
    assert _count(answer.text) == crowd["following regulars"]
    names = re.findall(r'<a href="/inbox/customers/\d+">([^<]+)</a>', answer.text)
    assert len(names) == 20 and names[0] == "客59" and names[1] == "客58"
    either = _preview(
        admin_client, _rows(("tag", "has", "常連"), ("tag", "not_has", "常連"), match="any")
    )
    assert _count(either.text) == 65


def test_a_nested_group_and_every_kind_of_value(admin_client, db, shop):  # noqa: F811
    survey = shop["survey"]
    form = _rows(
        ("follow_status", "eq", "following"),
        ("followed_days", "between", "７", "50"),  # typed with a Japanese IME
        **{
            "c2_kind": "group",
            "c2_match": "any",
            "c2_lines": "3",
            "c2_0_field": "attribute:visits",
            "c2_0_op": "gte",
            "c2_0_value": "10",
            "c2_1_field": "language",
            "c2_1_op": "eq",
            "c2_1_value": "en",
            "c2_2_field": f"survey:{survey}:rating",
            "c2_2_op": "gte",
            "c2_2_value": "4",
        },
    )
    form["items"] = "3"
    answer = _preview(admin_client, form)
    assert _count(answer.text) == 1 and "花子" in answer.text  # 次郎 followed 200 days ago
    consent = _preview(admin_client, _rows(("marketing_consent", "eq", "false")))
    assert _count(consent.text) == 1 and "次郎" in consent.text
    talkative = _preview(admin_client, _rows(("messages_in_days", "gte", "7", "3")))
    assert _count(talkative.text) == 1 and "花子" in talkative.text


@pytest.mark.parametrize(
    "conditions, shown",
    [
        ((("followed_days", "lt", "abc"),), "条件 1（値）"),
        ((("followed_days", "between", "1", "99999"),), "条件 1（値）"),
        ((("messages_in_days", "gte", "7", "多い"),), "条件 1（値）"),
        ((("tag", "has", "常連"), ("attribute:visits", "gt", "たくさん")), "条件 2（値）"),
        ((("attribute:visits", "between", "1e400", "2"),), "条件 1（値）"),
        ((("language", "eq", "  "),), "条件 1（値）"),
        ((("shoe_size", "eq", "27"),), "条件 1（項目）"),
        ((("attribute:gone", "eq", "x"),), "条件 1（項目）"),
    ],
)
def test_a_bad_value_is_named_in_place_not_a_500(admin_client, db, shop, conditions, shown):  # noqa: F811
    answer = _preview(admin_client, _rows(*conditions))
    assert answer.status_code == 200
    assert 'role="alert"' in answer.text and shown in answer.text
    assert "segment-count" not in answer.text


def test_a_bad_value_inside_a_group_names_its_line(admin_client, db, shop):  # noqa: F811
    form = {
        "items": "1",
        "match": "all",
        "c0_kind": "group",
        "c0_match": "any",
        "c0_lines": "2",
        "c0_0_field": "tag",
        "c0_0_op": "has",
        "c0_0_value": "ランチ",
        "c0_1_field": "last_contact_days",
        "c0_1_op": "gt",
        "c0_1_value": "-3",
    }
    answer = _preview(admin_client, form)
    assert "条件 1 の 2 行目（値）" in answer.text


def test_customer_names_are_escaped_in_the_samples(admin_client, db):
    with db.transaction() as session:
        session.add(Customer(line_user_id=lp.new_user_id(), display_name=EVIL_NAME))
    answer = _preview(admin_client, _rows(("follow_status", "eq", "unknown")))
    assert _count(answer.text) == 1
    assert EVIL_NAME not in answer.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in answer.text


def test_rows_are_added_changed_and_removed_by_the_builder_endpoint(admin_client, db, shop):  # noqa: F811
    def rows(form, action=""):
        data = {"csrf_token": admin_client.csrf, "action": action, **form}
        answer = admin_client.post("/inbox/segments/builder", data=data)
        assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "segment-changed"
        return answer.text

    added = rows(_rows(("tag", "has", "ランチ")), "add")
    assert 'name="items" value="2"' in added and 'name="c1_field"' in added
    grouped = rows(_rows(("tag", "has", "ランチ")), "add_group")
    assert 'name="c1_kind" value="group"' in grouped and 'name="c1_0_field"' in grouped
    # a field just chosen starts with its own operator and a default value
    changed = rows(_rows(("last_contact_days", "has", "ランチ"), c0_shown="tag"))
    assert '<option value="lt" selected>' in changed and 'name="c0_value" value="30"' in changed
    between = rows(_rows(("followed_days", "between", "30"), c0_shown_op="lt"))
    assert 'name="c0_value" value="7"' in between and 'name="c0_value2" value="30"' in between
    removed = rows(_rows(("tag", "has", "ランチ"), ("language", "eq", "en")), "remove:0")
    assert 'name="items" value="1"' in removed and 'value="language" selected' in removed


def test_save_duplicate_and_delete_with_csrf_and_audit(admin_client, db, shop):  # noqa: F811
    form = {"name": "ランチ常連", **_rows(("tag", "has", "ランチ"), ("language", "ne", "en"))}
    refused = admin_client.post("/inbox/segments/new", data={**form, "action": "save"})
    assert refused.status_code == 400
    saved = admin_client.post(
        "/inbox/segments/new",
        data={"csrf_token": admin_client.csrf, "action": "save", **form},
        follow_redirects=True,
    )
    assert "セグメントを保存しました" in saved.text and "ランチ常連" in saved.text
    with db.read_session() as session:
        segment = session.scalars(select(Segment)).one()
        segment_id = segment.id
        assert segment.conditions == {
            "all": [
                {"field": "tag", "op": "has", "value": "ランチ"},
                {"field": "language", "op": "ne", "value": "en"},
            ]
        }
    assert re.search(r'<a href="/inbox/customers\?segment=\d+"[^>]*>2</a>', saved.text)

    copied = admin_client.post(
        f"/inbox/segments/{segment_id}/duplicate",
        data={"csrf_token": admin_client.csrf},
        follow_redirects=True,
    )
    assert "ランチ常連 のコピー" in copied.text
    with db.read_session() as session:
        copy = session.scalars(select(Segment).where(Segment.id != segment_id)).one()
        assert copy.name == "ランチ常連 のコピー" and copy.conditions == segment.conditions

    assert admin_client.post(f"/inbox/segments/{segment_id}/delete").status_code == 400
    deleted = admin_client.post(
        f"/inbox/segments/{segment_id}/delete",
        data={"csrf_token": admin_client.csrf},
        follow_redirects=True,
    )
    assert "セグメントを削除しました" in deleted.text
    with db.read_session() as session:
        assert [s.id for s in session.scalars(select(Segment))] == [copy.id]
    assert (
        admin_client.post(
            f"/inbox/segments/{segment_id}/delete", data={"csrf_token": admin_client.csrf}
        ).status_code
        == 404
    )
    assert {"segments.create", "segments.duplicate", "segments.delete"} <= set(_actions(db))


def test_a_refused_save_keeps_the_rows_and_saves_nothing(admin_client, db, shop):  # noqa: F811
    bad_value = {"name": "x", **_rows(("followed_days", "lt", "abc"))}
    for form, shown in ((bad_value, "条件 1（値）"), ({"name": " ", **_rows()}, "名前")):
        answer = admin_client.post(
            "/inbox/segments/new", data={"csrf_token": admin_client.csrf, **form}
        )
        assert answer.status_code == 422 and shown in answer.text
    assert (
        'value="abc"'
        in admin_client.post(
            "/inbox/segments/new", data={"csrf_token": admin_client.csrf, **bad_value}
        ).text
    )
    with db.read_session() as session:
        assert session.scalars(select(Segment)).all() == []


def test_a_saved_tree_opens_as_rows_and_saves_back_unchanged(admin_client, db, shop):  # noqa: F811
    survey = shop["survey"]
    tree = {
        "any": [
            {"field": "marketing_consent", "op": "eq", "value": False},
            {"field": "followed_days", "op": "between", "value": [7, 50]},
            {"field": "messages_in_days", "op": "gte", "value": {"days": 7, "count": 3}},
            {"all": [
                {"field": "attribute:visits", "op": "between", "value": [2, 5.5]},
                {"field": "attribute:rank", "op": "is_set"},
                {"field": "attribute:rank", "op": "in", "value": ["ゴールド", "シルバー"]},
                {"field": f"survey:{survey}:scene", "op": "eq", "value": "lunch"},
            ]},
            {"field": "topic", "op": "eq", "value": {"future": ["field"]}},
        ]
    }  # fmt: skip
    segment_id = _segment(db, "いろいろ", {"all": [{"field": "tag", "op": "has", "value": "x"}]})
    with db.transaction() as session:
        session.get(Segment, segment_id).conditions = tree  # as the API may save it
    page = admin_client.get(f"/inbox/segments/{segment_id}/edit")
    assert page.status_code == 200 and 'value="いろいろ"' in page.text
    assert 'name="c3_1_op"' in page.text and 'name="c1_value2" value="50"' in page.text
    assert '<option value="in" selected>in</option>' in page.text  # an operator of the API
    with admin_client.application.test_request_context(), db.read_session() as session:
        catalogue = field_catalogue(session)
        form = _form_of_page(page.text)
        assert tree_of(builder_from_form(form, catalogue), catalogue) == tree
        assert tree_of(builder_of(tree, catalogue), catalogue) == tree


def _form_of_page(html: str) -> dict:
    """The builder's fields as a browser would post them (inputs and selected options)."""
    form = dict(re.findall(r'<input type="[^"]*"[^>]* name="([^"]+)"[^>]* value="([^"]*)"', html))
    form.update(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    return {k: v.replace("&#34;", '"').replace("&quot;", '"') for k, v in form.items()}


def test_editing_changes_the_segment_and_is_audited(admin_client, db, shop):  # noqa: F811
    segment_id = _segment(db)
    form = {"csrf_token": admin_client.csrf, "name": "英語", **_rows(("language", "eq", "en"))}
    answer = admin_client.post(f"/inbox/segments/{segment_id}/edit", data=form)
    assert answer.status_code == 302
    with db.read_session() as session:
        segment = session.get(Segment, segment_id)
        assert segment.name == "英語"
        assert segment.conditions == {"all": [{"field": "language", "op": "eq", "value": "en"}]}
    assert "segments.edit" in _actions(db)
    assert admin_client.get("/inbox/segments/999999/edit").status_code == 404


def test_english_staff_get_an_english_builder_and_copy_name(admin_client, db):
    admin_client.post("/inbox/language", data={"csrf_token": admin_client.csrf, "language": "en"})
    segment_id = _segment(db, "Regulars")
    page = admin_client.get("/inbox/segments/new")
    assert "New segment" in page.text and "Add a condition" in page.text
    admin_client.post(
        f"/inbox/segments/{segment_id}/duplicate", data={"csrf_token": admin_client.csrf}
    )
    with db.read_session() as session:
        names = sorted(s.name for s in session.scalars(select(Segment)))
    assert names == ["Copy of Regulars", "Regulars"]


def test_a_segment_whose_field_was_deleted_is_listed_without_a_count(admin_client, db, shop):  # noqa: F811
    _segment(db, "ランク", {"all": [{"field": "attribute:rank", "op": "is_set"}]})
    with db.transaction() as session:
        rank = select(AttributeDefinition).where(AttributeDefinition.key == "rank")
        delete_definition(session, session.scalars(rank).one())
    listed = admin_client.get("/inbox/segments")
    assert listed.status_code == 200 and "数えられません" in listed.text


def test_the_customers_list_is_narrowed_by_a_segment_with_other_filters_and_pages(
    admin_client, db, crowd
):
    segment_id = _segment(db, "常連")
    everyone = admin_client.get("/inbox/customers")
    assert f'<option value="{segment_id}" >常連</option>' in everyone.text
    first = admin_client.get(f"/inbox/customers?segment={segment_id}")
    names = re.findall(r'<a href="/inbox/customers/\d+">(客\d+)</a>', first.text)
    assert len(names) == 50 and names[0] == "客59"
    next_link = re.search(r'href="(/inbox/customers\?cursor=\d+[^"]*)"', first.text).group(1)
    assert f"segment={segment_id}" in next_link
    second = admin_client.get(next_link.replace("&amp;", "&"))
    rest = re.findall(r'<a href="/inbox/customers/\d+">(客\d+)</a>', second.text)
    assert len(rest) == 10 and rest[-1] == "客00"
    following = admin_client.get(f"/inbox/customers?segment={segment_id}&status=blocked&q=客0")
    shown = re.findall(r'<a href="/inbox/customers/\d+">(客\d+)</a>', following.text)
    assert shown == ["客09", "客06", "客03", "客00"]


def test_a_deleted_segment_in_the_customers_list_is_an_error_not_everyone(admin_client, db, crowd):
    gone = admin_client.get("/inbox/customers?segment=424242")
    assert gone.status_code == 200 and 'role="alert"' in gone.text
    assert "客01" not in gone.text
    export = admin_client.get("/inbox/customers/export.csv?segment=424242")
    assert export.status_code == 302 and "segment=424242" in export.headers["Location"]


def test_the_export_follows_the_segment(admin_client, db, crowd):
    segment_id = _segment(
        db, "最近", {"all": [{"field": "last_contact_days", "op": "lt", "value": 10}]}
    )
    export = admin_client.get(f"/inbox/customers/export.csv?segment={segment_id}")
    assert export.status_code == 200
    rows = export.get_data(as_text=True).strip().splitlines()
    assert len(rows) == 1 + 10  # the header, then 客00 … 客09
