"""The cascade's self-checks on a cheap answer."""

from __future__ import annotations

import math

import pytest

from switchgear.config.tiering import CascadeChecks
from switchgear.routing.tiering import learned
from switchgear.routing.tiering.checks import failure, final_answer, math_failure

CHECKS = CascadeChecks()
MATH = "How many apples does Tom have in total if he buys 3 bags of 4?"


def fails(
    text: str, prompt: str = "Say hi", json_asked: bool = False, finish: str | None = "stop"
) -> str | None:
    return failure(text, finish_reason=finish, json_asked=json_asked, prompt=prompt, checks=CHECKS)


def test_a_good_answer_passes() -> None:
    assert fails("Hello there!") is None
    assert fails('{"a": 1}', json_asked=True) is None
    assert fails("3 x 4 = 12 apples.\n#### 12", MATH) is None


def test_each_failure_names_its_reason() -> None:
    assert fails("not json", json_asked=True) == "invalid JSON"
    assert fails("I'm sorry, but I can't help with that.") == "refusal"
    assert fails("As an AI language model, I cannot do that.") == "refusal"
    assert fails("   ") == "empty answer"
    assert fails("It was a dark and", finish="length") == "truncated answer"
    assert fails("He has 3 x 4 = 13 apples. #### 13", MATH) == "arithmetic does not hold"
    assert fails("He has about 12.5 apples. #### 12.5", MATH) == "final answer not an integer"
    assert fails("He has many apples.", MATH) == "no final number"


def test_checks_can_be_switched_off() -> None:
    off = CascadeChecks(refusal=False, invalid_json=False)
    text = "I'm sorry, but I can't help with that."
    assert failure(text, finish_reason="stop", json_asked=True, prompt="x", checks=off) is None


def test_a_marker_is_required_only_when_asked() -> None:
    marked = CascadeChecks(math_marker=True)
    text = "So he has 3 x 4 = 12 apples."
    assert failure(text, finish_reason="stop", json_asked=False, prompt=MATH, checks=CHECKS) is None
    reason = failure(text, finish_reason="stop", json_asked=False, prompt=MATH, checks=marked)
    assert reason == "no final-answer marker"


def test_only_a_lone_equation_is_checked() -> None:
    assert math_failure("5 * 10 * 1.2 = 60, so #### 60") is None  # a chain, not "10 * 1.2 = 60"
    assert math_failure("(1 - 0.3) * 100 = 70 people. #### 70") is None
    assert math_failure("It takes 3 * 12 = 36 hours. #### 36") is None
    assert math_failure("It takes 3 * 12 = 38 hours. #### 38") == "arithmetic does not hold"


def test_final_answer_prefers_the_marker() -> None:
    assert final_answer("3 + 4 = 7, so 7 then 9. #### 1,200") == "1,200"
    assert final_answer("The answer is 42 (not 41).") == "42"
    assert math_failure("2 + 2 = 4 and 10 / 4 = 2.5, so #### 4") is None


def test_the_learned_cascade_ranks_a_terse_unmarked_answer_above_a_worked_one() -> None:
    model = learned.load()
    prompt = "Tom buys 3 bags with 4 apples in each bag. He eats 2. How many apples has he in total?"
    terse = model.score("He has 10 apples.", prompt)
    worked = model.score("3 bags x 4 apples = 12 apples. He eats 2, so 12 - 2 = 10.\n#### 10", prompt)
    assert terse > worked
    thresholds = [model.threshold_for_share(s) for s in (0.1, 0.3, 0.5)]
    assert thresholds == sorted(thresholds, reverse=True)


def test_the_learned_score_is_the_gain_class_probability_minus_the_loss_class_one() -> None:
    names = learned.ANSWER_NAMES + learned.RULE_NAMES
    zeros = [0.0] * len(names)
    data = {
        "names": list(names),
        "mean": zeros,
        "scale": [1.0] * len(names),
        # logits 0, 0, ln 2: P(loss) = P(same) = 1/4, P(gain) = 1/2, whatever the answer
        "classes": {"loss": [0.0, *zeros], "same": [0.0, *zeros], "gain": [math.log(2.0), *zeros]},
        "score_quantiles": [-1.0, 0.0, 1.0],
    }
    assert learned.from_dict(data).score("#### 10", MATH) == pytest.approx(0.25)
    old = {k: v for k, v in data.items() if k != "classes"} | {"strong": [0.0], "weak": [0.0]}
    with pytest.raises(ValueError, match="retrain"):
        learned.from_dict(old)
