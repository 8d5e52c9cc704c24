"""The ``switchgear`` command (typer): ``serve``, ``config check``, ``db``, ``keys``, ``spend``,
``status``, ``logs``, ``replay``, ``simulate``, ``eval`` (``guardrails``, ``router``), ``version``.

Exit statuses: 0 success (for ``serve``: stopped and drained cleanly), 1 a failure while running,
2 a usage or configuration error, 3 the server failed to start, 4 ``serve`` stopped but its drain
cut requests at ``server.drain_timeout``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from switchgear import __version__
from switchgear.cli.db import db_app
from switchgear.cli.eval_cache import cache as eval_cache
from switchgear.cli.eval_router import router as eval_router
from switchgear.cli.evaluate import eval_app
from switchgear.cli.keys import keys_app, spend
from switchgear.cli.live import logs, status
from switchgear.cli.replay import replay_command
from switchgear.config import ConfigError, ServerSettings, Settings, load_settings, parse_settings
from switchgear.core.redact import mask_url
from switchgear.engine.build import build_router
from switchgear.observability import configure_logging
from switchgear.observability.tracing import tracing_problem
from switchgear.providers import PROVIDER_SETTINGS, describe_credentials, discover_from_env
from switchgear.routing.tiering.setup import tiering_stages

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    help="switchgear: a self-hosted LLM gateway. One OpenAI-compatible endpoint in front of every provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
)
config_app = typer.Typer(
    help="Work with configuration files.", no_args_is_help=True, context_settings=HELP_OPTIONS
)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
eval_app.command("cache")(eval_cache)
app.add_typer(eval_app, name="eval")
eval_app.command("router")(eval_router)
app.command("spend")(spend)
app.command("status")(status)
app.command("logs")(logs)
app.command("replay")(replay_command)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML configuration file (default: discover providers from env)"),
]


def _version_line() -> str:
    return f"switchgear {__version__} (Python {sys.version.split()[0]})"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(_version_line())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """switchgear: a self-hosted LLM gateway. One OpenAI-compatible endpoint in front of every provider."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _settings(config: Path | None, overrides: dict[str, object]) -> tuple[Settings, list[str]]:
    environ = dict(os.environ)
    notes: list[str] = []
    if config is not None:
        settings = load_settings(config, environ, PROVIDER_SETTINGS)
    else:
        providers, notes = discover_from_env(environ)
        settings = parse_settings({"providers": providers}, environ, PROVIDER_SETTINGS)
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        try:
            checked = ServerSettings.model_validate(given)
        except ValidationError as exc:
            raise ConfigError(f"invalid option: {exc.errors()[0]['msg']}") from None
        server = settings.server.model_copy(update={name: getattr(checked, name) for name in given})
        settings = settings.model_copy(update={"server": server})
    return settings, notes


def _summary(settings: Settings) -> list[str]:
    problem = tracing_problem(settings.observability.tracing)
    if problem is not None:
        raise ConfigError(problem)
    router = build_router(settings)
    tiering_stages(settings, router)  # loads each tiered model's classifier: a bad file fails here
    lines = [f"providers ({len(router.providers)}):"]
    for provider in router.providers.values():
        where = mask_url(provider.base_url)  # no user:password@ nor ?key=... on a terminal or in a log
        credentials = describe_credentials(provider)  # where they come from, never the secret
        lines.append(f"  {provider.name}: {provider.profile.title} at {where} ({credentials})")
    lines.append(f"models ({len(router.groups)}):")
    for name, pool in router.pools.items():
        targets = ", ".join(d.label for d in pool.deployments) or "tiered"
        how = f" ({pool.routing})" if len(pool.deployments) > 1 else ""
        then = f"; then {', '.join(pool.fallbacks)}" if pool.fallbacks else ""
        lines.append(f"  {name} -> {targets}{how}{then}")
    lines.append("any configured provider's model is also reachable as '<provider>/<model>'")
    return lines


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 4000)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes sharing the port (default 1)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run the gateway."""
    from switchgear.server.exposure import assess
    from switchgear.server.run import RefusedToStart
    from switchgear.server.run import serve as run_server

    try:
        settings, notes = _settings(config, {"host": host, "port": port, "workers": workers})
        lines = _summary(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    configure_logging(log_level, settings.server.log_format)
    for note in notes:
        typer.echo(f"discovered {note}", err=True)
    if config is None and not settings.providers:
        typer.echo(
            "no providers: set a provider key (e.g. OPENAI_API_KEY) or pass --config FILE "
            "(try examples/demo.yaml with `switchgear simulate`)",
            err=True,
        )
    for line in lines:
        typer.echo(line, err=True)
    exposure = assess(settings)
    for warning in exposure.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if exposure.errors:
        raise _fail("\n".join(exposure.errors))
    server = settings.server

    def announce(url: str) -> None:
        typer.echo(f"switchgear {__version__} listening on {url} ({server.workers} worker(s))", err=True)

    try:
        status = run_server(settings, log_level=log_level.lower(), announce=announce)
    except RefusedToStart as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot listen on {server.host}:{server.port}: {exc.strerror}") from None
    raise typer.Exit(code=status)


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="The YAML configuration file")]) -> None:
    """Validate a configuration file and print a summary (secrets are never printed).

    Every problem of the file is reported in one pass."""
    from switchgear.server.exposure import assess

    try:
        settings = load_settings(file, dict(os.environ), PROVIDER_SETTINGS)
    except ConfigError as exc:
        problems = exc.problems
        if exc.partial is not None:
            problems += _registry_problems(exc.partial)
        raise _fail(_problems_text(problems)) from None
    try:
        lines = _summary(settings)
    except ConfigError as exc:
        raise _fail(_problems_text(exc.problems)) from None
    exposure = assess(settings)
    if exposure.errors:
        raise _fail(_problems_text(exposure.errors))
    typer.echo(f"{file}: OK")
    for warning in exposure.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not settings.providers and not settings.models:
        typer.echo(
            f"warning: {file} is empty: no providers and no models, so the gateway would have nothing "
            "to serve (see examples/demo.yaml)",
            err=True,
        )
    typer.echo(
        f"server: http://{settings.server.host}:{settings.server.port}, "
        f"master key {'set' if settings.server.master_key else 'not set'}"
    )
    for line in lines:
        typer.echo(line)


def _registry_problems(partial: Settings) -> list[str]:
    """What the provider registry finds wrong with the providers that passed validation."""
    try:
        build_router(partial)
    except ConfigError as exc:
        return exc.problems
    return []


def _problems_text(problems: list[str]) -> str:
    return "invalid configuration:\n  " + "\n  ".join(problems)


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 9999,
) -> None:
    """Run the simulated providers (OpenAI wire format) for trying switchgear without keys."""
    from switchgear.simulator.server import run

    run(host, port)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(_version_line())


def main() -> None:
    app()
