"""Surveys in the inbox: the list, one survey's results (charts, rates, free texts) by period,
activation for admins, the CSV export for admins, and sending a survey from a chat."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from bot.flow_messages import question_messages
from bot.flow_turns import send_flow
from crm.attributes import list_definitions
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.csat import CSAT, scores_by_staff
from crm.flow_steps import Problem, check_steps, read_steps
from crm.flows import NotStarted, count_runs, newest_version
from crm.models import Customer, Flow
from crm.shop import shop_timezone_name
from crm.survey_results import Period, export_rows, survey_results
from crm.surveys import (
    SETTINGS,
    SurveyError,
    change_survey,
    create_survey,
    get_survey,
    list_surveys,
    survey_reward,
)
from inbox.csv_export import csv_download
from inbox.errors import error_text
from inbox.security import admin_required, login_required
from inbox.staff_actions import row_or_404, staff_change
from inbox.survey_builder import (
    NEW_ROWS,
    TYPES,
    Row,
    problem_row,
    questions_of,
    reward_choices,
    reward_from_form,
    rows_from_form,
    rows_of,
)
from request_scope import request_session, services

bp = Blueprint("inbox_surveys", __name__, url_prefix="/inbox/surveys")
CSAT_DAYS_SHOWN = 30


def _shop_tz(session) -> ZoneInfo:
    return ZoneInfo(shop_timezone_name(session, services().settings.shop_timezone))


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _period(tz: ZoneInfo) -> tuple[Period, date | None, date | None]:
    """?since=YYYY-MM-DD&until=YYYY-MM-DD, whole days in the shop's time zone, both included."""
    since, until = _day("since"), _day("until")
    start = datetime.combine(since, time(), tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), tz) if until else None
    return Period(start, end), since, until


@bp.get("")
@login_required
def index():
    session = request_session()
    surveys = list_surveys(session)
    runs = {survey.id: count_runs(session, survey.id) for survey in surveys}
    csat = session.scalars(select(Flow).where(Flow.kind == CSAT)).first()
    staff_scores = scores_by_staff(session, utcnow() - timedelta(days=CSAT_DAYS_SHOWN))
    return render_template(
        "inbox/surveys.html",
        surveys=surveys,
        runs=runs,
        csat=csat,
        staff_scores=staff_scores,
        csat_days=CSAT_DAYS_SHOWN,
    )


@bp.get("/<id:survey_id>")
@login_required
def show(survey_id: int):
    session = request_session()
    survey = get_survey(session, survey_id) or _csat_survey(session, survey_id) or abort(404)
    period, since, until = _period(_shop_tz(session))
    results = survey_results(session, survey, period)
    charts = [
        {"id": f"chart-{n}", "labels": [c[0] for c in q.counts], "counts": [c[1] for c in q.counts]}
        for n, q in enumerate(results.questions)
        if q.counts
    ]
    return render_template(
        "inbox/survey.html", results=results, since=since, until=until, charts=charts
    )


def _csat_survey(session, flow_id: int) -> Flow | None:
    """The CSAT flow's results use the same page."""
    flow = session.get(Flow, flow_id)
    return flow if flow is not None and flow.kind == CSAT else None


@bp.post("/<id:survey_id>/active")
@admin_required
def set_active(survey_id: int):
    active = request.form.get("active") == "1"
    with staff_change("surveys.active", ("survey", survey_id), {"active": active}) as (tx, _d):
        survey = get_survey(tx, survey_id) or abort(404)
        survey.active = active
    return redirect(url_for("inbox_surveys.show", survey_id=survey_id))


@bp.get("/<id:survey_id>/export.csv")
@admin_required
def export(survey_id: int):
    """One row per run, UTF-8 with a BOM so Excel in Japan reads it; cells that would run as
    formulas are defused."""
    session = services().db.read_session()
    survey = get_survey(session, survey_id) or _csat_survey(session, survey_id)
    if survey is None:
        session.close()
        abort(404)
    tz = _shop_tz(session)
    period, since, until = _period(tz)
    detail = {"since": str(since or ""), "until": str(until or "")}
    with staff_change("surveys.export", ("survey", survey_id), detail):
        pass

    filename = f"survey-{survey_id}-{utcnow().astimezone(tz):%Y%m%d-%H%M}.csv"
    return csv_download(export_rows(session, survey, tz, period), session, filename)


@bp.post("/send")
@login_required
def send_to_customer():
    """A survey sent from a chat or a customer's page: the first question is pushed."""
    customer_id = request.form.get("customer_id", type=int)
    survey_id = request.form.get("survey_id", type=int)
    back = request.form.get("next") or url_for("inbox_conversations.index")
    if not back.startswith("/inbox/"):
        back = url_for("inbox_conversations.index")
    detail = {"survey": survey_id}
    with staff_change("surveys.send", ("customer", customer_id), detail) as (tx, details):
        customer = row_or_404(tx, Customer, customer_id)
        survey = get_survey(tx, survey_id or 0) or abort(404)
        started = send_flow(tx, customer, survey, utcnow(), load_texts(tx), "staff")
        details["started"] = not isinstance(started, NotStarted)
    if isinstance(started, NotStarted):
        flash(error_text(f"survey_{started.reason}"), "error")
    else:
        flash(error_text("survey_sent"), "ok")
    return redirect(back)


