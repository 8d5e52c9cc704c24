"""RouteLLM's router figures on rows small enough to compute by hand."""

from __future__ import annotations

import pytest

from switchgear.routing.tiering import metrics

# four rows: only row 0 gains from the strong model; row 3 loses
WEAK = [0.0, 1.0, 1.0, 1.0]
STRONG = [1.0, 1.0, 1.0, 0.0]


def test_the_oracle_order_closes_the_gap_first() -> None:
    c = metrics.curve([1.0, 0.0, 0.0, -1.0], WEAK, STRONG)
    assert c.weak == 0.75 and c.strong == 0.75
    assert c.quality == [0.75, 1.0, 1.0, 1.0, 0.75]


def test_pgr_apgr_and_cpt_by_hand() -> None:
    weak, strong = [0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]  # gap 0.5 (0.25 -> 0.75)
    c = metrics.curve([0.9, 0.1, 0.5, 0.0], weak, strong)  # order: row 0, row 2, row 1, row 3
    assert c.quality == [0.25, 0.5, 0.5, 0.75, 0.75]
    assert c.pgr() == [0.0, 0.5, 0.5, 1.0, 1.0]
    # trapezoids of width 0.25: (0+.5)/2 + (.5+.5)/2 + (.5+1)/2 + (1+1)/2 = 2.5, x 0.25
    assert metrics.apgr(c) == pytest.approx(0.625)
    assert metrics.cpt(c, 0.5) == 0.25
    assert metrics.cpt(c, 0.8) == 0.75
    assert metrics.share_at_quality(c, 0.95) == 0.75  # 0.95 x 0.75 = 0.7125


def test_summary_keys_and_a_random_like_order() -> None:
    weak, strong = [0.0] * 10, [1.0] * 10
    c = metrics.curve([float(i) for i in range(10)], weak, strong)
    figures = metrics.summary(c)
    assert set(figures) == {"apgr", "cpt50", "cpt80", "cpt95", "strong_share_at_95"}
    assert figures["apgr"] == pytest.approx(0.5)
    assert figures["cpt80"] == pytest.approx(0.8)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        metrics.curve([], [], [])
    with pytest.raises(ValueError):
        metrics.curve([1.0], [0.0, 1.0], [1.0])
