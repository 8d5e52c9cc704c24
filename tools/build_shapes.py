"""Build the request shapes switchgear checks client bodies against, from the official SDKs' types.

This developer tool (never imported or run by the gateway) reads the request parameter types of
the installed ``openai`` and ``anthropic`` packages (TypedDicts, as the vendors generate them from
their API references) and writes one compact JSON file per client API to
``src/switchgear/apis/shapes/``. The gateway compiles those files into checkers at start-up
(``switchgear.apis.shape``). Re-running it with the same SDK versions reproduces the committed
files byte for byte (a test checks that); after an SDK upgrade, re-run it and review the diff.

What a shape keeps, and what it leaves to the provider:
- the JSON type of every field at every depth (string, integer, number, boolean, array, object),
  which fields an object requires, and which accept null (null and absent mean the same: a
  required field that may be null may also be left out);
- unions: alternatives are grouped by JSON type; objects of a union are told apart by the literal
  field they all carry (``type``, or ``role``) when there is one, else merged field by field (a
  field allowed by any alternative is allowed, required only when every alternative requires it);
- never the value of a literal or an enum (a new model, effort or voice must not need a gateway
  release), except the ``role`` of a message, which the APIs define as a closed set;
- pydantic response models that the SDKs also accept as input are skipped (their request forms
  are TypedDicts of the same union).

Node forms in the JSON: ``"str" | "int" | "num" | "bool" | "null" | "any"``; ``{"list": node}``;
``{"obj": {field: node}, "req": [...], "rest": node}`` (``rest`` checks the values of a map);
``{"tag": field, "cases": {value: node}, "default": node, "closed": bool}``;
``{"any_of": [node, ...]}`` (one per JSON type); ``{"ref": name}`` into ``defs``.

Usage: python tools/build_shapes.py [--check]
"""

from __future__ import annotations

import argparse
import collections.abc
import importlib
import json
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any

import typing_extensions as te

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "src" / "switchgear" / "apis" / "shapes"
FORMAT_VERSION = 1

# client API -> (module, TypedDict) of its request body
APIS: dict[str, tuple[str, str]] = {
    "chat": ("openai.types.chat.completion_create_params", "CompletionCreateParamsBase"),
    "completions": ("openai.types.completion_create_params", "CompletionCreateParamsBase"),
    "embeddings": ("openai.types.embedding_create_params", "EmbeddingCreateParams"),
    "messages": ("anthropic.types.message_create_params", "MessageCreateParamsBase"),
    "responses": ("openai.types.responses.response_create_params", "ResponseCreateParamsBase"),
}
# The gateway's own addition to a reference shape: ``metadata.tags`` may be a list of strings (read
# as the request's tags on every API) besides the string that OpenAI's metadata values are.
TAGS = {"any_of": ["str", {"list": "str"}]}
METADATA_TAGS = {"chat", "responses"}

Node = Any  # str | dict[str, Any]
_KINDS = ("str", "int", "num", "bool", "list", "obj", "null")
_SEQUENCES = {list, collections.abc.Iterable, collections.abc.Sequence, set, frozenset, tuple}
_MAPPINGS = {dict, collections.abc.Mapping}


class Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Node] = {}
        self.names: dict[type, str] = {}

    def node(self, t: Any) -> Node | None:
        """The node of a type; None for a type that has no JSON request form (a pydantic model)."""
        origin = typing.get_origin(t)
        if origin in (te.Required, te.NotRequired, typing.Annotated, te.Annotated):
            return self.node(typing.get_args(t)[0])
        if t is type(None):
            return "null"
        if t is typing.Any or t is object:
            return "any"
        if origin in (typing.Union, types.UnionType):
            return self.union([self.node(a) for a in typing.get_args(t)])
        if origin in (typing.Literal, te.Literal):
            return self.union([_literal(v) for v in typing.get_args(t)])
        if t is bytes or origin is typing.IO or t is os.PathLike or origin is os.PathLike:
            return "str"  # a file the SDK sends base64-encoded: a string on the wire
        if t in (str, int, float, bool):
            return {str: "str", int: "int", float: "num", bool: "bool"}[t]
        if origin in _SEQUENCES or getattr(t, "__name__", "") == "SequenceNotStr":
            args = typing.get_args(t)
            return {"list": (self.node(args[0]) if args else None) or "any"}
        if origin in _MAPPINGS or t in _MAPPINGS:
            args = typing.get_args(t)
            value = (self.node(args[1]) if len(args) == 2 else None) or "any"
            return {"obj": {}} if value == "any" else {"obj": {}, "rest": value}
        if isinstance(t, type) and te.is_typeddict(t):
            return {"ref": self.typeddict(t)}
        if isinstance(t, type) and hasattr(t, "model_fields"):
            return None  # an SDK response model, accepted as input by the SDK; its TypedDict twin is here
        if isinstance(t, typing.TypeAliasType if hasattr(typing, "TypeAliasType") else ()):
            return self.node(t.__value__)
        raise TypeError(f"no JSON form for {t!r}")

    def typeddict(self, t: type) -> str:
        if t in self.names:
            return self.names[t]
        name = t.__name__
        n = 2
        while name in self.defs:
            name, n = f"{t.__name__}{n}", n + 1
        self.names[t] = name
        self.defs[name] = {"obj": {}}  # a placeholder while its fields refer back to it
        hints = typing.get_type_hints(t, include_extras=True)
        fields: dict[str, Node] = {}
        required = []
        for key, hint in hints.items():
            node = self.node(hint)
            if node is None:
                continue
            fields[key] = node
            if _required(t, key, hint) and not _nullable(node):  # null and absent mean the same
                required.append(key)
        obj: dict[str, Any] = {"obj": fields}
        if required:
            obj["req"] = sorted(required)
        self.defs[name] = obj
        return name

    def resolve(self, node: Node) -> Node:
        while isinstance(node, dict) and "ref" in node:
            node = self.defs[node["ref"]]
        return node

    def union(self, nodes: list[Node | None]) -> Node | None:
        """One node for alternatives (None when none has a JSON request form)."""
        flat: list[Node] = []
        for node in nodes:
            if node is None:
                continue
            flat.extend(node["any_of"] if isinstance(node, dict) and "any_of" in node else [node])
        if not flat:
            return None
        if "any" in flat:
            return "any"
        groups: dict[str, list[Node]] = {}
        for node in flat:
            groups.setdefault(self.kind(node), []).append(node)
        if "int" in groups and "num" in groups:
            groups["num"] += groups.pop("int")
        merged = [self.group(kind, groups[kind]) for kind in _KINDS if kind in groups]
        return merged[0] if len(merged) == 1 else {"any_of": merged}

    def kind(self, node: Node) -> str:
        if isinstance(node, str):
            return node
        if "list" in node:
            return "list"
        return "obj"  # obj, tag, ref

    def group(self, kind: str, nodes: list[Node]) -> Node:
        if kind not in {"list", "obj"}:
            return kind
        if kind == "list":
            return {"list": self.union([n["list"] for n in nodes]) or "any"}
        unique = list({json.dumps(n, sort_keys=True): n for n in nodes}.values())
        if len(unique) == 1:
            return unique[0]
        return self.objects(unique)

    def objects(self, nodes: list[Node]) -> Node:
        """Objects of one union: told apart by a literal field when they all have one, else merged."""
        shapes = [self.resolve(n) for n in nodes]
        if any("tag" in s for s in shapes):  # a nested union: flatten its cases
            flat: list[Node] = []
            for n, s in zip(nodes, shapes, strict=True):
                flat.extend(self.tag_members(s) if "tag" in s else [n])
            return self.objects(flat)
        if any(not s["obj"] and "rest" not in s for s in shapes) or any("rest" in s for s in shapes):
            return {"obj": {}}  # a free-form map among the alternatives: any object
        for field in ("type", "role", "kind"):
            tags = [self.literals(n, field) for n in nodes]
            if all(values for values, _ in tags):
                return self.tagged(field, nodes, tags)
        return self.merge(shapes)

    def tag_members(self, shape: dict[str, Any]) -> list[Node]:
        members = list(shape["cases"].values())
        if "default" in shape:
            members.append(shape["default"])
        return members

    def literals(self, node: Node, field: str) -> tuple[list[str], bool]:
        """The literal string values a TypedDict allows for ``field``, and whether it is required."""
        ref = node.get("ref") if isinstance(node, dict) else None
        cls = next((c for c, name in self.names.items() if name == ref), None)
        if cls is None:
            return [], False
        hint = typing.get_type_hints(cls, include_extras=True).get(field)
        if hint is None:
            return [], False
        values = _literal_values(hint)
        return values, _required(cls, field, hint)

    def tagged(self, field: str, nodes: list[Node], tags: list[tuple[list[str], bool]]) -> Node:
        by_value: dict[str, list[Node]] = {}
        optional: list[Node] = []
        for node, (values, required) in zip(nodes, tags, strict=True):
            for value in values:
                by_value.setdefault(value, []).append(node)
            if not required:
                optional.append(node)
        cases = {
            value: members[0] if len(members) == 1 else self.merge([self.resolve(m) for m in members])
            for value, members in sorted(by_value.items())
        }
        out: dict[str, Any] = {"tag": field, "cases": cases, "closed": field == "role"}
        if optional:
            out["default"] = (
                optional[0] if len(optional) == 1 else self.merge([self.resolve(m) for m in optional])
            )
        return out

    def merge(self, shapes: list[dict[str, Any]]) -> Node:
        fields: dict[str, list[Node]] = {}
        required: set[str] | None = None
        for shape in shapes:
            for key, node in shape["obj"].items():
                fields.setdefault(key, []).append(node)
            req = set(shape.get("req", ()))
            required = req if required is None else required & req
        obj: dict[str, Any] = {"obj": {k: self.union(v) for k, v in sorted(fields.items())}}
        if required:
            obj["req"] = sorted(required)
        return obj


