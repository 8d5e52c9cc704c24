"""The vendors of the Cohere wire family as data: Cohere's own API (v2 chat).

``base_url`` is the bare server address (``https://api.cohere.com``); the adapter appends
``/v2/chat``. Cohere authenticates with ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from switchgear.providers.base import Profile

CHAT_PATH = "/v2/chat"

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "cohere",
            family="cohere",
            title="Cohere",
            base_url="https://api.cohere.com",
            env_key="COHERE_API_KEY",
            auth="bearer",
            notes="base_url is the bare server address; requests go to {base_url}/v2/chat",
        ),
    ]
}
