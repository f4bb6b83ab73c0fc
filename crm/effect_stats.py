"""What a campaign changed, in numbers a shop owner can trust: the difference between the group
that got a message and the control group, with a 95 % confidence interval, and small groups kept
from showing misleading percentages.

Rates (visited, redeemed, tapped) are compared as two proportions with Newcombe's hybrid score
interval (Newcombe 1998, method 10): each group's Wilson score interval, combined. Unlike the
textbook Wald interval it stays inside −1..1 and behaves with small counts and rates near 0 or 1,
which control groups of a few dozen customers produce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

MIN_GROUP = 20  # below this, a group's rate is shown as "fewer than 20", not as a percentage
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """treated rate − control rate, and its confidence interval (both as fractions)."""

    estimate: float
    interval: Interval

    @property
    def significant(self) -> bool:
        """The interval leaves out zero: the campaign changed the rate."""
        return self.interval.low > 0 or self.interval.high < 0


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, total: int, confidence: float = CONFIDENCE) -> Interval:
    """The Wilson score interval of a proportion (total ≥ 1)."""
    _check_counts(successes, total)
    z = _z(confidence)
    p = successes / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    scale = 1 + z * z / total
    return Interval(max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale))


def proportion_difference(
    treated: tuple[int, int], control: tuple[int, int], confidence: float = CONFIDENCE
) -> Difference:
    """(successes, total) of each group → the difference of rates with Newcombe's interval."""
    (x1, n1), (x2, n2) = treated, control
    p1, p2 = x1 / n1 if n1 else _refuse(), x2 / n2 if n2 else _refuse()
    first, second = wilson_interval(x1, n1, confidence), wilson_interval(x2, n2, confidence)
    estimate = p1 - p2
    low = estimate - math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    high = estimate + math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Difference(estimate, Interval(low, high))


def shown_rate(successes: int, total: int) -> float | None:
    """A group's rate, or None when the group is too small to show one (fewer than 20)."""
    _check_counts(successes, total)
    return successes / total if total >= MIN_GROUP else None


def _check_counts(successes: int, total: int) -> None:
    if total < 1 or not 0 <= successes <= total:
        raise ValueError(f"counts out of range: {successes} of {total}")


def _refuse() -> float:
    raise ValueError("a group with no one in it has no rate")
