"""The survey builder: form rows to questions and back, and building a survey in the inbox."""

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from crm.flows import newest_version
from crm.models import Flow
from crm.surveys import create_survey
from inbox.survey_builder import questions_of, rows_from_form, rows_of

QUESTIONS = [
    {
        "key": "scene",
        "text": "ご利用シーンは？",
        "type": "single_choice",
        "choices": [
            {"label": "ランチ", "value": "lunch", "tags": ["ランチ", "昼"]},
            {"label": "ディナー", "value": "ディナー"},
        ],
    },
    {
        "key": "rating",
        "text": "満足度は？",
        "type": "rating",
        "branches": [
            {
                "if": {"op": "lte", "value": 2},
                "goto": "why",
                "tags": ["要フォロー"],
                "needs_reply": True,
            },
            {"if": {"op": "eq", "value": 5}, "goto": "end"},
        ],
        "next": "why",
    },
    {"key": "count", "text": "人数は？", "type": "number", "min": 1, "max": 20},
    {"key": "why", "text": "残念だった点は？", "type": "text"},
]


def _form(rows) -> MultiDict:
    data = {"rows": str(len(rows))}
    for index, row in enumerate(rows):
        for name, value in row.__dict__.items():
            if name == "extra_branches":
                continue
            if isinstance(value, bool):
                if value:
                    data[f"q{index}_{name}"] = "1"
            else:
                data[f"q{index}_{name}"] = value
    return MultiDict(data)


def test_questions_survive_the_form_both_ways():
    rows = rows_of(QUESTIONS)
    assert rows[0].choices == "ランチ = lunch #ランチ #昼\nディナー"
    assert (rows[1].branch_op, rows[1].branch_value, rows[1].branch_tags) == (
        "lte",
        "2",
        "#要フォロー",
    )
    back = rows_from_form(_form(rows))
    for row, original in zip(back, rows, strict=True):
        row.extra_branches = original.extra_branches  # kept on the server, not in the form
    assert questions_of(back) == QUESTIONS


def test_new_rows_get_keys_blank_rows_are_dropped_and_removed_rows_go():
    form = MultiDict(
        {
            "rows": "4",
            "q0_text": "お名前は？",
            "q0_type": "text",
            "q1_text": "",
            "q2_text": "消す",
            "q2_type": "text",
            "q2_remove": "1",
            "q3_text": "好きな料理は？",
            "q3_type": "multiple_choice",
            "q3_choices": "パスタ #パスタ好き\n\nピザ\n",
            "q3_next": "end",
        }
    )
    assert questions_of(rows_from_form(form)) == [
        {"key": "q1", "text": "お名前は？", "type": "text"},
        {
            "key": "q2",
            "text": "好きな料理は？",
            "type": "multiple_choice",
            "choices": [
                {"label": "パスタ", "value": "パスタ", "tags": ["パスタ好き"]},
                {"label": "ピザ", "value": "ピザ"},
            ],
            "next": "end",
        },
    ]


def test_an_admin_builds_a_survey_sees_errors_by_question_then_edits_it(admin_client, db):
    page = admin_client.get("/inbox/surveys/new")
    assert page.status_code == 200 and 'name="q0_text"' in page.text
    form = {
        "csrf_token": admin_client.csrf,
        "name": "来店アンケート",
        "keyword": "アンケート",
        "expire_hours": "24",
        "rows": "2",
        "q0_text": "ご利用シーンは？",
        "q0_type": "single_choice",
        "q0_choices": "ランチ",  # one choice only: refused
        "q1_text": "満足度は？",
        "q1_type": "rating",
        "action": "save",
    }
    refused = admin_client.post("/inbox/surveys/new", data=form)
    assert refused.status_code == 422
    assert "questions[0].choices" in refused.text and "ランチ" in refused.text  # kept as typed
    form["q0_choices"] = "ランチ #ランチ\nディナー"
    saved = admin_client.post("/inbox/surveys/new", data=form)
    assert saved.status_code == 302
    with db.read_session() as session:
        survey = session.scalars(select(Flow)).one()
        assert survey.keyword == "あんけーと"
        assert [q["key"] for q in newest_version(session, survey).steps] == ["q1", "q2"]
        survey_id = survey.id

    edit = admin_client.get(f"/inbox/surveys/{survey_id}/edit")
    assert "ランチ #ランチ" in edit.text and "ご利用シーンは？" in edit.text
    assert "preview-buttons" in edit.text  # the questions as customers see them
    unchanged = admin_client.post(
        f"/inbox/surveys/{survey_id}/edit",
        data={**form, "q0_key": "q1", "q1_key": "q2", "name": "来店アンケート2"},
    )
    assert unchanged.status_code == 302
    with db.read_session() as session:
        survey = session.get(Flow, survey_id)
        assert (survey.name, survey.version) == ("来店アンケート2", 1)  # same questions: no version
    changed = admin_client.post(
        f"/inbox/surveys/{survey_id}/edit",
        data={**form, "q0_key": "q1", "q1_key": "q2", "q1_text": "満足度を教えてください"},
    )
    assert changed.status_code == 302
    with db.read_session() as session:
        assert session.get(Flow, survey_id).version == 2


def test_agents_cannot_build_surveys(client, db, make_staff):
    from tests.conftest import sign_in

    with db.transaction() as session:
        create_survey(session, "既存", [{"key": "q", "text": "質問", "type": "text"}])
    agent = make_staff("agent@shop.example", role="agent")
    sign_in(client, agent.email)
    assert client.get("/inbox/surveys/new").status_code == 403
    assert client.get("/inbox/surveys/1/edit").status_code == 403
