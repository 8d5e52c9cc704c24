"""The AWS Bedrock wire family: Converse and ConverseStream for every Bedrock chat model."""

from switchgear.providers.bedrock.adapter import BedrockAdapter
from switchgear.providers.bedrock.profiles import PROFILES
from switchgear.providers.bedrock.settings import BedrockSettings, base_url_for
from switchgear.providers.bedrock.stream import BedrockStreamDecoder

__all__ = ["PROFILES", "BedrockAdapter", "BedrockSettings", "BedrockStreamDecoder", "base_url_for"]
