"""The bottom layer: units, redaction, ids, usage counting, authentication and upstream status errors."""

from __future__ import annotations

import pytest

from switchgear.core.errors import AuthenticationFailed, UpstreamStatusError
from switchgear.core.ids import accept_client_id, new_request_id
from switchgear.core.redact import redact
from switchgear.core.units import parse_duration, parse_size
from switchgear.core.usage import MAX_PLAUSIBLE_TOKENS, Usage
from switchgear.engine.auth import ANONYMOUS, Authenticator

# --- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("50ms", 0.05),
        ("250ms", 0.25),
        ("0.5s", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        (" 2 h ", 7200.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize("text", ["10 parsecs", "30", "", "s", "-1s", "1d", "30S", "1e3s", "1h30m", "½h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*: use a number with a unit, e\.g\. '500ms'"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1B", 1),
        ("512KB", 512_000),
        ("20MB", 20_000_000),
        ("1GB", 10**9),
        ("512KiB", 524_288),
        ("1MiB", 1_048_576),
        ("2GiB", 2 * 1024**3),
        ("20mb", 20_000_000),
        ("1.5KB", 1500),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["20", "20 bananas", "MB", "-1MB", "1TB", ""])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid size .*: use a number with a unit"):
        parse_size(text)


# --- redaction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization failed for Bearer abcdef123456.xyz", "Authorization failed for Bearer ***"),
        ("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "bearer ***"),
        ("GET /v1/models?key=AIzaSecret123&alt=json", "GET /v1/models?key=***&alt=json"),
        (
            "https://x.example/a?foo=1&sig=zz9&api_key=abc123def",
            "https://x.example/a?foo=1&sig=***&api_key=***",
        ),
        ("url?access_token=tok-123456 rest", "url?access_token=*** rest"),
        ("Incorrect API key provided: sk-proj-Ab12Cd34Ef56Gh78", "Incorrect API key provided: sk-***"),
        ("key sk-ant-api03-AbCdEfGh12345678 is revoked", "key sk-*** is revoked"),
        ("groq key gsk_AbCdEfGh12345678", "groq key gsk-***"),
        ('{"api_key": "hunter2hunter2"}', '{"api_key": "***"}'),
        ("x-api-key: s3cr3t-value-42", "x-api-key: ***"),
    ],
)
def test_redact_masks_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_masks_a_bare_google_api_key() -> None:
    key = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
    assert key not in redact(f"API key not valid: {key}. Please pass a valid API key.")


def test_redact_masks_every_query_secret() -> None:
    text = redact("https://x.example/a?foo=1&api_key=abc123def&sig=zz9&token=t0k")
    assert text.startswith("https://x.example/a?foo=1&api_key=***")
    assert "abc123def" not in text and "zz9" not in text and "t0k" not in text


@pytest.mark.parametrize(
    "text",
    [
        "The model `gpt-4o` does not exist or you do not have access to it.",
        "This model's maximum context length is 128000 tokens.",
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.",
        "the task-runner skipped 3 items; see https://example.com/docs?page=2",
        "",
    ],
)
def test_redact_leaves_normal_text_unchanged(text: str) -> None:
    assert redact(text) == text


# --- ids ----------------------------------------------------------------------------------------


def test_request_ids_are_unique_and_shaped() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000
    assert all(i.startswith("req_") and len(i) == 4 + 16 + 8 for i in ids[:100])
    assert len({i[:20] for i in ids}) == 1  # one per-process prefix


@pytest.mark.parametrize("raw", [b"abc-123", b"req_01HF.x:y", b"a", b"x" * 128])
def test_client_ids_that_are_safe_to_echo(raw: bytes) -> None:
    assert accept_client_id(raw) == raw.decode()


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"x" * 129,
        b"abc\r\nx-injected: 1",
        b"abc\r\n",
        b"a b",
        b"abc\x00",
        "é".encode(),
        b"<script>",
        b"a/b",
        b"\tabc",
    ],
)
def test_client_ids_that_are_refused(raw: bytes | None) -> None:
    assert accept_client_id(raw) is None


def test_client_id_with_a_trailing_newline_is_refused() -> None:
    assert accept_client_id(b"abc\n") is None


# --- usage --------------------------------------------------------------------------------------


def test_usage_from_openai_reads_counts_and_details() -> None:
    usage = Usage.from_openai(
        {
            "prompt_tokens": 1310,
            "completion_tokens": 406,
            "total_tokens": 1716,
            "prompt_tokens_details": {"cached_tokens": 1152, "cache_write_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 320},
        }
    )
    assert usage == Usage(
        prompt_tokens=1310, completion_tokens=406, cached_tokens=1152, cache_write_tokens=64,
        reasoning_tokens=320, reported=True, suspicious=False,
    )  # fmt: skip
    assert usage.total_tokens == 1716


@pytest.mark.parametrize("raw", [None, [], "12", 12])
def test_usage_missing_is_not_reported(raw: object) -> None:
    assert Usage.from_openai(raw) == Usage()


def test_usage_with_null_details() -> None:
    usage = Usage.from_openai({"prompt_tokens": 3, "completion_tokens": 1, "prompt_tokens_details": None})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens, usage.suspicious) == (
        3,
        1,
        0,
        False,
    )


