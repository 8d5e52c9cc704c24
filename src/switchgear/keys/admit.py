"""The governance stage: model allow-lists, budgets, rate limits and concurrency on every request.

``admit`` (on the request path, no database): the key's plan from the directory (computed once per
key), its allow-lists, then one ``state.Admission`` holding every budget that applies (key, user,
team, org, the end-user named by the request's ``user``, global), every rate limit (requests and
tokens per minute of the key, its user and team) and the key's ``max_parallel_requests``, with the
request's worst case (``estimate.py``): one synchronous block on the memory backend, one Lua script
on Redis. A refusal reserves nothing and becomes a 429 / 403 (``refusals.py``); an admitted request
keeps its reservation in the ``HELD`` slot and gets ``x-ratelimit-*`` headers.

``settle`` (background, batched): a request that produced usage settles to its actual cost and
tokens, any other (an error, a client that left before usage) releases its reservation; what was
settled goes to the database's durable counters (``ledger.py``, written once a second), and
soft-budget crossings become alerts (``alerts.py``). A settle the state backend could not take
(Redis unreachable) is kept and tried again every second (``unsettled.py``). Requests made with
the master key are counted only by the global budget.

``start`` / ``close`` bring up and down what governance owns in this worker: migrations, the state
backend, the directory (loaded, then refreshed), the change feed, the durable counters' seeding, the
reaper, the settle retries and the alert sender. The database itself is closed by the runtime,
after every stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from switchgear.config.model import GovernanceSettings, StorageSettings
from switchgear.core.errors import AuthenticationFailed, PermissionDenied
from switchgear.keys.alerts import Alerts
from switchgear.keys.directory import KeyDirectory, Plan
from switchgear.keys.estimate import Estimator
from switchgear.keys.feed import LocalFeed, RedisFeed
from switchgear.keys.ledger import SpendLedger
from switchgear.keys.refusals import model_not_allowed, rate_headers, refusal_error
from switchgear.keys.unsettled import UnsettledQueue
from switchgear.stages.base import Slot, Stage
from switchgear.stages.context import RequestContext
from switchgear.stages.record import RequestRecord
from switchgear.state import (
    Admission,
    Budget,
    MemoryState,
    Reaper,
    Refusal,
    Reservation,
    Settlement,
    StateBackend,
)
from switchgear.storage import Database
from switchgear.storage.migrate import upgrade

log = logging.getLogger("switchgear.keys")


@dataclass(slots=True)
class Held:
    """An admitted request's reservation and the budgets it counts against."""

    reservation: Reservation
    budgets: tuple[Budget, ...]


HELD: Slot[Held] = Slot("governance.held")
_RESEEDS = 2
_RESEED_EVERY_S = 2.0


