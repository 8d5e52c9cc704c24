"""The Gemini wire family adapter (Gemini API and Vertex AI): URLs, auth, translation, errors.

Every request is translated (no client speaks Gemini to the gateway, so nothing passes through):
``request.request_body`` builds the body, the profile (``profiles.GeminiProfile``) picks the URL
shape and auth, ``response`` and ``stream`` decode answers, ``errors`` maps failures. The model
name is percent-encoded into the URL (a leading ``models/`` is dropped). Streaming asks for
``alt=sse``. Vertex needs the provider's ``project`` (``settings.VertexSettings``); its token is
the provider's ``api_key`` or the ``access_token`` the engine minted from a service-account file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson

from switchgear.core.types import ChatRequest
from switchgear.providers.base import Adapter, Deployment, TranslatedOnly
from switchgear.providers.errors import misconfigured
from switchgear.providers.gemini import errors, response
from switchgear.providers.gemini.profiles import API_KEY_HEADER, GeminiProfile
from switchgear.providers.gemini.request import request_body
from switchgear.providers.gemini.settings import VertexSettings
from switchgear.providers.gemini.stream import GeminiStreamDecoder
from switchgear.transport.client import HttpRequest


class GeminiAdapter(TranslatedOnly):
    family = "gemini"
    parse_response = staticmethod(response.parse_response)
    stream_decoder = GeminiStreamDecoder
    map_error = staticmethod(errors.map_error)

    def build_request(
        self, request: ChatRequest, deployment: Deployment, *, access_token: str | None = None
    ) -> HttpRequest:
        provider = deployment.provider
        profile = provider.profile
        vertex = isinstance(profile, GeminiProfile) and profile.api == "vertex"
        function_ids = profile.function_ids if isinstance(profile, GeminiProfile) else True
        body = orjson.dumps(request_body(request, function_ids=function_ids))
        model = deployment.model.removeprefix("models/")
        method = "streamGenerateContent" if request.stream else "generateContent"
        if vertex:
            conf = provider.settings
            if not isinstance(conf, VertexSettings) or not conf.project:
                raise misconfigured(provider.name, "has no project option (Vertex needs one)")
            project, location = conf.project, conf.location
            base = provider.base_url or conf.default_base_url()
            url = (
                f"{base}/v1/projects/{quote(project, safe='')}/locations/{quote(location, safe='')}"
                f"/publishers/google/models/{quote(model, safe='')}:{method}"
            )
        else:
            url = f"{provider.base_url}/v1beta/models/{quote(model, safe='')}:{method}"
        headers = {"content-type": "application/json", **provider.headers}
        key = access_token or provider.api_key
        if profile.auth == "bearer":
            if not key:
                raise misconfigured(provider.name, "has no access token (set api_key or credentials_file)")
            headers["authorization"] = "Bearer " + key
        elif profile.auth == "api-key" and key:
            headers[API_KEY_HEADER] = key
        return HttpRequest("POST", url, headers, body, {"alt": "sse"} if request.stream else {})


if TYPE_CHECKING:
    _conforms: Adapter = GeminiAdapter()  # mypy checks the adapter against the protocol
