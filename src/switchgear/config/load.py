"""Loading settings: YAML (safe loader only), ``${ENV}`` interpolation, precise error messages.

``${NAME}`` is replaced by the environment variable (an unset variable is an error naming it and
the key); ``${NAME:-default}`` falls back to the default; ``$${`` is a literal ``${``. Errors carry
the key path (``providers.openai.api_key``) and never the value of a secret. The outbound proxy
and CA bundle default to the usual variables (``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``...).
A provider is validated as the settings model of its ``type`` from the table the caller passes
(``provider_types``: the provider registry's ``PROVIDER_SETTINGS``); a key of another type's
model is named as such.
Every problem of a file is reported at once: all unset variables, all invalid values, all broken
references.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from switchgear.config.model import PROVIDER_TYPES, ProviderSettings, Settings, proxy_url, reference_errors

ProviderTypes = Mapping[str, type[ProviderSettings]]  # provider ``type`` -> its settings model

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# ``${...}`` is not a valid plain scalar inside a YAML flow mapping ({a: ${X}}); it is swapped for
# an inert token before parsing and put back after, so both block and flow styles work.
_REFERENCE = re.compile(r"\$?\$\{[^}\n]*\}")
_TOKEN = re.compile(r"__switchgear_ref_(\d+)__")


_HEADING = "invalid configuration:"


class ConfigError(Exception):
    """The configuration is invalid; the message says where and how to fix it.

    ``partial`` is, where the file could be read, the settings made of only the providers that
    are valid on their own, so later checks (the provider registry) can report their problems in
    the same pass.
    """

    def __init__(self, message: str, partial: Settings | None = None) -> None:
        super().__init__(message)
        self.partial = partial

    @property
    def problems(self) -> list[str]:
        """One line per problem, each starting with its key path where there is one."""
        text = str(self).removeprefix(_HEADING)
        return [line.strip() for line in text.splitlines() if line.strip()]


def describe_problems(problems: list[str]) -> str:
    return _HEADING + "\n  " + "\n  ".join(problems)


def load_settings(
    path: str | Path, environ: Mapping[str, str], provider_types: ProviderTypes | None = None
) -> Settings:
    """Read, interpolate and validate a YAML configuration file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from exc
    references: list[str] = []

    def hide(match: re.Match[str]) -> str:
        references.append(match.group(0))
        return f"__switchgear_ref_{len(references) - 1}__"

    try:
        raw = yaml.safe_load(_REFERENCE.sub(hide, text))
    except yaml.YAMLError as exc:
        # PyYAML's own text quotes the offending line, which may hold a secret: say where, not what.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (server:, providers:, models:)")
    return parse_settings(_restore(raw, references), environ, provider_types)


def _restore(node: Any, references: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _restore(v, references) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore(v, references) for v in node]
    if isinstance(node, str) and "__switchgear_ref_" in node:
        return _TOKEN.sub(lambda m: references[int(m.group(1))], node)
    return node


def parse_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str], provider_types: ProviderTypes | None = None
) -> Settings:
    """Validate an already-parsed configuration tree; each provider as its type's settings model."""
    unset: dict[str, str] = {}
    tree = _network_defaults(_interpolate(dict(raw), "", environ, unset), environ)
    types = provider_types or {}
    try:
        settings = Settings.model_validate(tree, context={PROVIDER_TYPES: types})
    except ValidationError as exc:
        problems = list(unset.values())
        problems += [p for p in _describe(exc, tree, types) if p.split(":", 1)[0] not in unset]
        if not any(not error["loc"] for error in exc.errors()):
            # Field errors stop pydantic before the cross-reference check: run it on the raw tree.
            problems += _raw_reference_errors(tree)
        raise ConfigError(describe_problems(_unique(problems)), _partial(tree, types)) from None
    if unset:
        raise ConfigError(describe_problems(list(unset.values())), _partial(tree, types))
    return settings


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _raw_reference_errors(tree: Mapping[str, Any]) -> list[str]:
    providers = tree.get("providers")
    names = [str(n) for n in providers] if isinstance(providers, dict) else []
    models: list[tuple[str | None, list[str | None]]] = []
    raw_models = tree.get("models")
    for entry in raw_models if isinstance(raw_models, list) else []:
        model = entry if isinstance(entry, dict) else {}
        name = model.get("name")
        deployments = model.get("deployments")
        targets = [
            d.get("provider") if isinstance(d, dict) and isinstance(d.get("provider"), str) else None
            for d in (deployments if isinstance(deployments, list) else [])
        ]
        models.append((name if isinstance(name, str) else None, targets))
    return reference_errors(names, models)


