"""/api/v1/surveys and the customer write endpoints: the contract integrations rely on."""

import pytest
from sqlalchemy import select

from crm.attributes import define_attribute
from crm.models import BLOCKED, FOLLOWING, AuditEntry, Customer, Interaction
from tests import line_payloads as lp
from tests import sandbox_admin as sb

SURVEY = {
    "name": "来店アンケート",
    "keyword": "アンケート",
    "questions": [
        {
            "key": "scene",
            "text": "ご利用シーンは？",
            "type": "single_choice",
            "choices": [
                {"label": "ランチ", "value": "lunch", "tags": ["ランチ"]},
                {"label": "ディナー", "value": "dinner"},
            ],
        },
        {
            "key": "rating",
            "text": "満足度は？",
            "type": "rating",
            "branches": [{"if": {"op": "lte", "value": 2}, "goto": "why"}],
        },
        {"key": "why", "text": "どの点が残念でしたか？", "type": "text"},
    ],
}


def _customer(db, line_user_id=None, status=FOLLOWING) -> int:
    with db.transaction() as session:
        customer = Customer(
            line_user_id=line_user_id or lp.new_user_id(), display_name="客", follow_status=status
        )
        session.add(customer)
        session.flush()
        return customer.id


def test_create_show_and_list(api):
    created = api("POST", "/surveys", SURVEY)
    assert created.status_code == 201, created.get_json()
    survey = created.get_json()["data"]
    assert survey["name"] == "来店アンケート"
    assert survey["keyword"] == "あんけーと"  # stored folded, matched in any kana or width
    assert survey["active"] is True and survey["version"] == 1
    assert [q["key"] for q in survey["questions"]] == ["scene", "rating", "why"]
    assert survey["runs"] == {"in_progress": 0, "completed": 0, "cancelled": 0, "expired": 0}
    shown = api("GET", f"/surveys/{survey['id']}")
    assert shown.status_code == 200 and shown.get_json()["data"]["id"] == survey["id"]
    listed = api("GET", "/surveys").get_json()["data"]
    assert [s["id"] for s in listed] == [survey["id"]]
    assert api("GET", "/surveys/424242").status_code == 404


def _with_question(change: dict, index: int = 0) -> dict:
    questions = [dict(q) for q in SURVEY["questions"]]
    questions[index] = {**questions[index], **change}
    return {**SURVEY, "questions": questions}


@pytest.mark.parametrize(
    "body, field",
    [
        (_with_question({"type": "slider"}), "questions[0].type"),
        (_with_question({"key": "rating"}), "questions[1].key"),
        (
            _with_question({"branches": [{"if": {"op": "lte", "value": 2}, "goto": "nowhere"}]}, 1),
            "questions[1].branches[0].goto",
        ),
        (
            _with_question({"branches": [{"if": {"op": "lte", "value": 2}, "goto": "scene"}]}, 1),
            "questions[1].branches[0].goto",
        ),
        (
            _with_question({"choices": [{"label": f"c{n}", "value": str(n)} for n in range(31)]}),
            "questions[0].choices",
        ),
        (
            _with_question(
                {"choices": [{"label": "x" * 41, "value": "a"}, {"label": "b", "value": "b"}]}
            ),
            "questions[0].choices[0].label",
        ),
        (_with_question({"choices": [{"label": "a", "value": "a"}]}), "questions[0].choices"),
        (_with_question({"attribute": "存在しない"}), "questions[0].attribute"),
        (_with_question({"text": "あ" * 5001}), "questions[0].text"),
        (
            _with_question({"branches": [{"if": {"op": "gte", "value": 3}, "goto": "end"}]}),
            "questions[0].branches[0].if",
        ),
        ({**SURVEY, "questions": []}, "questions"),
        ({**SURVEY, "name": ""}, "name"),
        ({k: v for k, v in SURVEY.items() if k != "name"}, "name"),
        ({**SURVEY, "colour": "red"}, "colour"),
    ],
)
def test_an_invalid_definition_is_a_422_naming_the_field(api, body, field):
    answer = api("POST", "/surveys", body)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"] == "invalid_parameter"
    assert answer.get_json()["parameter"] == field


def test_a_keyword_already_used_by_an_active_survey_is_a_422(api):
    assert api("POST", "/surveys", SURVEY).status_code == 201
    again = api("POST", "/surveys", {**SURVEY, "keyword": "アンケート"})
    assert again.status_code == 422 and again.get_json()["parameter"] == "keyword"


def test_send_starts_runs_by_push_and_says_why_not_for_the_rest(api, db, line, work):
    user = sb.create_user(line, "送り先")
    reachable = _customer(db, user)
    blocked = _customer(db, status=BLOCKED)
    survey = api("POST", "/surveys", SURVEY).get_json()["data"]["id"]
    body = {"customer_ids": [reachable, blocked, 987654, reachable]}
    sent = api("POST", f"/surveys/{survey}/send", body)
    assert sent.status_code == 200
    results = sent.get_json()["data"]
    assert [(r["customer_id"], r["started"], r["reason"]) for r in results] == [
        (reachable, True, None),
        (blocked, False, "blocked"),
        (987654, False, "no_such_customer"),
    ]
    again = api("POST", f"/surveys/{survey}/send", {"customer_ids": [reachable]}).get_json()
    assert again["data"][0]["reason"] == "in_a_run"
    work()
    [question] = sb.delivered(line, user)
    assert question["via"] == "push" and question["message"]["text"] == "ご利用シーンは？"
    with db.read_session() as session:
        push = session.scalars(
            select(Interaction).where(Interaction.customer_id == reachable)
        ).one()
    assert push.retry_key and push.delivery_method == "push"


