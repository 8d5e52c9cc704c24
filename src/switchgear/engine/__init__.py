"""The request pipeline: admit, answer early, plan, attempt, settle; and the streaming relay."""

from switchgear.engine.answers import Answer, StreamAnswer
from switchgear.engine.auth import Authenticator
from switchgear.engine.chain import StageChain
from switchgear.engine.pipeline import Engine
from switchgear.stages import Principal, RequestContext, RequestRecord

__all__ = [
    "Answer",
    "Authenticator",
    "Engine",
    "Principal",
    "RequestContext",
    "RequestRecord",
    "StageChain",
    "StreamAnswer",
]
