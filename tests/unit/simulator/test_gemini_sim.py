"""The simulated Gemini API and Vertex AI, driven by the official ``google-genai`` SDK and raw aiohttp."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from pydantic import BaseModel
from yarl import URL

from switchgear.simulator import text
from switchgear.simulator.server import SimulatorThread

KEY = "AIza-sim-test"
QUESTION = "What is the capital of France?"
ECHO = "Hello! You said: What is the capital of France?"
THOUGHT = f'The user wrote "{QUESTION}", so I will repeat the message back to them.'
GENERATE = "/v1beta/models/gemini-sim:generateContent"
VERTEX = "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-sim"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sim"
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
)
TIME = types.FunctionDeclaration(
    name="get_time",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "tz": types.Schema(type=types.Type.STRING),
            "offset": types.Schema(type=types.Type.INTEGER),
        },
    ),
)
TOOLS = [types.Tool(function_declarations=[WEATHER, TIME])]
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


@pytest.fixture(scope="module")
def gemini_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as thread:
        yield thread


@pytest.fixture(scope="module")
def sdk(gemini_sim: SimulatorThread) -> genai.Client:
    options = types.HttpOptions(base_url=gemini_sim.base_url, api_version="v1beta")
    return genai.Client(api_key=KEY, http_options=options)


@pytest.fixture
def client(gemini_sim: SimulatorThread, sdk: genai.Client) -> genai.Client:
    gemini_sim.clear()
    return sdk


@pytest_asyncio.fixture
async def http(gemini_sim: SimulatorThread) -> AsyncIterator[aiohttp.ClientSession]:
    gemini_sim.clear()
    async with aiohttp.ClientSession(
        base_url=gemini_sim.base_url, headers={"x-goog-api-key": KEY}
    ) as session:
        yield session


def contents(question: str = QUESTION) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": question}]}]}


def dumped(response: types.GenerateContentResponse) -> dict[str, Any]:
    document = response.model_dump(mode="json", exclude_none=True)
    document.pop("sdk_http_response", None)
    document.pop("automatic_function_calling_history", None)
    return document


def merged_parts(chunks: Iterable[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    """The parts of candidate ``index`` across a stream, consecutive text pieces joined."""
    parts: list[dict[str, Any]] = []
    for chunk in chunks:
        candidate = next(c for c in chunk["candidates"] if c.get("index", 0) == index)
        for part in candidate.get("content", {}).get("parts", []):
            previous = parts[-1] if parts else {}
            joinable = "text" in part and "text" in previous and "thought_signature" not in part
            if joinable and part.get("thought") == previous.get("thought"):
                previous["text"] += part["text"]
            else:
                parts.append(dict(part))
    return parts


async def sse_documents(response: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    raw = (await response.read()).decode()
    assert raw.endswith("\r\n\r\n")
    return [json.loads(event[len("data: ") :]) for event in raw.split("\r\n\r\n") if event]


# --- generateContent ----------------------------------------------------------------------------


def test_generate_content(client: genai.Client, gemini_sim: SimulatorThread) -> None:
    response = client.models.generate_content(model="gemini-sim", contents=QUESTION)
    assert response.text == ECHO
    candidate = (response.candidates or [])[0]
    assert candidate.finish_reason == types.FinishReason.STOP and candidate.index == 0
    assert candidate.content is not None and candidate.content.role == "model"
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (6, 9, 15)
    assert usage.thoughts_token_count is None and usage.cached_content_token_count is None
    assert response.model_version == "gemini-sim" and response.response_id
    record = gemini_sim.last()
    assert record.path == GENERATE and record.headers["x-goog-api-key"] == KEY


async def test_query_key_auth_and_missing_credentials(
    http: aiohttp.ClientSession, gemini_sim: SimulatorThread
) -> None:
    async with aiohttp.ClientSession(base_url=gemini_sim.base_url) as bare:
        async with bare.post(GENERATE, params={"key": "AIza-query"}, json=contents()) as response:
            assert response.status == 200
        assert gemini_sim.last().query == "key=AIza-query"
        async with bare.post(GENERATE, json=contents()) as response:
            assert response.status == 403
            assert (await response.json())["error"]["status"] == "PERMISSION_DENIED"
        async with bare.post(f"{VERTEX}:generateContent", json=contents()) as response:
            assert response.status == 401
            assert (await response.json())["error"]["status"] == "UNAUTHENTICATED"


async def test_snake_case_fields_and_url_decoding(http: aiohttp.ClientSession) -> None:
    request = contents() | {
        "system_instruction": {"parts": [{"text": "Be brief"}]},
        "generation_config": {"max_output_tokens": 3},
    }
    async with http.post(GENERATE, json=request) as response:
        document = await response.json()
    candidate = document["candidates"][0]
    assert candidate["content"]["parts"] == [{"text": "Hello! You said:"}]
    assert candidate["finishReason"] == "MAX_TOKENS"
    assert document["usageMetadata"]["promptTokenCount"] == 6 + 2
    # The path is percent-decoded once, then read like a model string in a JSON body: a client
    # writing the URL by hand encodes a value's ";" twice, a gateway quoting the whole model once.
    for model in ("gemini-sim;content=one%253B%20two", "gemini-sim%3Bcontent%3Done%253B%2520two"):
        url = URL(f"/v1beta/models/{model}:generateContent", encoded=True)
        async with http.post(url, json=contents()) as response:
            document = await response.json()
        assert document["candidates"][0]["content"]["parts"] == [{"text": "one; two"}]
        assert document["modelVersion"] == "gemini-sim"


# --- streaming ----------------------------------------------------------------------------------

STREAM_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "plain": ("gemini-sim", {}),
    "chunks": ("gemini-sim;chunks=2", {}),
    "thoughts": ("gemini-sim", {"thinking_config": {"include_thoughts": True, "thinking_budget": 1024}}),
    "hidden_thoughts": ("gemini-sim", {"thinking_config": {"thinking_budget": 512}}),
    "function_call": (
        "gemini-sim",
        {"tools": TOOLS, "tool_config": {"function_calling_config": {"mode": "ANY"}}},
    ),
    "parallel_calls": ("gemini-sim;tool_calls=get_weather,get_time", {"tools": TOOLS}),
    "json_schema": (
        "gemini-sim",
        {"response_mime_type": "application/json", "response_json_schema": WEATHER.parameters_json_schema},
    ),
    "max_tokens": ("gemini-sim", {"max_output_tokens": 4}),
    "stop_sequences": ("gemini-sim", {"stop_sequences": ["capital"]}),
    "candidates": ("gemini-sim;cache_read=4", {"candidate_count": 2}),
}


@pytest.mark.parametrize(("model", "config"), STREAM_CASES.values(), ids=STREAM_CASES.keys())
def test_stream_reassembles_to_the_non_streamed_response(
    client: genai.Client, model: str, config: dict[str, Any]
) -> None:
    settings = types.GenerateContentConfig(automatic_function_calling=NO_AFC, **config)
    whole = dumped(client.models.generate_content(model=model, contents=QUESTION, config=settings))
    chunks = [
        dumped(c)
        for c in client.models.generate_content_stream(model=model, contents=QUESTION, config=settings)
    ]
    for index, candidate in enumerate(whole["candidates"]):
        assert merged_parts(chunks, index) == candidate["content"]["parts"]
        assert chunks[-1]["candidates"][index]["finish_reason"] == candidate["finish_reason"]
    assert all("finish_reason" not in c for chunk in chunks[:-1] for c in chunk["candidates"])
    assert chunks[-1]["usage_metadata"] == whole["usage_metadata"]
    assert {c["response_id"] for c in chunks} == {chunks[0]["response_id"]}
    if len(chunks) > 1:
        prompt_only = chunks[0]["usage_metadata"]
        assert prompt_only["total_token_count"] == whole["usage_metadata"]["prompt_token_count"]


async def test_stream_transcript_matches_golden(http: aiohttp.ClientSession) -> None:
    thinking = {"includeThoughts": True, "thinkingBudget": 1024}
    request = contents() | {"generationConfig": {"thinkingConfig": thinking}}
    path = gemini_path("gemini-sim;chunks=2", "streamGenerateContent")
    async with http.post(path, params={"alt": "sse"}, json=request) as response:
        raw = (await response.read()).decode()
    response_id = json.loads(raw.split("\r\n")[0][len("data: ") :])["responseId"]
    golden = (FIXTURES / "gemini_stream.sse").read_bytes().decode()
    assert raw.replace(response_id, "RESPONSE_ID") == golden


async def test_json_array_stream_without_alt_sse(http: aiohttp.ClientSession) -> None:
    path = "/v1beta/models/gemini-sim;chunks=3:streamGenerateContent"
    async with http.post(path, json=contents()) as response:
        assert response.headers["content-type"] == "application/json"
        array = json.loads(await response.read())
    async with http.post(path, params={"alt": "sse"}, json=contents()) as response:
        assert response.headers["content-type"] == "text/event-stream"
        events = await sse_documents(response)
    assert len(array) == len(events) == 3
    assert [d["candidates"] for d in array] == [d["candidates"] for d in events]
    assert "".join(d["candidates"][0]["content"]["parts"][0]["text"] for d in array) == ECHO
    failing = "/v1beta/models/gemini-sim;status=503;error_after=1:streamGenerateContent"
    async with http.post(failing, json=contents()) as response:
        assert response.status == 200
        array = json.loads(await response.read())
    assert len(array) == 2 and array[1]["error"]["status"] == "UNAVAILABLE"


# --- answers: function calls, JSON, thoughts, limits, safety -------------------------------------


def test_function_calling_round_trip(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        tools=TOOLS,
        automatic_function_calling=NO_AFC,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_time"]
            )
        ),
    )
    response = client.models.generate_content(model="gemini-sim", contents=QUESTION, config=config)
    assert (response.candidates or [])[0].finish_reason == types.FinishReason.STOP
    (call,) = response.function_calls or []
    assert (call.name, call.args, call.id) == ("get_time", {"tz": "sample tz", "offset": 1}, None)
    history = [
        types.Content(role="user", parts=[types.Part(text=QUESTION)]),
        (response.candidates or [])[0].content,
        types.Content(
            role="user", parts=[types.Part.from_function_response(name="get_time", response={"time": "noon"})]
        ),
    ]
    reply = client.models.generate_content(model="gemini-sim", contents=history, config={"tools": TOOLS})
    assert reply.text == 'Hello! You said: {"time":"noon"}'
    parallel = client.models.generate_content(
        model="gemini-sim;tool_calls=get_weather,get_time", contents=QUESTION, config={"tools": TOOLS}
    )
    assert [c.name for c in parallel.function_calls or []] == ["get_weather", "get_time"]
    assert (parallel.function_calls or [])[0].args == {"city": "sample city", "unit": "c"}


def test_structured_output(client: genai.Client) -> None:
    class City(BaseModel):
        name: str
        population: int
        coastal: bool

    response = client.models.generate_content(
        model="gemini-sim",
        contents=QUESTION,
        config={"response_mime_type": "application/json", "response_schema": City},
    )
    assert response.parsed == City(name="sample name", population=1, coastal=True)
    plain_json = client.models.generate_content(
        model="gemini-sim", contents=QUESTION, config={"response_mime_type": "application/json"}
    )
    assert json.loads(plain_json.text or "") == {"reply": ECHO}
    enum = client.models.generate_content(
        model="gemini-sim",
        contents=QUESTION,
        config={
            "response_mime_type": "text/x.enum",
            "response_schema": {"type": "STRING", "enum": ["B", "A"]},
        },
    )
    assert enum.text == "B"


def test_thoughts(client: genai.Client) -> None:
    shown = client.models.generate_content(
        model="gemini-sim",
        contents=QUESTION,
        config={"thinking_config": {"include_thoughts": True, "thinking_budget": 1024}},
    )
    parts = (shown.candidates or [])[0].content.parts or []  # type: ignore[union-attr]
    assert (parts[0].text, parts[0].thought, parts[0].thought_signature) == (THOUGHT, True, None)
    assert parts[1].text == ECHO and parts[1].thought is None and parts[1].thought_signature
    assert shown.text == ECHO
    usage = shown.usage_metadata
    assert usage is not None and usage.thoughts_token_count == 18 and usage.total_token_count == 6 + 9 + 18
    hidden = client.models.generate_content(
        model="gemini-sim", contents=QUESTION, config={"thinking_config": {}}
    )
    assert [p.text for p in (hidden.candidates or [])[0].content.parts or []] == [ECHO]  # type: ignore[union-attr]
    assert hidden.usage_metadata is not None and hidden.usage_metadata.thoughts_token_count == 18
    off = client.models.generate_content(
        model="gemini-sim", contents=QUESTION, config={"thinking_config": {"thinking_budget": 0}}
    )
    assert off.usage_metadata is not None and off.usage_metadata.thoughts_token_count is None
    squeezed = client.models.generate_content(
        model="gemini-sim", contents=QUESTION, config={"thinking_config": {}, "max_output_tokens": 20}
    )
    assert squeezed.text == "Hello! You" and (squeezed.candidates or [])[0].finish_reason == "MAX_TOKENS"


def test_limits_candidates_and_usage_overrides(client: genai.Client) -> None:
    stopped = client.models.generate_content(
        model="gemini-sim", contents=QUESTION, config={"stop_sequences": ["France", "capital"]}
    )
    assert stopped.text == "Hello! You said: What is the "
    assert (stopped.candidates or [])[0].finish_reason == types.FinishReason.STOP
    two = client.models.generate_content(model="gemini-sim", contents=QUESTION, config={"candidate_count": 2})
    assert [c.index for c in two.candidates or []] == [0, 1]
    assert two.usage_metadata is not None and two.usage_metadata.candidates_token_count == 18
    model = "gemini-sim;prompt_tokens=100;completion_tokens=7;cache_read=60;finish_reason=RECITATION"
    scripted = client.models.generate_content(model=model, contents=QUESTION)
    usage = scripted.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (100, 7, 107)
    assert usage.cached_content_token_count == 60
    assert (scripted.candidates or [])[0].finish_reason == types.FinishReason.RECITATION
    none = client.models.generate_content(model="gemini-sim;usage=none", contents=QUESTION)
    assert none.usage_metadata is None


def test_safety_blocks(client: genai.Client) -> None:
    blocked = client.models.generate_content(model="gemini-sim;safety=1", contents=QUESTION)
    candidate = (blocked.candidates or [])[0]
    assert candidate.finish_reason == types.FinishReason.SAFETY and candidate.content is None
    assert [r.category for r in candidate.safety_ratings or [] if r.blocked] == [
        types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT
    ]
    assert blocked.text is None
    prompt = client.models.generate_content(model="gemini-sim;safety=prompt", contents=QUESTION)
    assert prompt.candidates is None
    assert prompt.prompt_feedback is not None
    assert prompt.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    streamed = list(client.models.generate_content_stream(model="gemini-sim;safety=1", contents=QUESTION))
    assert [(c.candidates or [])[0].finish_reason for c in streamed] == [types.FinishReason.SAFETY]


# --- errors -------------------------------------------------------------------------------------

ERRORS = [
    (400, "INVALID_ARGUMENT"),
    (401, "UNAUTHENTICATED"),
    (403, "PERMISSION_DENIED"),
    (404, "NOT_FOUND"),
    (429, "RESOURCE_EXHAUSTED"),
    (500, "INTERNAL"),
    (503, "UNAVAILABLE"),
    (504, "DEADLINE_EXCEEDED"),
]


@pytest.mark.parametrize(("status", "name"), ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_scripted_errors_are_google_shaped(client: genai.Client, status: int, name: str) -> None:
    kind = errors.ServerError if status >= 500 else errors.ClientError
    with pytest.raises(kind) as caught:
        client.models.generate_content(model=f"gemini-sim;status={status}", contents=QUESTION)
    error = caught.value
    assert (error.code, error.status) == (status, name)
    assert error.details == {"error": {"code": status, "message": error.message, "status": name}}


def test_error_details_and_mid_stream_error(client: genai.Client) -> None:
    model = "gemini-sim;status=429;retry_after=7;error_code=RATE_LIMIT_EXCEEDED;error_message=slow down"
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=model, contents=QUESTION)
    assert caught.value.details["error"] == {
        "code": 429,
        "message": "slow down",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"},
        ],
    }
    received: list[str] = []
    midway = "gemini-sim;chunks=4;status=503;error_after=2;fail_times=1;fail_key=gemini-midway"
    with pytest.raises(errors.ServerError) as stopped:
        for chunk in client.models.generate_content_stream(model=midway, contents=QUESTION):
            received.append(chunk.text or "")
    assert received == ["Hello! You said:", " What is"] and stopped.value.code == 503
    again = client.models.generate_content_stream(model=midway, contents=QUESTION)
    assert "".join(c.text or "" for c in again) == ECHO


def gemini_path(model: str, method: str = "generateContent") -> str:
    return f"/v1beta/models/{model}:{method}"


CALL = {"functionCall": {"name": "f", "args": {}}}
ANSWER = {"functionResponse": {"name": "f", "response": {"ok": True}}}
USER_TEXT = {"role": "user", "parts": [{"text": "hi"}]}
INVALID = {
    "no contents": ({}, "contents is not specified"),
    "empty parts": ({"contents": [{"role": "user", "parts": []}]}, "contents.parts must not be empty"),
    "bad role": ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "Please use a valid role"),
    "no data": ({"contents": [{"parts": [{"thought": True}]}]}, "required oneof field 'data'"),
    "two data fields": (
        {"contents": [{"parts": [{"text": "a", "fileData": {"fileUri": "gs://b/x"}}]}]},
        "oneof field 'data' is already set",
    ),
    "bad base64": (
        {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "not base64!"}}]}]},
        "inline_data.data' (TYPE_BYTES), Base64 decoding failed",
    ),
    "call from user": (
        {"contents": [{"role": "user", "parts": [CALL]}]},
        "only the model can call functions",
    ),
    "response without call": (
        {"contents": [USER_TEXT, {"role": "user", "parts": [ANSWER]}]},
        "function response turn comes immediately after a function call turn",
    ),
    "unanswered call": (
        {"contents": [USER_TEXT, {"role": "model", "parts": [CALL]}, USER_TEXT]},
        "function response turn comes immediately after a function call turn",
    ),
    "call count": (
        {
            "contents": [
                USER_TEXT,
                {"role": "model", "parts": [CALL, CALL]},
                {"role": "user", "parts": [ANSWER]},
            ]
        },
        "number of function response parts is equal to the number of function call parts",
    ),
    "function name": (
        contents() | {"tools": [{"functionDeclarations": [{"name": "1st"}]}]},
        "Invalid function name",
    ),
    "allowed names": (
        contents()
        | {
            "tools": [{"functionDeclarations": [{"name": "f"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["f"]}},
        },
        "can only be set when mode is ANY",
    ),
    "two schemas": (
        contents()
        | {
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT"},
                "responseJsonSchema": {"type": "object"},
            }
        },
        "cannot both be set",
    ),
    "schema without json": (
        contents() | {"generationConfig": {"responseSchema": {"type": "OBJECT"}}},
        "must be application/json or text/x.enum",
    ),
    "candidates": (contents() | {"generationConfig": {"candidateCount": 9}}, "must be between 1 and 8"),
    "stops": (contents() | {"generationConfig": {"stopSequences": list("abcdef")}}, "at most 5"),
    "temperature": (contents() | {"generationConfig": {"temperature": 3}}, "temperature: must be between 0"),
    "budget and level": (
        contents() | {"generationConfig": {"thinkingConfig": {"thinkingBudget": 10, "thinkingLevel": "LOW"}}},
        "only one of thinking budget and thinking level",
    ),
}


@pytest.mark.parametrize(("request_body", "message"), INVALID.values(), ids=INVALID.keys())
async def test_invalid_requests(
    http: aiohttp.ClientSession, request_body: dict[str, Any], message: str
) -> None:
    async with http.post(GENERATE, json=request_body) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert message in error["message"]


async def test_script_typos_and_unknown_methods(http: aiohttp.ClientSession) -> None:
    async with http.post(gemini_path("gemini-sim;stal_after=1"), json=contents()) as response:
        assert response.status == 400
        assert "Unknown simulator parameter 'stal_after'" in (await response.json())["error"]["message"]
    async with http.post(gemini_path("gemini-sim", "generate"), json=contents()) as response:
        assert response.status == 404
        assert (await response.json())["error"]["status"] == "NOT_FOUND"


async def test_history_with_media_thoughts_and_tools_is_accepted(http: aiohttp.ClientSession) -> None:
    image = base64.urlsafe_b64encode(b"\x89PNG\r\n\x1a\n\xff\xfe").decode().rstrip("=")
    request = {
        "systemInstruction": {"parts": [{"text": "Answer briefly."}]},
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "Weather?"}, {"inlineData": {"mimeType": "image/png", "data": image}}],
            },
            {
                "role": "model",
                "parts": [{"text": "hmm", "thought": True}, CALL | {"thoughtSignature": "CiQB"}],
            },
            {"role": "user", "parts": [ANSWER]},
        ],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "generationConfig": {"temperature": 0.5, "topP": 0.9, "topK": 40},
    }
    async with http.post(GENERATE, json=request) as response:
        assert response.status == 200
        document = await response.json()
    assert document["candidates"][0]["content"]["parts"] == [{"text": 'Hello! You said: {"ok":true}'}]
    # 2 system + 1 + 258 image + 1 thought + 2 call ("f {}") + 2 response ("f {...}")
    assert document["usageMetadata"]["promptTokenCount"] == 2 + 1 + 258 + 1 + 2 + 2


# --- Vertex AI ----------------------------------------------------------------------------------


async def test_vertex_paths(http: aiohttp.ClientSession, gemini_sim: SimulatorThread) -> None:
    bearer = {"authorization": "Bearer ya29.token"}
    async with aiohttp.ClientSession(base_url=gemini_sim.base_url, headers=bearer) as vertex:
        async with vertex.post(f"{VERTEX}:generateContent", json=contents()) as response:
            assert response.status == 200
            whole = await response.json()
        assert gemini_sim.last().headers["authorization"] == "Bearer ya29.token"
        assert gemini_sim.last().path == f"{VERTEX}:generateContent"
        stream_path = f"{VERTEX.replace('/v1/', '/v1beta1/')}:streamGenerateContent"
        async with vertex.post(stream_path, params={"alt": "sse"}, json=contents()) as response:
            events = await sse_documents(response)
    assert whole["candidates"][0]["content"]["parts"] == [{"text": ECHO}]
    assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events) == ECHO


def test_vertex_with_the_sdk(gemini_sim: SimulatorThread) -> None:
    vertex = genai.Client(
        vertexai=True,
        project="proj-1",
        location="us-central1",
        credentials=Credentials(token="ya29.sdk"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=gemini_sim.base_url),
    )
    assert vertex.models.generate_content(model="gemini-sim", contents=QUESTION).text == ECHO
    record = gemini_sim.last()
    assert record.path == VERTEX.replace("/v1/", "/v1beta1/") + ":generateContent"
    assert record.headers["authorization"] == "Bearer ya29.sdk"


# --- counting and embeddings --------------------------------------------------------------------


def test_count_tokens_matches_usage(client: genai.Client) -> None:
    config = types.GenerateContentConfig(tools=TOOLS, automatic_function_calling=NO_AFC)
    usage = client.models.generate_content(
        model="gemini-sim", contents=QUESTION, config=config
    ).usage_metadata
    assert usage is not None
    counted = client.models.count_tokens(model="gemini-sim", contents=QUESTION)
    assert counted.total_tokens == 6
    assert usage.prompt_token_count == 6 + 4 + 2  # the declarations count as their words


async def test_embeddings(client: genai.Client, http: aiohttp.ClientSession) -> None:
    config = types.EmbedContentConfig(output_dimensionality=4)
    result = client.models.embed_content(model="text-embedding-sim", contents=["a b", "c"], config=config)
    assert [e.values for e in result.embeddings or []] == [
        text.embedding(("embedding", "a b"), 4),
        text.embedding(("embedding", "c"), 4),
    ]
    single = {"content": {"parts": [{"text": "a b"}]}}
    async with http.post(gemini_path("text-embedding-sim", "embedContent"), json=single) as response:
        vector = (await response.json())["embedding"]["values"]
    async with http.post("/v1/embeddings", json={"model": "sim-embed", "input": "a b"}) as response:
        openai_vector = (await response.json())["data"][0]["embedding"]
    assert len(vector) == 8 and vector == openai_vector


# --- misbehaviour on events ---------------------------------------------------------------------


async def test_malformed_and_disconnect_count_events(http: aiohttp.ClientSession) -> None:
    path = gemini_path("gemini-sim;malformed_after=1", "streamGenerateContent")
    async with http.post(path, params={"alt": "sse"}, json=contents()) as response:
        raw = (await response.read()).decode()
    assert raw.split("\r\n\r\n")[1] == "data: {not json"
    path = gemini_path("gemini-sim;disconnect_after=2", "streamGenerateContent")
    received = b""
    async with http.post(path, params={"alt": "sse"}, json=contents()) as response:
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in response.content.iter_any():
                received += chunk
    assert received.count(b"data: ") == 2
