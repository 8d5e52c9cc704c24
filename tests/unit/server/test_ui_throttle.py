"""The admin UI's sign-in throttle: refused sign-ins per client address within a window."""

from __future__ import annotations

from switchgear.server.ui_throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_th_failure_makes_the_client_wait_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    throttle = SignInThrottle(limit=3, window=60, clock=clock)
    for _ in range(2):
        throttle.failed("10.0.0.1")
        clock.now += 1
    assert throttle.wait("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert throttle.wait("10.0.0.1") == 58  # the first failure (t=1000) leaves at t=1060; now 1002
    assert throttle.wait("10.0.0.2") == 0  # another address is not held back
    clock.now = 1060.5
    assert throttle.wait("10.0.0.1") == 0


def test_many_addresses_stay_bounded() -> None:
    throttle = SignInThrottle(limit=2, window=60)
    for i in range(10_050):
        throttle.failed(f"10.{i}")
    assert len(throttle._failures) == 10_000
