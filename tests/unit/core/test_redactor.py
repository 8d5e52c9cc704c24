"""The configured-secret redactor and URL masking: what a person or a client may be shown."""

from __future__ import annotations

import pytest

from switchgear.core.errors import UpstreamStatusError
from switchgear.core.redact import MASK, Redactor, mask_url, url_secrets

KEY = "pk-live-Zq81xLr02Vb7Nm3Kd9Tc"  # not key-shaped: only the configured value can catch it
SLASHED = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}",
        f"access denied for key={KEY} (revoked)",
        f"<html><body><p>The key {KEY} is not valid.</p></body></html>",
        f"{KEY}{KEY}",
        f"signature for {SLASHED} does not match",
        "url-encoded: wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYzEXAMPLEKEY",
    ],
)
def test_configured_secrets_are_masked_wherever_they_appear(text: str) -> None:
    redacted = Redactor([KEY, SLASHED])(text)
    assert KEY not in redacted and "Zq81xLr02" not in redacted
    assert "wJalrXUtnFEMI" not in redacted
    assert MASK in redacted


def test_a_message_cut_inside_a_secret_loses_the_secrets_start_too() -> None:
    redactor = Redactor([KEY])
    assert redactor("bad key " + KEY[:9]) == "bad key ***"
    assert redactor("bad key " + KEY[:6]) == "bad key ***"
    assert redactor("bad key " + KEY[:5]) == "bad key " + KEY[:5]  # too short to tell from any text


def test_the_longest_secret_wins_and_short_values_are_not_secrets() -> None:
    redactor = Redactor(["abcdefgh", "abcdefgh-ijkl", "none", "EMPTY", ""])
    assert redactor("x abcdefgh-ijkl y") == "x *** y"
    assert redactor("none of it is EMPTY") == "none of it is EMPTY"
    assert len(Redactor(["short"])) == 0


def test_the_key_patterns_still_apply() -> None:
    redactor = Redactor([KEY])
    assert redactor("Bearer abcdef123456.xyz") == "Bearer ***"
    assert redactor("Incorrect key provided: sk-proj-Ab12Cd34Ef56Gh78") == "Incorrect key provided: sk-***"
    assert Redactor()("GET /v1/models?key=AIzaSecret123&alt=json") == "GET /v1/models?key=***&alt=json"


def test_an_error_is_redacted_in_place_with_its_code_param_and_earlier_failures() -> None:
    exc = UpstreamStatusError(400, f"provider 'p': bad key {KEY}", provider="p", upstream_code=f"code-{KEY}")
    exc.param = KEY
    exc.metadata["previous_errors"] = [{"provider": "q", "message": f"no: {KEY}", "code": None}]
    assert Redactor([KEY]).error(exc) is exc
    assert exc.message == "provider 'p': bad key ***" and str(exc) == exc.message
    assert exc.code == "code-***" and exc.param == "***"
    assert exc.metadata["previous_errors"] == [{"provider": "q", "message": "no: ***", "code": None}]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:hunter2-pass@proxy.example:8443/v1", "https://alice:***@proxy.example:8443/v1"),
        ("https://ghp_tokenonly1234@git.example/v1", "https://***@git.example/v1"),
        (
            "https://x.example/v1?key=AIzaSecret&api-version=2024-10-21&sig=abc&X-Amz-Security-Token=t0k",
            "https://x.example/v1?key=***&api-version=2024-10-21&sig=***&X-Amz-Security-Token=***",
        ),
        (
            "https://x.example/v1?api_key=a&token=b&access_token=c&signature=d&secret=e&password=f&foo=g",
            "https://x.example/v1?api_key=***&token=***&access_token=***&signature=***&secret=***"
            "&password=***&foo=g",
        ),
        ("http://127.0.0.1:9999/v1", "http://127.0.0.1:9999/v1"),
        ("https://api.openai.com/v1?flag", "https://api.openai.com/v1?flag"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_url_secrets() -> None:
    url = "https://alice:p%40ss-word@proxy.example/v1?key=AIzaSecret&api-version=1&token="
    assert url_secrets(url) == ["p@ss-word", "AIzaSecret"]
    assert url_secrets("https://tok3n-only@host.example") == ["tok3n-only"]
    assert url_secrets("http://127.0.0.1:9999/v1") == []
