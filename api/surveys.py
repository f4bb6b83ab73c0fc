"""/api/v1/surveys: create surveys, send them to customers, read their responses."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from api.errors import InvalidParameter
from api.schemas import Error, PageQuery
from api.spec import operation
from api.survey_schemas import (
    SendIn,
    SendResult,
    SendResults,
    Survey,
    SurveyChange,
    SurveyEnvelope,
    SurveyIn,
    SurveyList,
    SurveyResponse,
    SurveyResponsePage,
)
from bot.flow_turns import send_flow
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.flows import NotStarted, count_runs, newest_version
from crm.models import Customer, Flow
from crm.surveys import (
    SurveyError,
    change_survey,
    completed_at,
    create_survey,
    delete_survey,
    get_survey,
    list_responses,
    survey_reward,
)
from crm.surveys import list_surveys as all_surveys
from request_scope import request_session, services

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
NULLABLE = ("keyword", "thanks", "remind_after_hours", "reward_coupon_id")  # null clears these


def _survey(session, flow: Flow) -> Survey:
    return Survey(
        id=flow.id,
        name=flow.name,
        keyword=flow.keyword,
        on_follow=flow.on_follow,
        active=flow.active,
        version=flow.version,
        expire_hours=flow.expire_hours,
        remind_after_hours=flow.remind_after_hours,
        thanks=flow.thanks,
        reward_coupon_id=survey_reward(session, flow),
        questions=newest_version(session, flow).steps,
        runs=count_runs(session, flow.id),
        created_at=flow.created_at,
    )


@operation(
    bp,
    "",
    "Create a survey",
    {201: (SurveyEnvelope, "the survey, active")},
    method="POST",
    body=SurveyIn,
)
def create(body: SurveyIn):
    with services().db.transaction() as session:
        try:
            flow = create_survey(
                session,
                body.name,
                body.questions_json(),
                keyword=body.keyword,
                on_follow=body.on_follow,
                expire_hours=body.expire_hours,
                remind_after_hours=body.remind_after_hours,
                thanks=body.thanks,
                reward_coupon_id=body.reward_coupon_id,
            )
        except SurveyError as exc:
            raise InvalidParameter(exc.problem.field, exc.problem.message) from None
        answer = SurveyEnvelope(data=_survey(session, flow)).model_dump(mode="json")
    return jsonify(answer), 201


@operation(bp, "", "List surveys, newest first", {200: (SurveyList, "every survey")})
def index():
    session = request_session()
    data = [_survey(session, flow) for flow in all_surveys(session)]
    return jsonify(SurveyList(data=data).model_dump(mode="json"))


@operation(
    bp,
    "/<id:survey_id>",
    "One survey with its newest questions and its runs by status",
    {200: (SurveyEnvelope, "the survey"), 404: (Error, "no such survey")},
)
def show(survey_id: int):
    session = request_session()
    flow = get_survey(session, survey_id) or abort(404)
    return jsonify(SurveyEnvelope(data=_survey(session, flow)).model_dump(mode="json"))


@operation(
    bp,
    "/<id:survey_id>",
    "Change a survey: settings, activation, or new questions (a new version)",
    {200: (SurveyEnvelope, "the survey as changed"), 404: (Error, "no such survey")},
    method="PATCH",
    body=SurveyChange,
)
def change(survey_id: int, body: SurveyChange):
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name in NULLABLE  # null for a required setting: unchanged
    }
    if "questions" in changes:
        changes["questions"] = body.questions_json()
    with services().db.transaction() as session:
        flow = get_survey(session, survey_id) or abort(404)
        try:
            change_survey(session, flow, changes)
        except SurveyError as exc:
            raise InvalidParameter(exc.problem.field, exc.problem.message) from None
        session.flush()
        answer = SurveyEnvelope(data=_survey(session, flow)).model_dump(mode="json")
    return jsonify(answer)


@operation(
    bp,
    "/<id:survey_id>",
    "Delete a survey with its runs and answers (tags and attributes it set stay)",
    {204: (None, "deleted"), 404: (Error, "no such survey")},
    method="DELETE",
)
def delete(survey_id: int):
    with services().db.transaction() as session:
        flow = get_survey(session, survey_id) or abort(404)
        delete_survey(session, flow)
    return "", 204


@operation(
    bp,
    "/<id:survey_id>/send",
    "Start the survey for customers: the first question is pushed (with a retry key)",
    {200: (SendResults, "per customer: started, or why not"), 404: (Error, "no such survey")},
    method="POST",
    body=SendIn,
)
def send(survey_id: int, body: SendIn):
    results = []
    with services().db.transaction() as session:
        flow = get_survey(session, survey_id) or abort(404)
        texts, now = load_texts(session), utcnow()
        for customer_id in dict.fromkeys(body.customer_ids):  # each once, in the given order
            customer = session.get(Customer, customer_id)
            if customer is None:
                results.append(
                    SendResult(
                        customer_id=customer_id,
                        started=False,
                        run_id=None,
                        reason="no_such_customer",
                    )
                )
                continue
            started = send_flow(session, customer, flow, now, texts, "api")
            if isinstance(started, NotStarted):
                results.append(
                    SendResult(
                        customer_id=customer_id, started=False, run_id=None, reason=started.reason
                    )
                )
            else:
                results.append(
                    SendResult(
                        customer_id=customer_id, started=True, run_id=started.run.id, reason=None
                    )
                )
        answer = SendResults(data=results).model_dump(mode="json")
    return jsonify(answer)


@operation(
    bp,
    "/<id:survey_id>/responses",
    "The survey's runs with their answers, newest first",
    {200: (SurveyResponsePage, "a page of responses"), 404: (Error, "no such survey")},
    query=PageQuery,
)
def responses(survey_id: int, query: PageQuery):
    session = request_session()
    get_survey(session, survey_id) or abort(404)
    rows = list_responses(session, survey_id, query.cursor, query.limit + 1)
    page = [
        SurveyResponse(
            run_id=row.run.id,
            customer_id=row.run.customer_id,
            status=row.run.status,
            answers=row.answers,
            started_at=row.run.started_at,
            completed_at=completed_at(row.run),
        )
        for row in rows[: query.limit]
    ]
    next_cursor = page[-1].run_id if len(rows) > query.limit else None
    return jsonify(SurveyResponsePage(data=page, next_cursor=next_cursor).model_dump(mode="json"))
