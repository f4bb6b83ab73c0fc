"""The FAQ editor (admins): the list with how often each FAQ answered lately, the form (example
questions and quick replies one per line), the "try it" box that shows exactly what the bot
would do with a message, and the FAQ settings (on/off, thresholds)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.clock import utcnow
from crm.faq.answering import match_text
from crm.faq.entries import (
    FaqError,
    FaqInput,
    FaqSettings,
    create_faq,
    delete_faq,
    faq_categories,
    list_faqs,
    load_faq_settings,
    save_faq_settings,
    update_faq,
)
from crm.faq.matching import Thresholds
from crm.faq.models import (
    ANSWER_FLEX,
    ANSWER_TEXT,
    DECISION_ANSWER,
    DECISION_HANDOFF,
    DECISION_SUGGEST,
    Faq,
)
from crm.inquiries.reports import faq_use_counts
from inbox.security import admin_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session

bp = Blueprint("inbox_faqs", __name__, url_prefix="/inbox/faqs")
USE_DAYS = 30
MAX_TRY_TEXT = 500


@bp.context_processor
def _decision_names() -> dict:
    return {
        "decision_names": {
            DECISION_ANSWER: _l("Answer"),
            DECISION_SUGGEST: _l("Suggest"),
            DECISION_HANDOFF: _l("Hand to staff"),
        },
        "decision_hints": {
            DECISION_ANSWER: _l("The bot answers with the first FAQ at once."),
            DECISION_SUGGEST: _l("The bot asks “もしかして” with these FAQs to pick from."),
            DECISION_HANDOFF: _l("The bot has no answer; the chat goes to staff."),
        },
    }


@dataclass(frozen=True)
class FaqFields:
    """The form as typed: lists are one item per line."""

    category: str = ""
    questions: str = ""
    answer: str = ""
    quick_replies: str = ""
    active: bool = True
    answer_kind: str = ANSWER_TEXT


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def faq_fields_from_form(form) -> FaqFields:
    return FaqFields(
        category=form.get("category", ""),
        questions=form.get("questions", ""),
        answer=form.get("answer", ""),
        quick_replies=form.get("quick_replies", ""),
        active=form.get("active") == "1",
    )


def faq_fields_of(faq: Faq) -> FaqFields:
    return FaqFields(
        category=faq.category or "",
        questions="\n".join(faq.questions),
        answer=faq.answer,
        quick_replies="\n".join(faq.quick_replies or []),
        active=faq.active,
        answer_kind=faq.answer_kind,
    )


def faq_input(fields: FaqFields, faq: Faq | None = None) -> FaqInput:
    """What the form says; a Flex card (edited through the API) is kept as it is."""
    flex = faq is not None and faq.answer_kind == ANSWER_FLEX
    return FaqInput(
        questions=_lines(fields.questions),
        answer=fields.answer,
        category=fields.category,
        active=fields.active,
        answer_kind=ANSWER_FLEX if flex else ANSWER_TEXT,
        answer_flex=faq.answer_flex if flex else None,
        quick_replies=_lines(fields.quick_replies),
    )


# The list and the try-it box ---------------------------------------------------------------


def _list_page(tried: str = "", found=None, status: int = 200):
    session = request_session()
    category = request.values.get("category") or None
    return (
        render_template(
            "inbox/faq/list.html",
            faqs=list_faqs(session, category=category),
            categories=faq_categories(session),
            category=category,
            uses=faq_use_counts(session, utcnow() - timedelta(days=USE_DAYS)),
            use_days=USE_DAYS,
            settings=load_faq_settings(session),
            tried=tried,
            found=found,
        ),
        status,
    )


@bp.get("")
@admin_required
def index():
    """?category= shows one category's FAQs."""
    return _list_page()


@bp.post("/try")
@admin_required
def try_text():
    """What the bot would do with this message now, with the closest FAQs and their scores."""
    text = request.form.get("text", "").strip()[:MAX_TRY_TEXT]
    found = match_text(request_session(), text) if text else None
    return _list_page(text, found)


# The form ----------------------------------------------------------------------------------


