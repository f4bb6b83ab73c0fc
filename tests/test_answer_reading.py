"""Typed survey answers are read leniently, and what cannot be read says why."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.answer_reading import (
    Choice,
    Unreadable,
    normalise,
    read_choice,
    read_choices,
    read_date,
    read_integer,
    read_number,
    read_text,
)

LUNCH = Choice("ランチ", "lunch")
DINNER = Choice("ディナー", "dinner")
MORNING = Choice("モーニング", "morning")
MEALS = [LUNCH, DINNER, MORNING]

SET_A = Choice("Set A", "a")
SET_B = Choice("Set B", "b")
TONKATSU = Choice("とんかつ", "tonkatsu")
CURRY = Choice("カレー", "curry")
MENU = [TONKATSU, CURRY, SET_A, SET_B]  # labels holding separators: 'と', a space

TWO, FOUR, SIX = Choice("2人", "two"), Choice("4人", "four"), Choice("6人", "six")
PARTY_SIZES = [TWO, FOUR, SIX]
TEENS, TWENTIES, THIRTIES = Choice("10代", "10s"), Choice("20代", "20s"), Choice("30代", "30s")
AGES = [TEENS, TWENTIES, THIRTIES]

TODAY = date(2026, 3, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("　ランチ　", "らんち"),  # ideographic spaces, katakana
        ("ﾃﾞｨﾅｰ", "でぃなー"),  # half-width katakana
        ("ＬＵＮＣＨ", "lunch"),
        ("Set \t\n  A", "set a"),
        ("②番", "2番"),
        ("", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "choices", "expected"),
    [
        ("ランチ", MEALS, LUNCH),
        ("らんち", MEALS, LUNCH),
        ("ﾗﾝﾁ", MEALS, LUNCH),
        ("でぃなー", MEALS, DINNER),
        ("Lunch", MEALS, LUNCH),  # by value, any case
        (" DINNER ", MEALS, DINNER),
        ("ディナー！", MEALS, DINNER),
        ("ランチ。", MEALS, LUNCH),
        ("2", MEALS, DINNER),
        ("２", MEALS, DINNER),
        ("2番", MEALS, DINNER),
        ("２番目", MEALS, DINNER),
        ("②", MEALS, DINNER),
        ("3.", MEALS, MORNING),
        ("モー", MEALS, MORNING),  # the start of one label
        ("で", MEALS, DINNER),
        ("4", MEALS, Unreadable("no_such_choice")),
        ("0", MEALS, Unreadable("no_such_choice")),
        ("カレー", MEALS, Unreadable("no_such_choice")),
        ("1,3", MEALS, Unreadable("no_such_choice")),
        ("", MEALS, Unreadable("empty")),
        ("　", MEALS, Unreadable("empty")),
        ("set", MENU, Unreadable("ambiguous")),
        ("SET A", MENU, SET_A),
        ("set b", MENU, SET_B),
        ("2", PARTY_SIZES, TWO),  # labels that are counts: '2' is '2人', not the second
        ("6", PARTY_SIZES, SIX),
        ("2番", PARTY_SIZES, FOUR),  # '番' asks for the position
        ("2", AGES, TWENTIES),  # no label is '2…', so the second
        ("30", AGES, THIRTIES),
        ("4", [], Unreadable("no_such_choice")),
    ],
)
def test_read_choice(text, choices, expected):
    assert read_choice(text, choices) == expected


@pytest.mark.parametrize(
    ("text", "choices", "expected"),
    [
        ("1,3", MEALS, [LUNCH, MORNING]),
        ("１と３", MEALS, [LUNCH, MORNING]),
        ("1 3", MEALS, [LUNCH, MORNING]),
        ("１、３", MEALS, [LUNCH, MORNING]),
        ("3,1", MEALS, [LUNCH, MORNING]),  # the order of the choices, not of the typing
        ("1,1,2,,", MEALS, [LUNCH, DINNER]),
        ("ランチ、ディナー", MEALS, [LUNCH, DINNER]),
        ("でぃなー と ﾗﾝﾁ", MEALS, [LUNCH, DINNER]),
        ("dinner and morning", MEALS, [DINNER, MORNING]),
        ("2", MEALS, [DINNER]),
        ("とんかつとカレー", MENU, [TONKATSU, CURRY]),
        ("set a, set b", MENU, [SET_A, SET_B]),
        ("Set B Set A", MENU, [SET_A, SET_B]),
        ("Set Bととんかつ", MENU, [TONKATSU, SET_B]),
        ("1,4", MEALS, Unreadable("no_such_choice")),
        ("ランチ、カレー", MEALS, Unreadable("no_such_choice")),
        ("set, カレー", MENU, Unreadable("ambiguous")),
        ("", MEALS, Unreadable("empty")),
        (" 、 ", MEALS, Unreadable("empty")),
    ],
)
def test_read_choices(text, choices, expected):
    assert read_choices(text, choices) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("５", 5),
        (" 3 ", 3),
        ("5点", 5),
        ("4です", 4),
        ("星4", 4),
        ("星４つ", 4),
        ("★★★", 3),
        ("★★★☆☆", 3),
        ("☆☆", 2),
        ("五", 5),
        ("6", Unreadable("out_of_range")),
        ("0", Unreadable("out_of_range")),
        ("-1", Unreadable("out_of_range")),
        ("★★★★★★", Unreadable("out_of_range")),
        ("3.5", Unreadable("not_a_number")),
        ("とても良い", Unreadable("not_a_number")),
        ("5 5", Unreadable("not_a_number")),
        ("", Unreadable("empty")),
    ],
)
def test_read_integer_rating(text, expected):
    assert read_integer(text, 1, 5) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十", 10),
        ("十五", 15),
        ("二十三", 23),
        ("100点", 100),
        ("1,000", Unreadable("out_of_range")),
    ],
)
def test_read_integer_counts_kanji_numerals(text, expected):
    assert read_integer(text, 0, 100) == expected


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ("1,200", None, None, 1200),
        ("１２００円", None, None, 1200),
        ("¥1,200", None, None, 1200),
        ("3.5", None, None, 3.5),
        ("3.0", None, None, 3),  # whole, so an int
        ("-2", None, None, -2),
        ("−2", None, None, -2),  # the minus sign U+2212
        ("0.1", None, None, 0.1),
        ("3万円", None, None, 30000),
        ("1.1万", None, None, 11000),  # exactly, not 11000.000000000002
        ("100", 0, 100, 100),
        ("0", 0, 100, 0),
        ("101", 0, 100, Unreadable("out_of_range")),
        ("-0.5", 0, None, Unreadable("out_of_range")),
        ("1,2", None, None, Unreadable("not_a_number")),
        ("1.2.3", None, None, Unreadable("not_a_number")),
        ("たくさん", None, None, Unreadable("not_a_number")),
        ("円", None, None, Unreadable("not_a_number")),
        ("", None, None, Unreadable("empty")),
    ],
)
def test_read_number(text, low, high, expected):
    read = read_number(text, low, high)
    assert read == expected
    assert type(read) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/4/1", date(2026, 4, 1)),
        ("2026-04-01", date(2026, 4, 1)),
        ("2026.4.1", date(2026, 4, 1)),
        ("2026年4月1日", date(2026, 4, 1)),
        ("２０２６年４月１日", date(2026, 4, 1)),
        ("２０２６／０４／０１", date(2026, 4, 1)),
        ("20260401", date(2026, 4, 1)),
        ("2026年4月1日(水)", date(2026, 4, 1)),
        ("4月1日", date(2026, 4, 1)),  # the year is today's
        ("4/1", date(2026, 4, 1)),
        ("12/31", date(2026, 12, 31)),
        ("令和8年4月1日", date(2026, 4, 1)),
        ("R8.4.1", date(2026, 4, 1)),
        ("r8/4/1", date(2026, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R1.5.1", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("S1.12.25", date(1926, 12, 25)),
        ("昭和50年10月10日", date(1975, 10, 10)),
        ("今日", TODAY),
        ("きょう", TODAY),
        ("明日", date(2026, 3, 16)),
        ("Tomorrow", date(2026, 3, 16)),
        ("昨日", date(2026, 3, 14)),
        ("2028/2/29", date(2028, 2, 29)),
        ("2月30日", Unreadable("not_a_date")),
        ("2026/2/29", Unreadable("not_a_date")),
        ("13/1", Unreadable("not_a_date")),
        ("令和1年4月1日", Unreadable("not_a_date")),  # before 令和 began
        ("平成元年1月7日", Unreadable("not_a_date")),
        ("S1.12.24", Unreadable("not_a_date")),
        ("平成31年5月1日", Unreadable("not_a_date")),  # 令和 by then
        ("来週", Unreadable("not_a_date")),
        ("4", Unreadable("not_a_date")),
        ("", Unreadable("empty")),
    ],
)
def test_read_date(text, expected):
    assert read_date(text, TODAY) == expected


def test_read_date_never_overflows_the_calendar():
    assert read_date("明日", date.max) == Unreadable("not_a_date")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  ありがとう\n", "ありがとう"),
        ("ｱﾘｶﾞﾄｳ", "ｱﾘｶﾞﾄｳ"),  # kept as typed
        ("あ" * 10, "あ" * 10),
        ("あ" * 11, Unreadable("too_long")),
        ("", Unreadable("empty")),
        ("　\n", Unreadable("empty")),
    ],
)
def test_read_text(text, expected):
    assert read_text(text, 10) == expected


# Anything a customer can type, and text built from the characters the readers look for.
ANSWER_CHARACTERS = "0123456789０１２,.、と年月日/-()元令和平成昭RHS今明昨★☆星点万十 ランチでぃなー"
answers = st.one_of(st.text(), st.text(alphabet=ANSWER_CHARACTERS, max_size=30))
PROPERTY = settings(deadline=None, database=None)


@PROPERTY
@given(answers)
def test_read_choice_returns_a_given_choice_or_unreadable(text):
    read = read_choice(text, MEALS)
    assert isinstance(read, Unreadable) or read in MEALS


@PROPERTY
@given(answers)
def test_read_choices_returns_given_choices_or_unreadable(text):
    read = read_choices(text, MENU)
    assert isinstance(read, Unreadable) or (read and all(c in MENU for c in read))


@PROPERTY
@given(answers)
def test_read_date_returns_a_date_or_unreadable(text):
    assert isinstance(read_date(text, TODAY), date | Unreadable)


@PROPERTY
@given(answers)
def test_read_integer_returns_a_number_in_range_or_unreadable(text):
    read = read_integer(text, 1, 5)
    assert isinstance(read, Unreadable) or (type(read) is int and 1 <= read <= 5)
