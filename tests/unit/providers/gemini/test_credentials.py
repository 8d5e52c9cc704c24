"""GoogleTokens against a real local token endpoint (a service account's token_uri): from the
provider's credentials_file, and from Application Default Credentials."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from switchgear.core.errors import UpstreamError
from switchgear.providers.gemini.credentials import SCOPE, GoogleTokens

CLIENT_EMAIL = "gateway@acme-prod.iam.gserviceaccount.com"


@dataclass
class TokenEndpoint:
    url: str
    expires_in: int = 3600
    status: int = 200
    delay: float = 0.0
    forms: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def key_pem() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    state = TokenEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            state.forms.append(form)
            if state.delay:
                threading.Event().wait(state.delay)
            if state.status == 200:
                n = len(state.forms)
                body = {
                    "access_token": f"ya29.minted-{n}",
                    "expires_in": state.expires_in,
                    "token_type": "Bearer",
                }
            else:
                body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            raw = json.dumps(body).encode()
            self.send_response(state.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/token"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def account_file(tmp_path: Path, private_pem: str, token_uri: str) -> str:
    info = {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "k1",
        "private_key": private_pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return str(path)


async def test_token_is_minted_once_and_cached(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint
) -> None:
    tokens = GoogleTokens(account_file(tmp_path, key_pem[0], endpoint.url), provider="vx")
    assert await tokens.token() == "ya29.minted-1"
    assert await tokens.token() == "ya29.minted-1"
    assert len(endpoint.forms) == 1
    form = endpoint.forms[0]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    # Signed with the file's key; google-auth keeps Google's audience whatever the token_uri.
    claims = jwt.decode(form["assertion"], certs=key_pem[1], audience="https://oauth2.googleapis.com/token")  # type: ignore[no-untyped-call]
    assert (claims["iss"], claims["scope"]) == (CLIENT_EMAIL, SCOPE)


async def test_concurrent_callers_share_one_refresh(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint
) -> None:
    endpoint.delay = 0.2
    tokens = GoogleTokens(account_file(tmp_path, key_pem[0], endpoint.url))
    results = await asyncio.gather(*(tokens.token() for _ in range(8)))
    assert results == ["ya29.minted-1"] * 8
    assert len(endpoint.forms) == 1


async def test_token_is_refreshed_five_minutes_before_expiry(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint
) -> None:
    endpoint.expires_in = 301  # one second of use left before the 5-minute margin
    tokens = GoogleTokens(account_file(tmp_path, key_pem[0], endpoint.url))
    assert await tokens.token() == "ya29.minted-1"
    assert await tokens.token() == "ya29.minted-1"
    await asyncio.sleep(1.1)
    endpoint.expires_in = 299  # already inside the margin: used once, never reused
    assert await tokens.token() == "ya29.minted-2"
    assert await tokens.token() == "ya29.minted-3"
    assert len(endpoint.forms) == 3


async def test_refused_grant_is_an_upstream_error(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint
) -> None:
    endpoint.status = 400
    path = account_file(tmp_path, key_pem[0], endpoint.url)
    tokens = GoogleTokens(path, provider="vx")
    with pytest.raises(UpstreamError) as info:
        await tokens.token()
    assert info.value.code == "provider_credentials"
    assert info.value.provider == "vx"
    assert "invalid_grant" in info.value.message
    assert "PRIVATE KEY" not in info.value.message


@pytest.mark.parametrize("content", [None, "{not json", '{"type": "service_account"}'])
async def test_unreadable_file_is_an_upstream_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "sa.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    tokens = GoogleTokens(str(path), provider="vx")
    with pytest.raises(UpstreamError) as info:
        await tokens.token()
    assert info.value.code == "provider_credentials"
    assert str(path) in info.value.message


async def test_slow_token_endpoint_times_out(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint
) -> None:
    endpoint.delay = 1.0
    tokens = GoogleTokens(account_file(tmp_path, key_pem[0], endpoint.url), provider="vx", timeout=0.2)
    with pytest.raises(UpstreamError) as info:
        await tokens.token()
    assert info.value.code == "timeout"
    assert "took over 0.2s" in info.value.message


# --- Application Default Credentials ------------------------------------------------------------


async def test_adc_from_google_application_credentials(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = account_file(tmp_path, key_pem[0], endpoint.url)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
    tokens = GoogleTokens(provider="vx")  # no credentials_file: ADC
    assert tokens.describe() == f"ADC: service account file {path} (GOOGLE_APPLICATION_CREDENTIALS)"
    assert await tokens() == "ya29.minted-1"
    assert endpoint.forms[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def test_adc_from_the_gcloud_file(
    tmp_path: Path, key_pem: tuple[str, bytes], endpoint: TokenEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    adc = gcloud / "application_default_credentials.json"
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))  # where gcloud keeps it (~/.config/gcloud)
    # What `gcloud auth application-default login` writes: google-auth always refreshes such user
    # credentials at Google's own token endpoint, so only where they come from is checked here.
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "764086051850-test.apps.googleusercontent.com",
                "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
                "refresh_token": "1//refresh-canary",
                "quota_project_id": "acme-prod",
            }
        )
    )
    assert GoogleTokens(provider="vx").describe() == f"ADC: gcloud user credentials {adc}"
    # A service account in the same place (as `gcloud auth application-default` can also hold):
    adc.write_text(Path(account_file(tmp_path, key_pem[0], endpoint.url)).read_text())
    tokens = GoogleTokens(provider="vx")
    assert tokens.describe() == f"ADC: service account file {adc}"
    await tokens.start()
    assert await tokens() == "ya29.minted-1"
    assert len(endpoint.forms) == 1  # minted at start-up, then cached


async def test_no_adc_is_a_clear_upstream_error() -> None:
    tokens = GoogleTokens(provider="vx")
    with pytest.raises(UpstreamError) as info:
        await tokens()
    assert info.value.code == "provider_credentials"
    assert info.value.message.startswith(
        "provider 'vx': no Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, "
        "the gcloud ADC file"
    )
    assert tokens.describe().startswith("ADC: none found")
