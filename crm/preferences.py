"""The preference centre (配信設定): what a customer receives (marketing consent and each active
topic), changes to it through one channel at a time, the history with topic and staff names,
and the Flex card the chat shows. Every change goes through crm/topics.py, so it is recorded
with its time, channel and wording; setting a value it already has records nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.flex import flex_part, render_flex
from crm.line_limits import MAX_ALT_TEXT, MAX_BUTTON_LABEL
from crm.models import ConsentChange, Customer, Staff, Topic
from crm.topics import (
    active_topics,
    find_topic,
    set_marketing_consent,
    set_topic_subscription,
    subscriptions,
)

MAX_CARD_TOPICS = 20  # rows a card shows; keeps the bubble far below LINE's 30 KB


@dataclass(frozen=True)
class TopicChoice:
    """One active topic and whether the customer receives it."""

    topic: Topic
    subscribed: bool


@dataclass(frozen=True)
class Preferences:
    """What a customer receives: marketing consent and their choice per active topic."""

    marketing: bool
    choices: list[TopicChoice]


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change, with the names staff and API clients read it by."""

    change: ConsentChange
    topic_name: str | None
    staff_name: str | None


def preferences_of(session: Session, customer: Customer) -> Preferences:
    """The customer's consent and topic choices, topics in the shop's order."""
    chosen = subscriptions(session, customer.id)
    choices = [TopicChoice(topic, chosen[topic.id]) for topic in active_topics(session)]
    return Preferences(customer.marketing_consent, choices)


class UnknownTopic(ValueError):
    """A choice names no active topic; `key` is the name or id as given."""

    def __init__(self, key: str, problem: str):
        super().__init__(problem)
        self.key = key


def topics_chosen(session: Session, choices: dict[str, bool]) -> dict[Topic, bool]:
    """Choices keyed by topic name or id, as topics; raises UnknownTopic naming the bad key."""
    found: dict[Topic, bool] = {}
    for key, subscribed in choices.items():
        topic = find_topic(session, key)
        if topic is None or not topic.active:
            raise UnknownTopic(key, "no active topic has this name or id")
        if found.get(topic, subscribed) != subscribed:
            raise UnknownTopic(key, f"{topic.name} is given twice with different choices")
        found[topic] = subscribed
    return found


def change_preferences(
    session: Session,
    customer: Customer,
    topics: dict[Topic, bool],
    marketing: bool | None,
    now: datetime,
    channel: str,
    wording: str | None = None,
    staff_id: int | None = None,
) -> list[str]:
    """Apply only what is given; returns what changed ("marketing" and topic names)."""
    changed = []
    if marketing is not None and set_marketing_consent(
        session, customer, marketing, now, channel, wording, staff_id
    ):
        changed.append("marketing")
    for topic, subscribed in topics.items():
        if set_topic_subscription(
            session, customer, topic, subscribed, now, channel, wording, staff_id
        ):
            changed.append(topic.name)
    return changed


def preference_history(session: Session, customer_id: int, limit: int = 20) -> list[HistoryEntry]:
    """The newest changes first, each with its topic's and staff member's name."""
    statement = (
        select(ConsentChange, Topic.name, Staff.display_name)
        .outerjoin(Topic, Topic.id == ConsentChange.topic_id)
        .outerjoin(Staff, Staff.id == ConsentChange.staff_id)
        .where(ConsentChange.customer_id == customer_id)
        .order_by(ConsentChange.id.desc())
        .limit(limit)
    )
    return [HistoryEntry(*row) for row in session.execute(statement).all()]


# ---------------------------------------------------------------- the card in the chat


def say(text: str, **values: Any) -> str:
    """A shop text with its `{name}` blanks filled (a stray brace is kept)."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def card_sentence(marketing: bool, texts: dict[str, str]) -> str:
    """The card's opening line: choose topics, or all messages are stopped."""
    return texts["preferences_intro"] if marketing else texts["preferences_all_stopped"]


def topic_button(topic: Topic, subscribed: bool, texts: dict[str, str]) -> tuple[str, str]:
    """The (label, displayText) of the button that flips a topic now `subscribed`."""
    flip = "off" if subscribed else "on"
    label = texts[f"preferences_turn_{flip}_label"][:MAX_BUTTON_LABEL]
    return label, say(texts[f"preferences_turn_{flip}_display"], topic=topic.name)


def marketing_button(marketing: bool, texts: dict[str, str]) -> tuple[str, str]:
    """The (label, note) of the stop button while consent is on, else of the resume button."""
    action = "stop" if marketing else "resume"
    label = texts[f"preferences_{action}_label"][:MAX_BUTTON_LABEL]
    return label, texts[f"preferences_{action}_note"]


def topic_wording(topic: Topic, prefs: Preferences, subscribed: bool, texts: dict) -> str:
    """What the customer saw when flipping a topic now `subscribed`: the sentence and button."""
    label, display = topic_button(topic, subscribed, texts)
    return f"{card_sentence(prefs.marketing, texts)}\n{topic.name}: [{label}] {display}"


def marketing_wording(marketing: bool, texts: dict[str, str]) -> str:
    """What the customer saw when tapping stop (consent on) or resume (consent off)."""
    label, note = marketing_button(marketing, texts)
    return f"{note}\n[{label}]"


def preferences_card(prefs: Preferences, texts: dict[str, str]) -> dict[str, Any]:
    """The 配信設定 card: a row per active topic with its toggle, then stop or resume."""
    label, note = marketing_button(prefs.marketing, texts)
    rows = [_topic_row(choice, texts) for choice in prefs.choices[:MAX_CARD_TOPICS]]
    return render_flex(
        "preferences",
        alt_text=texts["preferences_title"][:MAX_ALT_TEXT],
        shop_name=texts["shop_name"],
        title=texts["preferences_title"],
        sentence=flex_part(
            "preferences",
            "sentence" if prefs.marketing else "stopped",
            text=card_sentence(prefs.marketing, texts),
        ),
        rows=flex_part("preferences", "rows", rows=rows) if rows else None,
        note=note,
        marketing=flex_part(
            "preferences",
            "stop" if prefs.marketing else "resume",
            label=label,
            data=f"action=marketing&on={0 if prefs.marketing else 1}",
        ),
    )


def _topic_row(choice: TopicChoice, texts: dict[str, str]) -> dict[str, Any]:
    label, display = topic_button(choice.topic, choice.subscribed, texts)
    state = "preferences_on_state" if choice.subscribed else "preferences_off_state"
    return flex_part(
        "preferences",
        "on_row" if choice.subscribed else "off_row",
        topic=choice.topic.name,
        state=texts[state],
        label=label,
        display=display,
        data=f"action=preference&topic={choice.topic.id}&on={0 if choice.subscribed else 1}",
    )
