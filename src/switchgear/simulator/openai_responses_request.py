"""Reading and validating a Responses API request (``POST /v1/responses``) for the simulator.

This module owns the request side of :mod:`.openai_responses`: it parses the JSON body and its
behaviour script, rejects what the real API rejects — unknown top-level parameters (with the
real hints for Chat-style ``max_tokens``/``messages``/``response_format``), malformed input items,
``input_text`` parts in assistant messages, a ``function_call_output`` with no matching
``function_call`` (without ``previous_response_id``), Chat-style nested function tools, bad
``text.format``/``reasoning``/sampling values — with OpenAI-shaped 400s naming the parameter, and
returns one :class:`ResponsesRequest` holding the settings the answer depends on. It also renders
the ``tools``/``text`` settings a response echoes, counts input tokens and finds the last user
text the echo answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import Reject
from switchgear.simulator.openai_wire import int_param, read_payload, reject
from switchgear.simulator.script import Script

PARAMETERS = frozenset(
    {
        "access_programs", "background", "background_options", "context_management", "conversation",
        "image", "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata",
        "model", "moderation", "parallel_tool_calls", "previous_response_id", "prompt",
        "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning",
        "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature",
        "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
    }
)  # fmt: skip
MOVED = {
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
    "messages": "input",
    "response_format": "text.format",
    "reasoning_effort": "reasoning.effort",
}
ITEM_TYPES = frozenset(
    {
        "message", "function_call", "function_call_output", "reasoning", "item_reference",
        "file_search_call", "computer_call", "computer_call_output", "web_search_call",
        "tool_search_call", "tool_search_output", "additional_tools", "configuration_update",
        "compaction", "compaction_trigger", "image_generation_call", "code_interpreter_call",
        "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output",
        "apply_patch_call", "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request",
        "mcp_approval_response", "mcp_call", "custom_tool_call", "custom_tool_call_output",
        "program", "program_output",
    }
)  # fmt: skip
ROLES = ("assistant", "system", "developer", "user")
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")
FORMATS = ("text", "json_object", "json_schema")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SUMMARIES = ("auto", "concise", "detailed")
TOOL_CHOICES = ("none", "auto", "required")


@dataclass(frozen=True)
class ResponsesRequest:
    """One validated Responses request: its script and the settings the answer depends on."""

    payload: dict[str, Any]
    model: str
    script: Script
    fail_key: str
    items: list[dict[str, Any]]
    instructions: str | None
    functions: dict[str, Any]
    tool_choice: Any
    parallel_tool_calls: bool
    text_format: dict[str, Any]
    effort: str | None
    summary: str | None
    max_output_tokens: int | None
    stream: bool
    include: list[str]

    @property
    def reasons(self) -> bool:
        """Whether the answer opens with a ``reasoning`` item."""
        return self.effort is not None and self.effort != "none"


def _supported(value: object, allowed: tuple[str, ...]) -> str:
    quoted = [f"'{a}'" for a in allowed]
    listing = ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 2 else " and ".join(quoted)
    return f"Invalid value: {value!r}. Supported values are: {listing}."


def _missing(param: str) -> Reject:
    return reject(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _bad_type(param: str, expected: str, value: object) -> Reject:
    got = "null" if value is None else type(value).__name__
    message = f"Invalid type for '{param}': expected {expected}, but got {got} instead."
    return reject(message, param=param, code="invalid_type")


def _bad_value(param: str, value: object, allowed: tuple[str, ...]) -> Reject:
    return reject(_supported(value, allowed), param=param, code="invalid_value")


def _check_parameters(payload: dict[str, Any]) -> None:
    for name in payload:
        if name in PARAMETERS:
            continue
        moved = MOVED.get(name)
        if moved is not None:
            hint = f"In the Responses API, this parameter has moved to '{moved}'."
            message = f"Unsupported parameter: '{name}'. {hint}"
            raise reject(message, param=name, code="unsupported_parameter")
        raise reject(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")


def _check_message(item: dict[str, Any], where: str) -> None:
    role = item.get("role")
    if role is None:
        raise _missing(f"{where}.role")
    if role not in ROLES:
        raise _bad_value(f"{where}.role", role, ROLES)
    content = item.get("content")
    if content is None:
        raise _missing(f"{where}.content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _bad_type(f"{where}.content", "a string or array of content parts", content)
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    for index, part in enumerate(content):
        param = f"{where}.content[{index}]"
        if not isinstance(part, dict):
            raise _bad_type(param, "an object", part)
        if part.get("type") not in allowed:
            raise _bad_value(param, part.get("type"), allowed)
        if part["type"] in ("input_text", "output_text") and not isinstance(part.get("text"), str):
            raise _missing(f"{param}.text")


def _check_items(items: list[Any], stateless: bool) -> list[dict[str, Any]]:
    calls: set[str] = set()
    for index, item in enumerate(items):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise _bad_type(where, "an input item object", item)
        kind = item.get("type") or (
            "message" if "role" in item else "item_reference" if "id" in item else None
        )
        if kind is None:
            raise _missing(f"{where}.type")
        if kind not in ITEM_TYPES:
            raise reject(f"Invalid value: {kind!r}.", param=f"{where}.type", code="invalid_value")
        if kind == "message":
            _check_message(item, where)
        elif kind in ("function_call", "function_call_output"):
            needed = ("call_id", "name", "arguments") if kind == "function_call" else ("call_id", "output")
            for key in needed:
                if item.get(key) is None:
                    raise _missing(f"{where}.{key}")
            if kind == "function_call":
                calls.add(str(item["call_id"]))
            elif stateless and str(item["call_id"]) not in calls:
                message = f"No tool call found for function call output with call_id {item['call_id']}."
                raise reject(message, param="input")
        elif kind == "reasoning" and not isinstance(item.get("summary"), list):
            raise _missing(f"{where}.summary")
    return items


def _input_items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    value = payload.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise _bad_type("input", "one of a string or array of input items", value)
    return _check_items(value, payload.get("previous_response_id") is None)


def _functions(payload: dict[str, Any]) -> dict[str, Any]:
    tools = payload.get("tools")
    if tools is None:
        return {}
    if not isinstance(tools, list):
        raise _bad_type("tools", "an array", tools)
    functions: dict[str, Any] = {}
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise _bad_type(f"tools[{index}]", "an object", tool)
        if not isinstance(tool.get("type"), str):
            raise _missing(f"tools[{index}].type")
        if tool["type"] != "function":
            continue
        if not isinstance(tool.get("name"), str):
            raise _missing(f"tools[{index}].name")
        functions[tool["name"]] = tool.get("parameters")
    return functions


def _tool_choice(payload: dict[str, Any]) -> Any:
    choice = payload.get("tool_choice")
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise _bad_value("tool_choice", choice, TOOL_CHOICES)
        return choice
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise _missing("tool_choice.type")
    if choice["type"] == "function" and not isinstance(choice.get("name"), str):
        raise _missing("tool_choice.name")
    return choice


def _text_format(payload: dict[str, Any]) -> dict[str, Any]:
    config = payload.get("text")
    if config is None:
        return {"type": "text"}
    if not isinstance(config, dict):
        raise _bad_type("text", "an object", config)
    verbosity = config.get("verbosity")
    if verbosity is not None and verbosity not in ("low", "medium", "high"):
        raise _bad_value("text.verbosity", verbosity, ("low", "medium", "high"))
    fmt = config.get("format")
    if fmt is None:
        return {"type": "text"}
    if not isinstance(fmt, dict):
        raise _bad_type("text.format", "an object", fmt)
    if fmt.get("type") not in FORMATS:
        raise _bad_value("text.format.type", fmt.get("type"), FORMATS)
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("name"), str):
            raise _missing("text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise _missing("text.format.schema")
    return fmt


def _reasoning(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    config = payload.get("reasoning")
    if config is None:
        return None, None
    if not isinstance(config, dict):
        raise _bad_type("reasoning", "an object", config)
    effort = config.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise _bad_value("reasoning.effort", effort, EFFORTS)
    summary = config.get("summary", config.get("generate_summary"))
    if summary is not None and summary not in SUMMARIES:
        raise _bad_value("reasoning.summary", summary, SUMMARIES)
    if effort is None and summary is not None:
        effort = "medium"
    return effort, summary


def _number(payload: dict[str, Any], name: str, maximum: float) -> None:
    value = payload.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_type(name, "a decimal", value)
    if not 0 <= value <= maximum:
        message = f"Invalid '{name}': expected a value between 0 and {maximum:g}, but got {value} instead."
        raise reject(message, param=name, code="invalid_value")


def _flag(payload: dict[str, Any], name: str) -> bool | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, bool):
        raise _bad_type(name, "a boolean", value)
    return value


async def read_responses_request(request: web.Request) -> ResponsesRequest:
    """Parse and validate one ``POST /v1/responses`` body (raises :class:`Reject` with a 400)."""
    payload, model, script, key = await read_payload(request)
    _check_parameters(payload)
    instructions = payload.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise _bad_type("instructions", "a string", instructions)
    include = payload.get("include") or []
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise _bad_type("include", "an array of strings", include)
    _number(payload, "temperature", 2)
    _number(payload, "top_p", 1)
    int_param(payload, "top_logprobs", None)
    effort, summary = _reasoning(payload)
    return ResponsesRequest(
        payload=payload,
        model=model,
        script=script,
        fail_key=key,
        items=_input_items(payload),
        instructions=instructions,
        functions=_functions(payload),
        tool_choice=_tool_choice(payload),
        parallel_tool_calls=_flag(payload, "parallel_tool_calls") is not False,
        text_format=_text_format(payload),
        effort=effort,
        summary=summary,
        max_output_tokens=int_param(payload, "max_output_tokens", None, minimum=1),
        stream=_flag(payload, "stream") is True,
        include=list(include),
    )


def echo_tools(payload: dict[str, Any]) -> list[Any]:
    """The ``tools`` a response echoes: function tools with the real API's defaults filled in."""
    tools: list[Any] = []
    defaults = {"type": "function", "description": None, "parameters": None, "strict": True}
    for tool in payload.get("tools") or []:
        if tool.get("type") == "function":
            tools.append(defaults | {k: v for k, v in tool.items() if v is not None})
        else:
            tools.append(tool)
    return tools


