"""The admin UI's cookie attributes and CSRF comparison."""

from __future__ import annotations

from switchgear.server.ui_session import cookie, csrf_matches


def test_csrf_tokens_compare_exactly() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", None) and not csrf_matches("abc", "") and not csrf_matches("abc", "abd")
    assert not csrf_matches("", "")  # no expected token: nothing matches


def test_cookie_attributes() -> None:
    plain = cookie("sg_session", "v", secure=False, max_age=60)
    assert plain == "sg_session=v; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60"
    assert cookie("sg_session", "", secure=True, max_age=0).endswith("Max-Age=0; Secure")
