"""A customer's messages and taps inside a flow run (a survey): read the answer, keep it, say
what comes next. `bot/handlers.py` asks these functions before keyword commands and the staff
acknowledgement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.orm import Session

from bot.flow_messages import choice_card, question_messages
from bot.messages import text_message
from bot.turn import Turn
from crm.answer_reading import (
    Unreadable,
    normalise,
    read_choice,
    read_choices,
    read_date,
    read_integer,
    read_number,
    read_text,
)
from crm.bot_texts import load_texts
from crm.flow_steps import MULTIPLE_CHOICE, REASKS, Step
from crm.flows import (
    Effects,
    NotStarted,
    Prompt,
    active_run,
    answer_step,
    apply_effects,
    cancel_active_run,
    current_step,
    finish_run,
    flow_for_keyword,
    follow_flows,
    resume_run,
    runs_to_remind,
    shown_answer,
    start_run,
    toggle_choice,
    unreadable_answer,
)
from crm.interactions import queue_outbound
from crm.line_limits import MAX_MESSAGES_PER_REQUEST
from crm.loyalty.notify import coupon_messages
from crm.models import RUN_EXPIRED, RUN_IN_PROGRESS, Customer, Flow, FlowRun
from crm.surveys import active_surveys

CANCEL_WORDS = frozenset({"やめる", "止める", "中止", "キャンセル", "cancel", "stop", "quit"})
RESUME_WORDS = frozenset({"再開", "さいかい", "resume", "続き", "つづき"})


def say(turn: Turn, prompt: Prompt, flow: Flow) -> None:
    """Message-only steps on the way, then the question, or the thanks at the end."""
    messages = [text_message(step.text) for step in prompt.messages]
    if prompt.question is not None:
        messages += question_messages(prompt.run, prompt.question, turn.texts)
    else:
        messages.append(text_message(flow.thanks or turn.texts["flow_thanks"]))
        base_url = turn.loyalty.public_base_url
        messages += coupon_messages(list(prompt.rewards), turn.now, base_url, tz=turn.shop_tz)
    turn.reply(messages)


def start_flow(turn: Turn, flow: Flow, trigger: str) -> Prompt | NotStarted:
    started = start_run(turn.session, turn.customer, flow, turn.now, trigger)
    if isinstance(started, Prompt):
        say(turn, started, flow)
    return started


def start_follow_flows(turn: Turn) -> None:
    """A new friend: the first active flow that starts on follow."""
    for flow in follow_flows(turn.session)[:1]:
        start_flow(turn, flow, "follow")


def route_text_to_flow(turn: Turn, text: str, commands: dict[str, Callable]) -> bool:
    """True when a run (or starting one, cancelling or resuming) took this text. Where a typed
    text cannot be read as the answer, a keyword command runs and the question follows, and a
    flow's keyword starts that flow."""
    normalised = normalise(text)
    if normalised in CANCEL_WORDS and _cancel(turn):
        return True
    if normalised in RESUME_WORDS:
        return _resume(turn)
    run = _live_run(turn)
    if run is not None:
        _read_typed_answer(turn, run, text, commands.get(normalised))
        return True
    flow = flow_for_keyword(turn.session, normalised)
    if flow is not None:
        start_flow(turn, flow, "keyword")
        return True
    return False


def remind_of_question(turn: Turn) -> bool:
    """A sticker, photo or the like during a run: ask the question again. True if in a run."""
    run = _live_run(turn)
    if run is None:
        return False
    turn.reply([text_message(turn.texts["flow_reask_media"])])
    turn.reply(question_messages(run, current_step(run), turn.texts))
    return True


def cancel_run_on_block(turn: Turn) -> None:
    """Blocked mid-run: the run stops (nothing can be sent to them any more)."""
    cancel_active_run(turn.session, turn.customer.id, turn.now)


def _live_run(turn: Turn) -> FlowRun | None:
    """The customer's run in progress; one past its time is expired here and now."""
    run = active_run(turn.session, turn.customer.id)
    if run is not None and run.expires_at <= turn.now:
        finish_run(run, RUN_EXPIRED, turn.now)
        return None
    return run


def _cancel(turn: Turn) -> bool:
    if cancel_active_run(turn.session, turn.customer.id, turn.now) is None:
        return False
    turn.reply([text_message(turn.texts["flow_cancelled"])])
    return True


