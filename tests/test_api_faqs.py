"""/api/v1/faqs: create, list, replace, delete, and /faqs/match answering exactly what the bot
would do with a text; 401 without a token, 404 for unknown FAQs, 422 naming the field."""

from __future__ import annotations

import pytest

from tests import sandbox_admin as sb
from tests.chat import Chat
from tests.test_faq_chat import seed_sample_faqs

WIFI = {
    "questions": ["Wi-Fiはありますか", "ネットは使えますか"],
    "answer": "無料Wi-Fiがございます。パスワードは店内に掲示しています。",
    "category": "その他",
}


def test_create_list_replace_and_delete(api):
    created = api("POST", "/faqs", WIFI)
    assert created.status_code == 201
    body = created.get_json()
    assert body["id"] >= 1 and body["questions"] == WIFI["questions"] and body["active"] is True
    listed = api("GET", "/faqs").get_json()["data"]
    assert [faq["id"] for faq in listed] == [body["id"]]
    replaced = api("PUT", f"/faqs/{body['id']}", {**WIFI, "active": False, "category": None})
    assert replaced.status_code == 200
    assert replaced.get_json()["active"] is False and replaced.get_json()["category"] is None
    assert api("GET", f"/faqs/{body['id']}").get_json()["active"] is False
    assert api("DELETE", f"/faqs/{body['id']}").status_code == 204
    assert api("GET", f"/faqs/{body['id']}").status_code == 404
    assert api("DELETE", f"/faqs/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({**WIFI, "questions": []}, "questions"),
        ({**WIFI, "questions": ["  "]}, "questions"),
        ({**WIFI, "answer": ""}, "answer"),
        ({**WIFI, "questions": ["あ" * 201]}, "questions[0]"),
        ({**WIFI, "active": "yes"}, "active"),
        ({**WIFI, "surprise": 1}, "surprise"),
        ({**WIFI, "answer_kind": "flex", "answer_flex": {"type": "text"}}, "answer_flex"),
        ({**WIFI, "quick_replies": ["x" * 21]}, "quick_replies[0]"),
    ],
)
def test_bad_faqs_are_refused_naming_the_field(api, body, parameter):
    response = api("POST", "/faqs", body)
    assert response.status_code == 422
    assert response.get_json()["parameter"] == parameter
    assert api("GET", "/faqs").get_json()["data"] == []


def test_unknown_faq_and_missing_token(api, client):
    assert api("PUT", "/faqs/424242", WIFI).status_code == 404
    assert client.get("/api/v1/faqs").status_code == 401


def test_match_tells_what_the_bot_does(db, api):
    ids = seed_sample_faqs(db)
    answer = api("POST", "/faqs/match", {"text": "ちゅうしゃじょうある？"}).get_json()
    assert answer["decision"] == "answer"
    assert answer["matches"][0]["id"] == ids["parking"]
    scores = [m["score"] for m in answer["matches"]]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    assert len(answer["matches"]) <= 3
    nothing = api("POST", "/faqs/match", {"text": "明日の天気は？"}).get_json()
    assert nothing["decision"] == "handoff"
    assert api("POST", "/faqs/match", {"text": ""}).status_code == 422


def test_match_agrees_with_the_bot(db, api, post_events, work, line):
    seed_sample_faqs(db)
    texts = ["明日って何時まで開いてますか", "カードで払えますか", "明日の天気は？", "ペット"]
    for text in texts:
        decision = api("POST", "/faqs/match", {"text": text}).get_json()["decision"]
        chat = Chat(post_events, work, line, sb.create_user(line, "客"))
        [reply] = chat.say(text)
        kinds = {"answer": "text", "suggest": "flex", "handoff": "text"}
        assert reply["type"] == kinds[decision], text
        if decision == "handoff":
            assert "担当者" in reply["text"]
        else:
            assert "担当者" not in reply.get("text", "")
