"""/api/v1/segments: count an audience, save it, list its customers."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from api.errors import InvalidParameter
from api.schemas import Customer, CustomerPage, Error, PageQuery
from api.segment_schemas import ConditionsIn, SegmentCount, SegmentEnvelope, SegmentIn
from api.spec import operation
from crm.clock import utcnow
from crm.models import Segment
from crm.segments import SegmentError, count_matching, matching_customers
from request_scope import request_session, services

bp = Blueprint("segments", __name__, url_prefix="/segments")


def _checked_count(session, conditions) -> int:
    try:
        return count_matching(session, conditions, utcnow())
    except SegmentError as exc:
        raise InvalidParameter(exc.where, exc.message) from None


@operation(
    bp,
    "/count",
    "How many customers a condition tree matches now",
    {200: (SegmentCount, "the count")},
    method="POST",
    body=ConditionsIn,
)
def count(body: ConditionsIn):
    return jsonify(
        SegmentCount(count=_checked_count(request_session(), body.conditions)).model_dump()
    )


@operation(
    bp,
    "",
    "Save a segment (evaluated whenever it is used)",
    {201: (SegmentEnvelope, "the segment with its count now")},
    method="POST",
    body=SegmentIn,
)
def create(body: SegmentIn):
    with services().db.transaction() as session:
        matching = _checked_count(session, body.conditions)
        segment = Segment(name=body.name, conditions=body.conditions)
        session.add(segment)
        session.flush()
        answer = SegmentEnvelope.of(segment, matching).model_dump(mode="json")
    return jsonify(answer), 201


@operation(
    bp,
    "/<id:segment_id>",
    "One segment with its count now",
    {200: (SegmentEnvelope, "the segment"), 404: (Error, "no such segment")},
)
def show(segment_id: int):
    session = request_session()
    segment = session.get(Segment, segment_id) or abort(404)
    matching = _checked_count(session, segment.conditions)
    return jsonify(SegmentEnvelope.of(segment, matching).model_dump(mode="json"))


@operation(
    bp,
    "/<id:segment_id>/customers",
    "The segment's customers now, newest first",
    {200: (CustomerPage, "a page of customers"), 404: (Error, "no such segment")},
    query=PageQuery,
)
def customers(segment_id: int, query: PageQuery):
    session = request_session()
    segment = session.get(Segment, segment_id) or abort(404)
    rows = matching_customers(session, segment.conditions, utcnow(), query.cursor, query.limit + 1)
    page = [Customer.model_validate(row) for row in rows[: query.limit]]
    next_cursor = page[-1].id if len(rows) > query.limit else None
    return jsonify(CustomerPage(data=page, next_cursor=next_cursor).model_dump(mode="json"))
