"""Stamp-card programs (admins): the list, the editor (goal, limits, expiry, starter stamps,
reminders, milestone rewards as coupons) and which program is the default."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.loyalty.coupons import list_coupons
from crm.loyalty.models import EXPIRY_KINDS, StampProgram
from crm.loyalty.programs import (
    ProgramError,
    change_program,
    create_program,
    list_programs,
    make_default,
)
from inbox.loyalty_forms import (
    REWARD_ROWS,
    ProgramFields,
    program_fields_from_form,
    program_fields_of,
    program_input,
)
from inbox.loyalty_summary import ensure_default_program
from inbox.loyalty_texts import NAMES
from inbox.security import admin_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session

bp = Blueprint("inbox_loyalty_programs", __name__, url_prefix="/inbox/loyalty/programs")


@bp.context_processor
def _names() -> dict:
    return {"loyalty_names": NAMES}


@bp.get("")
@admin_required
def index():
    ensure_default_program()
    return render_template("inbox/loyalty/programs.html", programs=list_programs(request_session()))


def _editor(fields: ProgramFields, program=None, problem=None, status=200):
    rows = fields.rewards + [("", "")] * (REWARD_ROWS - len(fields.rewards))
    return (
        render_template(
            "inbox/loyalty/program_form.html",
            program=program,
            fields=fields,
            reward_rows=rows[:REWARD_ROWS],
            coupons=list_coupons(request_session()),
            expiry_kinds=EXPIRY_KINDS,
            problem=problem,
        ),
        status,
    )


@bp.get("/new")
@admin_required
def new():
    return _editor(ProgramFields())


@bp.post("/new")
@admin_required
def create():
    fields = program_fields_from_form(request.form)
    try:
        with staff_change("loyalty.program.create", detail={"name": fields.name}) as (tx, d):
            program = create_program(tx, program_input(fields))
            if fields.make_default:
                make_default(tx, program)
            d["program"] = program.id
    except ProgramError as exc:
        return _editor(fields, problem=exc, status=422)
    flash(_("Stamp card saved."), "ok")
    return redirect(url_for("inbox_loyalty_programs.index"))


@bp.get("/<id:program_id>")
@admin_required
def edit(program_id: int):
    program = request_session().get(StampProgram, program_id) or abort(404)
    return _editor(program_fields_of(program), program)


@bp.post("/<id:program_id>")
@admin_required
def update(program_id: int):
    fields = program_fields_from_form(request.form)
    try:
        with staff_change("loyalty.program.edit", ("stamp_program", program_id)) as (tx, _d):
            program = row_or_404(tx, StampProgram, program_id)
            change_program(tx, program, program_input(fields))
            if fields.make_default and not program.is_default:
                make_default(tx, program)
    except ProgramError as exc:
        program = request_session().get(StampProgram, program_id)
        return _editor(fields, program, problem=exc, status=422)
    flash(_("Stamp card saved. New rules apply to stamps from now on."), "ok")
    return redirect(url_for("inbox_loyalty_programs.index"))


@bp.post("/<id:program_id>/default")
@admin_required
def set_default(program_id: int):
    """The program used when none is named (the keyword, the API without a program id)."""
    with staff_change("loyalty.program.default", ("stamp_program", program_id)) as (tx, _d):
        make_default(tx, row_or_404(tx, StampProgram, program_id))
    flash(_("Default stamp card changed."), "ok")
    return redirect(url_for("inbox_loyalty_programs.index"))
