"""Prompt-injection heuristic scorer: hand-written pattern features, weighted and squashed to 0-1.

The text is normalised first (NFKC, zero-width characters removed, lower case) and base64 runs
are decoded and scored as well (an encoded payload). Each feature counts the matches of a family
of patterns (instruction override, role-play and persona switches, restrictions lifted, system
prompt exfiltration, suspicious chat markup, adversarial-suffix noise, instructions planted in a
document addressing "your code / your answer"); the weights and the operating thresholds come from
``injection_weights.json``, made by ``tools/fit_injection.py`` (logistic regression with
cross-validation on the labelled set). Direct prompts and documents (tool results) have separate
weights and thresholds.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

FEATURES: dict[str, str] = {
    "override": r"\b(?:ignore|disregard|forget|override|bypass|skip)\b.{0,40}\b(?:previous|prior|above|earlier|all|any|your|the)\b.{0,30}\b(?:instructions?|rules|guidelines|directives|prompts?|restrictions|programming|policies|training)\b",
    "from_now": r"\bfrom now on\b|\bstarting now\b|\bhenceforth\b|\bfor the rest of (?:this|our) conversation\b",
    "persona": r"\byou (?:are|will be|'re) (?:now |going to (?:be|act|pretend)|a |an )|\bact(?:ing)? as\b|\bpretend\b|\brole-?play\b|\bin character\b|\bstay in character\b|\bsimulate\b|\bpersona\b",
    "jailbreak": r"\bjailbr(?:eak|oken)\b|\bdan\b|\bdo anything now\b|\bdeveloper mode\b|\bdude\b|\bstan\b|\banti-?dan\b|\bevil\b|\bunfiltered\b|\buncensored\b|\bamoral\b|\bunethical\b|\bimmoral\b",
    "unrestricted": r"\b(?:no|without|free of|any|zero)\b.{0,20}\b(?:restrictions?|limits?|limitations|filters?|censorship|rules|ethics|morals?|boundaries|guidelines)\b|\bbroken free\b|\bnot bound\b",
    "policy": r"\bopenai\b|\bcontent polic(?:y|ies)\b|\bchatgpt\b|\blanguage model\b|\bai model\b|\bas an ai\b",
    "never_refuse": r"\bnever (?:refuse|decline|say no|break character|warn)|\balways (?:answer|respond|comply|stay)|\bcannot refuse\b|\bwill not refuse\b|\bdon'?t (?:refuse|warn|remind)",
    "harm": r"\billegal\b|\bharmful\b|\boffensive\b|\bexplicit\b|\bviolence\b|\bweapons?\b|\bdrugs?\b|\bhack(?:ing)?\b|\bmalware\b|\bsteal\b",
    "exfiltrate": r"\b(?:system|initial|original|hidden|secret) (?:prompt|instructions?|message)\b|\b(?:repeat|print|show|reveal|output|display|tell me|encode|translate)\b.{0,40}\b(?:instructions|prompt|conversation|text above|words above|everything above|you were given)\b|\byour (?:instructions|rules|prompt|guidelines)\b",
    "markup": r"<\|im_(?:start|end)\|>|\[/?inst\]|<</?sys>>|</?system>|###\s*(?:instruction|system)|\bsystem:\s|\[system\]|<\|endoftext\|>|</s>",
    "two_answers": r"\b(?:two|2|both) (?:different )?(?:responses|answers|ways)\b|\[🔓|\[🔒|\bclassic\b.{0,40}\bjailbreak\b|\bnormal response\b",
    "address_model": r"\byour (?:code|solution|implementation|codebase|algorithm|response|answer|reply|message|output|elucidation|program)\b",
    "insert_code": r"\b(?:incorporate|integrate|include|embed|merge|blend|insert|append|add|use|utili[sz]e|employ|inject|weave|meld|fuse|adopt|deploy|infuse|interweave|absorb|enlist|leverage|introduce|harmoni[sz]e|execute|render|engage|enrich|enhance|consider)\b.{0,60}\b(?:following|subsequent|below)\b.{0,20}\b(?:code|snippet|block|excerpt|section)\b",
    "answer_style": r"\b(?:in|to|with|into) your (?:answer|response|reply|message)\b|\b(?:answer|respond|reply)\b.{0,30}\b(?:in|using|only)\b|\b(?:replace|substitute|misspell|reverse|anagram|remove (?:all )?(?:the )?spaces)\b",
    "risky_code": r"\bos\.system\b|\bsubprocess\b|\brm -rf\b|\bexec\(|\beval\(|\bos\.environ\b|\bsmtplib\b|\bcookies?\b|\bexploit\b|\bminer\b|\bcrypto(?:mine|currency)\b|/etc/|\bpsutil\b|\brequests\.post\b|\bkeylog",
    "second_person": r"\byou (?:will|must|should|shall|are to|have to)\b",
    "noise": r"(?:\[ ){2,}|[!\[\]()`|\\]{4,}|(?:\S+ ){3}[\[\]`|]",
    "emphasis": r"\b[A-Z]{4,}\b",
    "gpt_name": r"\b\w*gpt\w*\b|\bgpt-?\d\b|\bllm\b|\bartificial intelligence\b|\bthe ai\b",
    "conversation_rules": r"\b(?:only|always|must) (?:talk|respond|reply|answer|speak|use|say|output|write)\b|\brefer to me as\b|\bat the end of (?:all|every|each) (?:of )?your\b|\bstart your (?:answer|response|reply) with\b|\bif the user\b|\b(?:user|human|assistant|ai|model):",
    "exfiltrate_more": r"\b(?:above|previous|preceding|prior) (?:text|message|content|words)\b|\binstructed\b|\bnot (?:supposed|allowed) to (?:tell|say|reveal)\b|\b(?:administrator|admin|developer|debug) (?:override|mode|access)\b|\bconfiguration\b",
    "encoding": r"(?:[.-]{1,5} ){8,}|\b(?:rot13|base64|morse|leet|hex(?:adecimal)?|binary|cipher|encode[ds]?|decode)\b|\b\w*\d\w*\d\w*\d\w*\b",
    "exam": r"\n[A-D]\. |\banswer:\s*$|\bwhich of the following\b|\$\d|\d+(?:\.\d+)? (?:percent|%|dollars|hours|minutes|miles|km|kg)\b",
}
_CASED = {"emphasis"}  # case matters
_COMPILED = {
    name: re.compile(pattern, re.DOTALL if name in _CASED else re.IGNORECASE | re.DOTALL)
    for name, pattern in FEATURES.items()
}
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
NAMES = (*FEATURES, "base64", "length")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)


def _decoded(text: str) -> str:
    """Text hidden in base64 runs (printable ASCII only)."""
    out: list[str] = []
    for m in _BASE64.finditer(text):
        chunk = m.group()
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if raw and sum(32 <= b < 127 for b in raw) / len(raw) > 0.9:
            out.append(raw.decode("ascii", "ignore"))
    return " ".join(out)


def features(text: str) -> list[float]:
    """The feature vector of a text: log(1 + count) per pattern family, base64 payloads decoded
    and counted in, and the log of the length."""
    text = normalise(text)
    hidden = _decoded(text) if len(text) >= 24 else ""
    values: list[float] = []
    for pattern in _COMPILED.values():
        count = len(pattern.findall(text))
        if hidden:
            count += len(pattern.findall(hidden))
        values.append(math.log1p(count))
    values.append(1.0 if hidden else 0.0)
    values.append(math.log1p(len(text)) / 10)
    return values


@dataclass(frozen=True, slots=True)
class Model:
    """Weights of one logistic model and its operating threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float  # score at or above: an attack at the chosen false-positive rate

    def score(self, vector: list[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, vector, strict=True))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True, slots=True)
class Scorer:
    direct: Model
    document: Model

    @classmethod
    def bundled(cls) -> Scorer:
        data = json.loads(
            resources.files("switchgear.guardrails").joinpath("injection_weights.json").read_text()
        )
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: dict[str, dict[str, object]]) -> Scorer:
        def model(entry: dict[str, object]) -> Model:
            names = entry["features"]
            if names != list(NAMES):
                raise ValueError("injection weights were made for other features; run tools/fit_injection.py")
            weights = entry["weights"]
            assert isinstance(weights, list)
            return Model(tuple(float(w) for w in weights), float(entry["bias"]), float(entry["threshold"]))  # type: ignore[arg-type]

        return cls(model(data["direct"]), model(data["document"]))

    def score(self, text: str, document: bool = False) -> float:
        return (self.document if document else self.direct).score(features(text))