def _nullable(node: Node) -> bool:
    return node in ("null", "any") or (isinstance(node, dict) and "null" in node.get("any_of", ()))


def _literal(value: Any) -> Node:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    raise TypeError(f"literal {value!r}")


def _literal_values(hint: Any) -> list[str]:
    origin = typing.get_origin(hint)
    if origin in (te.Required, te.NotRequired, typing.Annotated, te.Annotated):
        return _literal_values(typing.get_args(hint)[0])
    if origin in (typing.Literal, te.Literal):
        return [v for v in typing.get_args(hint) if isinstance(v, str)]
    if origin in (typing.Union, types.UnionType):  # Optional[Literal[...]]
        return [v for a in typing.get_args(hint) for v in _literal_values(a)]
    return []


def _required(cls: type, key: str, hint: Any) -> bool:
    if typing.get_origin(hint) is te.Required:
        return True
    if typing.get_origin(hint) is te.NotRequired:
        return False
    return key in getattr(cls, "__required_keys__", ()) and getattr(cls, "__total__", True)


def build(api: str) -> dict[str, Any]:
    module, name = APIS[api]
    builder = Builder()
    root = builder.typeddict(getattr(importlib.import_module(module), name))
    if api != "embeddings":  # ``stream`` is typed per overload (Literal[True] / Literal[False])
        builder.defs[root]["obj"]["stream"] = "bool"
    if api == "messages":  # count_tokens shares the shape and has no max_tokens (the decoder requires it)
        builder.defs[root]["req"].remove("max_tokens")
    if api in METADATA_TAGS:
        meta = builder.defs[root]["obj"]["metadata"]
        options = meta["any_of"] if isinstance(meta, dict) and "any_of" in meta else [meta]
        for option in options:
            if isinstance(option, dict) and "rest" in option:
                option["obj"] = {"tags": TAGS}
    import anthropic
    import openai

    sdk = f"anthropic {anthropic.__version__}" if api == "messages" else f"openai {openai.__version__}"
    return {"format": FORMAT_VERSION, "api": api, "source": f"{module}.{name} ({sdk})", "root": root,
            "defs": builder.defs}  # fmt: skip


def render(api: str) -> str:
    return json.dumps(build(api), sort_keys=True, separators=(",", ":")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file differs")
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for api in APIS:
        path = OUTPUT / f"{api}.json"
        text = render(api)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(api)
        else:
            path.write_text(text)
            print(f"{path.relative_to(REPO_ROOT)}: {len(text):,} bytes")
    if stale:
        print(f"stale shapes: {', '.join(stale)}; run python tools/build_shapes.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
