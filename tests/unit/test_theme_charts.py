"""Round tick values for secondary axes: ``theme.nice_ticks``."""

from __future__ import annotations

import math

import pytest

from analytics.charts.theme import nice_ticks


def is_round_step(step: float) -> bool:
    """1, 2, 2.5 or 5 times a power of ten."""
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


@pytest.mark.parametrize("max_value", [0.37, 1, 3, 7, 11, 15.8 * 5, 100, 118, 2_347, 12_345.6])
def test_ticks_start_at_zero_step_round_and_cover_the_maximum(max_value):
    ticks = nice_ticks(max_value)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= max_value
    assert is_round_step(step)
    assert all(math.isclose(b - a, step) for a, b in zip(ticks, ticks[1:], strict=False))
    assert ticks[-2] < max_value  # no empty step beyond the first tick that covers the maximum
    assert len(ticks) - 1 <= 5  # about ``count`` steps, never more


def test_the_values_of_the_review():
    """The right axis showed 39, 79, 118 (customers) and 15.8, 31.6 (percent); round steps instead."""
    assert nice_ticks(118) == [0, 25, 50, 75, 100, 125]
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]


def test_integer_ticks_for_counts_and_nothing_to_show():
    assert nice_ticks(11, integer=True) == [0, 5, 10, 15]  # not 2.5, 7.5 customers
    assert nice_ticks(2, integer=True) == [0, 1, 2]
    assert nice_ticks(0) == [0, 1] and nice_ticks(float("nan")) == [0, 1]
    with pytest.raises(ValueError):
        nice_ticks(10, count=0)
