"""Settings parsing and loading: unknown keys, interpolation, units, references and secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydantic
import pytest

from switchgear.config import ConfigError, Settings, load_settings, parse_settings

CANARY = "sk-canary-5e1f0a9d77c4"
PROVIDER = {"type": "openai", "api_key": "k-1234567890"}


def error_of(raw: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, environ or {})
    return str(caught.value)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "switchgear.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- unknown keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            {"sever": {}},
            "sever: unknown key (did you mean 'server'?); "
            "allowed: server, upstream, providers, models, storage, governance, cache, routing, "
            "observability, stages, guardrails",
        ),
        (
            {"server": {"prot": 8080}},
            "server.prot: unknown key (did you mean 'port'?); "
            "allowed: host, port, master_key, allow_unauthenticated, max_body_size, max_header_size, "
            "header_timeout, max_connections, workers, drain_timeout, stream_keepalive, log_format, "
            "access_log, settle, max_hops, cors, ui_secure_cookies",
        ),
        (
            {"upstream": {"timeouts": {"frist_byte": "1s"}}},
            "upstream.timeouts.frist_byte: unknown key (did you mean 'first_byte'?); "
            "allowed: connect, first_byte, chunk_gap, total",
        ),
        (
            {"providers": {"main": {**PROVIDER, "api_kye": "x"}}},
            "providers.main.api_kye: unknown key (did you mean 'api_key'?); "
            "allowed: type, base_url, api_key, headers, timeouts, proxy, tls",
        ),
        (
            {"providers": {"main": {**PROVIDER, "timeouts": {"conect": "1s"}}}},
            "providers.main.timeouts.conect: unknown key (did you mean 'connect'?); "
            "allowed: connect, first_byte, chunk_gap, total",
        ),
        (
            {
                "providers": {"main": PROVIDER},
                "models": [
                    {"name": "a", "deployments": [{"provider": "main", "model": "m"}]},
                    {
                        "name": "b",
                        "deployments": [
                            {"provider": "main", "model": "m"},
                            {"provider": "main", "model": "n", "wieght": 2},
                        ],
                    },
                ],
            },
            "models[1].deployments[1].wieght: unknown key (did you mean 'weight'?); "
            "allowed: provider, model, weight, pricing, rpm, tpm, timeouts",
        ),
    ],
)
def test_unknown_key_names_its_path_and_the_closest_allowed_key(raw: dict[str, Any], line: str) -> None:
    assert error_of(raw) == "invalid configuration:\n  " + line


def test_unknown_key_without_a_close_match_lists_the_allowed_keys_only() -> None:
    message = error_of({"server": {"zzzzzz": 1}})
    assert message.endswith(
        "server.zzzzzz: unknown key; allowed: host, port, master_key, allow_unauthenticated, max_body_size, "
        "max_header_size, header_timeout, max_connections, workers, drain_timeout, stream_keepalive, "
        "log_format, access_log, settle, max_hops, cors, ui_secure_cookies"
    )


def test_every_error_is_reported_at_once() -> None:
    message = error_of({"sever": {}, "server": {"prot": 1}})
    assert "sever: unknown key" in message and "server.prot: unknown key" in message


def test_values_variables_and_references_are_reported_in_one_pass() -> None:
    raw = {
        "server": {"port": "eighty", "max_body_size": 20},
        "providers": {"p": {**PROVIDER, "base_url": "${UNSET_URL}"}, "q": {"type": "openai", "api_kye": "x"}},
        "models": [
            {"name": "m", "deployments": [{"provider": "nope", "model": "a"}]},
            {"name": "m", "deployments": [{"provider": "p", "model": "${UNSET_MODEL}"}]},
            {"name": "n", "deployments": [{"provider": "also-nope", "model": "a", "weight": -1}]},
        ],
    }
    lines = error_of(raw).splitlines()
    assert lines[0] == "invalid configuration:"
    expected = [
        "providers.p.base_url: environment variable UNSET_URL is not set",
        "models[1].deployments[0].model: environment variable UNSET_MODEL is not set",
        "server.port: Input should be a valid integer",
        "server.max_body_size: a size needs a unit",
        "providers.q.api_kye: unknown key",
        "models[2].deployments[0].weight: Input should be greater than or equal to 0",
        "models[0].deployments[0].provider: unknown provider 'nope' (providers: p, q)",
        "models[1].name: model 'm' is defined twice",
        "models[2].deployments[0].provider: unknown provider 'also-nope'",
    ]
    for line in expected:
        assert any(found.strip().startswith(line) for found in lines), (line, lines)
    # an unset variable is reported once, not again as the invalid value it left behind
    assert sum("providers.p.base_url" in found for found in lines) == 1


def test_reference_errors_alone_are_all_reported() -> None:
    raw = {
        "providers": {"p": PROVIDER},
        "models": [
            {"name": "a", "deployments": [{"provider": "x", "model": "m"}, {"provider": "y", "model": "m"}]},
            {"name": "a", "deployments": [{"provider": "p", "model": "m"}]},
        ],
    }
    assert error_of(raw) == (
        "invalid configuration:\n"
        "  models[0].deployments[0].provider: unknown provider 'x' (providers: p)\n"
        "  models[0].deployments[1].provider: unknown provider 'y' (providers: p)\n"
        "  models[1].name: model 'a' is defined twice"
    )


# --- interpolation ------------------------------------------------------------------------------


def test_variable_is_interpolated_from_the_given_environment() -> None:
    settings = parse_settings(
        {
            "server": {"host": "${HOST}", "port": "${PORT}"},
            "providers": {"p": {"type": "openai", "api_key": "${KEY}"}},
        },
        {"HOST": "0.0.0.0", "PORT": "8081", "KEY": "sk-from-env-123"},
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 8081
    key = settings.providers["p"].api_key
    assert key is not None and key.get_secret_value() == "sk-from-env-123"


def test_variable_inside_a_longer_string_and_inside_lists() -> None:
    settings = parse_settings(
        {
            "providers": {"p": {"type": "openai", "api_key": "k", "base_url": "https://${HOST}:${PORT}/v1"}},
            "models": [{"name": "m", "deployments": [{"provider": "p", "model": "${MODEL}"}]}],
        },
        {"HOST": "llm.internal", "PORT": "8443", "MODEL": "gpt-4o-mini"},
    )
    assert settings.providers["p"].base_url == "https://llm.internal:8443/v1"
    assert settings.models[0].deployments[0].model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${H:-127.0.0.2}", {}, "127.0.0.2"),
        ("${H:-127.0.0.2}", {"H": ""}, "127.0.0.2"),  # like the shell's :- an empty value takes the default
        ("${H:-127.0.0.2}", {"H": "10.0.0.1"}, "10.0.0.1"),
        ("${H}", {"H": ""}, ""),
        ("$${H}", {"H": "10.0.0.1"}, "${H}"),
        ("a$${H}b${H}", {"H": "x"}, "a${H}bx"),
        ("price $5", {}, "price $5"),
    ],
)
def test_defaults_and_the_dollar_escape(text: str, environ: dict[str, str], expected: str) -> None:
    assert parse_settings({"server": {"host": text}}, environ).server.host == expected


def test_unset_variable_names_the_variable_and_the_key_path() -> None:
    raw = {
        "providers": {"p": PROVIDER},
        "models": [{"name": "m", "deployments": [{"provider": "p", "model": "${DEPLOYED_MODEL}"}]}],
    }
    assert error_of(raw) == (
        "invalid configuration:\n"
        "  models[0].deployments[0].model: environment variable DEPLOYED_MODEL is not set"
    )
    assert error_of({"providers": {"openai": {"type": "openai", "api_key": "${OPENAI_API_KEY}"}}}) == (
        "invalid configuration:\n  providers.openai.api_key: environment variable OPENAI_API_KEY is not set"
    )


def test_interpolation_does_not_touch_the_callers_tree() -> None:
    raw: dict[str, Any] = {"server": {"host": "${H}"}}
    parse_settings(raw, {"H": "10.0.0.1"})
    assert raw == {"server": {"host": "${H}"}}


# --- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1.5s", 1.5)]
)
def test_durations(text: str, seconds: float) -> None:
    settings = parse_settings({"upstream": {"timeouts": {"connect": text}}}, {})
    assert settings.upstream.timeouts.connect == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "10 parsecs",
            "server.drain_timeout: invalid duration '10 parsecs': use a number with a unit, "
            "e.g. '500ms', '30s', '5m', '1h'",
        ),
        ("30", "server.drain_timeout: invalid duration '30'"),
        ("0s", "server.drain_timeout: Input should be greater than 0"),
        (True, "server.drain_timeout: a duration is a string with a unit, e.g. '30s'"),
    ],
)
def test_bad_durations(value: object, message: str) -> None:
    assert message in error_of({"server": {"drain_timeout": value}})


@pytest.mark.parametrize(("text", "size"), [("20MB", 20_000_000), ("512KiB", 524_288), ("1GiB", 1 << 30)])
def test_sizes(text: str, size: int) -> None:
    assert parse_settings({"server": {"max_body_size": text}}, {}).server.max_body_size == size


@pytest.mark.parametrize("key", ["max_body_size", "max_header_size"])
@pytest.mark.parametrize("value", [20, 20.5, 20_000_000])
def test_a_bare_number_is_not_a_size(key: str, value: object) -> None:
    message = error_of({"server": {key: value}})
    assert f"server.{key}: a size needs a unit: write e.g. '20MB'" in message


def test_a_bare_number_is_a_duration_in_seconds() -> None:
    settings = parse_settings({"server": {"drain_timeout": 5, "header_timeout": 2.5}}, {})
    assert (settings.server.drain_timeout, settings.server.header_timeout) == (5.0, 2.5)


def test_bad_size() -> None:
    assert "server.max_body_size: invalid size '20 bananas'" in error_of(
        {"server": {"max_body_size": "20 bananas"}}
    )


# --- values and references ----------------------------------------------------------------------


def test_master_key_strength_is_left_to_the_start_up_check() -> None:
    # A weak key is refused or warned about by where the gateway listens (server.exposure).
    key = parse_settings({"server": {"master_key": "1234567"}}, {}).server.master_key
    assert key is not None and key.get_secret_value() == "1234567"
    assert parse_settings({"server": {"master_key": ""}}, {}).server.master_key is None


def test_redis_url_is_a_secret_redis_address() -> None:
    url = f"redis://:{CANARY}@127.0.0.1:6379/0"
    settings = parse_settings({"storage": {"redis_url": url}}, {})
    assert settings.storage.redis_url is not None and settings.storage.redis_url.get_secret_value() == url
    assert CANARY not in repr(settings) and CANARY not in str(settings.storage)
    assert parse_settings({"storage": {"redis_url": ""}}, {}).storage.redis_url is None
    assert "redis_url must start with redis://, rediss:// or unix://" in error_of(
        {"storage": {"redis_url": "http://127.0.0.1:6379"}}
    )


def test_deployment_naming_an_unknown_provider() -> None:
    raw = {
        "providers": {"main": PROVIDER, "backup": PROVIDER},
        "models": [
            {
                "name": "m",
                "deployments": [{"provider": "main", "model": "a"}, {"provider": "mian", "model": "a"}],
            }
        ],
    }
    assert error_of(raw) == (
        "invalid configuration:\n  models[0].deployments[1].provider: unknown provider 'mian' "
        "(providers: backup, main)"
    )


def test_deployment_when_no_provider_is_configured() -> None:
    raw = {"models": [{"name": "m", "deployments": [{"provider": "main", "model": "a"}]}]}
    assert "unknown provider 'main' (providers: none configured)" in error_of(raw)


def test_duplicate_model_names() -> None:
    deployments = [{"provider": "p", "model": "a"}]
    raw = {
        "providers": {"p": PROVIDER},
        "models": [
            {"name": "fast", "deployments": deployments},
            {"name": "slow", "deployments": deployments},
            {"name": "fast", "deployments": deployments},
        ],
    }
    assert error_of(raw) == "invalid configuration:\n  models[2].name: model 'fast' is defined twice"


def test_model_without_deployments() -> None:
    message = error_of({"models": [{"name": "m", "deployments": []}]})
    assert message.startswith("invalid configuration:\n  models[0].deployments: ")


@pytest.mark.parametrize("name", ["a/b", "-lead", "", "x" * 65, "sp ace"])
def test_bad_provider_names(name: str) -> None:
    assert error_of({"providers": {name: PROVIDER}}) == (
        f"invalid configuration:\n  providers: provider name {name!r} must be 1-64 letters, digits, "
        "'.', '_' or '-' (no '/')"
    )


@pytest.mark.parametrize("name", ["a", "azure-eu.2", "my_vllm", "x" * 64])
def test_good_provider_names(name: str) -> None:
    assert list(parse_settings({"providers": {name: PROVIDER}}, {}).providers) == [name]


@pytest.mark.parametrize("url", ["ftp://host/v1", "api.openai.com/v1", "https://", "http:// spaced"])
def test_base_url_must_be_http(url: str) -> None:
    message = error_of({"providers": {"p": {**PROVIDER, "base_url": url}}})
    assert message == (
        "invalid configuration:\n  providers.p.base_url: "
        f"base_url must be an http:// or https:// URL, got {url!r}"
    )


def test_base_url_trailing_slash_is_removed() -> None:
    settings = parse_settings({"providers": {"p": {**PROVIDER, "base_url": "http://10.0.0.5:8000/v1/"}}}, {})
    assert settings.providers["p"].base_url == "http://10.0.0.5:8000/v1"


def test_settings_are_frozen() -> None:
    settings = parse_settings({"providers": {"p": PROVIDER}}, {})
    with pytest.raises(pydantic.ValidationError):
        settings.server = settings.server
    with pytest.raises(pydantic.ValidationError):
        settings.server.port = 1
    with pytest.raises(pydantic.ValidationError):
        settings.providers["p"].api_key = None


# --- secrets ------------------------------------------------------------------------------------


def test_secrets_never_print() -> None:
    settings = parse_settings(
        {
            "server": {"master_key": CANARY + "-master"},
            "providers": {
                "p": {"type": "openai", "api_key": CANARY, "headers": {"x-org-token": CANARY + "-h"}}
            },
        },
        {},
    )
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.providers["p"])):
        assert CANARY not in text
    assert "**********" in repr(settings)


@pytest.mark.parametrize(
    "raw",
    [
        {"server": {"master_key": {"nested": CANARY}}},
        {"server": {"master_key": [CANARY]}},
        {"providers": {"p": {"type": "openai", "api_key": [CANARY]}}},
        {"providers": {"p": {"type": "openai", "api_key": {"nested": CANARY}}}},
        {"providers": {"p": {"type": "openai", "headers": {"authorization": [CANARY]}}}},
        {"providers": {"p": {"type": "openai", "api_key": CANARY, "typo": CANARY}}},
        {
            "providers": {"p": {"type": "openai", "api_key": CANARY}},
            "models": [{"name": "m", "deployments": [{"provider": "q", "model": "x"}]}],
        },
    ],
)
def test_config_errors_never_carry_a_secret(raw: dict[str, Any]) -> None:
    message = error_of(raw)
    assert CANARY not in message and CANARY[:7] not in message


def test_secret_from_the_environment_is_not_in_an_interpolation_error() -> None:
    message = error_of(
        {"providers": {"p": {"type": "openai", "api_key": "${KEY}", "base_url": "${URL}"}}}, {"KEY": CANARY}
    )
    assert message == "invalid configuration:\n  providers.p.base_url: environment variable URL is not set"


def test_yaml_syntax_error_does_not_print_the_secret_on_that_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"providers:\n  openai:\n    type: openai\n    api_key: {CANARY}: oops\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert "line 4" in str(caught.value)
    assert CANARY not in str(caught.value)


# --- files --------------------------------------------------------------------------------------


def test_load_settings_reads_yaml_and_interpolates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
server:
  port: 4100
  max_body_size: 512KiB
providers:
  openai:
    type: openai
    api_key: ${OPENAI_API_KEY}
models:
  - name: fast
    deployments:
      - provider: openai
        model: gpt-4o-mini
        weight: 3
""",
    )
    settings = load_settings(path, {"OPENAI_API_KEY": CANARY})
    assert settings.server.port == 4100
    assert settings.server.max_body_size == 524_288
    assert settings.models[0].deployments[0].weight == 3
    key = settings.providers["openai"].api_key
    assert key is not None and key.get_secret_value() == CANARY


