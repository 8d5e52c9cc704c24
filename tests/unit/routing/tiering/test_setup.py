"""Which tiering stages a configuration composes, and the configuration's cross-checks."""

from __future__ import annotations

from typing import Any

import pytest

from switchgear.config import ConfigError, parse_settings
from switchgear.engine.build import build_router
from switchgear.providers import PROVIDER_SETTINGS
from switchgear.routing.tiering import Cascade, LogprobCascade, Tiering
from switchgear.routing.tiering.setup import tiering_stages

PROVIDER = {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "x"}


def config(*tiered: dict[str, Any]) -> dict[str, Any]:
    plain = [{"name": n, "deployments": [{"provider": "p", "model": f"{n}-m"}]} for n in ("cheap", "strong")]
    return {"providers": {"p": PROVIDER}, "models": [*plain, *tiered]}


def stages(raw: dict[str, Any]) -> list[type]:
    settings = parse_settings(raw, {}, PROVIDER_SETTINGS)
    return [type(s) for s in tiering_stages(settings, build_router(settings))]


def test_without_a_tiered_model_nothing_is_composed() -> None:
    assert stages(config()) == []


def test_a_cascade_adds_its_answer_transform() -> None:
    rules = {"name": "auto", "tiering": {"policy": "rules", "tiers": ["cheap", "strong"]}}
    assert stages(config(rules)) == [Tiering]
    cascade = {"name": "careful", "tiering": {"policy": "cascade", "tiers": ["cheap", "strong"]}}
    assert stages(config(rules, cascade)) == [Tiering, Cascade]


def test_only_a_logprob_check_composes_the_cascade_that_reads_the_request() -> None:
    checks = {"min_mean_logprob": -1.2}
    careful = {
        "name": "careful",
        "tiering": {"policy": "cascade", "tiers": ["cheap", "strong"], "cascade": checks},
    }
    assert stages(config(careful)) == [Tiering, LogprobCascade]
    assert LogprobCascade.reads_request and not Cascade.reads_request


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        ({"model": "nowhere"}, "cascade.judge.model: 'nowhere' is not a configured model without tiering"),
        ({"model": "auto"}, "cascade.judge.model: 'auto' is not a configured model without tiering"),
        ({"model": "strong", "prompt": "Grade {answer}"}, "must contain {question}"),
        ({"model": "strong", "timeout": "soon"}, "timeout"),
    ],
)
def test_a_judge_must_be_a_plain_configured_model(judge: dict[str, Any], message: str) -> None:
    tiering = {"policy": "cascade", "tiers": ["cheap", "strong"], "cascade": {"judge": judge}}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("{", r"\{")):
        parse_settings(config({"name": "auto", "tiering": tiering}), {}, PROVIDER_SETTINGS)


def test_the_tiered_model_plans_its_tiers_and_covers_them() -> None:
    settings = parse_settings(
        config({"name": "auto", "tiering": {"policy": "rules", "tiers": ["cheap", "strong"]}}),
        {},
        PROVIDER_SETTINGS,
    )
    router = build_router(settings)
    assert [d.label for d in router.plan("auto")] == ["p/cheap-m", "p/strong-m"]
    assert [d.label for d in router.reachable("auto")] == ["p/cheap-m", "p/strong-m"]


@pytest.mark.parametrize(
    ("tiered", "message"),
    [
        ({"tiers": ["cheap", "nowhere"]}, "models[2].tiering.tiers[1]: 'nowhere' is not a configured model"),
        ({"tiers": ["cheap", "auto"]}, "'auto' is not a configured model without tiering"),
    ],
)
def test_tiers_must_be_plain_configured_models(tiered: dict[str, Any], message: str) -> None:
    raw = config({"name": "auto", "tiering": {"policy": "rules", **tiered}})
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_settings(raw, {}, PROVIDER_SETTINGS)


def test_a_tiered_model_has_no_deployments() -> None:
    raw = config({"name": "auto", "tiering": {"policy": "rules", "tiers": ["cheap", "strong"]},
                  "deployments": [{"provider": "p", "model": "x"}]})  # fmt: skip
    with pytest.raises(ConfigError, match="no deployments of its own"):
        parse_settings(raw, {}, PROVIDER_SETTINGS)


def test_a_classifier_file_that_cannot_be_read_is_a_configuration_error(tmp_path: Any) -> None:
    bad = tmp_path / "model.json"
    bad.write_text("{}")
    tiering = {"policy": "classifier", "tiers": ["cheap", "strong"], "target_strong_share": 0.3}
    for path in (str(bad), str(tmp_path / "missing.json")):
        with pytest.raises(ConfigError, match="tiering: cannot load"):
            stages(config({"name": "auto", "tiering": {**tiering, "model_path": path}}))
