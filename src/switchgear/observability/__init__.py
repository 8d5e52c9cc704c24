"""Observability: structured logs and the access log (a settle consumer); metrics and traces later."""

from switchgear.observability.access_log import AccessLog
from switchgear.observability.logs import configure_logging

__all__ = ["AccessLog", "configure_logging"]
