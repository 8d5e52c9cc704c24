"""Every secret a configuration holds reaches the redactor, wherever in the tree it is."""

from __future__ import annotations

from switchgear.config import parse_settings
from switchgear.config.secrets import build_redactor, secret_values
from switchgear.providers.registry import PROVIDER_SETTINGS

CONFIG = {
    "server": {"master_key": "master-Qp7Wm2Zx9Lk4"},
    "providers": {
        "openai": {
            "type": "openai",
            "api_key": "pk-live-Zq81xLr02Vb7Nm3Kd9Tc",
            "headers": {"x-upstream-token": "hdr-Tok3n-4f1c9e7a2b"},
        },
        "via-proxy": {
            "type": "openai",
            "base_url": "https://alice:url-Pa55word-77@llm.example/v1?key=query-K3y-1234&api-version=1",
        },
        "behind-proxy": {
            "type": "openai",
            "api_key": "sk-x-12345678",
            "proxy": "http://bob:prov-Pr0xy-55@px:3128",
        },
        "aws": {
            "type": "bedrock",
            "region": "us-east-1",
            "aws_access_key_id": "AKIDEXAMPLE12345",
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
            "aws_session_token": "IQoJb3JpZ2luX2VjEXAMPLE/sess+Tok3n==",
        },
    },
}


def test_every_secret_of_the_settings_is_found() -> None:
    values = set(
        secret_values(
            parse_settings(CONFIG, {}, PROVIDER_SETTINGS), {"HTTPS_PROXY": "http://u:proxy-Pa55-9@proxy:3128"}
        )
    )
    assert values >= {
        "master-Qp7Wm2Zx9Lk4",
        "pk-live-Zq81xLr02Vb7Nm3Kd9Tc",
        "hdr-Tok3n-4f1c9e7a2b",
        "url-Pa55word-77",
        "query-K3y-1234",
        "AKIDEXAMPLE12345",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
        "IQoJb3JpZ2luX2VjEXAMPLE/sess+Tok3n==",
        "proxy-Pa55-9",
        "prov-Pr0xy-55",
    }
    assert "1" not in values and "us-east-1" not in values


def test_the_redactor_masks_them_all() -> None:
    settings = parse_settings(CONFIG, {}, PROVIDER_SETTINGS)
    redactor = build_redactor(settings, {})
    text = " ".join(secret_values(settings, {}))
    assert set(redactor(text).split()) == {"***"}