def test_python_object_tags_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(
        tmp_path,
        f"server: !!python/object/apply:os.system ['touch {marker}']\n"
        "upstream: !!python/object:collections.OrderedDict {}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert str(caught.value).startswith(f"{path}: not valid YAML at line 1")
    assert "python/object" in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_empty_file_gives_defaults(tmp_path: Path, text: str) -> None:
    settings = load_settings(write(tmp_path, text), {})
    assert settings == Settings()
    assert settings.server.port == 4000
    assert settings.server.host == "127.0.0.1"
    assert settings.server.max_body_size == 20_000_000
    assert settings.upstream.timeouts.connect == 10.0
    assert settings.providers == {} and settings.models == []


@pytest.mark.parametrize("text", ["- server\n- models\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: the top level must be a mapping")):
        load_settings(path, {})


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert str(caught.value) == f"cannot read config file {str(path)!r}: No such file or directory"


def test_governance_follows_the_master_key() -> None:
    assert not parse_settings({}, {}).governance_on
    assert parse_settings({"server": {"master_key": "sk-m-123456"}}, {}).governance_on
    off = {"server": {"master_key": "sk-m-123456"}, "governance": {"enabled": False}}
    assert not parse_settings(off, {}).governance_on
    with pytest.raises(ConfigError, match=r"governance.enabled: governance needs server.master_key"):
        parse_settings({"governance": {"enabled": True}}, {})
    workers = {"server": {"master_key": "sk-m-123456", "workers": 2}}
    with pytest.raises(ConfigError, match=r"server.workers: more than one worker .* needs storage.redis_url"):
        parse_settings(workers, {})
    workers["storage"] = {"redis_url": "redis://127.0.0.1:6379/0"}
    assert parse_settings(workers, {}).governance_on
    with pytest.raises(ConfigError, match="budget_duration"):
        parse_settings({"governance": {"budget_duration": "2d"}}, {})


def test_cache_settings() -> None:
    settings = parse_settings(
        {"cache": {"exact": {"enabled": True, "ttl": "10m", "max_bytes": "64MB", "max_temperature": 0.5}}}, {}
    )
    exact = settings.cache.exact
    assert (exact.backend, exact.ttl) == ("memory", 600)
    assert (exact.max_bytes, exact.max_temperature) == (64_000_000, 0.5)
    with pytest.raises(ConfigError, match=r"cache.exact.backend: redis needs storage.redis_url"):
        parse_settings({"cache": {"exact": {"enabled": True, "backend": "redis"}}}, {})
    with pytest.raises(ConfigError, match="max_bytes"):
        parse_settings({"cache": {"exact": {"max_bytes": 1000}}}, {})  # a size needs its unit
    with pytest.raises(ConfigError, match="semantic"):
        parse_settings({"cache": {"semantic": {"enabled": True}}}, {})  # not built yet
