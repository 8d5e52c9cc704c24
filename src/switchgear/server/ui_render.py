"""Rendering the admin UI: the Jinja2 templates shipped in ``switchgear/ui`` (autoescaped: any text
from a request or an admin — a model name, a key name, a tag — is shown as text, never markup), the
bar charts drawn as inline SVG on the server (no script), and the headers every page carries (a
strict Content-Security-Policy: nothing but the gateway's own stylesheet; no script at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


_TOP = 14


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # under the bar (empty: none)
    title: str  # the tooltip: the exact value
    part: float = 0.0  # height of the bar's highlighted bottom part (e.g. the errors)


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: str  # the value at the top of the scale


def bar_chart(
    points: list[tuple[str, float, float]], fmt: str = "{:,.0f}", width: int = 640, height: int = 160
) -> Chart:
    """Bars for ``(label, value, part)`` points, scaled to the largest value; ``part`` (≤ value) is
    drawn as the bar's bottom part. About eight labels are shown, evenly spread."""
    plot = height - 20 - _TOP  # room for the labels under the axis and the scale above the bars
    peak = max((v for _, v, _ in points), default=0.0) or 1.0
    step = width / max(1, len(points))
    every = max(1, round(len(points) / 8))
    bars = []
    for i, (label, value, part) in enumerate(points):
        h = plot * value / peak
        bars.append(
            Bar(
                x=round(i * step + step * 0.1, 2),
                y=round(_TOP + plot - h, 2),
                width=round(step * 0.8, 2),
                height=round(h, 2),
                label=label if i % every == 0 else "",
                title=f"{label}: {fmt.format(value)}" + (f" ({fmt.format(part)} failed)" if part else ""),
                part=round(plot * min(part, value) / peak, 2),
            )
        )
    return Chart(width, height, bars, fmt.format(peak if any(v for _, v, _ in points) else 0))


def _usd(value: Decimal | float | None, places: int = 4) -> str:
    return "—" if value is None else f"${value:,.{places}f}"


def _compact(value: int) -> str:
    """1,722,848,571 → 1.72 B; below a million as it is, with separators."""
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M")):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:,}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _or_dash(value: Any) -> Any:
    return "—" if value is None or value == "" else value


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("switchgear.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(usd=_usd, ms=_ms, compact=_compact, when=_when, dash=_or_dash)
    return env


class Pages:
    def __init__(self) -> None:
        self._env = environment()

    def render(
        self, name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        html = self._env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
