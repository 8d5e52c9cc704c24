"""A deployment's health: circuit breaker, rate-limit cool-down, latency, in-flight and usage counts.

One ``Health`` per upstream endpoint (keyed by ``provider/model``, so two models served by the same
deployment share it), a small object of counters changed by synchronous calls on the request path
(no locks, no awaits: one event loop owns it). The breaker::

    closed ──(failures in a row ≥ N, or error rate ≥ r over ≥ m attempts in the window)──► open
    open ──(cooldown passed: the next attempt is the one probe)──► half-open
    half-open ──probe succeeds──► closed        half-open ──probe fails──► open again

A 429 cools the deployment down for its ``Retry-After`` (capped), without counting as a failure.
Latency is a decaying average (a new sample weighs ``decay``), kept apart for whole answers and for
streams' time to first token.
"""

from __future__ import annotations

from collections import deque
from time import monotonic

from switchgear.config.model import BreakerSettings

_MINUTE = 60.0
_RECENT = 64
PROBE = 2  # ``begin``: this attempt is the half-open probe


class Health:
    __slots__ = (
        "breaker",
        "cooldown_until",
        "decay",
        "errors",
        "failures",
        "in_flight",
        "latency_ms",
        "minute_requests",
        "minute_start",
        "minute_tokens",
        "open_until",
        "opened",
        "probe_started",
        "recent",
        "recent_ttft",
        "successes",
        "tokens_per_s",
        "ttft_ms",
        "window_errors",
        "window_start",
        "window_total",
    )

    def __init__(self, breaker: BreakerSettings, decay: float = 0.3) -> None:
        self.breaker = breaker
        self.decay = decay
        self.failures = 0  # in a row
        self.window_start = 0.0
        self.window_total = 0
        self.window_errors = 0
        self.open_until = 0.0  # 0: closed; else open until then, half-open after
        self.probe_started = 0.0  # the half-open probe in flight (0: none)
        self.opened = 0  # times the breaker opened
        self.cooldown_until = 0.0  # rate limited until then
        self.in_flight = 0
        self.latency_ms = 0.0  # decaying average of whole answers (0: no sample yet)
        self.ttft_ms = 0.0  # decaying average of streams' time to first event
        self.tokens_per_s = 0.0  # decaying average of whole answers' output tokens per second
        self.recent: deque[float] = deque(maxlen=_RECENT)  # the last latencies (ms), for a p95
        self.recent_ttft: deque[float] = deque(maxlen=_RECENT)
        self.minute_start = 0.0
        self.minute_requests = 0
        self.minute_tokens = 0
        self.successes = 0
        self.errors = 0

    # -- choosing ------------------------------------------------------------------------------

    def usable(self, now: float) -> bool:
        """Whether a request may be sent now: not cooling down, breaker closed or ready to probe."""
        if now < self.cooldown_until:
            return False
        if not self.open_until:
            return True
        return now >= self.open_until and not self._probing(now)

    def _probing(self, now: float) -> bool:
        # a probe that never reported back (its request was abandoned) stops blocking after a cooldown
        return bool(self.probe_started) and now - self.probe_started < self.breaker.cooldown

    def begin(self, now: float) -> int:
        """An attempt is about to be sent: 0 (falsy; nothing counted) when it may not be (the
        deployment became unusable since the plan, or another request holds the half-open probe),
        ``PROBE`` when this attempt is the half-open probe, else 1."""
        if not self.usable(now):
            return 0
        took = 1
        if self.open_until:
            self.probe_started = now
            took = PROBE
        self.in_flight += 1
        if now - self.minute_start >= _MINUTE:
            self.minute_start, self.minute_requests, self.minute_tokens = now, 0, 0
        self.minute_requests += 1
        return took

    def end(self, tokens: int = 0) -> None:
        """The attempt is over (its answer whole, its stream ended, or it failed)."""
        self.in_flight -= 1
        self.minute_tokens += tokens

    def abandon(self, took: int) -> None:
        """The attempt (``took``: what ``begin`` said) was cancelled before any outcome: the probe
        it held, if it was the probe, is free again."""
        if took == PROBE:
            self.probe_started = 0.0

    # -- learning ------------------------------------------------------------------------------

    def succeeded(self, now: float, latency_ms: float, stream: bool) -> None:
        self.successes += 1
        self.failures = 0
        self._count(now, error=False)
        if self.open_until:  # the probe came back well
            self.open_until = self.probe_started = 0.0
        if stream:
            self.ttft_ms = _decayed(self.ttft_ms, latency_ms, self.decay)
            self.recent_ttft.append(latency_ms)
        else:
            self.latency_ms = _decayed(self.latency_ms, latency_ms, self.decay)
            self.recent.append(latency_ms)

    def produced(self, tokens: int, latency_ms: float) -> None:
        """A whole answer's output tokens and the time it took: its throughput."""
        if tokens > 0 and latency_ms > 0:
            self.tokens_per_s = _decayed(self.tokens_per_s, tokens * 1000 / latency_ms, self.decay)

    def answered(self, now: float) -> None:
        """The deployment answered, with an error that is the request's fault (a 400): it is up."""
        self.failures = 0
        self._count(now, error=False)
        if self.open_until:
            self.open_until = self.probe_started = 0.0

    def failed(self, now: float) -> None:
        self.errors += 1
        self.failures += 1
        self._count(now, error=True)
        breaker = self.breaker
        if not breaker.enabled:
            return
        if (
            self.open_until
            or self.failures >= breaker.failures
            or (
                self.window_total >= breaker.min_requests
                and self.window_errors >= breaker.error_rate * self.window_total
            )
        ):  # the probe failed (or a request planned before the breaker opened)
            self._open(now)

    def opened_elsewhere(self, now: float, seconds: float) -> None:
        """Another worker's breaker for this deployment opened: open this one for the time left
        (not counted in ``opened``: that counts this worker's own discoveries)."""
        until = now + seconds
        if until > self.open_until:
            self.open_until = until
            self.probe_started = 0.0

    def rate_limited(self, now: float, seconds: float) -> None:
        self.cooldown_until = max(self.cooldown_until, now + seconds)
        if self.open_until and self.probe_started:  # a probe that was rate limited: probe again later
            self.probe_started = 0.0

    def _open(self, now: float) -> None:
        if not self.open_until or now >= self.open_until:
            self.opened += 1
        self.open_until = now + self.breaker.cooldown
        self.probe_started = 0.0

    def _count(self, now: float, *, error: bool) -> None:
        if now - self.window_start >= self.breaker.window:
            self.window_start, self.window_total, self.window_errors = now, 0, 0
        self.window_total += 1
        self.window_errors += error

    # -- reporting -----------------------------------------------------------------------------

    def state(self, now: float | None = None) -> str:
        """``closed``, ``open``, ``half_open`` or ``cooling_down`` (rate limited)."""
        now = monotonic() if now is None else now
        if self.open_until:
            return "open" if now < self.open_until else "half_open"
        return "cooling_down" if now < self.cooldown_until else "closed"

    def ready_in(self, now: float) -> float:
        """Seconds until this deployment may be tried again (0: now)."""
        wait = max(self.cooldown_until - now, self.open_until - now if self.open_until else 0.0)
        return max(wait, 0.0)

    def rpm_headroom(self, rpm: int | None, now: float) -> float:
        """The share of this minute's request limit still free (1.0 without a limit)."""
        if rpm is None:
            return 1.0
        used = self.minute_requests if now - self.minute_start < _MINUTE else 0
        return (rpm - used) / rpm

    def tpm_headroom(self, tpm: int | None, now: float) -> float:
        if tpm is None:
            return 1.0
        used = self.minute_tokens if now - self.minute_start < _MINUTE else 0
        return (tpm - used) / tpm

    def view(self, now: float) -> dict[str, object]:
        """What ``GET /health/deployments`` and ``GET /v1/models`` show."""
        return {
            "state": self.state(now),
            "ready_in_s": round(self.ready_in(now), 3),
            "in_flight": self.in_flight,
            "latency_ms": round(self.latency_ms, 1) if self.latency_ms else None,
            "ttft_ms": round(self.ttft_ms, 1) if self.ttft_ms else None,
            "tokens_per_s": round(self.tokens_per_s, 1) if self.tokens_per_s else None,
            "consecutive_failures": self.failures,
            "successes": self.successes,
            "errors": self.errors,
            "opened": self.opened,
        }


def _decayed(average: float, sample: float, decay: float) -> float:
    return sample if not average else average + decay * (sample - average)
