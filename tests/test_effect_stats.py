"""The effect statistics against published, hand-checkable cases (Newcombe 1998)."""

import pytest

from crm.effect_stats import (
    MIN_GROUP,
    proportion_difference,
    shown_rate,
    wilson_interval,
)


def test_wilson_interval_matches_newcombes_example():
    interval = wilson_interval(81, 263)  # Newcombe 1998, table I: 0.2553 to 0.3662
    assert interval.low == pytest.approx(0.2553, abs=5e-5)
    assert interval.high == pytest.approx(0.3662, abs=5e-5)


def test_wilson_interval_of_zero_successes_starts_at_zero():
    interval = wilson_interval(0, 10)  # table I: 0 to 0.2775
    assert interval.low == pytest.approx(0.0, abs=1e-12)
    assert interval.high == pytest.approx(0.2775, abs=5e-5)


def test_difference_of_proportions_matches_newcombes_method_10():
    difference = proportion_difference((56, 70), (48, 80))  # table II: 0.0524 to 0.3339
    assert difference.estimate == pytest.approx(0.2)
    assert difference.interval.low == pytest.approx(0.0524, abs=5e-5)
    assert difference.interval.high == pytest.approx(0.3339, abs=5e-5)
    assert difference.significant


def test_an_interval_across_zero_is_not_significant():
    difference = proportion_difference((10, 20), (10, 20))
    assert difference.estimate == 0
    assert difference.interval.low < 0 < difference.interval.high
    assert not difference.significant


def test_swapping_the_groups_mirrors_the_interval():
    forward = proportion_difference((56, 70), (48, 80))
    backward = proportion_difference((48, 80), (56, 70))
    assert backward.estimate == pytest.approx(-forward.estimate)
    assert backward.interval.low == pytest.approx(-forward.interval.high)
    assert backward.interval.high == pytest.approx(-forward.interval.low)


def test_small_groups_show_no_rate():
    assert shown_rate(5, MIN_GROUP - 1) is None
    assert shown_rate(5, MIN_GROUP) == 0.25


@pytest.mark.parametrize(("successes", "total"), [(-1, 10), (11, 10), (0, 0)])
def test_impossible_counts_are_refused(successes, total):
    with pytest.raises(ValueError):
        wilson_interval(successes, total)
    with pytest.raises(ValueError):
        shown_rate(successes, total)
