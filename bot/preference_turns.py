"""The preference centre in the chat (配信設定): topics as toggles, 配信停止 / 配信再開.

Every change is recorded with channel "chat" and the words the customer saw (the card's
sentence and the button, or the keyword they sent). Postbacks carry the value to set, not a
flip, so an old card's tap or a double tap sets what is already set and records nothing."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from bot.messages import text_message
from bot.turn import Turn
from crm.models import Topic
from crm.preferences import (
    marketing_wording,
    preferences_card,
    preferences_of,
    say,
    topic_wording,
)
from crm.topics import set_marketing_consent, set_topic_subscription

SWITCHES = {"0": False, "1": True}
MARKETING_DONE = {False: "preferences_stopped", True: "preferences_resumed"}
TOPIC_DONE = {False: "preferences_topic_off", True: "preferences_topic_on"}


def send_preferences(turn: Turn) -> None:
    """配信設定: the card with the customer's topics and the stop or resume button."""
    turn.reply([_card(turn)])


def on_topic_tap(turn: Turn) -> None:
    """A topic's toggle (`action=preference&topic=ID&on=0|1`): set it, confirm, show the card."""
    fields = _postback_fields(turn)
    wanted = SWITCHES.get(fields.get("on", ""))
    topic = _active_topic(turn, fields.get("topic", ""))
    if topic is None:
        turn.reply([text_message(turn.texts["preferences_topic_gone"]), _card(turn)])
        return
    if wanted is None:
        send_preferences(turn)
        return
    shown = preferences_of(turn.session, turn.customer)
    wording = topic_wording(topic, shown, not wanted, turn.texts)
    set_topic_subscription(
        turn.session, turn.customer, topic, wanted, turn.event.occurred_at, "chat", wording
    )
    done = say(turn.texts[TOPIC_DONE[wanted]], topic=topic.name)
    turn.reply([text_message(done), _card(turn)])


def on_marketing_tap(turn: Turn) -> None:
    """The card's 配信停止 / 配信再開 button (`action=marketing&on=0|1`)."""
    wanted = SWITCHES.get(_postback_fields(turn).get("on", ""))
    if wanted is None:
        send_preferences(turn)
        return
    _set_marketing(turn, wanted, marketing_wording(not wanted, turn.texts))


def stop_messages(turn: Turn) -> None:
    """配信停止 sent as a message: marketing consent off, in the customer's own words."""
    _set_marketing(turn, False, _sent_text(turn))


def resume_messages(turn: Turn) -> None:
    """配信再開 sent as a message: marketing consent on again."""
    _set_marketing(turn, True, _sent_text(turn))


def _set_marketing(turn: Turn, consent: bool, wording: str) -> None:
    set_marketing_consent(
        turn.session, turn.customer, consent, turn.event.occurred_at, "chat", wording
    )
    turn.reply([text_message(turn.texts[MARKETING_DONE[consent]]), _card(turn)])


def _card(turn: Turn) -> dict:
    return preferences_card(preferences_of(turn.session, turn.customer), turn.texts)


def _postback_fields(turn: Turn) -> dict[str, str]:
    data = str(turn.event.postback.get("data") or "")
    return {key: values[0] for key, values in parse_qs(data).items()}


def _active_topic(turn: Turn, topic_id: str) -> Topic | None:
    """The tapped topic, unless it was deleted or staff switched it off since the card."""
    if not (topic_id.isascii() and topic_id.isdigit() and len(topic_id) < 18):
        return None
    topic = turn.session.get(Topic, int(topic_id))
    return topic if topic is not None and topic.active else None


def _sent_text(turn: Turn) -> str:
    return str(turn.event.message.get("text") or "")


COMMANDS: dict[str, Callable[[Turn], None]] = {
    "配信設定": send_preferences,
    "配信停止": stop_messages,
    "配信再開": resume_messages,
}

POSTBACKS: dict[str, Callable[[Turn], None]] = {
    "preferences": send_preferences,
    "preference": on_topic_tap,
    "marketing": on_marketing_tap,
}
