"""Every log line leaves the process redacted: one filter, installed at start-up, removed at shutdown.

The filter runs the runtime's ``Redactor`` over the formatted message, the traceback and the stack
of each record. It sits on every logger that exists at start-up (so a record is clean whichever
handler receives it, including ones added later) and on their handlers (so a record from a
logger created later is cleaned on its way through them). It costs nothing for a log call whose
level is off, and nothing on the request path, which does not log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from switchgear.core.redact import Redactor

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack with the redactor; never drops a record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
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
