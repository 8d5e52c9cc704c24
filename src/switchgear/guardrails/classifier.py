"""Optional prompt-injection classifier: an ONNX text classifier the operator provides.

``pip install 'switchgear[guardrails-onnx]'`` (onnxruntime and tokenizers); the configuration
names the model file and its ``tokenizer.json`` (Hugging Face ``tokenizers`` format). Nothing is
downloaded: the files must be on disk. The model takes ``input_ids`` (and ``attention_mask`` /
``token_type_ids`` when it declares them), int64 of shape (1, tokens), and returns one row of
class scores (logits, turned into probabilities by softmax, or probabilities already); ``label``
is the index of the *injection* class. Inference runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import math
from typing import Any


class ClassifierUnavailable(Exception):
    """The extra is not installed or the files cannot be loaded."""


class OnnxClassifier:
    def __init__(self, model: str, tokenizer: str, *, label: int = 1, max_tokens: int = 512) -> None:
        try:
            import numpy as np
            import onnxruntime  # type: ignore[import-untyped]
            import tokenizers
        except ImportError:
            extra = "pip install 'switchgear[guardrails-onnx]'"
            raise ClassifierUnavailable(
                f"the ONNX classifier needs the guardrails-onnx extra: {extra}"
            ) from None
        try:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # one request's inference on one core
            self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            self.tokenizer = tokenizers.Tokenizer.from_file(tokenizer)
        except Exception as exc:  # onnxruntime and tokenizers raise their own types
            raise ClassifierUnavailable(f"cannot load the classifier: {exc}") from None
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.np = np
        self.names = {i.name for i in self.session.get_inputs()}
        if "input_ids" not in self.names:
            raise ClassifierUnavailable("the classifier model has no input named input_ids")
        self.label = label

    def probability(self, text: str) -> float:
        """The probability of the injection class for ``text`` (CPU work: call it off the loop)."""
        np = self.np
        encoding = self.tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        feed: dict[str, Any] = {"input_ids": ids}
        if "attention_mask" in self.names:
            feed["attention_mask"] = np.array([encoding.attention_mask], dtype=np.int64)
        if "token_type_ids" in self.names:
            feed["token_type_ids"] = np.zeros_like(ids)
        row = [float(v) for v in np.asarray(self.session.run(None, feed)[0]).reshape(-1)]
        if len(row) == 1:  # one logit: the injection class
            return 1 / (1 + math.exp(-row[0]))
        if all(0 <= v <= 1 for v in row) and abs(sum(row) - 1) < 1e-3:
            return row[self.label]
        top = max(row)
        exps = [math.exp(v - top) for v in row]
        return exps[self.label] / sum(exps)
