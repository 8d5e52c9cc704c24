"""switchgear: a self-hosted multi-model LLM gateway.

One OpenAI- and Anthropic-compatible endpoint in front of every provider, with routing,
fallbacks, budgets, caching and observability. See README.md and docs/ for usage.
"""

__version__ = "0.1.0"
