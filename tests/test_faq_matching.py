"""FAQ matching: normalisation, decisions on hand-written cases, and a regression guard over the
labelled evaluation set in tests/data. Pure: no database, no app."""

import json
from pathlib import Path

import pytest

from crm.faq.matching import FaqEntry, FaqIndex, Thresholds, is_pleasantry, normalise
from crm.faq.samples import sample_faqs

DATA = Path(__file__).resolve().parent / "data"

# Measured on tests/data with the default thresholds (`.venv/bin/python bench/faq.py`): top-1
# accuracy 86.2 % of matchable questions (294 of 341), wrong answers 2.9 % of all questions
# (12 of 411). The guard allows about two questions' worth of accuracy and no more wrong
# answers than the goal (3 %), so a real loss of quality fails the suite. Tighten them when the
# matcher gets better.
MIN_TOP1_ACCURACY = 0.855
MAX_WRONG_ANSWER_RATE = 0.03

SHOP = [
    FaqEntry(
        "hours", ["営業時間を教えてください", "何時から何時まで開いていますか", "閉店は何時ですか"]
    ),
    FaqEntry(
        "parking",
        ["駐車場はありますか", "車で行っても大丈夫ですか"],
        answer="専用の駐車場はありません。隣のコインパーキングをご利用ください。",
    ),
    FaqEntry("reserve", ["予約はできますか", "席の予約をしたいです", "ネット予約はできますか"]),
    FaqEntry("cancel", ["予約をキャンセルしたいです", "キャンセル料はかかりますか"]),
    FaqEntry("takeout", ["テイクアウトはできますか", "持ち帰りできますか"]),
    FaqEntry("payment", ["クレジットカードは使えますか", "PayPayで払えますか"]),
    FaqEntry(
        "recruiting",
        ["アルバイトの募集はしていますか"],
        answer="求人はホームページをご覧ください。",
    ),
]


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("テイクアウト", "ていくあうと"),  # katakana and hiragana
        ("ﾃｲｸｱｳﾄ", "テイクアウト"),  # half-width katakana
        ("ＰａｙＰａｙ", "paypay"),  # full-width letters, case
        ("１８時", "18時"),  # full-width digits
        ("二名", "2名"),  # kanji numerals before a counter
        ("十二時", "12時"),
        ("メニュー", "めにゅう"),  # a long-vowel mark spelled out
        ("メニュ～", "メニュー"),  # 〜 and ～ as long-vowel marks
        ("ちゅーしゃじょー", "ちゅうしゃじょう"),
        ("せんせー", "せんせい"),
        ("ありがとぅ", "ありがとう"),  # small kana
        ("よやくできますか！！！", "よやくできますか？"),  # punctuation runs
        ("予約できますか😊🙏", "予約できますか"),  # emoji
        ("予約できますかwww", "予約できますか"),  # laughter
        ("予約できますか（笑）", "予約できますか"),
        ("予約できますか笑", "予約できますか"),
        ("駐車場 ありますか", "駐車場ありますか"),  # spaces
    ],
)
def test_normalise_folds_how_customers_write(written, same_as):
    assert normalise(written) == normalise(same_as)


@pytest.mark.parametrize(
    ("written", "different_from"),
    [
        (
            "ちゅうしゃじょう",
            "駐車場",
        ),  # a reading is not the kanji: matching learns it from examples
        ("笑顔", "顔"),  # 笑 inside a word stays
        ("はいれますか", "れますか"),  # はい inside a word is not a pleasantry
    ],
)
def test_normalise_keeps_what_differs(written, different_from):
    assert normalise(written) != normalise(different_from)


@pytest.mark.parametrize(
    "text",
    [
        "こんにちは",
        "ありがとうございます！",
        "ありがとう😊",
        "よろしくお願いします🙇",
        "了解です👍",
        "はい",
        "OK",
    ],
)
def test_pleasantries_alone_are_never_answered(text):
    assert is_pleasantry(text)
    assert FaqIndex.build(SHOP).match(text).decision == "handoff"


@pytest.mark.parametrize(
    ("text", "decision", "best"),
    [
        ("駐車場はありますか？", "answer", "parking"),
        ("ちゅうしゃじょうある？", "answer", "parking"),  # the reading of 駐車場
        ("コインパーキングは近くにある？", "answer", "parking"),  # パーキング names parking
        ("車停められる？", "answer", "parking"),  # shop vocabulary: 車, 停め
        ("クレカ使える？", "answer", "payment"),
        ("バイトしたいです", "answer", "recruiting"),
        ("駐車場で車をぶつけられました", "suggest", "parking"),  # a report: staff should read it
        ("こんにちは！テイクアウトってできますか？", "answer", "takeout"),
        ("ﾃｲｸｱｳﾄできますか", "answer", "takeout"),
        ("閉店って何時？", "answer", "hours"),  # 閉店 shared with one example question
        ("予約", "answer", "reserve"),  # the FAQ that is about 予約, not the one mentioning it
        ("トイレはどこですか", "handoff", None),  # no FAQ is about it
    ],
)
def test_decisions(text, decision, best):
    result = FaqIndex.build(SHOP).match(text)
    assert result.decision == decision
    if best is not None:
        assert result.matches[0][0] == best


def test_scores_are_best_first_between_zero_and_one():
    result = FaqIndex.build(SHOP).match("予約をキャンセルできますか")
    scores = [score for _, score in result.matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= score <= 1 for score in scores)
    assert len(result.matches) <= 3


def test_thresholds_are_configurable():
    index = FaqIndex.build(SHOP)
    assert (
        index.match("駐車場はありますか", Thresholds(answer=1.01, suggest=0.2)).decision
        == "suggest"
    )
    assert (
        index.match("駐車場はありますか", Thresholds(answer=1.01, suggest=1.01)).decision
        == "handoff"
    )


def test_an_empty_index_hands_off():
    assert FaqIndex.build([]).match("駐車場はありますか").decision == "handoff"


def test_the_evaluation_set_does_not_regress():
    faqs = sample_faqs()
    lines = (DATA / "faq_questions.jsonl").read_text().splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    index = FaqIndex.build(
        FaqEntry(faq["id"], faq["questions"], faq["category"], faq["answer"]) for faq in faqs
    )
    right = wrong = 0
    for question in questions:
        result = index.match(question["text"])
        if result.decision == "answer":
            correct = result.matches[0][0] == question["faq"]
            right += correct
            wrong += not correct
    matchable = sum(question["faq"] is not None for question in questions)
    assert right / matchable >= MIN_TOP1_ACCURACY
    assert wrong / len(questions) <= MAX_WRONG_ANSWER_RATE
