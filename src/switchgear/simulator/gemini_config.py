"""The settings of a Gemini ``generateContent`` request, checked and gathered for planning an answer.

Everything around ``contents`` (which :mod:`.gemini_request` checks) lives here: the
``systemInstruction``, ``tools[].functionDeclarations`` (name pattern, ``parameters`` or
``parametersJsonSchema`` but not both, unique names), ``toolConfig.functionCallingConfig``
(``mode``, ``allowedFunctionNames`` only with ``ANY``), ``generationConfig`` (candidate count,
``maxOutputTokens``, stop sequences, sampling ranges, response MIME type and schema,
``thinkingConfig``) and ``safetySettings``. The result is one :class:`GenerateRequest` holding
what the simulated model needs, with schemas already lowered to JSON Schema spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from switchgear.simulator import text
from switchgear.simulator.gemini_request import check_contents, check_parts, get, is_int, lower_schema, reject
from switchgear.simulator.script import Script

MAX_CANDIDATES = 8
MAX_STOP_SEQUENCES = 5
FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$")
MIME_TYPES = ("text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum")
SCHEMA_MIME_TYPES = ("application/json", "text/x.enum")
MODES = ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED")
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH", "THINKING_LEVEL_UNSPECIFIED")
THRESHOLDS = ("BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF")
_CONFIG = "* GenerateContentRequest.generation_config"


@dataclass(frozen=True)
class GenerateRequest:
    """A checked ``generateContent`` request: what planning an answer needs."""

    payload: dict[str, Any]
    model: str
    script: Script
    fail_key: str
    user_text: str
    prompt_tokens: int
    functions: dict[str, Any] = field(default_factory=dict)  # name -> JSON-Schema parameters
    mode: str = "AUTO"
    allowed: tuple[str, ...] = ()
    candidate_count: int = 1
    max_output_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()
    mime_type: str = "text/plain"
    schema: Any | None = None
    thinking: bool = False
    thinking_budget: int | None = None
    include_thoughts: bool = False


def read_generate_request(
    payload: dict[str, Any], model: str, script: Script, fail_key: str
) -> GenerateRequest:
    """Check a ``generateContent`` body (or a ``countTokens`` body's ``generateContentRequest``)."""
    contents = check_contents(get(payload, "contents"))
    tokens = contents.tokens + _system(get(payload, "systemInstruction"))
    functions, tool_tokens = _tools(get(payload, "tools"))
    mode, allowed = _tool_config(get(payload, "toolConfig"), functions)
    _safety_settings(get(payload, "safetySettings"))
    config = get(payload, "generationConfig")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise reject(f"{_CONFIG}: must be an object")
    mime_type, schema = _response_format(config)
    thinking, budget, include = _thinking(get(config, "thinkingConfig"))
    return GenerateRequest(
        payload=payload,
        model=model,
        script=script,
        fail_key=fail_key,
        user_text=contents.user_text,
        prompt_tokens=tokens + tool_tokens,
        functions=functions,
        mode=mode,
        allowed=allowed,
        candidate_count=_int(config, "candidateCount", 1, 1, MAX_CANDIDATES) or 1,
        max_output_tokens=_int(config, "maxOutputTokens", None, 1, None),
        stop_sequences=_stop_sequences(get(config, "stopSequences")),
        mime_type=mime_type,
        schema=schema,
        thinking=thinking,
        thinking_budget=budget,
        include_thoughts=include,
    )


def _system(system: Any) -> int:
    if system is None:
        return 0
    if not isinstance(system, dict):
        raise reject(
            "Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.Content)"
        )
    return check_parts(get(system, "parts"), "system_instruction")


def _tools(tools: Any) -> tuple[dict[str, Any], int]:
    if tools is None:
        return {}, 0
    if not isinstance(tools, list):
        raise reject("Invalid value at 'tools': must be a list")
    functions: dict[str, Any] = {}
    tokens = 0
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise reject(f"Invalid value at 'tools[{index}]': must be an object")
        declarations = get(tool, "functionDeclarations") or []
        if not isinstance(declarations, list):
            raise reject(f"Invalid value at 'tools[{index}].function_declarations': must be a list")
        for number, declaration in enumerate(declarations):
            where = f"* GenerateContentRequest.tools[{index}].function_declarations[{number}]"
            name, schema = _declaration(declaration, where)
            if name in functions:
                raise reject(f"Duplicate function declaration found: {name}")
            functions[name] = schema
            description = declaration.get("description") or ""
            tokens += text.count_words(f"{name} {description} {text.dumps(schema).decode()}")
    return functions, tokens


def _declaration(declaration: Any, where: str) -> tuple[str, Any]:
    """(name, JSON-Schema parameters) of one function declaration."""
    name = declaration.get("name") if isinstance(declaration, dict) else None
    if not isinstance(declaration, dict) or not isinstance(name, str) or not FUNCTION_NAME.match(name):
        raise reject(
            f"{where}.name: Invalid function name. Must start with a letter or an underscore. Must be "
            "alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a "
            "maximum length of 128."
        )
    parameters = get(declaration, "parameters")
    json_schema = get(declaration, "parametersJsonSchema")
    if parameters is not None and json_schema is not None:
        raise reject(f"{where}: parameters and parameters_json_schema cannot both be set")
    return name, json_schema if json_schema is not None else lower_schema(parameters)


def _tool_config(config: Any, functions: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    calling = get(config, "functionCallingConfig") if isinstance(config, dict) else None
    if not isinstance(calling, dict):
        return "AUTO", ()
    where = "* GenerateContentRequest.tool_config.function_calling_config"
    mode = get(calling, "mode") or "AUTO"
    if mode not in MODES:
        raise reject(f"Invalid value at 'tool_config.function_calling_config.mode', {mode!r}")
    allowed = get(calling, "allowedFunctionNames") or []
    if not isinstance(allowed, list) or not all(isinstance(n, str) for n in allowed):
        raise reject(f"{where}.allowed_function_names: must be a list of strings")
    if allowed and mode != "ANY":
        raise reject(f"{where}.allowed_function_names: can only be set when mode is ANY")
    for name in allowed:
        if name not in functions:
            raise reject(f"{where}.allowed_function_names: function {name!r} is not declared in tools")
    return mode, tuple(allowed)


def _safety_settings(settings: Any) -> None:
    if settings is None:
        return
    if not isinstance(settings, list):
        raise reject("Invalid value at 'safety_settings': must be a list")
    for index, setting in enumerate(settings):
        category = get(setting, "category") if isinstance(setting, dict) else None
        threshold = get(setting, "threshold") if isinstance(setting, dict) else None
        if not isinstance(category, str) or not category.startswith("HARM_CATEGORY_"):
            raise reject(f"Invalid value at 'safety_settings[{index}].category', {category!r}")
        if threshold not in (*THRESHOLDS, "HARM_BLOCK_THRESHOLD_UNSPECIFIED"):
            raise reject(f"Invalid value at 'safety_settings[{index}].threshold', {threshold!r}")


def _int(config: dict[str, Any], name: str, default: int | None, low: int, high: int | None) -> int | None:
    value = get(config, name)
    if value is None:
        return default
    snake = re.sub(r"([A-Z])", r"_\1", name).lower()
    if not is_int(value):
        raise reject(f"Invalid value at 'generation_config.{snake}' (TYPE_INT32), {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise reject(f"{_CONFIG}.{snake}: must be {bound}")
    return int(value)


def _stop_sequences(stops: Any) -> tuple[str, ...]:
    if stops is None:
        return ()
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise reject("Invalid value at 'generation_config.stop_sequences': must be a list of strings")
    if len(stops) > MAX_STOP_SEQUENCES:
        raise reject(f"{_CONFIG}.stop_sequences: at most {MAX_STOP_SEQUENCES} stop sequences are allowed")
    return tuple(stops)


def _response_format(config: dict[str, Any]) -> tuple[str, Any | None]:
    for name, high in (("temperature", 2.0), ("topP", 1.0)):
        value = get(config, name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise reject(f"Invalid value at 'generation_config.{name}' (TYPE_FLOAT), {value!r}")
        if value is not None and not 0 <= value <= high:
            raise reject(f"{_CONFIG}.{name}: must be between 0 and {high:g}")
    top_k = get(config, "topK")
    if top_k is not None and (not isinstance(top_k, int | float) or isinstance(top_k, bool) or top_k < 1):
        raise reject(f"{_CONFIG}.top_k: must be at least 1")
    mime_type = get(config, "responseMimeType") or "text/plain"
    if mime_type not in MIME_TYPES:
        raise reject(
            f"{_CONFIG}.response_mime_type: allowed mimetypes are `text/plain`, `application/json`, "
            "`application/xml`, `application/yaml` and `text/x.enum`."
        )
    schema, json_schema = get(config, "responseSchema"), get(config, "responseJsonSchema")
    if schema is not None and json_schema is not None:
        raise reject(f"{_CONFIG}: response_schema and response_json_schema cannot both be set")
    chosen = json_schema if json_schema is not None else lower_schema(schema)
    if chosen is not None and mime_type not in SCHEMA_MIME_TYPES:
        raise reject(
            f"{_CONFIG}.response_mime_type: must be application/json or text/x.enum when a response "
            "schema is set"
        )
    return mime_type, chosen


def _thinking(config: Any) -> tuple[bool, int | None, bool]:
    """(whether the model thinks, its positive budget if any, whether thoughts are returned)."""
    if config is None:
        return False, None, False
    if not isinstance(config, dict):
        raise reject("Invalid value at 'generation_config.thinking_config': must be an object")
    budget, level, include = (
        get(config, "thinkingBudget"),
        get(config, "thinkingLevel"),
        get(config, "includeThoughts"),
    )
    if budget is not None and (not is_int(budget) or budget < -1):
        raise reject(f"{_CONFIG}.thinking_config.thinking_budget: must be -1, 0 or a positive integer")
    if level is not None and level not in THINKING_LEVELS:
        raise reject(f"Invalid value at 'generation_config.thinking_config.thinking_level', {level!r}")
    if budget is not None and level is not None:
        raise reject("You can only set only one of thinking budget and thinking level.")
    if include is not None and not isinstance(include, bool):
        raise reject(
            f"Invalid value at 'generation_config.thinking_config.include_thoughts' (TYPE_BOOL), {include!r}"
        )
    thinking = budget != 0
    return thinking, budget if is_int(budget) and budget > 0 else None, thinking and include is True
