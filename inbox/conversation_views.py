"""The inbox proper: the list of chats, one chat's timeline, replying, status and assignment."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from bot.flow_turns import send_flow
from crm.bot_texts import load_texts
from crm.canned_responses import list_canned_responses
from crm.clock import utcnow
from crm.conversations import (
    FOLDERS,
    ConversationError,
    assign,
    conversation_for,
    folder_counts,
    get_conversation,
    list_conversations,
    mark_read,
    set_status,
)
from crm.csat import csat_to_send
from crm.flows import NotStarted
from crm.inquiries.lifecycle import open_inquiry, resolve_inquiry, resume_bot
from crm.interactions import list_interactions
from crm.models import CONVERSATION_RESOLVED, Conversation, Customer, Interaction, Staff
from crm.staff import active_staff
from crm.staff_replies import ReplyError, queue_staff_reply, retry_failed
from inbox.customer_panel import panel_context
from inbox.errors import error_text
from inbox.security import login_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_conversations", __name__, url_prefix="/inbox/conversations")

TIMELINE_PAGE = 50
POLL_LIMIT = 200


def _list_args() -> dict:
    folder = request.args.get("folder", "needs_reply")
    return {
        "folder": folder if folder in FOLDERS else "needs_reply",
        "search": request.args.get("q", "")[:100],
        "after": _cursor(request.args.get("cursor")),
    }


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    """'<iso time>_<id>' from the previous page; anything else starts from the top."""
    try:
        at, _sep, conversation_id = (raw or "").rpartition("_")
        return datetime.fromisoformat(at), int(conversation_id)
    except ValueError:
        return None


def _list_context(selected_id: int | None = None) -> dict:
    args = _list_args()
    page = list_conversations(request_session(), me=g.staff.id, **args)
    return {
        "page": page,
        "folder": args["folder"],
        "search": args["search"],
        "counts": folder_counts(request_session(), g.staff.id),
        "selected_id": selected_id,
        "folders": list(FOLDERS),
    }


@bp.get("")
@login_required
def index():
    """The chats in a folder, newest activity first."""
    return render_template("inbox/conversations.html", conversation=None, **_list_context())


@bp.get("/list")
@login_required
def list_partial():
    """The list alone, for live polling and paging (htmx)."""
    selected = request.args.get("selected", type=int)
    return render_template("inbox/_conversation_list.html", **_list_context(selected))


def _conversation_or_404(conversation_id: int) -> Conversation:
    conversation = get_conversation(request_session(), conversation_id)
    if conversation is None:
        abort(404)
    return conversation


@bp.get("/<id:conversation_id>")
@login_required
def show(conversation_id: int):
    """One chat: the timeline, the reply box and the customer panel."""
    conversation = _conversation_or_404(conversation_id)
    _mark_read(conversation)
    items = _timeline(conversation.customer_id, before_id=None)
    return render_template(
        "inbox/conversations.html",
        conversation=conversation,
        items=list(reversed(items)),
        has_older=len(items) == TIMELINE_PAGE,
        canned=list_canned_responses(request_session()),
        staff_members=active_staff(request_session()),
        reply_token=str(uuid.uuid4()),
        inquiry=open_inquiry(request_session(), conversation.customer_id),
        **panel_context(conversation.customer),
        **_list_context(conversation.id),
    )


def _mark_read(conversation: Conversation) -> None:
    """Reset the unread count in a write transaction; the page shows the result."""
    if conversation.unread_count:
        with services().db.transaction() as tx:
            mark_read(tx.get(Conversation, conversation.id))
        # The request's read session must not try to write this change again.
        set_committed_value(conversation, "unread_count", 0)


def _timeline(customer_id: int, before_id: int | None) -> list[Interaction]:
    """One page of the customer's timeline, newest first."""
    return list_interactions(
        request_session(), customer_id, before_id=before_id, limit=TIMELINE_PAGE
    )


@bp.get("/<id:conversation_id>/timeline")
@login_required
def timeline_since(conversation_id: int):
    """Items from `from_id` on (new ones, and ones whose delivery status may have changed)."""
    conversation = _conversation_or_404(conversation_id)
    from_id = request.args.get("from_id", type=int) or 0
    statement = (
        select(Interaction)
        .where(Interaction.customer_id == conversation.customer_id, Interaction.id >= from_id)
        .order_by(Interaction.id)
        .limit(POLL_LIMIT)
    )
    items = list(request_session().scalars(statement))
    if any(item.direction == "in" for item in items):
        _mark_read(conversation)
    return render_template("inbox/_timeline_items.html", items=items)