class Governance(Stage):
    name = "governance"

    def __init__(
        self,
        *,
        settings: GovernanceSettings,
        storage: StorageSettings,
        database: Database,
        state: StateBackend,
        directory: KeyDirectory,
        feed: LocalFeed | RedisFeed,
        estimator: Estimator,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.database = database
        self.state = state
        self.directory = directory
        self.feed = feed
        self.estimator = estimator
        self.ledger = SpendLedger(database)
        self.alerts = Alerts(settings.alert_webhook)
        self.reaper = Reaper(state)
        self.unsettled = UnsettledQueue(state, self._crossed)
        self.ttl_s = settings.reservation_ttl
        self.settle_failures = 0
        self.usage_missing = 0  # answers that came without usage, charged their reservation
        self._ids = itertools.count(1)
        self._id_prefix = f"{secrets.token_hex(6)}."  # reservation ids: unique across processes
        self._sequential_settle = isinstance(state, MemoryState)  # no round trips to overlap
        self._reseeds = 0  # seedings of the backend still owed after requests admitted fail-open
        self._reseeder: asyncio.Task[None] | None = None

    # the request path -----------------------------------------------------------------------
    async def admit(self, ctx: RequestContext) -> None:
        key_id = ctx.principal.key_id
        directory = self.directory
        if key_id is None:
            plan = directory.master_plan
            budgets = plan.budgets
        else:
            entry = directory.by_id.get(key_id)
            if entry is None:  # revoked or deleted since it was authenticated
                raise AuthenticationFailed("this API key was revoked; ask your administrator for a new one")
            plan = directory.plan(entry)
            if plan.allow_lists:
                self._check_models(ctx, plan, key_id)
            budgets = plan.budgets
            end_user = ctx.end_user
            if end_user is not None and directory.end_users:
                budgets = self._end_user(end_user, budgets)
        if not (budgets or plan.rates or plan.concurrency):
            return
        request = ctx.request
        assert request is not None
        cost, tokens = self.estimator.worst_case(request)
        admission = Admission(
            f"{self._id_prefix}{next(self._ids)}",
            cost,
            tokens,
            self.ttl_s,
            budgets,
            plan.rates,
            plan.concurrency,
        )
        result = await self.state.admit(admission)
        if type(result) is Refusal:
            raise refusal_error(result, [(n.decode(), v.decode()) for n, v in rate_headers(result.limits)])
        assert type(result) is Reservation
        HELD.set(ctx, Held(result, budgets))
        if result.limits:
            headers = rate_headers(result.limits)
            if ctx.response_headers is None:
                ctx.response_headers = headers
            else:
                ctx.response_headers.extend(headers)

    def model_filter(self, key_id: str | None) -> Callable[[str], bool] | None:
        """Which model names a key may use (``GET /v1/models`` lists only those); None: every one."""
        entry = self.directory.by_id.get(key_id) if key_id is not None else None
        if entry is None:
            return None
        plan = self.directory.plan(entry)
        return plan.allows if plan.allow_lists else None

    def _check_models(self, ctx: RequestContext, plan: Plan, key_id: str) -> None:
        request = ctx.request
        assert request is not None
        for model in (request.model, *request.fallbacks):
            if not plan.allows(model):
                who, patterns = plan.refusing(model)
                raise model_not_allowed(model, key_id, who, patterns)

    def _end_user(self, end_user: str, budgets: tuple[Budget, ...]) -> tuple[Budget, ...]:
        found = self.directory.end_users.get(end_user)
        if found is None:
            return budgets
        if found.blocked:
            raise PermissionDenied("this end-user (the request's 'user') is blocked", code="end_user_blocked")
        return budgets if found.budget is None else (*budgets, found.budget)

    # off the request path -------------------------------------------------------------------
    async def settle(self, records: Sequence[RequestRecord]) -> None:
        done = [(record, held) for record in records if (held := HELD.get(record)) is not None]
        if not done:
            return
        if self._sequential_settle:
            for record, held in done:
                await self._settle_one(record, held)
        else:
            await asyncio.gather(*(self._settle_one(record, held) for record, held in done))

    async def _settle_one(self, record: RequestRecord, held: Held) -> None:
        usage = record.usage
        reservation = held.reservation
        cost = 0
        tokens = 0
        if record.status < 400 and record.attempts and (usage is None or not usage.reported):
            # an answer without usage is charged its worst case, never nothing (BAD-INPUTS row B8)
            cost, tokens = reservation.cost_microusd, reservation.tokens
            self.usage_missing += 1
            log.warning(
                "request %s: %s answered without usage; charged its reservation ($%s, %d tokens)",
                record.request_id,
                record.provider,
                f"{cost / 1_000_000:.6f}",
                tokens,
            )
        elif usage is not None:
            nano = record.cost_nanousd or 0
            cost = -(-nano // 1000)
            tokens = usage.prompt_tokens + usage.completion_tokens
        at_s = reservation.at_us // 1_000_000 if reservation.at_us else int(record.started_at)
        for budget in held.budgets:
            self.ledger.add(budget, at_s, cost)
        if reservation.degraded:  # admitted fail-open: nothing is held in the backend, so the
            self._reseeds = _RESEEDS  # backend learns this spend from the durable counters (below)
            return
        release = usage is None and not tokens
        try:
            if release:
                settlement = await self.state.release(reservation.id)
            else:
                settlement = await self.state.settle(reservation.id, cost, tokens)
        except Exception as exc:  # the backend is unreachable: kept and tried again (unsettled.py)
            self.settle_failures += 1
            log.debug("could not settle reservation %s now: %s", reservation.id, exc)
            self.unsettled.add(reservation.id, cost, tokens, release=release)
            return
        self._crossed(settlement)

    def _crossed(self, settlement: Settlement) -> None:
        for crossing in settlement.soft_crossings:
            self.alerts.crossed(crossing)

    # the worker's life ----------------------------------------------------------------------
    async def start(self) -> None:
        if self.storage.migrate_on_start:
            await upgrade(self.database)
        await self.state.start()
        await self.directory.load()
        seeded = await self.ledger.seed(self.state, self.directory.all_budgets())
        await self.feed.start()
        self.directory.start_refresh()
        self.reaper.start()
        self.unsettled.start()
        self._reseeder = asyncio.get_running_loop().create_task(self._reseed_every(), name="reseed")
        self.ledger.start()
        await self.alerts.start()
        log.info(
            "governance: %d virtual keys loaded from %s; %d budget counters seeded",
            len(self.directory.by_id),
            self.database.url,
            seeded,
        )

    async def _reseed_every(self) -> None:
        """Spend of requests admitted fail-open reaches the backend's counters once it answers again:
        the durable counters (every replica's settled spend, written each second) are flushed, then
        the backend's counters raised to them (``seed`` never lowers one). Twice, a few seconds
        apart, so other replicas' last second of spend is in the database too."""
        while True:
            await asyncio.sleep(_RESEED_EVERY_S)
            if not self._reseeds:
                continue
            try:
                if await self.ledger.flush():
                    await self.ledger.seed(self.state, self.directory.all_budgets())
                    self._reseeds -= 1
            except Exception as exc:  # still unreachable: tried again next time
                log.debug("could not seed the state backend yet: %s", exc)

    async def close(self) -> None:
        if self._reseeder is not None:
            self._reseeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reseeder
        await self.directory.stop_refresh()
        await self.feed.close()
        await self.reaper.stop()
        await self.unsettled.close()
        await self.alerts.close()
        await self.ledger.close()
        await self.state.close()
