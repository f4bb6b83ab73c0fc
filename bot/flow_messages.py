"""A flow's steps as LINE messages: quick replies for a few choices, a Flex list for many, a
row of numbers for ratings and NPS. Every button's postback names the run and the step, so a
tap on an old question is recognised (bot/flow_turns.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bot.messages import text_message
from crm.flex import check_flex_message, render_flex
from crm.flow_steps import (
    CHOICE_TYPES,
    DATE,
    MULTIPLE_CHOICE,
    Step,
    quick_reply_fits,
)
from crm.line_limits import MAX_ALT_TEXT, MAX_QUICK_REPLY_LABEL, truncate_utf16
from crm.models import FlowRun

CHECKED, UNCHECKED = "☑", "☐"


def flow_data(verb: str, run: FlowRun, step: Step | None = None, value: str | None = None) -> str:
    """Postback data: `action=flow&do=answer&run=12&step=q1&v=lunch` (within LINE's 300
    characters: keys are at most 40, values 100)."""
    data = f"action=flow&do={verb}&run={run.id}"
    if step is not None:
        data += f"&step={quote(step.key, safe='')}"
    if value is not None:
        data += f"&v={quote(value, safe='')}"
    return data


def question_messages(run: FlowRun, step: Step, texts: dict[str, str]) -> list[dict[str, Any]]:
    """The question, ready to send."""
    return RENDERERS.get(step.type, _free_answer)(run, step, texts)


def _postback_item(label: str, data: str) -> dict[str, Any]:
    return {
        "type": "action",
        "action": {
            "type": "postback",
            "label": label[:MAX_QUICK_REPLY_LABEL],
            "data": data,
            "displayText": label,
        },
    }


def _cancel_item(run: FlowRun, texts: dict[str, str]) -> dict[str, Any]:
    return _postback_item(texts["flow_cancel_label"], flow_data("cancel", run))


def _with_quick_replies(text: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    message = text_message(text)
    message["quickReply"] = {"items": items}
    return message


def _choices(run: FlowRun, step: Step, texts: dict[str, str]) -> list[dict[str, Any]]:
    if step.type == MULTIPLE_CHOICE or not quick_reply_fits(step):
        return [choice_card(run, step, texts)]
    items = [
        _postback_item(choice.label, flow_data("answer", run, step, choice.value))
        for choice in step.choices
    ]
    return [_with_quick_replies(step.text, [*items, _cancel_item(run, texts)])]


def choice_card(run: FlowRun, step: Step, texts: dict[str, str]) -> dict[str, Any]:
    """A Flex list of the choices; for multiple choice, toggles with their state and 決定."""
    many = step.type == MULTIPLE_CHOICE
    selected = set(run.selected or []) if many else set()
    hint = texts["flow_pick_first"] if many else texts["flow_choice_hint"]
    card = render_flex("flow_choices", question=_alt(step.text), hint=hint)
    card["contents"]["body"]["contents"][0]["text"] = truncate_utf16(step.text)
    buttons = [
        _button(
            f"{CHECKED if choice.value in selected else UNCHECKED} {choice.label}"
            if many
            else choice.label,
            flow_data("toggle" if many else "answer", run, step, choice.value),
            primary=choice.value in selected,
        )
        for choice in step.choices
    ]
    if many:
        buttons.append(_button(texts["flow_done_label"], flow_data("done", run, step), True))
    buttons.append(_button(texts["flow_cancel_label"], flow_data("cancel", run), False))
    card["contents"]["footer"]["contents"] = buttons
    check_flex_message(card)
    return card


def _button(label: str, data: str, primary: bool) -> dict[str, Any]:
    return {
        "type": "button",
        "style": "primary" if primary else "secondary",
        "color": "#06C755" if primary else "#EEEEEE",
        "height": "sm",
        "action": {"type": "postback", "label": label[:40], "data": data, "displayText": label},
    }


def _alt(text: str) -> str:
    return truncate_utf16(text, MAX_ALT_TEXT)


def _scale(run: FlowRun, step: Step, texts: dict[str, str]) -> list[dict[str, Any]]:
    low, high = step.bounds
    items = [
        _postback_item(str(number), flow_data("answer", run, step, str(number)))
        for number in range(int(low), int(high) + 1)
    ]
    return [_with_quick_replies(step.text, [*items, _cancel_item(run, texts)])]


def _free_answer(run: FlowRun, step: Step, texts: dict[str, str]) -> list[dict[str, Any]]:
    items = [_cancel_item(run, texts)]
    if step.type == DATE:
        picker = {
            "type": "datetimepicker",
            "label": "日付を選ぶ",
            "data": flow_data("answer", run, step),
            "mode": "date",
        }
        items.insert(0, {"type": "action", "action": picker})
    return [_with_quick_replies(step.text, items)]


def _message_only(run: FlowRun, step: Step, texts: dict[str, str]) -> list[dict[str, Any]]:
    return [text_message(step.text)]


RENDERERS: dict[str, Callable[[FlowRun, Step, dict[str, str]], list[dict[str, Any]]]] = {
    **dict.fromkeys(CHOICE_TYPES, _choices),
    "rating": _scale,
    "nps": _scale,
    "message": _message_only,
}
