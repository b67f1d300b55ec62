"""The comparison of the marts between the two warehouses: floats summed in another order."""

from __future__ import annotations

import math

from tests.bigquery.helpers import normalized_rows, rows_match


def test_an_average_summed_in_another_order_matches_even_across_a_rounding_tie():
    # 64 durations of one decimal: their average is a multiple of 1/640, whose seventh
    # decimal is a 5 (a tie at six places); the two sums differ in the last bit
    durations = [0.1 * (i % 7) + 12.3 for i in range(64)]
    forward, backward = sum(durations) / 64, sum(reversed(durations)) / 64
    tie = 19.2015625
    below, above = math.nextafter(tie, 0), math.nextafter(tie, 100)
    assert round(below, 6) != round(above, 6)
    rows = [("2026-12-07", "France", forward), ("2026-12-07", "Peru", below)]
    other = [("2026-12-07", "Peru", above), ("2026-12-07", "France", backward)]
    assert rows_match(normalized_rows(rows, []), normalized_rows(other, []))


def test_a_real_difference_in_a_float_or_any_other_value_does_not_match():
    base = [("2026-12-07", "France", 19.2015625, 3)]
    assert not rows_match(base, [("2026-12-07", "France", 19.2015635, 3)])
    assert not rows_match(base, [("2026-12-07", "France", 19.2015625, 4)])
    assert not rows_match(base, base + base)
