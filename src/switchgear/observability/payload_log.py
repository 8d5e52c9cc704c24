"""The payload log: each request's prompt and answer kept beside the request log, when
``observability.payloads.enabled`` (off by default).

What is kept is what the client sent (its request body) and what it got (a whole answer's body,
or a stream's bytes as they went out), each cut to ``max_bytes``, with the configured secrets and
key-shaped text masked and then each ``redact`` hook applied (a PII masker, say). Nothing more is
done on the request path than keeping references to bytes that exist anyway (a stream's chunks
up to the bound); decoding, masking and writing happen in the settle consumer, in batches. A key
or its team opts out with ``log_payloads: false`` in its metadata. A request refused before it was
known who sent it is never logged, and an answer made without an upstream (a cache hit) has no
answer body here. Writing is best effort: a failed batch is counted and logged, not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from switchgear.config.model import PayloadSettings
from switchgear.core.jsoncodec import dumps
from switchgear.observability.spend_rows import describe_error, refused_unauthenticated
from switchgear.providers.base import StreamRelay
from switchgear.stages.base import Slot, Stage
from switchgear.stages.context import RequestContext
from switchgear.stages.record import RequestRecord
from switchgear.stages.relay import RelayWrapper
from switchgear.storage import Database, Payload
from switchgear.storage.payloads import delete_payloads_before, record_payloads

log = logging.getLogger("switchgear.payloads")

Redact = Callable[[str], str]
_RETENTION_EVERY = 3600.0


@dataclass(slots=True)
class Kept:
    """References to one request's bytes, read back in settle."""

    request: bytes | dict[str, Any]  # the body as sent, or as parsed (gateway fields taken out)
    answer: bytes | None = None  # a whole answer's body
    chunks: list[bytes] | None = None  # a stream's bytes, up to the bound
    cut: bool = False  # the stream went past the bound


KEPT: Slot[Kept] = Slot("payloads.kept")


class PayloadLog(Stage):
    name = "payloads"

    def __init__(
        self,
        database: Database,
        settings: PayloadSettings,
        redact: Sequence[Redact],
        allowed: Callable[[str | None], bool],
    ) -> None:
        self.database = database
        self.max_bytes = settings.max_bytes
        self.retention = settings.retention
        self.redact = tuple(redact)
        self.allowed = allowed
        self.written = 0
        self.failed = 0  # payloads lost to failed writes
        self.skipped = 0  # opted out or refused unauthenticated
        self._retention: asyncio.Task[None] | None = None

    # the request path: references only ------------------------------------------------------
    async def admit(self, ctx: RequestContext) -> None:
        request = ctx.request
        if request is not None:
            KEPT.set(ctx, Kept(request.raw if request.raw is not None else request.body))

    async def body_transform(self, ctx: RequestContext, body: bytes) -> bytes:
        kept = KEPT.get(ctx)
        if kept is not None:
            kept.answer = body
        return body

    def wrap_relay(self, ctx: RequestContext, relay: StreamRelay) -> StreamRelay:
        kept = KEPT.get(ctx)
        if kept is None:
            return relay
        kept.chunks = []
        return KeepingRelay(relay, kept, self.max_bytes)

    # off the request path -------------------------------------------------------------------
    async def settle(self, records: Sequence[RequestRecord]) -> None:
        payloads = []
        for record in records:
            kept = KEPT.get(record)
            if kept is None:
                continue
            if refused_unauthenticated(record) or not self.allowed(record.principal.key_id):
                self.skipped += 1
                continue
            payloads.append(self._payload(record, kept))
        if not payloads:
            return
        try:
            self.written += await record_payloads(self.database, payloads)
        except Exception as exc:  # best effort: the request log itself is the spend log's job
            self.failed += len(payloads)
            log.warning("payload log: %d payload(s) not written (%s)", len(payloads), describe_error(exc))

    def _payload(self, record: RequestRecord, kept: Kept) -> Payload:
        body = kept.request
        request, cut_request = self._text(body if isinstance(body, bytes) else dumps(body))
        response: str | None = None
        cut_response = False
        if record.status < 400 or record.in_band:
            if kept.chunks is not None:
                response, cut_response = self._text(b"".join(kept.chunks))
                cut_response = cut_response or kept.cut
            elif kept.answer is not None:
                response, cut_response = self._text(kept.answer)
        return Payload(
            request_id=record.request_id,
            created_at=datetime.fromtimestamp(record.started_at, UTC),
            key_id=record.principal.key_id,
            request=request,
            response=response,
            truncated=cut_request or cut_response,
        )

    def _text(self, data: bytes) -> tuple[str, bool]:
        cut = len(data) > self.max_bytes
        text = data[: self.max_bytes].decode("utf-8", "ignore" if cut else "replace")
        for redact in self.redact:
            text = redact(text)
        return text, cut

    async def start(self) -> None:
        self._retention = asyncio.get_running_loop().create_task(
            self._retain_forever(), name="payload-retention"
        )

    async def close(self) -> None:
        task, self._retention = self._retention, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _retain_forever(self) -> None:
        while True:
            cutoff = datetime.now(UTC) - timedelta(seconds=self.retention)
            try:
                deleted = await delete_payloads_before(self.database, cutoff)
                if deleted:
                    log.info("payload log: %d payload(s) past retention deleted", deleted)
            except Exception as exc:
                log.warning("payload log: retention failed (%s); trying again later", describe_error(exc))
            await asyncio.sleep(_RETENTION_EVERY)


class KeepingRelay(RelayWrapper):
    """A stream relay that keeps the bytes the client gets, up to a bound (then only notes the cut)."""

    __slots__ = ("_kept", "_left")

    def __init__(self, inner: StreamRelay, kept: Kept, limit: int) -> None:
        super().__init__(inner)
        self._kept = kept
        self._left = limit

    def out(self, data: bytes) -> bytes:
        if data and self._left > 0:
            chunks = self._kept.chunks
            assert chunks is not None
            chunks.append(data[: self._left])
            if len(data) > self._left:
                self._kept.cut = True
            self._left -= len(data)
        elif data:
            self._kept.cut = True
        return data
