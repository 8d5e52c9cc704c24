"""The admin UI's session cookies and CSRF tokens: signed, bound to the master key, expiring, never
accepted forged or altered; the cookie's attributes."""

from __future__ import annotations

from switchgear.server.ui_session import Sessions, cookie, csrf_matches


def test_a_session_reads_back_and_carries_its_csrf_token() -> None:
    sessions = Sessions("sk-master-1", seconds=60)
    value, session = sessions.issue("key_123", now=1000)
    read = sessions.read(value, now=1030)
    assert read == session and read.label == "key_123" and read.expires == 1060
    assert csrf_matches(session.csrf, read.csrf)
    other, _ = sessions.issue("key_123", now=1000)
    assert sessions.read(other, now=1030).csrf != session.csrf  # type: ignore[union-attr]


def test_expired_forged_or_altered_sessions_are_refused() -> None:
    sessions = Sessions("sk-master-1", seconds=60)
    value, _ = sessions.issue("master", now=1000)
    assert sessions.read(value, now=1060) is None  # expired
    assert Sessions("sk-master-2").read(value, now=1001) is None  # another master key
    body, mac = value.split(".")
    forged, _ = Sessions("sk-master-2", seconds=60).issue("master", now=1000)
    assert sessions.read(forged.split(".")[0] + "." + mac, now=1001) is None
    assert sessions.read(body + "." + mac[:-2] + "AA", now=1001) is None
    for junk in (None, "", "a.b.c", "x" * 5000, "nodot", body + "."):
        assert sessions.read(junk, now=1001) is None


def test_csrf_tokens_compare_exactly() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", None) and not csrf_matches("abc", "") and not csrf_matches("abc", "abd")


def test_cookie_attributes() -> None:
    plain = cookie("sg_session", "v", secure=False, max_age=60)
    assert plain == "sg_session=v; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60"
    assert cookie("sg_session", "", secure=True, max_age=0).endswith("Max-Age=0; Secure")