def _partial(tree: Mapping[str, Any], types: ProviderTypes) -> Settings | None:
    """The settings of only the providers that are valid on their own (no models), or None."""
    providers = tree.get("providers")
    if not isinstance(providers, dict):
        return None
    valid = {}
    for name, conf in providers.items():
        try:
            one = Settings.model_validate({"providers": {name: conf}}, context={PROVIDER_TYPES: types})
        except ValidationError:
            continue
        valid[name] = one.providers[name]
    return Settings(providers=valid)


def _interpolate(node: Any, path: str, environ: Mapping[str, str], unset: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: _interpolate(v, f"{path}.{k}" if path else str(k), environ, unset) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_interpolate(v, f"{path}[{i}]", environ, unset) for i, v in enumerate(node)]
    if isinstance(node, str) and "$" in node:

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            value = environ.get(name)
            if value is None or (value == "" and default is not None):
                if default is not None:
                    return default
                unset.setdefault(path, f"{path}: environment variable {name} is not set")
                return ""
            return value

        return _VAR.sub(replace, node)
    return node


# upstream key -> the environment variables that set it when the configuration does not, in the
# order of precedence of the usual clients (curl, requests, httpx): the lower-case name first.
_NETWORK_ENV = {
    "https_proxy": ("https_proxy", "HTTPS_PROXY"),
    "http_proxy": ("http_proxy", "HTTP_PROXY"),
    "no_proxy": ("no_proxy", "NO_PROXY"),
    "ca_file": ("SSL_CERT_FILE",),
}


def _network_defaults(tree: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Fill ``upstream``'s proxy and CA settings from the environment where the file leaves them out."""
    found = {}
    for key, names in _NETWORK_ENV.items():
        for name in names:
            value = environ.get(name, "").strip()
            if value:
                found[key] = (name, value)
                break
    upstream = tree.get("upstream")
    if not found or not isinstance(upstream, dict | None):
        return tree
    upstream = dict(upstream or {})
    for key, (name, value) in found.items():
        if key in upstream:
            continue
        try:
            upstream[key] = proxy_url(value) if key in ("https_proxy", "http_proxy") else value
        except ValueError as exc:
            raise ConfigError(
                f"environment variable {name}: {exc} (set upstream.{key}: none to ignore it)"
            ) from None
    return {**tree, "upstream": upstream}


def _describe(exc: ValidationError, tree: Any, types: ProviderTypes) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = _path(error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown key{_suggest(error['loc'], tree, types)}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            lines.extend(f"{loc}: {line}" if loc else line for line in message.splitlines())
    return lines


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "json-")):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _suggest(loc: tuple[int | str, ...], tree: Any, types: ProviderTypes) -> str:
    """Name the allowed keys at the place of an unknown key (and the closest one, or the provider
    types that take it)."""
    model: Any = Settings
    node = tree  # the raw value at the same place, to find a provider's type
    skip_key = False
    for part in loc[:-1]:
        node = _child(node, part)
        if isinstance(part, int) or model is None:
            continue
        if skip_key:  # the key of a mapping such as providers.<name>
            skip_key = False
            if isinstance(model, type) and issubclass(model, ProviderSettings):
                model = _type_model(node, types) or model
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        skip_key = getattr(field.annotation, "__origin__", None) is dict
        model = _inner_model(field.annotation)
    fields = list(getattr(model, "model_fields", {}) or [])
    if not fields:
        return ""
    key = str(loc[-1])
    owners = [name for name, other in types.items() if key in other.model_fields]
    close = difflib.get_close_matches(key, fields, n=1)
    if owners and isinstance(model, type) and issubclass(model, ProviderSettings):
        hint = f" ({key} is a key of type {_either(owners)}, not of {_type_of(node)!r})"
    elif close:
        hint = f" (did you mean {close[0]!r}?)"
    else:
        hint = ""
    return f"{hint}; allowed: {', '.join(fields)}"


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _type_of(node: Any) -> str | None:
    kind = node.get("type") if isinstance(node, dict) else None
    return kind if isinstance(kind, str) else None


def _type_model(node: Any, types: ProviderTypes) -> type[ProviderSettings] | None:
    kind = _type_of(node)
    return types.get(kind) if kind is not None else None


def _either(names: list[str]) -> str:
    quoted = [repr(name) for name in sorted(names)]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
