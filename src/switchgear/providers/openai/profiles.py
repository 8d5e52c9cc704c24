"""OpenAI-compatible vendors as data: base URL, key variable, auth header and parameter quirks."""

from __future__ import annotations

from functools import partial

from switchgear.providers.base import Profile
from switchgear.providers.openai.settings import AzureSettings

_p = partial(Profile, family="openai")
_local = partial(Profile, family="openai", env_key=None, key_required=False)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        _p(
            "openai",
            title="OpenAI",
            base_url="https://api.openai.com/v1",
            env_key="OPENAI_API_KEY",
            embeddings_base64=True,
            responses_api=True,
        ),
        _p(
            "azure",
            title="Azure OpenAI",
            base_url=None,
            env_key="AZURE_API_KEY",
            auth="api-key",
            url_style="azure",
            settings=AzureSettings,
            embeddings_base64=True,
            notes="base_url https://NAME.openai.azure.com; a deployment's model is its Azure deployment name",
        ),
        _p(
            "groq",
            title="Groq",
            base_url="https://api.groq.com/openai/v1",
            env_key="GROQ_API_KEY",
            drop_params=frozenset({"logit_bias"}),
        ),
        _p(
            "mistral",
            title="Mistral",
            base_url="https://api.mistral.ai/v1",
            env_key="MISTRAL_API_KEY",
            max_completion_tokens=False,
            drop_params=frozenset({"user", "logit_bias", "store", "metadata"}),
        ),
        _p(
            "deepseek",
            title="DeepSeek",
            base_url="https://api.deepseek.com/v1",
            env_key="DEEPSEEK_API_KEY",
            max_completion_tokens=False,
        ),
        _p(
            "together",
            title="Together AI",
            base_url="https://api.together.xyz/v1",
            env_key="TOGETHER_API_KEY",
            max_completion_tokens=False,
        ),
        _p(
            "fireworks",
            title="Fireworks AI",
            base_url="https://api.fireworks.ai/inference/v1",
            env_key="FIREWORKS_API_KEY",
            max_completion_tokens=False,
        ),
        _p(
            "openrouter",
            title="OpenRouter",
            base_url="https://openrouter.ai/api/v1",
            env_key="OPENROUTER_API_KEY",
        ),
        _p("xai", title="xAI", base_url="https://api.x.ai/v1", env_key="XAI_API_KEY"),
        _p("cerebras", title="Cerebras", base_url="https://api.cerebras.ai/v1", env_key="CEREBRAS_API_KEY"),
        _p(
            "perplexity",
            title="Perplexity",
            base_url="https://api.perplexity.ai",
            env_key="PERPLEXITY_API_KEY",
            max_completion_tokens=False,
        ),
        _local("ollama", title="Ollama", base_url="http://127.0.0.1:11434/v1", max_completion_tokens=False),
        _local("vllm", title="vLLM", base_url="http://127.0.0.1:8000/v1", embeddings_base64=True),
        _local(
            "lmstudio", title="LM Studio", base_url="http://127.0.0.1:1234/v1", max_completion_tokens=False
        ),
        _local(
            "llamacpp",
            title="llama.cpp server",
            base_url="http://127.0.0.1:8080/v1",
            max_completion_tokens=False,
        ),
    ]
}
