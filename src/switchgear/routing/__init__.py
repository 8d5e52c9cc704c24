"""Routing: which deployments may serve a request, in which order, and what their health allows."""

from switchgear.routing.health import Health
from switchgear.routing.router import Router
from switchgear.routing.stage import Learner

__all__ = ["Health", "Learner", "Router"]
