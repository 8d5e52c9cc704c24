"""Observability: structured logs, the access log, metrics and traces (settle consumers)."""

from switchgear.observability.access_log import AccessLog
from switchgear.observability.logs import configure_logging

__all__ = ["AccessLog", "configure_logging"]
