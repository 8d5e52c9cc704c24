"""Log lines in one format for the whole process: switchgear's own, the access log and uvicorn's.

``text``: ``2026-12-07T05:30:00.123Z INFO switchgear.access: <message>``, one line each.
``json``: one JSON object per line with ``ts``, ``level``, ``logger``, ``msg`` and, for lines that
carry structured fields (the access log), those fields at the top level. Exceptions are folded
into the line (text: appended; json: ``exc``). Secrets never reach a log line: the access log
carries none, and every other record is redacted before any formatter sees it, by the filter the
running gateway installs (``observability.redaction``, the one place log lines are redacted); the
traceback printed is the one that filter rendered and redacted (``exc_text``).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]
FIELDS = "fields"  # the ``extra`` key under which a line's structured fields travel
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _timestamp(created: float) -> str:
    whole = time.gmtime(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{int(created % 1 * 1000):03d}Z"


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The record's traceback: as the redaction filter left it in ``exc_text``, else rendered."""
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or ""


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info or record.exc_text:
            line += "\n" + _traceback(self, record)
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info or record.exc_text:
            entry["exc"] = _traceback(self, record)
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
