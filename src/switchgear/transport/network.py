"""How the gateway reaches an upstream origin: directly or through a proxy, and with which TLS.

A ``Network`` is one way out, built once at start-up from the settings: the proxy of https:// and
of http:// origins (a provider's own ``proxy``, else ``upstream.https_proxy`` / ``http_proxy``
except for the hosts of ``no_proxy``) and the TLS context of https:// origins (trusted CAs, a client
certificate, or no verification). ``Network.endpoint(origin)`` is the pool key of an origin reached
that way: one ``Endpoint`` object per network and origin, hashed by identity, so a tunnel is reused
only for the origin it was opened to and never by a provider with other TLS settings.

Proxy credentials live only in the ``Proxy-Authorization`` value; every label that can reach a log
or an error message shows them as ``***``.
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from switchgear.config.model import TlsSettings, UpstreamSettings

Origin = tuple[str, str, int]  # scheme, host (lower-case, IPv6 without brackets), port


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy; ``scheme`` https means TLS to the proxy itself."""

    scheme: str
    host: str
    port: int
    authorization: str | None = field(repr=False)  # the Proxy-Authorization value
    label: str  # the proxy's URL with its credentials masked: http://***@proxy:3128


def parse_proxy(url: str) -> Proxy:
    """A proxy from a URL already checked by the settings (``http(s)://[user:pass@]host[:port]``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise ValueError("a proxy URL is http(s)://[user:password@]host[:port]")
    port = parts.port or (443 if scheme == "https" else 80)
    authorization = None
    masked = ""
    if "@" in parts.netloc:
        user, _, password = parts.netloc.rsplit("@", 1)[0].partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
        authorization = f"Basic {token}"
        masked = "***@"
    return Proxy(scheme, host, port, authorization, f"{scheme}://{masked}{_hostport(host, port)}")


class NoProxy:
    """``NO_PROXY``: the hosts reached directly, read as curl, requests and httpx read it.

    Comma-separated entries: ``*`` (every host); a domain (``example.com``, ``.example.com`` or
    ``*.example.com``: the domain and every host under it); an IP address or a CIDR block (matched
    against IP-literal hosts); each optionally with ``:port`` to match that port only. Names are not
    resolved: a host matches as it is written in the provider's URL.
    """

    __slots__ = ("_all", "_domains", "_networks")

    def __init__(self, spec: str) -> None:
        self._all = False
        self._domains: list[tuple[str, int | None]] = []
        self._networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]] = []
        for raw in spec.replace(" ", ",").split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                self._all = True
                continue
            host, port = _split_port(entry)
            try:
                self._networks.append((ipaddress.ip_network(host, strict=False), port))
                continue
            except ValueError:
                pass
            domain = host.removeprefix("*").lstrip(".")
            if domain:
                self._domains.append((domain, port))

    def matches(self, host: str, port: int) -> bool:
        if self._all:
            return True
        host = host.lower().rstrip(".")
        for domain, only in self._domains:
            if (only is None or only == port) and (host == domain or host.endswith("." + domain)):
                return True
        if self._networks:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                return False
            for network, only in self._networks:
                if (only is None or only == port) and address in network:
                    return True
        return False


class Endpoint:
    """One origin reached one way: the pool's key (hashed by identity) and what dialling needs."""

    __slots__ = ("absolute", "host", "label", "port", "proxy", "proxy_tls", "scheme", "tls", "tunnel")

    def __init__(
        self,
        origin: Origin,
        tls: ssl.SSLContext | None,
        proxy: Proxy | None,
        proxy_tls: ssl.SSLContext | None,
    ) -> None:
        self.scheme, self.host, self.port = origin
        self.tls = tls  # the origin's TLS (None: plain http)
        self.proxy = proxy
        self.proxy_tls = proxy_tls  # TLS to an https:// proxy
        self.tunnel = proxy is not None and tls is not None  # CONNECT, then TLS to the origin inside
        self.absolute = proxy is not None and tls is None  # absolute-form requests to the proxy
        where = _hostport(self.host, self.port)
        self.label = where if proxy is None else f"{where} through proxy {proxy.label}"  # for messages

    def __repr__(self) -> str:
        return f"<Endpoint {self.scheme}://{self.label}>"


