"""The key directory: every virtual key and every limit of the hierarchy, in memory.

The request path reads it and nothing else (no database on the request path): ``lookup`` finds a
key by the SHA-256 digest of what the client sent, ``plan`` gives the limits that apply to a key's
requests (its own, its user's, team's and organization's, and the global budget), computed once
per key and kept until something in the directory changes.

It is loaded whole at start-up and again every ``governance.refresh_interval`` (the safety net),
and ``apply(Change)`` reads one object again as soon as it changed (the change feed): in this
process at once, in others through Redis pub/sub. Changes applied while a whole reload is being
read are applied again after it, so a reload never brings back what a change just removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from switchgear.config.model import GovernanceSettings
from switchgear.core.errors import AuthenticationFailed
from switchgear.keys.changes import Change
from switchgear.keys.limits import ScopeLimits, period_of, scope_limits, usd_to_microusd
from switchgear.stages.context import Principal
from switchgear.state import Budget, Concurrency, RateLimit, Scope
from switchgear.storage import Database, EndUser, NotFound, Organization, Team, User, VirtualKey
from switchgear.storage import hierarchy as stored
from switchgear.storage import keys as stored_keys
from switchgear.storage.rows import utcnow

log = logging.getLogger("switchgear.keys")
T = TypeVar("T")
_PAGE = 1000
_KEEP_REVOKED = timedelta(days=1)  # revoked keys stay known this long: a clear "revoked" answer
_ALLOWED_CACHE = 1024  # models remembered per key plan (allowed or not)


@dataclass(slots=True)
class Plan:
    """What applies to every request of one key: budgets, rate limits, concurrency, allow-lists."""

    budgets: tuple[Budget, ...]
    rates: tuple[RateLimit, ...]
    concurrency: tuple[Concurrency, ...]
    allow_lists: tuple[tuple[str, tuple[str, ...]], ...]  # (who, patterns), each must allow a model
    allowed: dict[str, bool] = field(default_factory=dict)

    @property
    def limited(self) -> bool:
        return bool(self.budgets or self.rates or self.concurrency)

    def allows(self, model: str) -> bool:
        known = self.allowed.get(model)
        if known is not None:
            return known
        verdict = all(_matches(model, patterns) for _who, patterns in self.allow_lists)
        if len(self.allowed) >= _ALLOWED_CACHE:
            self.allowed.clear()
        self.allowed[model] = verdict
        return verdict

    def refusing(self, model: str) -> tuple[str, tuple[str, ...]]:
        """The first allow-list that refuses ``model``: who set it and what it allows."""
        for who, patterns in self.allow_lists:
            if not _matches(model, patterns):
                return who, patterns
        return "", ()


def _matches(model: str, patterns: tuple[str, ...]) -> bool:
    return any(model == p or (("*" in p or "?" in p or "[" in p) and fnmatchcase(model, p)) for p in patterns)


@dataclass(slots=True)
class KeyEntry:
    """One virtual key as the request path sees it."""

    id: str
    digest: bytes
    principal: Principal
    limits: ScopeLimits
    concurrency: Concurrency | None
    expires_at: float | None  # seconds since the epoch
    revoked_at: float | None  # for a rotated key: the end of its grace period
    rotated: bool  # revoked by a rotation (so the message can say so)
    plan: Plan | None = None
    plan_generation: int = -1

    def check(self, now: float) -> Principal:
        """The key's principal, or ``AuthenticationFailed`` when it is revoked or expired at ``now``."""
        revoked = self.revoked_at
        if revoked is not None and revoked <= now:
            if self.rotated:
                raise AuthenticationFailed(
                    "this API key was rotated and its grace period is over; use the new key"
                )
            raise AuthenticationFailed("this API key was revoked; ask your administrator for a new one")
        expires = self.expires_at
        if expires is not None and expires <= now:
            when = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            raise AuthenticationFailed(
                f"this API key expired at {when}; ask your administrator for a new one"
            )
        return self.principal


@dataclass(slots=True)
class EndUserEntry:
    blocked: bool
    budget: Budget | None


@dataclass(slots=True)
class _Snapshot:
    keys: dict[str, VirtualKey] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    orgs: dict[str, Organization] = field(default_factory=dict)
    end_users: dict[str, EndUser] = field(default_factory=dict)


