"""The Cohere wire family adapter (Cohere v2 chat): URL, auth, translation, errors.

Every request is translated (no client speaks Cohere to the gateway, so nothing passes through):
``request.request_body`` builds the body, ``response`` and ``stream`` decode answers, ``errors``
maps failures. Requests go to ``{base_url}/v2/chat`` with ``Authorization: Bearer <key>``;
streaming sets ``stream: true`` in the body and asks for ``text/event-stream``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from switchgear.core.types import ChatRequest
from switchgear.providers.base import Adapter, Deployment, TranslatedOnly
from switchgear.providers.cohere import errors, response
from switchgear.providers.cohere.profiles import CHAT_PATH
from switchgear.providers.cohere.request import request_body
from switchgear.providers.cohere.stream import CohereStreamDecoder
from switchgear.providers.errors import misconfigured
from switchgear.transport.client import HttpRequest


class CohereAdapter(TranslatedOnly):
    family = "cohere"
    parse_response = staticmethod(response.parse_response)
    stream_decoder = CohereStreamDecoder
    map_error = staticmethod(errors.map_error)

    def build_request(self, request: ChatRequest, deployment: Deployment) -> HttpRequest:
        provider = deployment.provider
        body = orjson.dumps(request_body(request, deployment.model))
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if request.stream else "application/json",
            **provider.headers,
        }
        if provider.profile.auth == "bearer":
            if provider.api_key:
                headers["authorization"] = "Bearer " + provider.api_key
            elif provider.profile.key_required:
                raise misconfigured(provider.name, "has no api_key")
        return HttpRequest("POST", provider.base_url.rstrip("/") + CHAT_PATH, headers, body)


if TYPE_CHECKING:
    _conforms: Adapter = CohereAdapter()  # mypy checks the adapter against the protocol