def test_responses_list_answers_by_key(api, db, line, post_events, work):
    user = sb.create_user(line, "回答者")
    survey = api("POST", "/surveys", SURVEY).get_json()["data"]["id"]
    for text in ["アンケート", "ランチ", "1", "狭かった"]:
        post_events(lp.text(user, text))
        work()
    page = api("GET", f"/surveys/{survey}/responses", limit=10)
    assert page.status_code == 200
    [response] = page.get_json()["data"]
    assert response["status"] == "completed"
    assert response["answers"] == {"scene": "lunch", "rating": 1, "why": "狭かった"}
    assert response["completed_at"] is not None and page.get_json()["next_cursor"] is None
    assert api("GET", "/surveys/424242/responses").status_code == 404


def test_attributes_and_tags_can_be_written(api, db):
    customer = _customer(db)
    with db.transaction() as session:
        define_attribute(session, "rank", "会員ランク", "choice", ["ゴールド", "プラチナ"])
    put = api("PUT", f"/customers/{customer}/attributes/会員ランク", {"value": "ゴールド"})
    assert put.status_code == 200 and put.get_json() == {"name": "rank", "value": "ゴールド"}
    wrong = api("PUT", f"/customers/{customer}/attributes/rank", {"value": "ブロンズ"})
    assert wrong.status_code == 422 and wrong.get_json()["parameter"] == "value"
    assert api("PUT", f"/customers/{customer}/attributes/nope", {"value": "x"}).status_code == 404
    cleared = api("PUT", f"/customers/{customer}/attributes/rank", {"value": None})
    assert cleared.get_json() == {"name": "rank", "value": None}

    added = api("POST", f"/customers/{customer}/tags", {"tag": "常連"})
    assert added.status_code == 200 and added.get_json() == {"tags": ["常連"]}
    assert api("POST", f"/customers/{customer}/tags", {"tag": "常連"}).get_json() == {
        "tags": ["常連"]
    }
    removed = api("DELETE", f"/customers/{customer}/tags/常連")
    assert removed.status_code == 200 and removed.get_json() == {"tags": []}
    assert api("DELETE", f"/customers/{customer}/tags/無い").status_code == 404
    assert api("POST", "/customers/987654/tags", {"tag": "x"}).status_code == 404
    with db.read_session() as session:
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [
        "api.attribute",
        "api.attribute",
        "api.tag_added",
        "api.tag_added",
        "api.tag_removed",
    ]


def test_a_body_that_is_not_json_is_a_422(client, token):
    answer = client.post(
        "/api/v1/surveys", data="name=x", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422 and answer.get_json()["parameter"] == "body"


def test_the_document_describes_the_request_bodies(api):
    document = api("GET", "/openapi.json").get_json()
    create = document["paths"]["/surveys"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SurveyIn"
    }
    assert "201" in create["responses"] and "422" in create["responses"]
    tag = document["paths"]["/customers/{customer_id}/tags/{tag}"]["delete"]
    assert {p["name"]: p["schema"]["type"] for p in tag["parameters"]} == {
        "customer_id": "integer",
        "tag": "string",
    }


def test_change_settings_questions_and_activation_then_delete(api, db):
    survey = api("POST", "/surveys", SURVEY).get_json()["data"]["id"]
    new_questions = [{"key": "only", "text": "一言どうぞ", "type": "text"}]
    changed = api("PATCH", f"/surveys/{survey}", {"name": "改訂版", "questions": new_questions})
    assert changed.status_code == 200, changed.get_json()
    data = changed.get_json()["data"]
    assert (data["name"], data["version"], data["questions"]) == ("改訂版", 2, new_questions)
    assert data["keyword"] == "あんけーと"  # untouched fields stay
    off = api("PATCH", f"/surveys/{survey}", {"active": False, "keyword": ""})
    assert (off.get_json()["data"]["active"], off.get_json()["data"]["keyword"]) == (False, None)
    nulls = api("PATCH", f"/surveys/{survey}", {"name": None, "active": None, "thanks": None})
    assert nulls.status_code == 200 and nulls.get_json()["data"]["name"] == "改訂版"
    bad = api("PATCH", f"/surveys/{survey}", {"expire_hours": 2, "remind_after_hours": 3})
    assert bad.status_code == 422 and bad.get_json()["parameter"] == "remind_after_hours"
    assert api("DELETE", f"/surveys/{survey}").status_code == 204
    assert api("GET", f"/surveys/{survey}").status_code == 404
    assert api("DELETE", f"/surveys/{survey}").status_code == 404


def test_a_second_active_survey_cannot_take_a_keyword_by_reactivation(api):
    first = api("POST", "/surveys", SURVEY).get_json()["data"]["id"]
    api("PATCH", f"/surveys/{first}", {"active": False})
    api("POST", "/surveys", SURVEY)  # the keyword is free again
    again = api("PATCH", f"/surveys/{first}", {"active": True})
    assert again.status_code == 422 and again.get_json()["parameter"] == "keyword"
