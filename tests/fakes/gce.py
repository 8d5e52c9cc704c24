"""Google's token endpoints on loopback: an OAuth token endpoint (a service account's ``token_uri``)
and a GCE metadata server (``GCE_METADATA_HOST`` / ``GCE_METADATA_IP``), in one small server.

Each access token handed out is ``ya29.adc-<n>``; ``forms`` keeps the OAuth requests' forms and
``paths`` every path asked for.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCOUNT = "gateway@acme-prod.iam.gserviceaccount.com"


class TokenServer:
    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.forms: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.issued = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._get(self)

            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                server.forms.append(dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())))
                server._answer(self, server._token())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_port}"
        self.url = f"http://{self.host}/token"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _token(self) -> dict[str, Any]:
        self.issued += 1
        return {
            "access_token": f"ya29.adc-{self.issued}",
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        self.paths.append(handler.path)
        if handler.headers.get("metadata-flavor") != "Google":
            self._answer(handler, {"error": "Missing Metadata-Flavor:Google header."}, status=403)
        elif path == "/":
            self._answer(handler, "ok")
        elif path == "/computeMetadata/v1/project/project-id":
            self._answer(handler, "acme-prod")
        elif path == "/computeMetadata/v1/instance/service-accounts/default/":
            self._answer(handler, {"email": ACCOUNT, "aliases": ["default"], "scopes": []})
        elif path == "/computeMetadata/v1/instance/service-accounts/default/token":
            self._answer(handler, self._token())
        else:
            self._answer(handler, {"error": "not found"}, status=404)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, body: Any, status: int = 200) -> None:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("metadata-flavor", "Google")
        kind = "application/text" if isinstance(body, str) else "application/json"
        handler.send_header("content-type", kind)
        handler.send_header("content-length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)


def service_account_file(tmp_path: Path, token_uri: str) -> str:
    """A service-account JSON file with a fresh key whose tokens come from ``token_uri``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "k1",
        "private_key": private,
        "client_email": ACCOUNT,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return str(path)
