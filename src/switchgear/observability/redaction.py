"""Every log line leaves the process redacted: one filter, installed at start-up, removed at shutdown.

This is the one place where log lines are redacted. The filter runs the runtime's ``Redactor``
(the configured secrets, then the key patterns) over the formatted message, the traceback (which
it renders into ``exc_text``, so every formatter prints the redacted one) and the stack of each
record. It sits on every logger that exists at start-up (so a record is clean whichever handler
receives it, including handlers added later) and on their handlers (so a record of a logger
created later is cleaned on its way through them). Records carrying structured fields (the
access log) are built from secret-free fields and pass untouched, so the per-request access log
costs nothing here; a log call whose level is off costs nothing either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from switchgear.core.redact import Redactor
from switchgear.observability.logs import FIELDS

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack with the redactor; never drops a record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, FIELDS):
            return True
        redact = self._redactor
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it as logging always does
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor) -> Callable[[], None]:
    """Attach a ``RedactingFilter`` to every logger and handler that exists; returns the undo."""
    log_filter = RedactingFilter(redactor)
    manager = logging.Logger.manager
    loggers = [logging.getLogger()]
    loggers += [logger for logger in list(manager.loggerDict.values()) if isinstance(logger, logging.Logger)]
    handlers = {handler for logger in loggers for handler in logger.handlers}
    targets: list[logging.Logger | logging.Handler] = [*loggers, *handlers]
    for target in targets:
        target.addFilter(log_filter)

    def undo() -> None:
        for target in targets:
            target.removeFilter(log_filter)

    return undo