class Network:
    """A way out: the proxies by scheme (with ``no_proxy`` exceptions) and the TLS context."""

    __slots__ = ("_endpoints", "http_proxy", "https_proxy", "no_proxy", "proxy_tls", "tls", "verify")

    def __init__(
        self,
        tls: ssl.SSLContext,
        *,
        https_proxy: Proxy | None = None,
        http_proxy: Proxy | None = None,
        no_proxy: NoProxy | None = None,
        proxy_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.tls = tls
        self.verify = tls.verify_mode != ssl.CERT_NONE
        self.https_proxy = https_proxy
        self.http_proxy = http_proxy
        self.no_proxy = no_proxy
        self.proxy_tls = proxy_tls or tls
        self._endpoints: dict[Origin, Endpoint] = {}

    def endpoint(self, origin: Origin) -> Endpoint:
        """The pool key of ``origin`` (made on first use, then the same object every time)."""
        found = self._endpoints.get(origin)
        if found is None:
            scheme, host, port = origin
            proxy = self.https_proxy if scheme == "https" else self.http_proxy
            if proxy is not None and self.no_proxy is not None and self.no_proxy.matches(host, port):
                proxy = None
            proxy_tls = self.proxy_tls if proxy is not None and proxy.scheme == "https" else None
            found = Endpoint(origin, self.tls if scheme == "https" else None, proxy, proxy_tls)
            self._endpoints[origin] = found
        return found

    def describe(self) -> str:
        """The proxies in use, credentials masked (for the start-up log)."""
        https, http = self.https_proxy, self.http_proxy
        if https is None and http is None:
            return "direct"
        if https == http:
            text = f"through proxy {https.label}" if https is not None else "direct"
        else:
            parts = [f"{s} through proxy {p.label}" for s, p in (("https", https), ("http", http)) if p]
            text = ", ".join(parts)
        return text + (" (no_proxy applies)" if self.no_proxy is not None else "")


class Networks:
    """Each provider's ``Network`` from the settings, built once at start-up; equal settings share
    one network (so one set of pooled connections) and one TLS context.

    Problems (an unreadable CA file, a key that does not match its certificate) are ValueErrors
    whose message names the setting, without any secret."""

    def __init__(self, upstream: UpstreamSettings) -> None:
        self._upstream = upstream
        self._contexts: dict[TlsSettings | None, ssl.SSLContext] = {}
        self._networks: dict[tuple[str | None, TlsSettings | None], Network] = {}
        self._no_proxy = NoProxy(upstream.no_proxy) if upstream.no_proxy else None
        self._https = _proxy_of(upstream.https_proxy, "https_proxy")
        self._http = _proxy_of(upstream.http_proxy, "http_proxy")
        try:
            self._context(None)
        except ValueError as exc:
            raise ValueError(f"ca_file: {exc} (upstream.ca_file defaults to SSL_CERT_FILE)") from None
        self.default = self.network(None, None)

    def network(self, proxy: SecretStr | None, tls: TlsSettings | None) -> Network:
        """The network of a provider with these ``proxy`` and ``tls`` settings (None: the defaults).
        A problem is a ValueError whose message starts with the key: "tls: ..." or "proxy: ..."."""
        url = proxy.get_secret_value() if proxy is not None else None
        key = (url, tls)
        found = self._networks.get(key)
        if found is not None:
            return found
        try:
            context = self._context(tls)
        except ValueError as exc:
            raise ValueError(f"tls: {exc}") from None
        if url is None:  # the gateway's proxies, with the no_proxy exceptions
            found = Network(
                context, https_proxy=self._https, http_proxy=self._http, no_proxy=self._no_proxy,
                proxy_tls=self._context(None),
            )  # fmt: skip
        elif url == "none":
            found = Network(context)
        else:
            own = _proxy_of(proxy, "proxy")
            found = Network(context, https_proxy=own, http_proxy=own, proxy_tls=self._context(None))
        self._networks[key] = found
        return found

    def _context(self, tls: TlsSettings | None) -> ssl.SSLContext:
        found = self._contexts.get(tls)
        if found is None:
            found = self._contexts[tls] = tls_context(tls, self._upstream.ca_file)
        return found


def tls_context(tls: TlsSettings | None, ca_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context: the trusted CAs (``tls.ca_file``, else ``ca_file``, else the system's),
    a client certificate, or no verification at all."""
    tls = tls or TlsSettings()
    cafile = tls.ca_file or ca_file
    try:
        context = ssl.create_default_context(cafile=cafile)
    except OSError as exc:
        if isinstance(exc, ssl.SSLError):
            raise ValueError(f"ca_file {cafile!r} holds no PEM certificate ({_reason(exc)})") from None
        raise ValueError(f"cannot read ca_file {cafile!r}: {exc.strerror or exc}") from None
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        password = tls.key_password.get_secret_value() if tls.key_password else ""  # never a prompt
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file, password)
        except ssl.SSLError as exc:
            raise ValueError(_cert_problem(exc, tls)) from None
        except OSError as exc:
            raise ValueError(
                f"cannot read cert_file {tls.cert_file!r} or key_file {tls.key_file!r}: {exc.strerror or exc}"
            ) from None
    return context


def _cert_problem(exc: ssl.SSLError, tls: TlsSettings) -> str:
    reason = _reason(exc)
    if "KEY_VALUES_MISMATCH" in reason:
        return f"key_file {tls.key_file!r} is not the key of cert_file {tls.cert_file!r}"
    if "BAD_DECRYPT" in reason or "bad decrypt" in str(exc) or _encrypted(tls.key_file or tls.cert_file):
        return "the client key is encrypted: key_password is missing or wrong"
    files = f"cert_file {tls.cert_file!r} / key_file {tls.key_file!r}"
    return f"{files}: not a PEM certificate and key ({reason})"


def _encrypted(path: str | None) -> bool:
    try:
        with open(path or "", "rb") as file:
            return b"ENCRYPTED" in file.read(1 << 20)
    except OSError:
        return False


def _reason(exc: ssl.SSLError) -> str:
    if exc.reason:
        return str(exc.reason)
    return str(exc.args[-1]) if exc.args else type(exc).__name__


def _proxy_of(url: SecretStr | None, key: str) -> Proxy | None:
    if url is None or url.get_secret_value() == "none":
        return None
    try:
        return parse_proxy(url.get_secret_value())
    except ValueError as exc:  # e.g. a port out of range; the message holds no credentials
        raise ValueError(f"{key}: {exc}") from None


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port`` / ``[v6]:port`` / ``[v6]`` / ``v6`` / ``host`` -> host and port (or None)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