def _resume(turn: Turn) -> bool:
    """再開: the cancelled run again, or the current question of the run in progress."""
    prompt = resume_run(turn.session, turn.customer.id, turn.now)
    if prompt is None and (run := _live_run(turn)) is not None:
        prompt = Prompt(run, (), current_step(run))
    if prompt is None:
        turn.reply([text_message(turn.texts["flow_nothing_to_resume"])])
    else:
        say(turn, prompt, prompt.run.flow)
    return True


def _read_typed_answer(turn: Turn, run: FlowRun, text: str, command: Callable | None) -> None:
    step = current_step(run)
    value = TYPED_READERS[step.type](text, step, turn.now.astimezone(turn.shop_tz).date())
    if isinstance(value, Unreadable) and command is not None:
        command(turn)
        turn.reply(question_messages(run, step, turn.texts))
        return
    if isinstance(value, Unreadable) and (flow := flow_for_keyword(turn.session, text)):
        start_flow(turn, flow, "keyword")  # another flow's keyword: it replaces this run
        return
    if isinstance(value, Unreadable):
        prompt, effects = unreadable_answer(turn.session, run, turn.now, REASKS)
        if prompt is None:
            turn.reply([text_message(turn.texts[REASK_TEXTS.get(step.type, "flow_reask_text")])])
            turn.reply(question_messages(run, step, turn.texts))
            return
    else:
        prompt, effects = answer_step(turn.session, run, value, turn.now)
    _after_answer(turn, prompt, effects)


def _after_answer(turn: Turn, prompt: Prompt, effects: Effects) -> None:
    apply_effects(turn.session, turn.customer.id, effects, turn.now, prompt.run)
    say(turn, prompt, prompt.run.flow)


def _choice(text: str, step: Step, today: date) -> Any:
    read = read_choice(text, list(step.choices))
    return read if isinstance(read, Unreadable) else read.value


def _choices(text: str, step: Step, today: date) -> Any:
    read = read_choices(text, list(step.choices))
    return read if isinstance(read, Unreadable) else [choice.value for choice in read]


def _scale(text: str, step: Step, today: date) -> Any:
    low, high = step.bounds
    return read_integer(text, int(low), int(high))


def _number(text: str, step: Step, today: date) -> Any:
    return read_number(text, step.min, step.max)


def _date(text: str, step: Step, today: date) -> Any:
    read = read_date(text, today)
    return read if isinstance(read, Unreadable) else read.isoformat()


def _text(text: str, step: Step, today: date) -> Any:
    return read_text(text, step.max_length)


TYPED_READERS: dict[str, Callable[[str, Step, date], Any]] = {
    "single_choice": _choice,
    MULTIPLE_CHOICE: _choices,
    "rating": _scale,
    "nps": _scale,
    "number": _number,
    "date": _date,
    "text": _text,
}

REASK_TEXTS = {
    "single_choice": "flow_reask_choice",
    MULTIPLE_CHOICE: "flow_reask_choice",
    "rating": "flow_reask_number",
    "nps": "flow_reask_number",
    "number": "flow_reask_number",
    "date": "flow_reask_date",
}


# Taps -------------------------------------------------------------------------------------


def on_flow_postback(turn: Turn) -> None:
    """`action=flow&do=answer|toggle|done|cancel&run=…&step=…`: a tap on a question's button.
    A tap on another run's or an earlier question's button changes nothing."""
    if turn.event.is_standby:
        return  # another channel is answering this chat: nothing changes
    data = {
        key: values[0] for key, values in parse_qs(str(turn.event.postback.get("data"))).items()
    }
    run = _tapped_run(turn, data)
    verb = data.get("do", "")
    if verb == "cancel" and run is not None:
        _cancel(turn)
        return
    if run is None or data.get("step") != run.step_key or verb not in TAP_VERBS:
        turn.reply([text_message(turn.texts["flow_stale_tap"])])
        return
    TAP_VERBS[verb](turn, run, data)


def _tapped_run(turn: Turn, data: dict[str, str]) -> FlowRun | None:
    run_id = data.get("run", "")
    if not run_id.isdigit():
        return None
    run = turn.session.get(FlowRun, int(run_id))
    if run is None or run.customer_id != turn.customer.id or run.status != RUN_IN_PROGRESS:
        return None
    return run if _live_run(turn) is run else None


