"""Response caches: the exact cache (an identical request from the same tenant is answered from a
stored canonical answer, with no upstream call) as a stage; its backends, key, controls and the
stored form of an answer. A semantic lookup would be a second stage after this one."""

from switchgear.cache.stage import ExactCache

__all__ = ["ExactCache"]
