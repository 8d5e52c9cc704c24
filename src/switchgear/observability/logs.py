"""Log lines in one format for the whole process: switchgear's own, the access log and uvicorn's.

``text``: ``2026-12-07T05:30:00.123Z INFO switchgear.access: <message>``, one line each.
``json``: one JSON object per line with ``ts``, ``level``, ``logger``, ``msg`` and, for lines that
carry structured fields (the access log), those fields at the top level. Exceptions are folded
into the line (text: appended; json: ``exc``). Secrets never reach a log line through here: the
access log carries none, and messages are redacted (``core.redact``) before they are written.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal

import orjson

from switchgear.core.redact import redact

LogFormat = Literal["text", "json"]
FIELDS = "fields"  # the ``extra`` key under which a line's structured fields travel
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _timestamp(created: float) -> str:
    whole = time.gmtime(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{int(created % 1 * 1000):03d}Z"


def _message(record: logging.LogRecord) -> str:
    """The message, redacted unless it is a structured line built from secret-free fields."""
    message = record.getMessage()
    return message if hasattr(record, FIELDS) else redact(message)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record.created)} {record.levelname} {record.name}: {_message(record)}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _message(record),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JSONFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str = "info", log_format: LogFormat = "text") -> None:
    """One stderr handler on the root logger; uvicorn's loggers propagate to it (give uvicorn
    ``log_config=None`` so that it installs no handlers of its own)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _UVICORN:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