def _settings_from_form() -> dict:
    form = request.form
    return {
        "name": form.get("name", "").strip()[:100],
        "keyword": form.get("keyword", "").strip()[:50] or None,
        "on_follow": form.get("on_follow") == "1",
        "expire_hours": max(1, min(form.get("expire_hours", 24, type=int) or 24, 720)),
        "remind_after_hours": form.get("remind_after_hours", type=int) or None,
        "thanks": form.get("thanks", "").strip()[:5000] or None,
        "reward_coupon_id": reward_from_form(form),
    }


def _builder(survey=None, settings=None, rows=None, problem=None, status=200):
    session = request_session()
    rows = [row for row in rows or [] if not row.blank]
    shown = rows + [Row() for _ in range(NEW_ROWS)]
    return (
        render_template(
            "inbox/survey_form.html",
            survey=survey,
            settings=settings,
            rows=shown,
            types=TYPES,
            definitions=list_definitions(session),
            coupons=reward_choices(session, (settings or {}).get("reward_coupon_id")),
            problem=problem,
            problem_row=problem_row(problem.field) if problem else None,
            preview=_preview(questions_of(rows)),
        ),
        status,
    )


def _preview(questions: list[dict]) -> list[dict]:
    """Each question as the customer will see it: its text and its buttons."""
    if check_steps(questions):
        return []  # not runnable yet: the error above says why
    stand_in = SimpleNamespace(id=0, selected=[])
    texts = load_texts(request_session())
    shown = []
    for step in read_steps(questions):
        if not step.text:
            continue
        for message in question_messages(stand_in, step, texts):
            buttons = [
                i["action"].get("label", "") for i in message.get("quickReply", {}).get("items", [])
            ]
            if message["type"] == "flex":
                footer = message["contents"]["footer"]["contents"]
                buttons = [b["action"]["label"] for b in footer]
            shown.append({"text": step.text, "buttons": buttons, "type": step.type})
    return shown


@bp.get("/new")
@admin_required
def new():
    return _builder(settings={"expire_hours": 24, "on_follow": False})


@bp.post("/new")
@admin_required
def create():
    settings, rows = _settings_from_form(), rows_from_form(request.form)
    if request.form.get("action") == "add":
        return _builder(settings=settings, rows=rows)
    try:
        with staff_change("surveys.create", detail={"name": settings["name"]}) as (tx, detail):
            if not settings["name"]:
                raise SurveyError(Problem("name", "the survey needs a name"))
            survey = create_survey(tx, settings.pop("name"), questions_of(rows), **settings)
            detail["survey"] = survey.id
            survey_id = survey.id
    except SurveyError as exc:
        return _builder(settings=_settings_from_form(), rows=rows, problem=exc.problem, status=422)
    flash(error_text("survey_saved"), "ok")
    return redirect(url_for("inbox_surveys.show", survey_id=survey_id))


@bp.get("/<id:survey_id>/edit")
@admin_required
def edit(survey_id: int):
    session = request_session()
    survey = get_survey(session, survey_id) or abort(404)
    settings = {name: getattr(survey, name) for name in SETTINGS}
    settings["keyword"] = survey.keyword
    settings["reward_coupon_id"] = survey_reward(session, survey)
    rows = rows_of(newest_version(session, survey).steps)
    return _builder(survey=survey, settings=settings, rows=rows)


@bp.post("/<id:survey_id>/edit")
@admin_required
def update(survey_id: int):
    settings, rows = _settings_from_form(), rows_from_form(request.form)
    survey = get_survey(request_session(), survey_id) or abort(404)
    if request.form.get("action") == "add":
        return _builder(survey=survey, settings=settings, rows=rows)
    try:
        with staff_change("surveys.edit", ("survey", survey_id)) as (tx, _detail):
            changing = get_survey(tx, survey_id) or abort(404)
            questions = questions_of(rows)
            if questions == newest_version(tx, changing).steps:
                questions = None  # unchanged: no new version
            if not settings["name"]:
                raise SurveyError(Problem("name", "the survey needs a name"))
            change_survey(tx, changing, {**settings, "questions": questions})
    except SurveyError as exc:
        return _builder(
            survey=survey, settings=settings, rows=rows, problem=exc.problem, status=422
        )
    flash(error_text("survey_saved"), "ok")
    return redirect(url_for("inbox_surveys.show", survey_id=survey_id))