def _tap_answer(turn: Turn, run: FlowRun, data: dict[str, str]) -> None:
    step = current_step(run)
    picked = (turn.event.postback.get("params") or {}).get("date") or data.get("v", "")
    value = TYPED_READERS[step.type](picked, step, turn.now.astimezone(turn.shop_tz).date())
    if isinstance(value, Unreadable) or step.type == MULTIPLE_CHOICE:
        turn.reply([text_message(turn.texts["flow_stale_tap"])])
        return
    _note_tap(turn, step, value)
    _after_answer(turn, *answer_step(turn.session, run, value, turn.now))


def _note_tap(turn: Turn, step: Step, value: Any) -> None:
    """The tap on the timeline as staff read it (`満足度は？ → 4`), not as postback data."""
    if turn.recorded is not None:
        turn.recorded.text = f"{step.text} → {shown_answer(step, value)}"


def _tap_toggle(turn: Turn, run: FlowRun, data: dict[str, str]) -> None:
    step = current_step(run)
    if data.get("v") not in {choice.value for choice in step.choices}:
        turn.reply([text_message(turn.texts["flow_stale_tap"])])
        return
    toggle_choice(run, data["v"])
    turn.reply([choice_card(run, step, turn.texts)])


def _tap_done(turn: Turn, run: FlowRun, data: dict[str, str]) -> None:
    if not run.selected:
        turn.reply([text_message(turn.texts["flow_pick_first"])])
        return
    _note_tap(turn, current_step(run), list(run.selected))
    _after_answer(turn, *answer_step(turn.session, run, list(run.selected), turn.now))


TAP_VERBS: dict[str, Callable[[Turn, FlowRun, dict[str, str]], None]] = {
    "answer": _tap_answer,
    "toggle": _tap_toggle,
    "done": _tap_done,
}


NO_SURVEY_TEXT = "ただいま回答いただけるアンケートはありません。またのご協力をお願いいたします。"


def on_survey_postback(turn: Turn) -> None:
    """`action=survey&id=…`: a rich-menu or Flex button that starts a survey; with no id (the
    rich menu's アンケート) the newest active survey."""
    if turn.event.is_standby:
        return
    data = parse_qs(str(turn.event.postback.get("data")))
    flow_id = (data.get("id") or [""])[0]
    if not flow_id:
        _start_newest_survey(turn)
        return
    flow = turn.session.get(Flow, int(flow_id)) if flow_id.isdigit() else None
    if flow is None or not flow.active:
        turn.reply([text_message(turn.texts["flow_nothing_to_resume"])])
        return
    start_flow(turn, flow, "postback")


def _start_newest_survey(turn: Turn) -> None:
    """The newest active survey, or a polite word that there is none just now."""
    flow = max(active_surveys(turn.session), key=lambda survey: survey.id, default=None)
    if flow is None:
        turn.reply([text_message(turn.texts.get("flow_no_survey", NO_SURVEY_TEXT))])
        return
    start_flow(turn, flow, "postback")


def send_flow(
    session: Session,
    customer: Customer,
    flow: Flow,
    now: datetime,
    texts: dict[str, str],
    trigger: str,
    context: dict[str, Any] | None = None,
) -> Prompt | NotStarted:
    """Start a flow from outside the chat (staff, the API, a campaign): the first question is
    pushed, with a retry key, by the worker."""
    started = start_run(session, customer, flow, now, trigger, context)
    if isinstance(started, Prompt):
        messages = [text_message(step.text) for step in started.messages]
        if started.question is not None:
            messages += question_messages(started.run, started.question, texts)
        queue_outbound(
            session, customer, messages=messages[:MAX_MESSAGES_PER_REQUEST], sender="bot", now=now
        )
    return started


def remind_quiet_runs(session: Session, now: datetime) -> int:
    """One reminder, pushed, for each run its flow says to remind; how many were queued."""
    runs = runs_to_remind(session, now)
    if not runs:
        return 0
    texts = load_texts(session)
    for run in runs:
        messages = [text_message(texts["flow_reminder"])]
        messages += question_messages(run, current_step(run), texts)
        customer = session.get(Customer, run.customer_id)
        queue_outbound(
            session, customer, messages=messages[:MAX_MESSAGES_PER_REQUEST], sender="bot", now=now
        )
        run.reminded_at = now
    return len(runs)
