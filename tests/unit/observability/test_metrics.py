"""The metrics stage's own pieces: folded histograms equal observe(), bounded labels, quantiles."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from switchgear.observability.metric_set import DURATION_BUCKETS
from switchgear.observability.metrics import OTHER, Bounded, FoldedHistogram
from switchgear.observability.summary import quantile


def test_a_folded_batch_exposes_exactly_what_observing_each_value_does() -> None:
    rng = random.Random(7)
    values = [rng.choice(DURATION_BUCKETS) for _ in range(50)]  # on the bounds: le is inclusive
    values += [rng.uniform(0, 400) for _ in range(500)] + [0.0, 1e9]
    one_by_one, folded = CollectorRegistry(), CollectorRegistry()
    plain = Histogram("h", "h", ["api"], buckets=DURATION_BUCKETS, registry=one_by_one)
    batched = Histogram("h", "h", ["api"], buckets=DURATION_BUCKETS, registry=folded)
    fold = FoldedHistogram(batched, DURATION_BUCKETS)
    for i, v in enumerate(values):
        plain.labels("chat" if i % 3 else "messages").observe(v)
        fold.add(("chat" if i % 3 else "messages",), v)
        if i % 97 == 0:
            fold.flush()  # several batches add up
    fold.flush()
    strip = [line for line in generate_latest(one_by_one).splitlines() if not line.startswith(b"#")]
    same = [line for line in generate_latest(folded).splitlines() if not line.startswith(b"#")]
    strip = [line for line in strip if b"_created" not in line]
    same = [line for line in same if b"_created" not in line]
    assert len(strip) > 30
    for a, b in zip(strip, same, strict=True):
        name_a, _, value_a = a.rpartition(b" ")
        name_b, _, value_b = b.rpartition(b" ")
        assert name_a == name_b
        assert float(value_a) == pytest.approx(float(value_b), rel=1e-9)


def test_a_bounded_label_keeps_its_first_values_and_calls_the_rest_other() -> None:
    label = Bounded(2)
    assert [label(v) for v in ("a", "b", "c", "a", "d", "b")] == ["a", "b", OTHER, "a", OTHER, "b"]


def test_quantiles_interpolate_inside_the_bucket_as_prometheus_does() -> None:
    buckets = {0.1: 10.0, 0.5: 30.0, 1.0: 40.0, float("inf"): 40.0}
    assert quantile(0.25, buckets) == pytest.approx(0.1)  # rank 10: the top of the first bucket
    assert quantile(0.5, buckets) == pytest.approx(0.3)  # rank 20: halfway through (0.1, 0.5]
    assert quantile(0.95, buckets) == pytest.approx(0.5 + 0.5 * 8 / 10)
    assert quantile(0.5, {}) is None and quantile(0.5, {1.0: 0.0, float("inf"): 0.0}) is None
    assert quantile(0.99, {1.0: 1.0, float("inf"): 10.0}) == 1.0  # past the last finite bound
