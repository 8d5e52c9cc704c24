"""The ``switchgear`` command (typer): ``serve``, ``config check``, ``simulate``, ``version``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from switchgear import __version__
from switchgear.config import ConfigError, ServerSettings, Settings, load_settings, parse_settings
from switchgear.core.redact import mask_url
from switchgear.engine.build import build_router
from switchgear.observability import configure_logging
from switchgear.providers import PROVIDER_SETTINGS, discover_from_env

app = typer.Typer(
    help="switchgear: a self-hosted LLM gateway. One OpenAI-compatible endpoint in front of every provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Work with configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML configuration file (default: discover providers from env)"),
]


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
            server = ServerSettings.model_validate({**settings.server.model_dump(), **given})
        except ValidationError as exc:
            raise ConfigError(f"invalid option: {exc.errors()[0]['msg']}") from None
        settings = settings.model_copy(update={"server": server})
    return settings, notes


def _summary(settings: Settings) -> list[str]:
    router = build_router(settings)
    lines = [f"providers ({len(router.providers)}):"]
    for provider in router.providers.values():
        key = "key set" if provider.api_key else "no key"
        where = mask_url(provider.base_url)  # no user:password@ nor ?key=... on a terminal or in a log
        lines.append(f"  {provider.name}: {provider.profile.title} at {where} ({key})")
    lines.append(f"models ({len(router.groups)}):")
    for name, group in router.groups.items():
        targets = ", ".join(d.label for d in group)
        lines.append(f"  {name} -> {targets}")
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
    from switchgear.server import serve as run_server

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
    server = settings.server
    where = f"http://{server.host}:{server.port}"
    typer.echo(
        f"switchgear {__version__} listening on {where} ({server.workers} worker(s))",
        err=True,
    )
    try:
        run_server(settings, log_level=log_level.lower())
    except OSError as exc:
        raise _fail(f"cannot listen on {server.host}:{server.port}: {exc.strerror}") from None


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="The YAML configuration file")]) -> None:
    """Validate a configuration file and print a summary (secrets are never printed)."""
    try:
        settings = load_settings(file, dict(os.environ), PROVIDER_SETTINGS)
        lines = _summary(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{file}: OK")
    typer.echo(
        f"server: http://{settings.server.host}:{settings.server.port}, "
        f"master key {'set' if settings.server.master_key else 'not set'}"
    )
    for line in lines:
        typer.echo(line)


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
    typer.echo(f"switchgear {__version__} (Python {sys.version.split()[0]})")


def main() -> None:
    app()