class KeyDirectory:
    def __init__(self, db: Database, settings: GovernanceSettings) -> None:
        self.db = db
        self.settings = settings
        self.fail_open = settings.fail_open
        self.by_digest: dict[bytes, KeyEntry] = {}
        self.by_id: dict[str, KeyEntry] = {}
        self.users: dict[str, ScopeLimits] = {}
        self.teams: dict[str, ScopeLimits] = {}
        self.orgs: dict[str, ScopeLimits] = {}
        self.end_users: dict[str, EndUserEntry] = {}
        self.global_budget = _global_budget(settings)
        self.master_plan = Plan((self.global_budget,) if self.global_budget else (), (), (), ())
        self.generation = 0  # bumped on every change: key plans are computed again
        self.loaded_at: float | None = None
        self.refresh_failures = 0
        self._rows = _Snapshot()
        self._lock = asyncio.Lock()
        self._during_reload: list[Change] | None = None
        self._task: asyncio.Task[None] | None = None

    # the request path -----------------------------------------------------------------------
    def lookup(self, digest: bytes) -> KeyEntry | None:
        return self.by_digest.get(digest)

    def plan(self, entry: KeyEntry) -> Plan:
        plan = entry.plan
        if plan is None or entry.plan_generation != self.generation:
            plan = entry.plan = self._plan(entry)
            entry.plan_generation = self.generation
        return plan

    def _plan(self, entry: KeyEntry) -> Plan:
        principal = entry.principal
        levels = [entry.limits]
        for owner_id, table in (
            (principal.user_id, self.users),
            (principal.team_id, self.teams),
            (principal.org_id, self.orgs),
        ):
            limits = table.get(owner_id) if owner_id is not None else None
            if limits is not None:
                levels.append(limits)
        budgets = [level.budget for level in levels if level.budget is not None]
        if self.global_budget is not None:
            budgets.append(self.global_budget)
        rates = [rate for level in levels for rate in (level.rpm, level.tpm) if rate is not None]
        allow = [(_who(level.scope), level.models) for level in levels if level.models]
        parallel = (entry.concurrency,) if entry.concurrency is not None else ()
        return Plan(tuple(budgets), tuple(rates), parallel, tuple(allow))

    def logs_payloads(self, key_id: str | None) -> bool:
        """Whether a request of this key may have its prompt and answer logged: not when the key's
        or its team's ``metadata`` says ``log_payloads: false`` (nor for a key no longer known)."""
        if key_id is None:  # the master key
            return True
        rows = self._rows
        key = rows.keys.get(key_id)
        if key is None or key.metadata.get("log_payloads") is False:
            return False
        team = rows.teams.get(key.team_id) if key.team_id is not None else None
        return team is None or team.metadata.get("log_payloads") is not False

    def all_budgets(self) -> list[Budget]:
        """Every budget the directory knows (to seed the state backend's counters)."""
        found = [entry.limits.budget for entry in self.by_id.values()]
        for table in (self.users, self.teams, self.orgs):
            found.extend(limits.budget for limits in table.values())
        found.extend(entry.budget for entry in self.end_users.values())
        found.append(self.global_budget)
        return [budget for budget in found if budget is not None]

    # loading --------------------------------------------------------------------------------
    async def load(self) -> None:
        """Read every key and object of the hierarchy again and swap them in."""
        self._during_reload = []
        try:
            rows = await self._read_all()
            async with self._lock:
                self._rows = rows
                self._build()
                again, self._during_reload = self._during_reload, None
            for change in again:
                await self.apply(change)
        finally:
            self._during_reload = None
        self.loaded_at = time.time()

    async def _read_all(self) -> _Snapshot:
        db = self.db
        revoked_before = utcnow() - _KEEP_REVOKED
        keys = await _pages(lambda limit, offset: stored_keys.list_keys(
            db, include_revoked=True, limit=limit, offset=offset
        ))  # fmt: skip
        return _Snapshot(
            keys={k.id: k for k in keys if k.revoked_at is None or k.revoked_at > revoked_before},
            users={
                u.id: u for u in await _pages(lambda lim, off: stored.list_users(db, limit=lim, offset=off))
            },
            teams={
                t.id: t for t in await _pages(lambda lim, off: stored.list_teams(db, limit=lim, offset=off))
            },
            orgs={
                o.id: o for o in await _pages(lambda lim, off: stored.list_orgs(db, limit=lim, offset=off))
            },
            end_users={
                e.id: e
                for e in await _pages(lambda lim, off: stored.list_end_users(db, limit=lim, offset=off))
            },
        )

    def _build(self) -> None:
        rows, open_ = self._rows, self.fail_open
        self.users = {
            i: scope_limits("user", i, u.limits, None, fail_open=open_) for i, u in rows.users.items()
        }
        self.teams = {
            i: scope_limits("team", i, t.limits, t.models, fail_open=open_) for i, t in rows.teams.items()
        }
        self.orgs = {
            i: scope_limits("org", i, o.limits, o.models, fail_open=open_) for i, o in rows.orgs.items()
        }
        self.end_users = {i: self._end_user(e) for i, e in rows.end_users.items()}
        rotated = {key.rotated_from for key in rows.keys.values() if key.rotated_from}
        entries = [self._entry(key, key.id in rotated) for key in rows.keys.values()]
        self.by_id = {entry.id: entry for entry in entries}
        self.by_digest = {entry.digest: entry for entry in entries}
        self.generation += 1

    def _end_user(self, row: EndUser) -> EndUserEntry:
        limits = scope_limits("end_user", row.id, row.limits, fail_open=self.fail_open)
        return EndUserEntry(row.blocked, limits.budget)

    def _entry(self, key: VirtualKey, rotated: bool) -> KeyEntry:
        rows = self._rows
        user = rows.users.get(key.user_id) if key.user_id else None
        team_id = key.team_id or (user.team_id if user else None)
        team = rows.teams.get(team_id) if team_id else None
        org_id = key.org_id or (team.org_id if team else None) or (user.org_id if user else None)
        parallel = key.limits.max_parallel_requests
        scope = Scope("key", key.id)
        return KeyEntry(
            id=key.id,
            digest=bytes.fromhex(key.key_hash),
            principal=Principal(
                key_id=key.id,
                user_id=key.user_id,
                team_id=team_id,
                org_id=org_id,
                guardrails=_guardrail_names(key.metadata),
            ),
            limits=scope_limits("key", key.id, key.limits, key.models, fail_open=self.fail_open),
            concurrency=Concurrency(scope, max(0, parallel), self.fail_open)
            if parallel is not None
            else None,
            expires_at=key.expires_at.timestamp() if key.expires_at else None,
            revoked_at=key.revoked_at.timestamp() if key.revoked_at else None,
            rotated=rotated,
        )

    # changes --------------------------------------------------------------------------------
    async def apply(self, change: Change) -> None:
        """Read the named object again (created, changed, revoked or deleted) and take it in."""
        if self._during_reload is not None:
            self._during_reload.append(change)
        kind, id_ = change.kind, change.id
        async with self._lock:
            rows = self._rows
            if kind == "key":
                found = await _maybe(stored_keys.get_key(self.db, id_))
                self._replace(rows.keys, id_, found)
                self._key_changed(id_, found)
                return
            if kind == "user":
                self._replace(rows.users, id_, await _maybe(stored.get_user(self.db, id_)))
            elif kind == "team":
                self._replace(rows.teams, id_, await _maybe(stored.get_team(self.db, id_)))
            elif kind == "org":
                self._replace(rows.orgs, id_, await _maybe(stored.get_org(self.db, id_)))
            elif kind == "end_user":
                self._replace(rows.end_users, id_, await _maybe(stored.get_end_user(self.db, id_)))
            self._build()  # an owner's change can reach every key below it

    @staticmethod
    def _replace(table: dict[str, T], id_: str, found: T | None) -> None:
        if found is None:
            table.pop(id_, None)
        else:
            table[id_] = found

    def _key_changed(self, key_id: str, key: VirtualKey | None) -> None:
        old = self.by_id.pop(key_id, None)
        if old is not None:
            self.by_digest.pop(old.digest, None)
        if key is not None:
            entry = self._entry(key, any(other.rotated_from == key_id for other in self._rows.keys.values()))
            self.by_id[key_id] = entry
            self.by_digest[entry.digest] = entry
            if key.rotated_from and key.rotated_from in self.by_id:  # the old key: say "rotated"
                self.by_id[key.rotated_from].rotated = True
        self.generation += 1

    # the periodic refresh -------------------------------------------------------------------
    def start_refresh(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh(), name="key-directory-refresh")

    async def stop_refresh(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_interval)
            try:
                await self.load()
            except Exception as exc:  # a task boundary: the last snapshot keeps serving
                self.refresh_failures += 1
                log.warning(
                    "reading the key directory again failed (%d so far): %s", self.refresh_failures, exc
                )


def _who(scope: Scope) -> str:
    return {"key": "the key", "user": "its user", "team": "its team", "org": "its organization"}.get(
        scope.kind, scope.kind
    )


def _global_budget(settings: GovernanceSettings) -> Budget | None:
    if settings.max_budget is None:
        return None
    return Budget(
        Scope("global"),
        usd_to_microusd(settings.max_budget),
        period_of(settings.budget_duration),
        None,
        settings.fail_open,
    )


async def _maybe(read: Awaitable[T]) -> T | None:
    try:
        return await read
    except NotFound:
        return None


async def _pages(read: Callable[[int, int], Awaitable[list[T]]]) -> list[T]:
    found: list[T] = []
    while True:
        page = await read(_PAGE, len(found))
        found.extend(page)
        if len(page) < _PAGE:
            return found


def _guardrail_names(metadata: dict[str, Any] | None) -> tuple[str, ...]:
    """The guardrail names a key's metadata attaches (``{"guardrails": ["pii", ...]}``)."""
    names = (metadata or {}).get("guardrails")
    if isinstance(names, str):
        return (names,)
    if isinstance(names, list):
        return tuple(n for n in names if isinstance(n, str))
    return ()
