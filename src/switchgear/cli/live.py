"""``switchgear status`` and ``switchgear logs``: a running gateway seen from a terminal.

``status`` reads ``GET /metrics/summary`` (the metrics of every worker, summed) and prints it as
tables: totals, one row per requested model and deployment, errors by type, settle queues;
``--watch N`` redraws it every N seconds. ``logs`` reads the request log (``GET /admin/requests``,
governance on) and prints one line per request, oldest first; ``--follow`` keeps asking for newer
ones. Both take the gateway's URL (``--url``, ``SWITCHGEAR_URL``) and its master key (``--key``,
``SWITCHGEAR_MASTER_KEY``) when it needs one.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

DEFAULT_URL = "http://127.0.0.1:4000"
LOOK_BACK = timedelta(seconds=60)  # how far before the newest row seen ``logs --follow`` asks again
UrlOption = Annotated[
    str, typer.Option("--url", envvar="SWITCHGEAR_URL", help="The gateway's address", show_default=True)
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="SWITCHGEAR_MASTER_KEY",
        help="The master key (when the route needs it)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]


class GatewayUnreachable(Exception):
    """The gateway did not answer, or answered with an error (the message says which)."""


def fetch(url: str, path: str, key: str | None, query: dict[str, Any] | None = None) -> Any:
    """``GET url + path`` as JSON; raises GatewayUnreachable with the gateway's own error message."""
    address = url.rstrip("/") + path
    if query:
        address += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    if not address.startswith(("http://", "https://")):
        raise GatewayUnreachable(f"--url must be an http:// or https:// address, not {url!r}")
    request = urllib.request.Request(address, headers={"authorization": f"Bearer {key}"} if key else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - scheme checked above
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        message = _message(exc.read())
        if exc.code == 404 and path.startswith("/metrics"):
            message = "the gateway's metrics are off (observability.metrics.enabled: false)"
        raise GatewayUnreachable(f"{path}: HTTP {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GatewayUnreachable(f"cannot reach the gateway at {url}: {reason}") from None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cache_line(cache: dict[str, Any]) -> str:
    lookups = cache["lookups"]
    if not lookups:
        return "off or unused"
    counts = ", ".join(f"{result.lower()} {n:,}" for result, n in lookups.items())
    return f"{counts}; saved {cache['saved_usd']:.6f} USD"


def status_tables(summary: dict[str, Any], url: str) -> Group:
    """The summary as rich tables."""
    t = summary["totals"]
    requests, errors = t["requests"], t["errors"]
    share = f" ({errors / requests:.1%})" if requests else ""
    head = Table(title=f"switchgear at {url}", show_header=False, title_justify="left")
    head.add_column("what")
    head.add_column("value", justify="right")
    rejections = ", ".join(f"{k} {v}" for k, v in sorted(t["rejections"].items())) or "0"
    for name, value in (
        ("requests", f"{requests:,}"),
        ("errors", f"{errors:,}{share}"),
        ("in flight", f"{t['in_flight']:,}"),
        ("latency p50 / p95 / p99 ms", " / ".join(_number(t[k]) for k in ("p50_ms", "p95_ms", "p99_ms"))),
        ("time to first token p50 ms", _number(t["ttft_p50_ms"])),
        ("tokens in / out", f"{t['input_tokens']:,} / {t['output_tokens']:,}"),
        ("cost USD", f"{t['cost_usd']:.6f}"),
        ("fallbacks", f"{t['fallbacks']:,}"),
        ("cache", _cache_line(t["cache"])),
        ("rejections", rejections),
    ):
        head.add_row(name, value)
    models = Table(title="by model and deployment", title_justify="left")
    for column in ("model", "deployment", "requests", "errors", "p50 ms", "p95 ms", "TTFT p50 ms"):
        models.add_column(column, justify="left" if column in ("model", "deployment") else "right")
    for column in ("tokens in", "tokens out", "cost USD"):
        models.add_column(column, justify="right")
    for r in summary["models"]:
        models.add_row(
            r["model"] or "-",
            r["deployment"] or "-",
            f"{r['requests']:,}",
            f"{r['errors']:,}",
            _number(r["p50_ms"]),
            _number(r["p95_ms"]),
            _number(r["ttft_p50_ms"]),
            f"{r['input_tokens']:,}",
            f"{r['output_tokens']:,}",
            f"{r['cost_usd']:.6f}",
        )
    parts: list[Table] = [head, models]
    if summary["errors"]:
        failures = Table(title="errors by type", title_justify="left")
        for column in ("model", "provider", "error", "count"):
            failures.add_column(column, justify="right" if column == "count" else "left")
        for e in summary["errors"]:
            failures.add_row(e["model"] or "-", e["provider"] or "-", e["error_type"], f"{e['count']:,}")
        parts.append(failures)
    queues = Table(title="settle queues (this scrape)", title_justify="left")
    for column in ("consumer", "depth", "dropped", "failed"):
        queues.add_column(column, justify="left" if column == "consumer" else "right")
    for q in summary["settle_queues"]:
        queues.add_row(q["consumer"], f"{q['depth']:,}", f"{q['dropped']:,}", f"{q['failed']:,}")
    parts.append(queues)
    return Group(*parts)


def status(
    *,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    watch: Annotated[
        float | None, typer.Option("--watch", help="Redraw every this many seconds until Ctrl-C", min=0.1)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A running gateway's requests, errors, latency, tokens and cost, per model and deployment."""
    console = Console()
    try:
        summary = fetch(url, "/metrics/summary", key)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        if watch is None:
            console.print(status_tables(summary, url))
            return
        if not console.is_terminal:  # piped: one set of tables after another, no cursor movement
            while True:
                console.print(status_tables(summary, url))
                time.sleep(watch)
                summary = fetch(url, "/metrics/summary", key)
        with Live(status_tables(summary, url), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(watch)
                live.update(status_tables(fetch(url, "/metrics/summary", key), url), refresh=True)
    except GatewayUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        return


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def log_line(entry: dict[str, Any]) -> str:
    """One request of the log as a line: time, id, status, model, where it went, tokens, cost."""
    parts = [
        str(entry["created_at"]),
        entry["request_id"],
        str(entry["status"]),
        entry["api"],
        f"model={entry['model']}",
    ]
    if entry.get("deployment"):
        parts.append(f"deployment={entry.get('provider') or '?'}/{entry['deployment']}")
    if entry.get("error_type"):
        parts.append(f"error={entry['error_type']}")
    parts.append(f"attempts={entry['attempts']}")
    parts.append(f"tokens={entry['prompt_tokens']}/{entry['completion_tokens']}")
    nanousd = entry.get("cost_nanousd")
    if nanousd is not None:
        parts.append("cost=$" + (f"{nanousd / 1e9:.9f}".rstrip("0").rstrip(".") or "0"))
    parts.append(f"duration={entry['duration_ms']:.1f}ms")
    if entry.get("key_id"):
        parts.append(f"key={entry['key_id']}")
    return " ".join(parts)


def logs(
    *,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new requests")] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", help="How many recent requests first", min=0, max=1000)
    ] = 20,
    interval: Annotated[float, typer.Option(help="Seconds between two looks (--follow)", min=0.1)] = 1.0,
    model: Annotated[str | None, typer.Option(help="Only this requested model")] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="Only this virtual key's requests")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed requests")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The request log (governance on): the latest requests, oldest first; --follow for more."""
    filters: dict[str, Any] = {"model": model, "key_id": key_id, "failed": "true" if failed else None}
    seen: deque[str] = deque(maxlen=5000)  # ids printed lately (a page may overlap the last one)
    known: set[str] = set()

    def show(entries: list[dict[str, Any]]) -> None:
        for entry in reversed(entries):  # the log answers newest first
            rid = entry["request_id"]
            if rid in known:
                continue
            if len(seen) == seen.maxlen:
                known.discard(seen[0])
            seen.append(rid)
            known.add(rid)
            typer.echo(json.dumps(entry) if as_json else log_line(entry))

    try:
        first = fetch(url, "/admin/requests", key, {**filters, "limit": 1000 if follow else max(lines, 1)})[
            "data"
        ]
        known.update(
            entry["request_id"] for entry in first[lines:]
        )  # older: never printed, even if seen again
        show(first[:lines])
        newest = _parse_time(first[0]["created_at"]) if first else None
        while follow:
            time.sleep(interval)
            # a row is dated when its request arrived and written once it ended: look back a while
            since = (newest - LOOK_BACK).isoformat() if newest is not None else None
            page = fetch(url, "/admin/requests", key, {**filters, "limit": 1000, "start": since})["data"]
            show(page)
            if page:
                latest = _parse_time(page[0]["created_at"])
                newest = latest if newest is None else max(newest, latest)
    except GatewayUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        return
