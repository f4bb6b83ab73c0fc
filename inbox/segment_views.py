"""Segments in the inbox, for admins: the saved segments with their live counts, the builder
(conditions, AND/OR groups, a live count and sample customers refreshed by htmx as conditions
change), save, duplicate and delete. The trees are compiled by `crm/segments.py`."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.clock import utcnow
from crm.models import Customer, Segment
from crm.saved_segments import (
    copy_segment,
    delete_segment,
    get_segment,
    list_segments,
    save_segment,
)
from crm.segments import SegmentError, count_matching, matching_customers
from inbox.security import admin_required
from inbox.segment_builder import (
    Builder,
    Problem,
    apply_action,
    builder_from_form,
    builder_of,
    default_condition,
    ops_of,
    problem_of,
    tree_of,
    widgets_of,
)
from inbox.segment_fields import Catalogue, field_catalogue
from inbox.staff_actions import staff_change
from request_scope import request_session

bp = Blueprint("inbox_segments", __name__, url_prefix="/inbox/segments")
SAMPLE_SIZE = 20
CHANGED_EVENT = "segment-changed"  # tells the preview to refresh after the rows changed
NAME_PROBLEM = (_l("Name"), _l("Enter a name of 1 to 100 characters."))


@dataclass
class Preview:
    """What the builder shows beside the rows: the count now and the newest customers."""

    count: int | None = None
    samples: list[Customer] = field(default_factory=list)
    problem: Problem | None = None


def _preview(builder: Builder, catalogue: Catalogue) -> Preview:
    """The count and samples, or the problem that stops the tree from compiling."""
    if not builder.items:
        return Preview()
    session, now = request_session(), utcnow()
    try:
        tree = tree_of(builder, catalogue)
        count = count_matching(session, tree, now)
        samples = matching_customers(session, tree, now, limit=SAMPLE_SIZE)
    except SegmentError as exc:
        return Preview(problem=_problem(exc))
    return Preview(count, samples)


def _problem(error: SegmentError) -> Problem:
    if error.where == "name":
        location, message = NAME_PROBLEM
        return Problem(str(location), str(message))
    return problem_of(error)


def _builder_context(builder: Builder, catalogue: Catalogue, problem: Problem | None = None):
    return {
        "builder": builder,
        "catalogue": catalogue,
        "widgets_of": lambda condition: widgets_of(condition, catalogue),
        "ops_of": lambda condition: ops_of(condition, catalogue),
        "problem": problem,
    }


def _page(
    segment: Segment | None,
    name: str,
    builder: Builder,
    catalogue: Catalogue,
    problem: Problem | None = None,
):
    """The builder page; a refused save shows its problem above the rows (422)."""
    return (
        render_template(
            "inbox/segment_form.html",
            segment=segment,
            name=name,
            preview=_preview(builder, catalogue),
            **_builder_context(builder, catalogue, problem),
        ),
        422 if problem else 200,
    )


def _posted(catalogue: Catalogue) -> tuple[str, Builder]:
    return request.form.get("name", "")[:200], builder_from_form(request.form, catalogue)


@bp.get("")
@admin_required
def index():
    """Saved segments with how many customers each matches now."""
    session, now = request_session(), utcnow()
    segments = list_segments(session)
    counts = {segment.id: _count_or_none(session, segment, now) for segment in segments}
    return render_template("inbox/segments.html", segments=segments, counts=counts)


def _count_or_none(session, segment: Segment, now) -> int | None:
    """None for a segment that no longer compiles (a custom field it tests was deleted)."""
    try:
        return count_matching(session, segment.conditions, now)
    except SegmentError:
        return None


@bp.get("/new")
@admin_required
def new():
    catalogue = field_catalogue(request_session())
    return _page(None, "", Builder(items=[default_condition(catalogue)]), catalogue)


@bp.post("/new")
@admin_required
def create():
    return _save(None)


@bp.get("/<id:segment_id>/edit")
@admin_required
def edit(segment_id: int):
    session = request_session()
    segment = get_segment(session, segment_id) or abort(404)
    catalogue = field_catalogue(session)
    return _page(segment, segment.name, builder_of(segment.conditions, catalogue), catalogue)


@bp.post("/<id:segment_id>/edit")
@admin_required
def update(segment_id: int):
    segment = get_segment(request_session(), segment_id) or abort(404)
    return _save(segment)


def _save(segment: Segment | None):
    """Save the posted rows; a row button (add, remove) without JavaScript only redraws."""
    catalogue = field_catalogue(request_session())
    name, builder = _posted(catalogue)
    if apply_action(builder, request.form.get("action", ""), catalogue):
        return _page(segment, name, builder, catalogue)
    action = "segments.edit" if segment else "segments.create"
    target = ("segment", segment.id) if segment else None
    try:
        tree = tree_of(builder, catalogue)
        with staff_change(action, target) as (tx, detail):
            changing = get_segment(tx, segment.id) if segment else None
            saved = save_segment(tx, changing, name, tree, utcnow())
            detail.update(segment=saved.id, name=saved.name)
    except SegmentError as exc:
        return _page(segment, name, builder, catalogue, problem=_problem(exc))
    flash(_("The segment is saved."), "ok")
    return redirect(url_for("inbox_segments.index"))


@bp.post("/<id:segment_id>/duplicate")
@admin_required
def duplicate(segment_id: int):
    """A copy under "<name> のコピー", opened for editing."""
    with staff_change("segments.duplicate", ("segment", segment_id)) as (tx, detail):
        original = get_segment(tx, segment_id) or abort(404)
        copy = copy_segment(tx, original, _("Copy of %(name)s", name=original.name))
        detail["copy"] = copy_id = copy.id
    flash(_("The segment was copied."), "ok")
    return redirect(url_for("inbox_segments.edit", segment_id=copy_id))


@bp.post("/<id:segment_id>/delete")
@admin_required
def delete(segment_id: int):
    with staff_change("segments.delete", ("segment", segment_id)) as (tx, detail):
        segment = get_segment(tx, segment_id) or abort(404)
        detail["name"] = segment.name
        delete_segment(tx, segment)
    flash(_("The segment was deleted."), "ok")
    return redirect(url_for("inbox_segments.index"))


@bp.post("/builder")
@admin_required
def builder_rows():
    """htmx: the rows redrawn after a field, an operator or a row button changed them."""
    catalogue = field_catalogue(request_session())
    builder = builder_from_form(request.form, catalogue)
    apply_action(builder, request.form.get("action", ""), catalogue)
    html = render_template("inbox/_segment_builder.html", **_builder_context(builder, catalogue))
    return html, 200, {"HX-Trigger": CHANGED_EVENT}


@bp.post("/preview")
@admin_required
def preview():
    """htmx: the live count and samples for the posted rows (a problem is shown in place)."""
    catalogue = field_catalogue(request_session())
    builder = builder_from_form(request.form, catalogue)
    return render_template("inbox/_segment_preview.html", preview=_preview(builder, catalogue))
