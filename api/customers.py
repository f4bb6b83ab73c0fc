"""/api/v1/customers: the shop's customers and their timelines."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from api.schemas import (
    CustomerEnvelope,
    CustomerPage,
    CustomerQuery,
    Error,
    Interaction,
    InteractionPage,
    PageQuery,
)
from api.spec import operation
from crm.customers import list_customers
from crm.interactions import list_interactions
from crm.models import Customer
from request_scope import request_session

bp = Blueprint("customers", __name__, url_prefix="/customers")


@operation(
    bp,
    "",
    "List customers, newest first",
    {200: (CustomerPage, "a page of customers")},
    query=CustomerQuery,
)
def index(query: CustomerQuery):
    """Customers, newest first; filter by line_user_id."""
    rows = list_customers(
        request_session(),
        line_user_id=query.line_user_id,
        before_id=query.cursor,
        limit=query.limit + 1,
    )
    page = rows[: query.limit]
    next_cursor = page[-1].id if len(rows) > query.limit else None
    return jsonify(CustomerPage(data=page, next_cursor=next_cursor).model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>",
    "One customer",
    {200: (CustomerEnvelope, "the customer"), 404: (Error, "no such customer")},
)
def show(customer_id: int):
    customer = request_session().get(Customer, customer_id)
    if customer is None:
        abort(404)
    return jsonify(CustomerEnvelope.of(customer).model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>/interactions",
    "A customer's interactions, newest first",
    {200: (InteractionPage, "a page of interactions"), 404: (Error, "no such customer")},
    query=PageQuery,
)
def interactions(customer_id: int, query: PageQuery):
    session = request_session()
    if session.get(Customer, customer_id) is None:
        abort(404)
    rows = list_interactions(session, customer_id, before_id=query.cursor, limit=query.limit + 1)
    page = [Interaction.of(row) for row in rows[: query.limit]]
    next_cursor = page[-1].id if len(rows) > query.limit else None
    return jsonify(InteractionPage(data=page, next_cursor=next_cursor).model_dump(mode="json"))