def echo_text(req: ResponsesRequest) -> dict[str, Any]:
    """The ``text`` configuration a response echoes (``verbosity`` defaults to ``medium``)."""
    fmt = req.text_format
    if fmt["type"] == "json_schema":
        fmt = {"description": None, "strict": False} | {k: v for k, v in fmt.items() if v is not None}
    config = req.payload.get("text")
    verbosity = config.get("verbosity") if isinstance(config, dict) else None
    return {"format": fmt, "verbosity": verbosity or "medium"}


def _item_text(item: dict[str, Any]) -> str:
    match item.get("type", "message"):
        case "message":
            return text.content_text(item.get("content"))
        case "function_call":
            return f"{item.get('name', '')} {item.get('arguments', '')}"
        case "function_call_output":
            output = item.get("output")
            return output if isinstance(output, str) else text.content_text(output)
        case "reasoning":
            return text.content_text(item.get("summary"))
        case _:
            return ""


def input_tokens(req: ResponsesRequest) -> int:
    """Words of the instructions and of every input item, plus 3 per item (and for instructions)."""
    count = text.count_words(req.instructions) + 3 if req.instructions else 0
    return count + sum(text.count_words(_item_text(item)) + 3 for item in req.items)


def last_user_text(items: list[dict[str, Any]]) -> str:
    """The text of the last ``user`` message among the input items ("" when there is none)."""
    for item in reversed(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return text.content_text(item.get("content"))
    return ""
