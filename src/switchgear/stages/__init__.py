"""Request stages: the one seam where keys, budgets, routing, caches, guardrails and logs plug in.

A stage is a small object with optional hooks at fixed points of a request's life (see
``base.Stage``); the engine composes the configured stages once at start-up. This package holds
what stages and the engine share: the stage protocol, the per-request context, the settle record
and the settle queue. Capability packages (observability, routing, keys, cache, guardrails)
import it; it imports only what lies below (providers' runtime objects, the catalog, core).
"""

from switchgear.stages.base import EarlyAnswer, Slot, Stage, StreamTransform
from switchgear.stages.context import Attempt, Principal, RequestContext
from switchgear.stages.record import RequestRecord
from switchgear.stages.request import Prepared
from switchgear.stages.settle import SettleQueue, SettleStats

__all__ = [
    "Attempt",
    "EarlyAnswer",
    "Prepared",
    "Principal",
    "RequestContext",
    "RequestRecord",
    "SettleQueue",
    "SettleStats",
    "Slot",
    "Stage",
    "StreamTransform",
]
