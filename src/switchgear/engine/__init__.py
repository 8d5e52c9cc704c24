"""The request pipeline: authenticate, normalise, plan, attempt, settle; and the streaming relay."""

from switchgear.engine.answers import Answer, Settlement, StreamAnswer
from switchgear.engine.auth import Authenticator, Principal
from switchgear.engine.context import RequestContext
from switchgear.engine.pipeline import Engine

__all__ = [
    "Answer",
    "Authenticator",
    "Engine",
    "Principal",
    "RequestContext",
    "Settlement",
    "StreamAnswer",
]
