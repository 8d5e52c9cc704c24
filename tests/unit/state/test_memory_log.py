"""The weighted sliding log of the memory backend."""

from __future__ import annotations

from switchgear.state.memory_log import CountLog, SlidingLog

W = 1_000_000


def test_an_entry_counts_while_younger_than_the_window() -> None:
    log = SlidingLog(W)
    log.add(0, "a", 3)
    log.add(500_000, "b", 2)
    log.trim(999_999)
    assert log.total == 5
    log.trim(1_000_000)  # the window (now - w, now] no longer holds t=0
    assert log.total == 2
    log.trim(1_500_000)
    assert log.total == 0 and not log


def test_the_wait_is_until_enough_old_entries_leave() -> None:
    log = SlidingLog(W)
    log.add(0, "a", 3)
    log.add(100, "b", 3)
    log.add(200, "c", 3)
    assert log.wait_us(300, limit=10, need=1) == 0
    assert log.wait_us(300, limit=10, need=2) == W - 300  # "a" must leave
    assert log.wait_us(300, limit=10, need=5) == W + 100 - 300  # "a" and "b" must leave
    assert log.wait_us(300, limit=10, need=11) is None
    assert log.reset_us(300) == W + 200 - 300


def test_a_settle_replaces_the_estimate_while_the_window_holds_it() -> None:
    log = SlidingLog(W)
    log.add(0, "a", 10)
    log.settle("a", 25)
    assert log.total == 25
    log.trim(W)
    log.settle("a", 40)  # gone from the window: nothing to change
    assert log.total == 0


def test_a_request_log_counts_entries_and_waits_for_the_oldest_that_must_leave() -> None:
    log = CountLog(W)
    for t in (0, 100, 200):
        log.add(t, f"r{t}")
    assert log.total == 3
    assert log.wait_us(300, limit=3, need=1) == W - 300  # the entry of t=0 must leave
    assert log.wait_us(300, limit=2, need=1) == W + 100 - 300  # two must leave
    assert log.wait_us(300, limit=4, need=1) == 0
    assert log.wait_us(300, limit=1, need=2) is None
    log.trim(W + 100)
    assert log.total == 1 and log.reset_us(W + 100) == 100


def test_ids_of_entries_never_settled_are_forgotten_once_the_window_lets_go() -> None:
    log = SlidingLog(W)
    log.add(0, "leaked", 5)
    log.add(10, "settled", 5)
    log.settle("settled", 1)
    log.trim(W + 5)  # "leaked" leaves the window unsettled
    log.forget_settled()
    assert log._open == {}
    log.settle("leaked", 99)  # a late settle changes nothing the window holds
    assert log.total == 1
