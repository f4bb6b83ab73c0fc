"""Surveys in the inbox: the list, one survey's results (charts, rates, free texts) by period,
activation for admins, the CSV export for admins, and sending a survey from a chat."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
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

from bot.flow_turns import send_flow
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.flows import NotStarted, count_runs
from crm.models import Customer
from crm.shop import shop_timezone_name
from crm.survey_results import Period, export_rows, survey_results
from crm.surveys import get_survey, list_surveys
from inbox.csv_export import csv_download
from inbox.errors import error_text
from inbox.security import admin_required, login_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_surveys", __name__, url_prefix="/inbox/surveys")


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
    return render_template("inbox/surveys.html", surveys=surveys, runs=runs)


@bp.get("/<id:survey_id>")
@login_required
def show(survey_id: int):
    session = request_session()
    survey = get_survey(session, survey_id) or abort(404)
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
    survey = get_survey(session, survey_id)
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
