"""Log lines are redacted from start-up to shutdown, whichever logger or handler carries them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from switchgear.config import parse_settings
from switchgear.core.redact import Redactor
from switchgear.observability.logs import FIELDS, JSONFormatter, TextFormatter
from switchgear.observability.redaction import install_log_redaction
from switchgear.server import build_app

KEY = "pk-live-Zq81xLr02Vb7Nm3Kd9Tc"
CONFIG: dict[str, Any] = {
    "providers": {"sim": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": KEY}},
}


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    """A handler on the root logger, added the way an operator's logging set-up would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def log_everything() -> None:
    logging.getLogger("switchgear.server").error("upstream said: Incorrect API key provided: %s", KEY)
    logging.getLogger("uvicorn.error").warning(f"startup failed: key={KEY}")
    try:
        raise ValueError(f"bad header value {KEY}")
    except ValueError:
        logging.getLogger("switchgear.server").exception("unexpected error in request req_1")


def test_every_log_line_is_redacted_while_installed(captured: io.StringIO) -> None:
    undo = install_log_redaction(Redactor([KEY]))
    try:
        log_everything()
    finally:
        undo()
    text = captured.getvalue()
    assert "Incorrect API key provided: ***" in text and "ValueError: bad header value ***" in text
    assert KEY not in text
    logging.getLogger("switchgear.server").error("after: %s", KEY)
    assert KEY in captured.getvalue()  # removed again at shutdown


def test_a_handler_added_after_start_up_gets_clean_records(captured: io.StringIO) -> None:
    undo = install_log_redaction(Redactor([KEY]))
    late = io.StringIO()
    handler = logging.StreamHandler(late)
    logging.getLogger().addHandler(handler)
    try:
        log_everything()
    finally:
        logging.getLogger().removeHandler(handler)
        undo()
    assert "Incorrect API key provided: ***" in late.getvalue()
    assert KEY not in late.getvalue()


@pytest.mark.parametrize("formatter", [TextFormatter(), JSONFormatter()], ids=["text", "json"])
def test_switchgears_own_formats_print_the_redacted_traceback(
    captured: io.StringIO, formatter: logging.Formatter
) -> None:
    logging.getLogger().handlers[-1].setFormatter(formatter)
    undo = install_log_redaction(Redactor([KEY]))
    try:
        log_everything()
    finally:
        undo()
    text = captured.getvalue()
    assert "bad header value ***" in text and "Incorrect API key provided: ***" in text
    assert KEY not in text


def test_structured_lines_pass_untouched(captured: io.StringIO) -> None:
    seen: list[str] = []

    class Spy(Redactor):
        def __call__(self, text: str) -> str:
            seen.append(text)
            return super().__call__(text)

    undo = install_log_redaction(Spy([KEY]))
    try:
        entry = {"request_id": "req_1", "model": "fast"}
        logging.getLogger("switchgear.access").info("req_1 chat model=fast", extra={FIELDS: entry})
    finally:
        undo()
    assert "req_1 chat model=fast" in captured.getvalue()
    assert seen == []  # the access log costs no redaction


async def test_the_gateway_redacts_its_logs_from_start_up_to_shutdown(captured: io.StringIO) -> None:
    app = build_app(parse_settings(CONFIG, {}))
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if len(messages) == 1:  # between start-up and shutdown: the gateway is running
            log_everything()
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "Incorrect API key provided: ***" in captured.getvalue()
    assert KEY not in captured.getvalue()
