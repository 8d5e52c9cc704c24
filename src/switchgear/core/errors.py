"""The one error tree of switchgear.

Every error the gateway can answer with is a ``GatewayError``. Each class knows its HTTP status,
its OpenAI error ``type`` and ``code`` and its Anthropic error type, so exactly one place (the
server's error encoder) turns any of them into a response body, in the client's wire format::

    GatewayError
    ├── ClientError                    the client must change the request (4xx)
    │   ├── InvalidRequest             400 invalid_request_error
    │   │   ├── InvalidJSON            400 body is not JSON / not an object
    │   │   └── ForbiddenParameter     400 a parameter the gateway refuses (URLs, credentials)
    │   ├── AuthenticationFailed       401 authentication_error / invalid_api_key
    │   ├── PermissionDenied           403 permission_error
    │   ├── NotFound                   404 not_found_error
    │   │   └── ModelNotFound          404 model_not_found
    │   ├── MethodNotAllowed           405
    │   ├── RequestTooLarge            413 request_too_large
    │   └── RateLimited                429 rate_limit_error (Retry-After)
    ├── LoopDetected                   508 loop_detected: the request came back through too many gateways
    └── UpstreamError                  the provider (or the way to it) failed
        ├── UpstreamStatusError        the provider answered an HTTP error, mapped by status
        ├── UpstreamUnreachable        502 connection refused, DNS failure, reset before answer
        ├── UpstreamTimeout            504 connect, first byte, chunk gap or total deadline
        ├── UpstreamProtocolError      502 the provider answered something that is not its wire format
        ├── NoDeploymentAvailable      503 every candidate deployment failed or none is usable
        └── ShuttingDown               503 the gateway stopped before the answer was complete
"""

from __future__ import annotations

from collections.abc import Sequence


class GatewayError(Exception):
    """Base of every error switchgear answers with."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None
    anthropic_type: str = "api_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers: tuple[tuple[str, str], ...] = tuple(headers)
        self.metadata: dict[str, object] = {}
        self.request_id: str | None = None  # the gateway's id of the request that failed, once known


class ClientError(GatewayError):
    status = 400
    type = "invalid_request_error"
    anthropic_type = "invalid_request_error"


class InvalidRequest(ClientError):
    pass


class InvalidJSON(InvalidRequest):
    code = "invalid_json"


class ForbiddenParameter(InvalidRequest):
    code = "forbidden_parameter"


class AuthenticationFailed(ClientError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"
    anthropic_type = "authentication_error"


class PermissionDenied(ClientError):
    status = 403
    type = "permission_error"
    anthropic_type = "permission_error"


class NotFound(ClientError):
    status = 404
    type = "not_found_error"
    anthropic_type = "not_found_error"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(ClientError):
    status = 405
    code = "method_not_allowed"


class RequestTooLarge(ClientError):
    status = 413
    code = "request_too_large"
    anthropic_type = "request_too_large"


class RateLimited(ClientError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"
    anthropic_type = "rate_limit_error"
    retryable = True


class LoopDetected(GatewayError):
    """A request that already passed through ``server.max_hops`` gateways (a provider's base_url
    leads back to a gateway): refused before anything is sent upstream."""

    status = 508
    type = "server_error"
    code = "loop_detected"
    anthropic_type = "api_error"


class UpstreamError(GatewayError):
    """The provider, or the network path to it, failed. ``provider`` names it."""

    status = 502
    type = "server_error"
    code: str | None = "upstream_error"
    anthropic_type = "api_error"
    retryable = True

    def __init__(self, message: str, *, provider: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.provider = provider


class AnswerRejected(UpstreamError):
    """A stage refused an upstream's whole answer and asks for another one: from the next candidate
    (another deployment, a fallback model) or, when none is left, from the same deployment again.
    The answer was paid for: the engine bills it with the request. Not a deployment failure."""

    code = "answer_rejected"
    upstream_status = 200


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "timeout"
    anthropic_type = "timeout_error"


class UpstreamProtocolError(UpstreamError):
    code = "upstream_protocol_error"


class NoDeploymentAvailable(UpstreamError):
    status = 503
    code = "no_deployment_available"
    anthropic_type = "overloaded_error"
    retryable = False


class ShuttingDown(UpstreamError):
    """The gateway's drain deadline passed while this answer was still open. An UpstreamError so
    that stream relays encode it in-band like any failure after the first byte."""

    status = 503
    code = "server_shutting_down"
    anthropic_type = "overloaded_error"


# upstream HTTP status -> (client status, OpenAI type, code, Anthropic type, retry/fail over?)
_UPSTREAM_STATUS: dict[int, tuple[int, str, str | None, str, bool]] = {
    400: (400, "invalid_request_error", None, "invalid_request_error", False),
    401: (401, "authentication_error", "invalid_api_key", "authentication_error", False),
    402: (402, "insufficient_quota", "insufficient_quota", "billing_error", True),
    403: (403, "permission_error", None, "permission_error", True),
    404: (404, "not_found_error", "model_not_found", "not_found_error", True),
    408: (504, "server_error", "timeout", "timeout_error", True),
    409: (409, "invalid_request_error", "conflict", "invalid_request_error", True),
    413: (413, "invalid_request_error", "request_too_large", "request_too_large", False),
    422: (400, "invalid_request_error", None, "invalid_request_error", False),
    429: (429, "rate_limit_error", "rate_limit_exceeded", "rate_limit_error", True),
    503: (503, "server_error", "overloaded", "overloaded_error", True),
    504: (504, "server_error", "timeout", "timeout_error", True),
    508: (508, "server_error", "loop_detected", "api_error", True),  # a gateway further on saw a loop
    529: (503, "server_error", "overloaded", "overloaded_error", True),
}


class UpstreamStatusError(UpstreamError):
    """The provider answered with an HTTP error status; mapped per the normalization table."""

    def __init__(
        self,
        upstream_status: int,
        message: str,
        *,
        provider: str,
        upstream_type: str | None = None,
        upstream_code: str | None = None,
        param: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        mapped = _UPSTREAM_STATUS.get(upstream_status)
        if mapped is None:
            if upstream_status >= 500:
                mapped = (502, "server_error", "upstream_error", "api_error", True)
            else:
                mapped = (upstream_status, "invalid_request_error", None, "invalid_request_error", False)
        status, type_, code, anthropic_type, retryable = mapped
        if upstream_status == 508:
            message += "; Loop Detected: the request came back to a switchgear gateway (check base_url)"
        headers = [("retry-after", retry_after)] if retry_after else []
        super().__init__(message, provider=provider, param=param, status=status, headers=headers)
        self.type = type_
        # A specific upstream code (e.g. context_length_exceeded) is more useful than the class default.
        self.code = upstream_code if upstream_code and upstream_status < 500 else code
        self.anthropic_type = anthropic_type
        self.retryable = retryable
        self.upstream_status = upstream_status
        self.upstream_type = upstream_type
        self.retry_after = retry_after
        self.metadata = {"error_type": self.code or self.type, "provider_code": upstream_status}


def openai_error(exc: GatewayError) -> dict[str, object]:
    """The OpenAI-shaped error object (``{"error": {...}}``), with routing metadata when known."""
    error: dict[str, object] = {
        "message": exc.message,
        "type": exc.type,
        "param": exc.param,
        "code": exc.code,
    }
    if isinstance(exc, UpstreamError) or exc.metadata:
        metadata = dict(exc.metadata)
        metadata.setdefault("error_type", exc.code or exc.type)
        if isinstance(exc, UpstreamError) and exc.provider:
            metadata["provider"] = exc.provider
        error["metadata"] = metadata
    return {"error": error}
