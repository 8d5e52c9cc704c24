"""Shared test support: providers, deployments, a pinned clock, golden files, botocore validation."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import botocore.session
from botocore.eventstream import EventStream
from botocore.model import Shape
from botocore.parsers import EventStreamJSONParser
from botocore.validate import ParamValidator

from switchgear.config.model import Timeouts
from switchgear.providers.base import Deployment, Provider
from switchgear.providers.bedrock import PROFILES, BedrockAdapter, BedrockSettings

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "bedrock"
NOW = dt.datetime(2026, 3, 9, 12, 0, 0, tzinfo=dt.UTC)
ADAPTER = BedrockAdapter(clock=lambda: NOW)
AKID = "AKIDEXAMPLE0000000001"
SECRET = "secret-for-tests-only/0000000000000000000"
# Set to rewrite the golden files from the code (then review the diff).
REGENERATE = os.environ.get("SWITCHGEAR_REGENERATE_GOLDENS") == "1"
SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")


def provider(
    *,
    name: str = "aws",
    region: str | None = "us-west-2",
    base_url: str = "",
    api_key: str | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Provider:
    credentials = {} if api_key else {"aws_access_key_id": AKID, "aws_secret_access_key": SECRET}
    if token:
        credentials["aws_session_token"] = token
    settings = BedrockSettings(type="bedrock", api_key=api_key, region=region or "", **credentials)
    return Provider(
        name=name,
        profile=PROFILES["bedrock"],
        adapter=ADAPTER,
        base_url=base_url,
        api_key=api_key,
        headers=headers or {},
        timeouts=Timeouts(),
        settings=settings,
    )


def deployment(model: str, **kwargs: Any) -> Deployment:
    return Deployment(provider=provider(**kwargs), model=model)


def golden(name: str, value: Any | None = None) -> Any:
    """The golden file ``name`` (written from ``value`` first when regenerating)."""
    path = FIXTURES / name
    if REGENERATE and value is not None:
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def _blobs_decoded(value: Any, shape: Shape) -> Any:
    """``value`` with the base64 strings of blob members decoded (the JSON wire encodes blobs)."""
    match shape.type_name:
        case "blob" if isinstance(value, str):
            return base64.b64decode(value, validate=True)
        case "structure" if isinstance(value, dict) and not shape.metadata.get("document"):
            return {
                k: _blobs_decoded(v, shape.members[k]) if k in shape.members else v for k, v in value.items()
            }
        case "list" if isinstance(value, list):
            return [_blobs_decoded(v, shape.member) for v in value]
        case "map" if isinstance(value, dict):
            return {k: _blobs_decoded(v, shape.value) for k, v in value.items()}
    return value


def validate_answer(answer: dict[str, Any]) -> None:
    """Fail unless ``answer`` is a valid Converse output per botocore's model."""
    shape = SERVICE.operation_model("Converse").output_shape
    report = ParamValidator().validate(_blobs_decoded(answer, shape), shape)
    assert not report.has_errors(), report.generate_report()


def botocore_stream_events(data: bytes) -> list[dict[str, Any]]:
    """``data`` as botocore's own ConverseStream reader parses it (raises on exceptions)."""

    class Body:
        def stream(self) -> Any:
            yield data

        def close(self) -> None:
            pass

    shape = SERVICE.operation_model("ConverseStream").output_shape.members["stream"]
    return list(EventStream(Body(), shape, EventStreamJSONParser(), "ConverseStream"))


def validate_converse(body: dict[str, Any], model: str) -> None:
    """Fail unless ``body`` is a valid Converse and ConverseStream input per botocore's model."""
    for operation in ("Converse", "ConverseStream"):
        shape = SERVICE.operation_model(operation).input_shape
        params = _blobs_decoded({"modelId": model, **body}, shape)
        report = ParamValidator().validate(params, shape)
        assert not report.has_errors(), report.generate_report()
