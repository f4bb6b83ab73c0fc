"""Random texts and taps into surveys: whatever a customer sends, no event fails, a customer
never has two runs in progress, and answers exist only for questions of the run's version."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.handling import handle_pending_events
from crm.clock import utcnow
from crm.flow_steps import read_steps
from crm.inbound_events import store_events
from crm.models import EVENT_FAILED, RUN_IN_PROGRESS, FlowAnswer, FlowRun, InboundEvent
from crm.surveys import create_survey
from tests import line_payloads as lp

SURVEY = [
    {
        "key": "scene",
        "text": "ご利用シーンは？",
        "type": "single_choice",
        "choices": [
            {"label": "ランチ", "value": "lunch"},
            {"label": "ディナー", "value": "dinner"},
        ],
    },
    {
        "key": "likes",
        "text": "好きなものは？",
        "type": "multiple_choice",
        "choices": [{"label": "パスタ", "value": "pasta"}, {"label": "ピザ", "value": "pizza"}],
    },
    {"key": "intro", "text": "あと少しです", "type": "message"},
    {
        "key": "rating",
        "text": "満足度は？",
        "type": "rating",
        "branches": [{"if": {"op": "lte", "value": 2}, "goto": "why"}],
        "on_unreadable": "end",
    },
    {"key": "when", "text": "次のご来店は？", "type": "date", "next": "end"},
    {"key": "why", "text": "残念だった点は？", "type": "text", "max_length": 20},
]
WORDS = ["アンケート", "一言", "やめる", "再開", "ランチ", "1", "２", "5", "星1", "令和8年4月1日",
         "ヘルプ", "pasta", "パスタ、ピザ", "", " ", "🍕"]  # fmt: skip


def _taps():
    run_ids = st.integers(min_value=1, max_value=6).map(str)
    keys = st.sampled_from(["scene", "likes", "rating", "when", "why", "intro", "zzz"])
    values = st.sampled_from(["lunch", "dinner", "pasta", "pizza", "1", "5", "x"])
    verbs = st.sampled_from(["answer", "toggle", "done", "cancel", "bogus"])
    flow_tap = st.builds(
        lambda verb, run, key, value: f"action=flow&do={verb}&run={run}&step={key}&v={value}",
        verbs,
        run_ids,
        keys,
        values,
    )
    return st.one_of(flow_tap, st.sampled_from(["action=survey&id=1", "action=survey&id=x"]))


MOVES = st.one_of(
    st.sampled_from(WORDS).map(lambda text: ("text", text)),
    st.text(max_size=30).map(lambda text: ("text", text)),
    _taps().map(lambda data: ("postback", data)),
    st.just(("sticker", "")),
)


@pytest.fixture
def surveys(db):
    with db.transaction() as session:
        create_survey(session, "来店", SURVEY, keyword="アンケート")
        create_survey(
            session, "一問", [{"key": "q", "text": "一言どうぞ", "type": "text"}], keyword="一言"
        )


def _event(user: str, move: tuple[str, str]) -> dict:
    kind, value = move
    if kind == "text":
        return lp.text(user, value)
    if kind == "postback":
        return lp.postback(user, value, {"date": "2026-04-01"} if "when" in value else None)
    return lp.message(user, {"type": "sticker", "packageId": "1", "stickerId": "1"})


def _check_invariants(db) -> None:
    with db.read_session() as session:
        failed = session.scalar(
            select(func.count())
            .select_from(InboundEvent)
            .where(InboundEvent.status == EVENT_FAILED)
        )
        assert failed == 0
        in_progress = session.execute(
            select(FlowRun.customer_id, func.count())
            .where(FlowRun.status == RUN_IN_PROGRESS)
            .group_by(FlowRun.customer_id)
        ).all()
        assert all(count == 1 for _customer, count in in_progress)
        for run in session.scalars(select(FlowRun)):
            steps = {step.key: step for step in read_steps(run.version.steps)}
            if run.status == RUN_IN_PROGRESS:
                assert run.step_key in steps and steps[run.step_key].asks
            answers = session.scalars(select(FlowAnswer).where(FlowAnswer.run_id == run.id))
            for answer in answers:
                assert answer.step_key in steps and steps[answer.step_key].asks
                assert answer.flow_id == run.flow_id


@given(moves=st.lists(MOVES, min_size=1, max_size=12))
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_sequence_of_texts_and_taps_breaks_a_run(db, surveys, moves):
    user = lp.new_user_id()
    for move in moves:
        with db.transaction() as session:
            store_events(session, None, [_event(user, move)], utcnow())
        while handle_pending_events(db):
            pass
        _check_invariants(db)
