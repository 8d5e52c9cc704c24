"""The optional ONNX prompt-injection classifier, with a tiny model built here: it scores a text
as an injection exactly when the token ``override`` is in it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
tokenizers = pytest.importorskip("tokenizers")

from onnx import TensorProto, helper  # noqa: E402

from switchgear.config.guardrails import GuardrailSettings  # noqa: E402
from switchgear.config.load import ConfigError  # noqa: E402
from switchgear.guardrails.checks import GuardState, InjectionGuard  # noqa: E402
from switchgear.guardrails.classifier import OnnxClassifier  # noqa: E402
from switchgear.guardrails.stage import Policies  # noqa: E402
from switchgear.guardrails.texts import Piece  # noqa: E402

VOCAB = {"[UNK]": 0, "hello": 1, "override": 2, "please": 3}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("classifier")
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel(VOCAB, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    # logits = [0, 8 * max(input_ids == 2) - 4]
    nodes = [
        helper.make_node("Equal", ["input_ids", "bad"], ["eq"]),
        helper.make_node("Cast", ["eq"], ["eqf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMax", ["eqf"], ["seen"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["seen", "eight"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "four"], ["logit"]),
        helper.make_node("Mul", ["seen", "zero"], ["other"]),
        helper.make_node("Concat", ["other", "logit"], ["logits"], axis=1),
    ]
    constants = [
        helper.make_tensor("bad", TensorProto.INT64, [], [2]),
        helper.make_tensor("eight", TensorProto.FLOAT, [], [8.0]),
        helper.make_tensor("four", TensorProto.FLOAT, [], [4.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, None]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    return str(folder / "model.onnx"), str(folder / "tokenizer.json")


def test_the_classifier_scores_texts(files: tuple[str, str]) -> None:
    classifier = OnnxClassifier(*files)
    assert classifier.probability("hello override please") > 0.95
    assert classifier.probability("hello please") < 0.05


def test_the_injection_guard_asks_the_classifier_when_the_rules_see_nothing(files: tuple[str, str]) -> None:
    model, tokenizer = files
    settings = GuardrailSettings.model_validate(
        {"name": "inj", "kind": "injection", "classifier": {"model": model, "tokenizer": tokenizer}}
    )
    guard = InjectionGuard(settings)
    found = asyncio.run(
        guard.check_input([Piece("user", "hello override please", lambda _: None)], GuardState())
    )
    assert found.found == {"PROMPT_INJECTION": 1} and found.score is not None and found.score > 0.95
    clean = asyncio.run(guard.check_input([Piece("user", "hello please", lambda _: None)], GuardState()))
    assert clean.found == {}


def test_missing_files_are_a_configuration_error(tmp_path: Path) -> None:
    settings = GuardrailSettings.model_validate(
        {
            "name": "inj",
            "kind": "injection",
            "classifier": {"model": str(tmp_path / "no.onnx"), "tokenizer": "x"},
        }
    )
    with pytest.raises(ConfigError, match="cannot load the classifier"):
        Policies([settings])
