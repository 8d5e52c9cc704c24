"""The tiering stages of a configuration: none unless a model has ``tiering``."""

from __future__ import annotations

from switchgear.config.load import ConfigError
from switchgear.config.model import Settings
from switchgear.config.tiering import TieringSettings
from switchgear.routing.router import Router
from switchgear.routing.tiering import learned as learned_cascade
from switchgear.routing.tiering.cascade import Cascade, LogprobCascade
from switchgear.routing.tiering.model import TieringModel
from switchgear.routing.tiering.policy import Policy, load_model
from switchgear.routing.tiering.stage import Tiering
from switchgear.stages.base import Stage


def tiering_stages(settings: Settings, router: Router) -> list[Stage]:
    """``Tiering`` (plan) when a model is tiered, and ``Cascade`` (answer transform) when one of
    them cascades — ``LogprobCascade`` when a cascade checks logprobs: a configuration without
    tiering composes neither."""
    tiered = {m.name: m.tiering for m in settings.models if m.tiering is not None}
    if not tiered:
        return []
    models: dict[str | None, TieringModel] = {}  # one load per classifier file

    def policy(name: str, conf: TieringSettings) -> Policy:
        if conf.policy != "classifier":
            return Policy(name, conf)
        if conf.model_path not in models:
            try:
                models[conf.model_path] = load_model(conf)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                where = conf.model_path or "the shipped classifier"
                raise ConfigError(f"models {name!r}: tiering: cannot load {where}: {exc}") from None
        return Policy(name, conf, models[conf.model_path])

    stages: list[Stage] = [Tiering(router, {name: policy(name, conf) for name, conf in tiered.items()})]
    cascades = [conf for conf in tiered.values() if conf.policy == "cascade"]
    if cascades:
        learned = learned_cascade.load() if any(c.cascade.learned_share for c in cascades) else None
        logprobs = any(c.cascade.min_mean_logprob is not None for c in cascades)
        stages.append((LogprobCascade if logprobs else Cascade)(router, learned))
    return stages
