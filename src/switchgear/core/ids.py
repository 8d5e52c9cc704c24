"""Identifiers: request ids and the validation of ids accepted from clients."""

from __future__ import annotations

import itertools
import os
import re

_CLIENT_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class _RequestIds:
    """A random per-process prefix (64 bits) and a counter: unique and cheap, not secret."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = "req_" + os.urandom(8).hex()
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):08x}"


_ids = _RequestIds()
os.register_at_fork(after_in_child=_ids.reset)  # forked workers never share a prefix


def new_request_id() -> str:
    return _ids.next()


def accept_client_id(raw: bytes | None) -> str | None:
    """Return a client-supplied request id if it is safe to echo and log, else None."""
    if raw and _CLIENT_ID.fullmatch(raw):
        return raw.decode("ascii")
    return None
