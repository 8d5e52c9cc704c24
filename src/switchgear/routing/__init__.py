"""Routing: which deployments may serve a request, and in which order to try them."""

from switchgear.routing.router import Router
from switchgear.routing.strategy import WeightedShuffle

__all__ = ["Router", "WeightedShuffle"]
