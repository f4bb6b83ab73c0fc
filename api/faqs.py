"""/api/v1/faqs: the shop's FAQs (listed, created, replaced, deleted) and /faqs/match, which
tells exactly what the bot would do with a text (answer, suggest or hand off)."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify

from api.errors import InvalidParameter
from api.faq_schemas import Faq as FaqBody
from api.faq_schemas import FaqIn, FaqList, MatchIn, MatchItem, MatchOut
from api.schemas import Error
from api.spec import operation
from crm.audit import record_audit
from crm.clock import utcnow
from crm.faq.answering import match_text
from crm.faq.entries import FaqError, FaqInput, create_faq, delete_faq, list_faqs, update_faq
from crm.faq.models import Faq
from request_scope import request_session, services

bp = Blueprint("faqs", __name__, url_prefix="/faqs")


def faq_body(faq: Faq) -> dict:
    return FaqBody.model_validate(faq).model_dump(mode="json")


def _input(body: FaqIn) -> FaqInput:
    return FaqInput(**body.model_dump())


@operation(bp, "", "Every FAQ, in the shop's order", {200: (FaqList, "the FAQs")})
def index():
    return jsonify({"data": [faq_body(faq) for faq in list_faqs(request_session())]})


@operation(
    bp,
    "",
    "Create an FAQ",
    {201: (FaqBody, "the FAQ, with its id")},
    method="POST",
    body=FaqIn,
)
def create(body: FaqIn):
    with services().db.transaction() as session:
        try:
            faq = create_faq(session, _input(body))
        except FaqError as exc:
            raise InvalidParameter(exc.where, exc.message) from None
        _audit(session, "api.faq_created", faq.id)
        answer = faq_body(faq)
    return jsonify(answer), 201


@operation(
    bp,
    "/<id:faq_id>",
    "One FAQ",
    {200: (FaqBody, "the FAQ"), 404: (Error, "no such FAQ")},
)
def show(faq_id: int):
    faq = request_session().get(Faq, faq_id) or abort(404)
    return jsonify(faq_body(faq))


@operation(
    bp,
    "/<id:faq_id>",
    "Replace an FAQ",
    {200: (FaqBody, "the FAQ"), 404: (Error, "no such FAQ")},
    method="PUT",
    body=FaqIn,
)
def replace(faq_id: int, body: FaqIn):
    with services().db.transaction() as session:
        faq = session.get(Faq, faq_id) or abort(404)
        try:
            update_faq(faq, _input(body))
        except FaqError as exc:
            raise InvalidParameter(exc.where, exc.message) from None
        session.flush()
        _audit(session, "api.faq_changed", faq.id)
        answer = faq_body(faq)
    return jsonify(answer)


@operation(
    bp,
    "/<id:faq_id>",
    "Delete an FAQ (its past lookups stay in the reports)",
    {204: (None, "deleted"), 404: (Error, "no such FAQ")},
    method="DELETE",
)
def delete(faq_id: int):
    with services().db.transaction() as session:
        faq = session.get(Faq, faq_id) or abort(404)
        delete_faq(session, faq)
        _audit(session, "api.faq_deleted", faq_id)
    return "", 204


@operation(
    bp,
    "/match",
    "What the bot would do with a text: answer, suggest or hand off, with the closest FAQs",
    {200: (MatchOut, "the decision and the matches, best first")},
    method="POST",
    body=MatchIn,
)
def match(body: MatchIn):
    found = match_text(request_session(), body.text)
    matches = [
        MatchItem(id=faq.id, score=score, category=faq.category, question=faq.questions[0])
        for faq, score in found.matches
    ]
    return jsonify(MatchOut(decision=found.decision, matches=matches).model_dump(mode="json"))


def _audit(session, action: str, faq_id: int) -> None:
    detail = {"api_token": g.get("api_token_name")}
    record_audit(session, None, action, utcnow(), target=("faq", faq_id), detail=detail)
