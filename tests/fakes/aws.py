"""AWS credential endpoints on loopback, as botocore's credential chain reaches them, and a simulated
Bedrock that accepts exactly the credentials they issued.

``CredentialEndpoints`` is one small HTTP server (a thread) playing every endpoint that hands out
temporary credentials: the container credentials endpoint (``GET /container``, as
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` names it), the instance metadata service (IMDSv2: ``PUT
/latest/api/token``, then ``/latest/meta-data/iam/security-credentials/[role]``), STS
``AssumeRoleWithWebIdentity`` (``POST /``, as ``AWS_ENDPOINT_URL_STS`` points it) and the SSO
portal's ``GetRoleCredentials`` (``GET /federation/credentials``, as ``AWS_ENDPOINT_URL_SSO``).
Every issue is a new key pair, ``lifetime`` seconds long, recorded in ``issued`` (key id -> secret),
which is the very dict the simulated Bedrock (``BedrockSimulator``) checks signatures against.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiohttp import web

from switchgear.simulator.bedrock_request import BEDROCK_CREDENTIALS
from switchgear.simulator.recording import RecordedRequest
from switchgear.simulator.server import STATE_KEY, create_app

ROLE = "gateway-role"
IMDS_TOKEN = "imds-session-token-1"


@dataclass
class Issue:
    source: str
    access_key: str
    secret_key: str
    token: str
    expires: datetime


@dataclass
class CredentialEndpoints:
    issued: dict[str, str] = field(default_factory=dict)  # key id -> secret, for the simulator
    issues: list[Issue] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], str]] = field(default_factory=list)  # method, path...
    lifetime: float = 3600.0  # of the credentials issued next
    status: int = 200  # of the answers given next
    delay: float = 0.0  # before each answer
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, source: str) -> Issue:
        with self._lock:
            n = len(self.issues) + 1
            issue = Issue(
                source,
                f"ASIA{source.upper()}{n:04d}",
                f"secret-{source}-{n}",
                f"token-{source}-{n}",
                datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=self.lifetime),
            )
            self.issues.append(issue)
            self.issued[issue.access_key] = issue.secret_key
        return issue

    def start(self) -> CredentialEndpoints:
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoints._serve(self, "GET")

            def do_PUT(self) -> None:
                endpoints._serve(self, "PUT")

            def do_POST(self) -> None:
                endpoints._serve(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        self.requests.append((method, handler.path, headers, body))
        if self.delay:
            threading.Event().wait(self.delay)
        path = urllib.parse.urlsplit(handler.path).path
        if self.status != 200:
            self._answer(handler, self.status, "application/json", b'{"message": "unavailable"}')
        elif method == "PUT" and path == "/latest/api/token":
            self._answer(handler, 200, "text/plain", IMDS_TOKEN.encode())
        elif path == "/latest/meta-data/iam/security-credentials/":
            self._answer(handler, 200, "text/plain", ROLE.encode())
        elif path == f"/latest/meta-data/iam/security-credentials/{ROLE}":
            self._answer(handler, 200, "application/json", self._json(self.issue("imds"), Code="Success"))
        elif path == "/container":
            self._answer(handler, 200, "application/json", self._json(self.issue("container")))
        elif method == "POST" and "AssumeRoleWithWebIdentity" in body:
            self._answer(handler, 200, "text/xml", self._sts(self.issue("sts")))
        elif path == "/federation/credentials":
            issue = self.issue("sso")
            credentials = {
                "accessKeyId": issue.access_key,
                "secretAccessKey": issue.secret_key,
                "sessionToken": issue.token,
                "expiration": int(issue.expires.timestamp() * 1000),
            }
            self._answer(
                handler, 200, "application/json", json.dumps({"roleCredentials": credentials}).encode()
            )
        else:
            self._answer(handler, 404, "text/plain", b"not found")

    @staticmethod
    def _json(issue: Issue, **extra: str) -> bytes:
        return json.dumps(
            {
                **extra,
                "AccessKeyId": issue.access_key,
                "SecretAccessKey": issue.secret_key,
                "Token": issue.token,
                "Expiration": issue.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ).encode()

    @staticmethod
    def _sts(issue: Issue) -> bytes:
        expires = issue.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<AssumeRoleWithWebIdentityResult><Credentials>"
            f"<AccessKeyId>{issue.access_key}</AccessKeyId><SecretAccessKey>{issue.secret_key}"
            f"</SecretAccessKey><SessionToken>{issue.token}</SessionToken><Expiration>{expires}"
            "</Expiration></Credentials><SubjectFromWebIdentityToken>system:serviceaccount:llm:gateway"
            "</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>arn:aws:sts::123456789012:"
            "assumed-role/bedrock/gw</Arn><AssumedRoleId>AROA1:gw</AssumedRoleId></AssumedRoleUser>"
            "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
            "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>"
        ).encode()

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, kind: str, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("content-type", kind)
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


class BedrockSimulator:
    """The simulated providers in a thread, Bedrock accepting only ``credentials`` (shared, live)."""

    def __init__(self, credentials: dict[str, str]) -> None:
        self._credentials = credentials
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._app: web.Application | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""

    def start(self) -> BedrockSimulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = create_app()
        app[BEDROCK_CREDENTIALS] = self._credentials
        self._app = app
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        assert self._app is not None
        return list(self._app[STATE_KEY].records)

    def signed_with(self) -> list[str]:
        """The access key id of each request received, in order."""
        return [r.headers["authorization"].split("Credential=")[1].split("/")[0] for r in self.requests]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
