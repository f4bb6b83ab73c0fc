"""Surveys in the staff inbox: results by period, the CSV export, activation, sending from a
customer's panel, answers on the panel."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.clock import utcnow
from crm.flows import answer_step, start_run
from crm.models import AuditEntry, Customer, Flow, FlowRun
from crm.survey_results import survey_results
from crm.surveys import create_survey
from tests import line_payloads as lp
from tests.conftest import csrf_from, sign_in

QUESTIONS = [
    {
        "key": "scene",
        "text": "ご利用シーンは？",
        "type": "single_choice",
        "choices": [
            {"label": "ランチ", "value": "lunch"},
            {"label": "ディナー", "value": "dinner"},
        ],
    },
    {"key": "nps", "text": "おすすめ度は？", "type": "nps"},
    {"key": "comment", "text": "ご意見", "type": "text"},
]


def _answered(db, answers: list[tuple[str, int, str]], when=None) -> int:
    """A survey with one completed run per (scene, nps, comment), started at `when`."""
    with db.transaction() as session:
        survey = session.scalars(select(Flow).where(Flow.name == "来店")).first()
        if survey is None:
            survey = create_survey(session, "来店", QUESTIONS, keyword="来店")
        for scene, nps, comment in answers:
            customer = Customer(
                line_user_id=lp.new_user_id(), display_name="<b>客</b>", follow_status="following"
            )
            session.add(customer)
            session.flush()
            now = when or utcnow()
            prompt = start_run(session, customer, survey, now, "api")
            for value in (scene, nps, comment):
                prompt, _effects = answer_step(session, prompt.run, value, now)
        return survey.id


def test_results_count_choices_score_nps_and_list_free_texts(db):
    survey_id = _answered(
        db,
        [("lunch", 10, "最高"), ("lunch", 9, "良い"), ("dinner", 7, "普通"), ("lunch", 3, "遅い")],
    )
    _answered(db, [(None, None, None)])  # every question skipped
    with db.read_session() as session:
        results = survey_results(session, session.get(Flow, survey_id))
    assert results.started == 5 and results.completion_rate == 1.0
    scene, nps, comment = results.questions
    assert scene.counts == [("ランチ", 3), ("ディナー", 1)] and scene.skipped == 1
    assert nps.answered == 4 and nps.mean == 7.25 and nps.skipped == 1
    assert (comment.answered, comment.skipped) == (4, 1)
    assert nps.nps == 25.0  # 2 promoters, 1 detractor, of 4
    assert [text for text, *_ in comment.texts] == ["遅い", "普通", "良い", "最高"]


def test_the_results_page_shows_rates_charts_and_escaped_texts_by_period(admin_client, db):
    survey_id = _answered(db, [("lunch", 10, "<script>alert(1)</script>")])
    _answered(db, [("dinner", 0, "昔の回答")], when=utcnow() - timedelta(days=40))
    page = admin_client.get(f"/inbox/surveys/{survey_id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "昔の回答" in page.text and 'id="survey-charts"' in page.text
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    recent = admin_client.get(f"/inbox/surveys/{survey_id}?since={since}")
    assert "昔の回答" not in recent.text and "&lt;script&gt;" in recent.text
    listed = admin_client.get("/inbox/surveys")
    assert "来店" in listed.text
    assert admin_client.get("/inbox/surveys/999999").status_code == 404


def test_csv_export_has_a_bom_defuses_formulas_and_is_audited(admin_client, db):
    survey_id = _answered(db, [("lunch", 8, '=HYPERLINK("http://evil")')])
    answer = admin_client.get(f"/inbox/surveys/{survey_id}/export.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    body = answer.get_data(as_text=True)
    assert body.startswith("\ufeff")
    header, row = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert header[-3:] == ["scene", "nps", "comment"]
    assert row[3] == "completed" and row[-3:] == ["lunch", "8", '\'=HYPERLINK("http://evil")']
    with db.read_session() as session:
        actions = [a.action for a in session.scalars(select(AuditEntry))]
    assert "surveys.export" in actions


def test_agents_read_results_but_cannot_export_or_switch_off(client, db, make_staff):
    survey_id = _answered(db, [("lunch", 8, "良い")])
    agent = make_staff("agent@shop.example", role="agent")
    sign_in(client, agent.email)
    assert client.get(f"/inbox/surveys/{survey_id}").status_code == 200
    assert client.get(f"/inbox/surveys/{survey_id}/export.csv").status_code == 403
    token = csrf_from(client.get(f"/inbox/surveys/{survey_id}").text)
    off = client.post(
        f"/inbox/surveys/{survey_id}/active", data={"csrf_token": token, "active": "0"}
    )
    assert off.status_code == 403


def test_admins_switch_a_survey_off_with_a_csrf_token(admin_client, db):
    survey_id = _answered(db, [])
    refused = admin_client.post(f"/inbox/surveys/{survey_id}/active", data={"active": "0"})
    assert refused.status_code in (400, 403)
    done = admin_client.post(
        f"/inbox/surveys/{survey_id}/active", data={"csrf_token": admin_client.csrf, "active": "0"}
    )
    assert done.status_code == 302
    with db.read_session() as session:
        assert session.get(Flow, survey_id).active is False


@pytest.mark.parametrize("second_reason", ["in_a_run"])
def test_staff_send_a_survey_from_the_panel_and_see_the_answers_there(
    admin_client, db, second_reason
):
    survey_id = _answered(db, [])
    with db.transaction() as session:
        customer = Customer(
            line_user_id=lp.new_user_id(), display_name="花子", follow_status="following"
        )
        session.add(customer)
        session.flush()
        customer_id = customer.id
    form = {
        "csrf_token": admin_client.csrf,
        "customer_id": customer_id,
        "survey_id": survey_id,
        "next": f"/inbox/customers/{customer_id}",
    }
    sent = admin_client.post("/inbox/surveys/send", data=form, follow_redirects=True)
    assert "アンケートを送りました" in sent.text
    again = admin_client.post("/inbox/surveys/send", data=form, follow_redirects=True)
    assert "別のアンケートに回答中" in again.text
    with db.transaction() as session:
        run = session.scalars(select(FlowRun).where(FlowRun.customer_id == customer_id)).one()
        assert run.trigger == "staff"
        with time_machine.travel(utcnow() + timedelta(minutes=1), tick=False):
            answer_step(session, run, "dinner", utcnow())
    panel = admin_client.get(f"/inbox/customers/{customer_id}")
    assert "来店" in panel.text and "ディナー" in panel.text and "回答中" in panel.text
