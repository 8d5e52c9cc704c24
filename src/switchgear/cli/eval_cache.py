"""``switchgear eval cache --pairs FILE`` (in the ``eval`` group of ``cli.evaluate``): replay
labelled pairs through the semantic cache as configured (store ``a``, look up ``b``:
``cache.semantic.evaluate``) and print recall, false-hit rate and precision at each threshold;
``--json``: one object for the configured threshold."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from switchgear.config import ConfigError, Settings, load_settings
from switchgear.providers import PROVIDER_SETTINGS

if TYPE_CHECKING:
    from switchgear.cache.semantic.evaluate import Pair
    from switchgear.cache.semantic.lookup import SemanticLookup

GRID = [round(0.80 + 0.01 * i, 2) for i in range(20)]


def cache(
    pairs: Annotated[Path, typer.Option("--pairs", help="JSON Lines {a, b, duplicate} (.gz read as gzip)")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML configuration (cache.semantic)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object for the configured threshold")
    ] = False,
) -> None:
    """Hit rate, false-hit rate and precision of the semantic cache on labelled pairs."""
    try:
        from switchgear.cache.semantic.build import build_semantic
        from switchgear.cache.semantic.evaluate import read_pairs, summary
    except ImportError as exc:
        raise _fail(
            f"the semantic cache needs the semantic extra: pip install 'switchgear[semantic]' ({exc})"
        ) from None
    try:
        settings = load_settings(config, os.environ, PROVIDER_SETTINGS) if config is not None else Settings()
        if settings.cache.semantic.embedder != "builtin":
            raise _fail("eval cache measures the built-in embedder only (cache.semantic.embedder: builtin)")
        lookup = build_semantic(settings)
        rows = read_pairs(pairs)
    except (ConfigError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if not rows:
        raise _fail(f"{pairs}: no pairs")
    scores = asyncio.run(_score(lookup, rows, show=not as_json))
    lookup.embedder.close()
    threshold = lookup.default.threshold
    if as_json:
        typer.echo(orjson.dumps(summary(rows, scores, threshold)).decode())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{pairs.name}: {len(rows)} pairs, vetoes {'on' if settings.cache.semantic.vetoes else 'off'}"
    )
    for heading in ("threshold", "hit rate (recall)", "false-hit rate", "precision"):
        table.add_column(heading, justify="right")
    for value in sorted({*GRID, threshold}):
        line = summary(rows, scores, value)
        mark = " (configured)" if value == threshold else ""
        table.add_row(
            f"{value:.3f}{mark}",
            f"{line['recall']:.1%}",
            f"{line['false_hit_rate']:.2%}",
            f"{line['precision']:.1%}",
            style="bold" if mark else None,
        )
    Console().print(table)


async def _score(lookup: SemanticLookup, pairs: list[Pair], show: bool) -> list[float | None]:
    from rich.progress import Progress

    from switchgear.cache.semantic.evaluate import score_pairs

    with Progress(disable=not show, transient=True) as progress:
        task = progress.add_task("embedding and looking up", total=len(pairs))
        return await score_pairs(lookup, pairs, lambda done: progress.advance(task, done))


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)
