"""Every secret value a configuration holds, gathered for the redactor (``core.redact.Redactor``).

The settings tree is walked as a whole, so a secret field added later is found without a change
here: every ``SecretStr`` (provider keys, header values, AWS keys and session tokens, the master
key, proxy URLs), and the credentials written into any URL (``user:password@``, secret-looking
query values), a proxy URL's password on its own too. The outbound proxy variables of the
environment are read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, SecretStr

from switchgear.core.redact import Redactor, url_secrets

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def secret_values(settings: BaseModel, environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets of ``settings`` (and of the proxy variables of ``environ``), in no set order."""
    found: list[str] = []
    _walk(settings, found)
    for name in PROXY_VARIABLES:
        value = (environ or {}).get(name)
        if value:
            found.extend(url_secrets(value))
    return found


def build_redactor(settings: BaseModel, environ: Mapping[str, str] | None = None) -> Redactor:
    """The one redactor of a running gateway: its configured secrets, then the key patterns."""
    return Redactor(secret_values(settings, environ))


def _walk(value: object, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        found.append(secret)
        if "://" in secret:  # a proxy URL: its password alone may be echoed too
            found.extend(url_secrets(secret))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), found)
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, found)
    elif isinstance(value, str) and "://" in value:
        found.extend(url_secrets(value))
