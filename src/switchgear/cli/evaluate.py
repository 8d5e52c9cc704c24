"""``switchgear eval guardrails``: measure the guardrails on labelled files (offline, one core).

PII: span-level precision, recall and F1 per entity type (whole text, and through the stream
redactor), the share of street addresses masked and the structured tier's throughput. Prompt
injection: ROC AUC and the true-positive rate at 1 % and 2 % false positives, pooled and split by
direct and indirect attacks. Files in the ``shared/data/guardrails`` schema (JSON Lines, gzip or
not). With ``--json``, one JSON object on stdout (no progress bar).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from switchgear.guardrails.evaluate import injection_scores, per_source, pii_report, read_jsonl

eval_app = typer.Typer(
    help="Measure switchgear's features on labelled data (offline).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@eval_app.command("guardrails")
def guardrails(
    pii: Annotated[Path, typer.Option("--pii", help="PII sentences with labelled spans (.jsonl[.gz])")],
    injection: Annotated[Path, typer.Option("--injection", help="attacks and benign prompts (.jsonl[.gz])")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Precision/recall/F1 per PII type, injection AUC and TPR at 1 %/2 % FPR, sentences/s."""
    for path in (pii, injection):
        if not path.is_file():
            raise typer.BadParameter(f"{path}: no such file")
    try:
        pii_rows, injection_rows = read_jsonl(pii), read_jsonl(injection)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read the data: {exc}") from None
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("guardrails", total=2 * len(pii_rows) + len(injection_rows))

        def advance(n: int) -> None:
            progress.advance(task, n)

        pii_part = pii_report(pii_rows, advance)
        injection_part = injection_scores(injection_rows, advance)
    types = {k: v for k, v in pii_part["whole"].items() if k != "STRUCTURED"}
    result: dict[str, Any] = {
        "pii": types,
        "injection": injection_part,
        "sentences_per_s": pii_part["sentences_per_s"],
    }
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    _print(Console(), pii_part, injection_part)
    table = Table(title="Prompt injection per source, at the shipped thresholds")
    for column in ("source", "label", "rows", "flagged"):
        table.add_column(column)
    for source, (label, rows, share) in per_source(injection_rows).items():
        table.add_row(source, label, str(rows), f"{share:.1%}")
    Console().print(table)


def _print(console: Console, pii: dict[str, Any], injection: dict[str, Any]) -> None:
    table = Table(title="PII (span found: >= 50 % of its characters masked as its type)")
    for column in ("type", "precision", "recall", "F1", "F1 streamed (32-char window)"):
        table.add_column(column)
    for kind, scores in pii["whole"].items():
        streamed = pii["stream"].get(kind, {}).get("f1", "")
        table.add_row(kind, *(f"{scores[k]:.4f}" for k in ("precision", "recall", "f1")), f"{streamed}")
    console.print(table)
    masked, streamed_masked = pii["addresses_masked"], pii["addresses_masked_stream"]
    console.print(f"street addresses masked: {masked:.1%} (streamed {streamed_masked:.1%})")
    structured, every = pii["sentences_per_s"], pii["sentences_per_s_all_types"]
    console.print(f"structured tier {structured:,} sentences/s; every type {every:,}/s")
    table = Table(title="Prompt injection")
    for column in ("set", "AUC", "TPR @ 1 % FPR", "TPR @ 2 % FPR"):
        table.add_column(column)
    for name, block in (
        ("pooled", injection),
        ("direct", injection["direct"]),
        ("indirect", injection["indirect"]),
    ):
        table.add_row(name, *(f"{block[k]:.4f}" for k in ("auc", "tpr_at_1pct_fpr", "tpr_at_2pct_fpr")))
    console.print(table)
