"""Customers: the list with search and filters, one customer's page, their tags, notes,
custom fields and consent, their media, and the CSV export for admins."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l

from crm.attributes import AttributeValueError, list_definitions, set_customer_value
from crm.clock import utcnow
from crm.conversations import conversation_for
from crm.customer_directory import CustomerFilter, export_rows, search_customers
from crm.media import ELSEWHERE, READY, fetch_media, find_media
from crm.models import FOLLOW_STATES, AttributeDefinition, Customer, Tag, Topic
from crm.notes import NoteError, add_note
from crm.saved_segments import list_segments
from crm.segments import SegmentError
from crm.shop import shop_timezone_name
from crm.tags import list_tags, tag_customer, tags_by_customer, untag_customer
from crm.topics import set_marketing_consent, set_topic_subscription
from inbox.csv_export import csv_download
from inbox.customer_panel import panel_context
from inbox.errors import error_text
from inbox.security import admin_required, login_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_customers", __name__, url_prefix="/inbox/customers")
SEGMENT_UNUSABLE = _l("This segment no longer exists or cannot be counted; open it under Segments.")


def _filter_from_args() -> CustomerFilter:
    args = request.args
    return CustomerFilter(
        search=args.get("q", "")[:100],
        tag_id=args.get("tag", type=int),
        follow_status=args.get("status") if args.get("status") in FOLLOW_STATES else None,
        attribute_id=args.get("attribute", type=int),
        attribute_value=args.get("value", "")[:500],
        segment_id=args.get("segment", type=int),
    )


@bp.get("")
@login_required
def index():
    """Customers newest first, narrowed by name, tag, follow state, a custom field or a saved
    segment (compiled into the same query)."""
    criteria = _filter_from_args()
    session = request_session()
    try:
        customers, next_cursor = search_customers(
            session, criteria, before_id=request.args.get("cursor", type=int)
        )
        segment_problem = None
    except SegmentError:
        customers, next_cursor, segment_problem = [], None, SEGMENT_UNUSABLE
    return render_template(
        "inbox/customers.html",
        customers=customers,
        next_cursor=next_cursor,
        criteria=criteria,
        tags=list_tags(session),
        tags_by_customer=tags_by_customer(session, [c.id for c in customers]),
        definitions=list_definitions(session),
        follow_states=FOLLOW_STATES,
        segments=list_segments(session),
        segment_problem=segment_problem,
    )


@bp.get("/export.csv")
@admin_required
def export():
    """The filtered customers as CSV, UTF-8 with a BOM so Excel in Japan reads it."""
    criteria = _filter_from_args()
    session = services().db.read_session()
    tz = ZoneInfo(shop_timezone_name(session, services().settings.shop_timezone))
    try:
        rows = export_rows(session, criteria, tz)
    except SegmentError:
        session.close()
        flash(str(SEGMENT_UNUSABLE), "error")
        return redirect(url_for("inbox_customers.index", **request.args))
    with staff_change("customers.export", detail={"filter": criteria.__dict__}):
        pass

    filename = f"customers-{utcnow().astimezone(tz):%Y%m%d-%H%M}.csv"
    return csv_download(rows, session, filename)


def _customer_or_404(customer_id: int) -> Customer:
    return row_or_404(request_session(), Customer, customer_id)


@bp.get("/<id:customer_id>")
@login_required
def show(customer_id: int):
    """Everything about one customer, with a link to their chat."""
    customer = _customer_or_404(customer_id)
    return render_template("inbox/customer.html", **panel_context(customer))


def _back(customer_id: int):
    """Where a panel form returns: the chat it was sent from, else the customer page."""
    target = request.form.get("next", "")
    if target.startswith("/inbox/") and "//" not in target:
        return redirect(target)
    return redirect(url_for("inbox_customers.show", customer_id=customer_id))


@bp.post("/<id:customer_id>/tags")
@login_required
def add_tag(customer_id: int):
    """Put a tag on the customer."""
    tag_id = request.form.get("tag_id", type=int)
    with staff_change("customer.tag", ("customer", customer_id), {"tag": tag_id}) as (tx, _d):
        row_or_404(tx, Tag, tag_id)
        row_or_404(tx, Customer, customer_id)
        tag_customer(tx, customer_id, tag_id)
    return _back(customer_id)


@bp.post("/<id:customer_id>/tags/<id:tag_id>/remove")
@login_required
def remove_tag(customer_id: int, tag_id: int):
    """Take a tag off the customer."""
    with staff_change("customer.untag", ("customer", customer_id), {"tag": tag_id}) as (tx, _d):
        untag_customer(tx, customer_id, tag_id)
    return _back(customer_id)


@bp.post("/<id:customer_id>/notes")
@login_required
def add_customer_note(customer_id: int):
    """Add an internal note (never sent to the customer)."""
    _customer_or_404(customer_id)
    try:
        with staff_change("customer.note", ("customer", customer_id)) as (tx, _d):
            add_note(tx, customer_id, g.staff.id, request.form.get("body", ""))
    except NoteError as exc:
        flash(error_text(str(exc)), "error")
    return _back(customer_id)


@bp.post("/<id:customer_id>/attributes")
@login_required
def save_attributes(customer_id: int):
    """Save the custom fields; a bad value is refused with what is wrong."""
    _customer_or_404(customer_id)
    try:
        with staff_change("customer.attributes", ("customer", customer_id)) as (tx, detail):
            for definition in tx.query(AttributeDefinition).all():
                field = f"attr_{definition.id}"
                if field in request.form:
                    detail[definition.key] = set_customer_value(
                        tx, customer_id, definition, request.form[field]
                    )
    except AttributeValueError as exc:
        flash(error_text(str(exc)), "error")
    return _back(customer_id)


@bp.post("/<id:customer_id>/consent")
@login_required
def set_consent(customer_id: int):
    """Whether the customer agreed to receive marketing messages."""
    consent = request.form.get("marketing_consent") == "1"
    with staff_change("customer.consent", ("customer", customer_id), {"consent": consent}) as (
        tx,
        _d,
    ):
        customer = row_or_404(tx, Customer, customer_id)
        set_marketing_consent(tx, customer, consent, utcnow(), "staff", staff_id=g.staff.id)
    return _back(customer_id)


@bp.post("/<id:customer_id>/topics")
@login_required
def set_topic(customer_id: int):
    """Subscribe the customer to a topic or opt them out (kept in the consent history)."""
    subscribed = request.form.get("subscribed") == "1"
    topic_id = request.form.get("topic_id", type=int)
    detail = {"topic": topic_id, "subscribed": subscribed}
    with staff_change("customer.topic", ("customer", customer_id), detail) as (tx, _d):
        customer = row_or_404(tx, Customer, customer_id)
        topic = row_or_404(tx, Topic, topic_id)
        set_topic_subscription(
            tx, customer, topic, subscribed, utcnow(), "staff", staff_id=g.staff.id
        )
    return _back(customer_id)


@bp.get("/<id:customer_id>/chat")
@login_required
def open_chat(customer_id: int):
    """The customer's conversation, created if they never wrote."""
    _customer_or_404(customer_id)
    with services().db.transaction() as tx:
        conversation_id = conversation_for(tx, customer_id, utcnow()).id
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation_id))


@bp.get("/media/<id:interaction_id>")
@login_required
def media(interaction_id: int):
    """A photo, video, audio or file the customer sent, fetched from LINE on demand;
    a placeholder while LINE prepares it or after it expired."""
    item = find_media(request_session(), interaction_id)
    if item is None:
        abort(404)
    content = fetch_media(item, services().line)
    if content.result == READY:
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        if not (content.content_type or "").startswith(("image/", "video/", "audio/")):
            headers["Content-Disposition"] = "attachment"
        return Response(content.body, content_type=content.content_type, headers=headers)
    if content.result == ELSEWHERE:
        return redirect(content.url)
    placeholder = url_for("inbox_auth.static", filename="media-unavailable.svg")
    return redirect(placeholder)