def _editor(fields: FaqFields, faq: Faq | None = None, problem: FaqError | None = None):
    return (
        render_template(
            "inbox/faq/form.html",
            faq=faq,
            fields=fields,
            categories=faq_categories(request_session()),
            problem=problem,
            bad=problem_field(problem),
        ),
        422 if problem else 200,
    )


def problem_field(problem: FaqError | None) -> str:
    """The form field a refusal names: `questions[3]` is the questions box."""
    return problem.where.split("[")[0].split(".")[0] if problem else ""


@bp.get("/new")
@admin_required
def new():
    """?question= pre-fills the first example question (from the report's unanswered list)."""
    return _editor(FaqFields(questions=request.args.get("question", "").strip()))


@bp.post("/new")
@admin_required
def create():
    fields = faq_fields_from_form(request.form)
    try:
        with staff_change("faq.create", detail={"category": fields.category}) as (tx, detail):
            detail["faq"] = create_faq(tx, faq_input(fields), staff_id=_staff_id()).id
    except FaqError as exc:
        return _editor(fields, problem=exc)
    flash(_("FAQ saved. The bot answers with it from now on."), "ok")
    return redirect(url_for("inbox_faqs.index"))


@bp.get("/<id:faq_id>")
@admin_required
def edit(faq_id: int):
    faq = row_or_404(request_session(), Faq, faq_id)
    return _editor(faq_fields_of(faq), faq)


@bp.post("/<id:faq_id>")
@admin_required
def update(faq_id: int):
    fields = faq_fields_from_form(request.form)
    try:
        with staff_change("faq.edit", ("faq", faq_id)) as (tx, _d):
            faq = row_or_404(tx, Faq, faq_id)
            update_faq(faq, faq_input(fields, faq))
    except FaqError as exc:
        faq = row_or_404(request_session(), Faq, faq_id)
        return _editor(replace(fields, answer_kind=faq.answer_kind), faq, exc)
    flash(_("FAQ saved. The bot answers with it from now on."), "ok")
    return redirect(url_for("inbox_faqs.index"))


@bp.post("/<id:faq_id>/delete")
@admin_required
def delete(faq_id: int):
    """Delete the FAQ; questions it answered stay in the report."""
    with staff_change("faq.delete", ("faq", faq_id)) as (tx, detail):
        faq = row_or_404(tx, Faq, faq_id)
        detail["question"] = faq.questions[0] if faq.questions else ""
        delete_faq(tx, faq)
    flash(_("FAQ deleted."), "ok")
    return redirect(url_for("inbox_faqs.index"))


def _staff_id() -> int | None:
    return g.staff.id if g.get("staff") is not None else None


# Settings ----------------------------------------------------------------------------------


def _settings_values(settings: FaqSettings) -> dict[str, str]:
    t = settings.thresholds
    enabled = "1" if settings.enabled else ""
    return {"enabled": enabled, "answer": t.answer, "suggest": t.suggest, "margin": t.margin}


def _settings_page(values, problem: FaqError | None = None):
    """The settings form with these values (as stored, or as typed when refused)."""
    return (
        render_template(
            "inbox/faq/settings.html",
            values=values,
            problem=problem,
            bad=problem_field(problem),
            defaults=Thresholds(),
        ),
        422 if problem else 200,
    )


@bp.get("/settings")
@admin_required
def settings():
    return _settings_page(_settings_values(load_faq_settings(request_session())))


def _threshold(name: str) -> float:
    try:
        return float(request.form.get(name, ""))
    except ValueError:
        raise FaqError(name, _("a number between 0 and 1")) from None


@bp.post("/settings")
@admin_required
def save_settings():
    """Whether the bot answers from the FAQs, and the scores at which it answers or suggests."""
    enabled = request.form.get("enabled") == "1"
    try:
        thresholds = Thresholds(_threshold("answer"), _threshold("suggest"), _threshold("margin"))
        with staff_change("faq.settings", detail={"enabled": enabled}) as (tx, _d):
            save_faq_settings(tx, FaqSettings(enabled, thresholds))
    except FaqError as exc:
        return _settings_page(request.form, exc)
    flash(_("Saved."), "ok")
    return redirect(url_for("inbox_faqs.settings"))
