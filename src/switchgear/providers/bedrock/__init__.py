"""The AWS Bedrock wire family: Converse and ConverseStream for every Bedrock chat model."""

from switchgear.providers.bedrock.adapter import BedrockAdapter
from switchgear.providers.bedrock.profiles import PROFILES, base_url_for, region_of
from switchgear.providers.bedrock.stream import BedrockStreamDecoder

__all__ = ["PROFILES", "BedrockAdapter", "BedrockStreamDecoder", "base_url_for", "region_of"]
