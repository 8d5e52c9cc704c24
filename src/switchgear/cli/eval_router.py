"""``switchgear eval router``: a tiering policy replayed on labelled prompts, no model called
(registered on ``cli.evaluate.eval_app``).

Prints (with a progress bar) APGR, CPT(50/80/95 %), the strong-call share and cost at 95 % of
the strong model's quality, beside the random and oracle routers on the same rows, a table of
the cost-quality curve, and writes the curve as a PNG. ``--json`` prints one JSON object instead:
``{"rows", "apgr", "cpt50", "cpt80", "cpt95", "strong_share_at_95"}`` (shares as fractions).
Exit status 2 on unreadable data or a bad option.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from switchgear.routing.tiering import metrics
from switchgear.routing.tiering import model as model_file
from switchgear.routing.tiering.evaluate import (
    POLICIES,
    EvalError,
    Result,
    evaluate,
    random_figures,
    read_rows,
    scores,
)
from switchgear.routing.tiering.png import curve_png

FIGURES = (
    ("apgr", "APGR"),
    ("cpt50", "CPT(50%)"),
    ("cpt80", "CPT(80%)"),
    ("cpt95", "CPT(95%)"),
    ("strong_share_at_95", "strong calls at 95% quality"),
)


def router(
    *,
    data: Annotated[
        Path, typer.Option("--data", help="labelled prompts (.jsonl.gz, shared/data/routing schema)")
    ],
    policy: Annotated[str, typer.Option(help="classifier | rules | cascade")] = "classifier",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout, nothing else")] = False,
    png: Annotated[
        Path | None, typer.Option(help="where to write the curve (default: ./<data name>.<policy>.png)")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="another classifier file (default: the shipped one)")
    ] = None,
    then: Annotated[
        str, typer.Option(help="cascade: what orders the rows it does not escalate (rules | classifier)")
    ] = "rules",
    price_ratio: Annotated[
        float, typer.Option(help="strong price / weak price, for the relative cost at 95 %")
    ] = 20.0,
) -> None:
    """Replay labelled prompts through a tiering policy and report RouteLLM's figures."""
    if policy not in POLICIES or then not in ("rules", "classifier"):
        typer.echo(f"error: --policy is one of {', '.join(POLICIES)}; --then rules or classifier", err=True)
        raise typer.Exit(2)
    try:
        rows = read_rows(data)
        classifier = model_file.load(model)
        console = Console(stderr=True)
        made: list[float] = []
        with Progress(console=console, transient=True, disable=as_json) as progress:
            task = progress.add_task(f"scoring ({policy})", total=len(rows))
            for value in scores(rows, policy, classifier, then):
                made.append(value)
                progress.advance(task)
    except (EvalError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = evaluate(rows, made)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
        return
    out = png or Path(data.name.split(".")[0] + f".{policy}.png")  # in the working directory
    c = result.curve
    try:
        curve_png(
            out,
            shares=c.shares,
            quality=c.quality,
            oracle=result.oracle.quality,
            weak=c.weak,
            strong=c.strong,
        )
    except OSError as exc:
        typer.echo(f"error: cannot write the curve to {out}: {exc}", err=True)
        raise typer.Exit(2) from None
    _print(Console(), result, policy, price_ratio, out)


def _print(console: Console, result: Result, policy: str, price_ratio: float, out: Path) -> None:
    oracle = metrics.summary(result.oracle)
    rand = random_figures(result)
    c = result.curve
    table = Table(title=f"{policy} on {result.rows} rows (weak {c.weak:.3f}, strong {c.strong:.3f})")
    table.add_column("figure")
    for name in (policy, "random", "oracle"):
        table.add_column(name, justify="right")
    for key, label in FIGURES:
        cells = [result.figures[key], rand[key], oracle[key]]
        table.add_row(label, *(f"{v:.3f}" if key == "apgr" else f"{v:.1%}" for v in cells))
    share = result.figures["strong_share_at_95"]
    cost = (share * price_ratio + (1 - share)) / price_ratio
    table.add_row("cost at 95% vs all-strong", f"{cost:.1%}", "", "")
    console.print(table)
    curve = Table(title="cost-quality curve")
    for column in ("strong calls", "quality", "PGR"):
        curve.add_column(column, justify="right")
    pgr = c.pgr()
    n = len(c.shares) - 1
    for tenth in range(11):
        k = round(n * tenth / 10)
        curve.add_row(f"{c.shares[k]:.0%}", f"{c.quality[k]:.3f}", f"{pgr[k]:.3f}")
    console.print(curve)
    console.print(
        f"curve written to {out} (blue: {policy}, grey: random, green: oracle, red: 95 % of strong)"
    )