@bp.get("/<id:conversation_id>/older")
@login_required
def older(conversation_id: int):
    """The page of the timeline before `before_id`, oldest first."""
    conversation = _conversation_or_404(conversation_id)
    before_id = request.args.get("before_id", type=int)
    items = _timeline(conversation.customer_id, before_id)
    return render_template(
        "inbox/_timeline_older.html",
        items=list(reversed(items)),
        has_older=len(items) == TIMELINE_PAGE,
        conversation=conversation,
    )


@bp.post("/<id:conversation_id>/reply")
@login_required
def reply(conversation_id: int):
    """Send the clerk's text by push with a retry key; a double submit sends once."""
    conversation = _conversation_or_404(conversation_id)
    text = request.form.get("text", "")
    try:
        with staff_change("conversation.reply", ("conversation", conversation.id)) as (tx, d):
            customer = tx.get(Customer, conversation.customer_id)
            staff = tx.get(Staff, g.staff.id)
            item, _is_new = queue_staff_reply(
                tx, customer, staff, text, request.form.get("reply_token", ""), utcnow()
            )
            d["length"] = len(text)
    except ReplyError as exc:
        return _refused(error_text(str(exc)), conversation.id)
    if request.headers.get("X-Requested-With") == "fetch":
        return {"id": item.id, "next_reply_token": str(uuid.uuid4())}
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation.id))


def _refused(message: str, conversation_id: int | None):
    """A refused send: JSON for the page's script, else a message on the page it came from."""
    if request.headers.get("X-Requested-With") == "fetch":
        return {"error": message}, 422
    flash(message, "error")
    if conversation_id is None:
        return redirect(url_for("inbox_conversations.index"))
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation_id))


@bp.post("/messages/<id:interaction_id>/retry")
@login_required
def retry(interaction_id: int):
    """Send a failed message again (same retry key, so never twice)."""
    try:
        with staff_change("message.retry", ("interaction", interaction_id)) as (tx, _d):
            item = row_or_404(tx, Interaction, interaction_id)
            retry_failed(item, utcnow())
            conversation_id = conversation_for(tx, item.customer_id, utcnow()).id
    except ReplyError as exc:
        return _refused(error_text(str(exc)), None)
    if request.headers.get("X-Requested-With") == "fetch":
        return "", 204
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation_id))


@bp.post("/<id:conversation_id>/status")
@login_required
def change_status(conversation_id: int):
    """Open, pending or resolved."""
    status = request.form.get("status", "")
    try:
        with staff_change(
            "conversation.status", ("conversation", conversation_id), {"status": status}
        ) as (tx, detail):
            conversation = row_or_404(tx, Conversation, conversation_id)
            resolving = status == CONVERSATION_RESOLVED != conversation.status
            set_status(conversation, status)
            if resolving:
                resolve_inquiry(tx, conversation, g.staff.id, utcnow())
                detail["csat"] = _ask_satisfaction(tx, conversation)
    except ConversationError:
        abort(400)
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation_id))


def _ask_satisfaction(session, conversation: Conversation) -> bool:
    """CSAT after a resolution, when the shop asks for it (crm/csat.py); True if sent."""
    now = utcnow()
    flow = csat_to_send(session, conversation, now)
    if flow is None:
        return False
    context = {"conversation_id": conversation.id, "staff_id": g.staff.id}
    customer = session.get(Customer, conversation.customer_id)
    started = send_flow(session, customer, flow, now, load_texts(session), "staff", context)
    return not isinstance(started, NotStarted)


@bp.post("/<id:conversation_id>/resume-bot")
@login_required
def resume(conversation_id: int):
    """Give the chat back to the bot: FAQ answers and acknowledgements start again."""
    with staff_change("conversation.resume_bot", ("conversation", conversation_id)) as (tx, _d):
        resume_bot(row_or_404(tx, Conversation, conversation_id))
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation_id))


@bp.post("/<id:conversation_id>/assign")
@login_required
def change_assignee(conversation_id: int):
    """Give the chat to a staff member, or to nobody."""
    assignee_id = request.form.get("assignee_id", type=int)
    try:
        with staff_change(
            "conversation.assign", ("conversation", conversation_id), {"assignee": assignee_id}
        ) as (tx, _d):
            staff = tx.get(Staff, assignee_id) if assignee_id else None
            if assignee_id and staff is None:
                abort(400)
            assign(row_or_404(tx, Conversation, conversation_id), staff)
    except ConversationError:
        abort(400)
    return redirect(url_for("inbox_conversations.show", conversation_id=conversation_id))