@pytest.mark.parametrize(
    ("raw", "prompt", "completion"),
    [
        ({"prompt_tokens": -5, "completion_tokens": 2}, 0, 2),
        ({"prompt_tokens": 10**12, "completion_tokens": 2}, MAX_PLAUSIBLE_TOKENS, 2),
        ({"prompt_tokens": True, "completion_tokens": 2}, 0, 2),
        ({"prompt_tokens": "12", "completion_tokens": 2}, 0, 2),
        ({"prompt_tokens": 12.5, "completion_tokens": 2}, 0, 2),
        ({"prompt_tokens": 4, "completion_tokens": [1]}, 4, 0),
    ],
)
def test_usage_suspicious_values_are_clamped_and_flagged(
    raw: dict[str, object], prompt: int, completion: int
) -> None:
    usage = Usage.from_openai(raw)
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion)
    assert usage.suspicious and usage.reported


def test_usage_suspicious_details() -> None:
    usage = Usage.from_openai(
        {
            "prompt_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": -1},
            "completion_tokens_details": {"reasoning_tokens": False},
        }
    )
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.suspicious) == (0, 0, True)


def test_usage_at_the_limit_is_not_suspicious() -> None:
    usage = Usage.from_openai({"prompt_tokens": MAX_PLAUSIBLE_TOKENS, "completion_tokens": 0})
    assert usage.prompt_tokens == MAX_PLAUSIBLE_TOKENS and not usage.suspicious


# --- authentication -----------------------------------------------------------------------------

MASTER = "sk-master-0123456789"


def test_no_master_key_lets_everyone_in_as_anonymous() -> None:
    auth = Authenticator(None)
    assert not auth.required
    assert auth.authenticate(None, None) is ANONYMOUS
    assert auth.authenticate(b"Bearer whatever", b"junk") is ANONYMOUS
    assert Authenticator("").authenticate(None, None) is ANONYMOUS


@pytest.mark.parametrize(
    ("authorization", "api_key"),
    [
        (b"Bearer " + MASTER.encode(), None),
        (b"bearer " + MASTER.encode(), None),
        (b"BEARER " + MASTER.encode(), None),
        (b"Bearer   " + MASTER.encode() + b"  ", None),
        (None, MASTER.encode()),
        (b"Basic dXNlcjpwYXNz", MASTER.encode()),
    ],
)
def test_master_key_is_accepted(authorization: bytes | None, api_key: bytes | None) -> None:
    auth = Authenticator(MASTER)
    assert auth.required
    principal = auth.authenticate(authorization, api_key)
    assert principal.is_admin and principal.key_id is None  # the master key is no virtual key


@pytest.mark.parametrize(
    ("authorization", "api_key", "message"),
    [
        (None, None, "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')"),
        (b"Bearer ", None, "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')"),
        (
            b"Basic " + MASTER.encode(),
            None,
            "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')",
        ),
        (b"Bearer sk-master-012345678", None, "invalid API key"),
        (b"Bearer " + MASTER.encode() + b"x", None, "invalid API key"),
        (None, MASTER.upper().encode(), "invalid API key"),
        (b"Bearer wrong", MASTER.encode(), "invalid API key"),  # the Authorization header is the one checked
        (
            MASTER.encode(),
            None,
            "missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>')",
        ),
    ],
)
def test_wrong_or_missing_key(authorization: bytes | None, api_key: bytes | None, message: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        Authenticator(MASTER).authenticate(authorization, api_key)
    error = caught.value
    assert error.message == message
    assert (error.status, error.type, error.code) == (401, "authentication_error", "invalid_api_key")
    assert MASTER not in error.message


# --- upstream status errors ---------------------------------------------------------------------


def test_upstream_status_error_keeps_a_specific_client_error_code() -> None:
    error = UpstreamStatusError(
        400,
        "too long",
        provider="p",
        upstream_code="context_length_exceeded",
        upstream_type="invalid_request_error",
        param="messages",
    )
    assert (error.status, error.code, error.param, error.provider) == (
        400, "context_length_exceeded", "messages", "p",
    )  # fmt: skip
    assert error.metadata == {"error_type": "context_length_exceeded", "provider_code": 400}


def test_upstream_status_error_ignores_the_code_of_a_server_error() -> None:
    error = UpstreamStatusError(503, "busy", provider="p", upstream_code="engine_overloaded_internal_7")
    assert (error.status, error.code, error.anthropic_type) == (503, "overloaded", "overloaded_error")
    assert error.metadata == {"error_type": "overloaded", "provider_code": 503}


@pytest.mark.parametrize(
    ("upstream", "status", "type_", "code", "retryable"),
    [
        (418, 418, "invalid_request_error", None, False),
        (451, 451, "invalid_request_error", None, False),
        (409, 409, "invalid_request_error", "conflict", True),
        (501, 502, "server_error", "upstream_error", True),
        (520, 502, "server_error", "upstream_error", True),
    ],
)
def test_upstream_statuses_outside_the_table(
    upstream: int, status: int, type_: str, code: str | None, retryable: bool
) -> None:
    error = UpstreamStatusError(upstream, "x", provider="p")
    assert (error.status, error.type, error.code, error.retryable) == (status, type_, code, retryable)
    assert error.upstream_status == upstream


def test_upstream_status_error_retry_after_becomes_a_header() -> None:
    error = UpstreamStatusError(429, "slow down", provider="p", retry_after="20")
    assert error.headers == (("retry-after", "20"),)
    assert error.retry_after == "20"
    assert UpstreamStatusError(429, "slow down", provider="p").headers == ()


def test_instances_do_not_share_mapped_attributes() -> None:
    first = UpstreamStatusError(401, "bad key", provider="a")
    second = UpstreamStatusError(500, "boom", provider="b")
    assert (first.status, first.type, first.retryable) == (401, "authentication_error", False)
    assert (second.status, second.type, second.retryable) == (502, "server_error", True)
    assert UpstreamStatusError.status == 502 and UpstreamStatusError.retryable  # class defaults untouched
