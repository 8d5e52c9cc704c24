"""Summarise bench/stages/compare.sh (or bench/governance/compare.sh): per variant and scenario,
the median over rounds of requests/s and p50 latency (ms), and each variant against the first.

usage: summary.py RESULTS_DIR [PREFIX VARIANT...]   (default: stages base none noop log info)
SINCE=YYYYMMDD-HHMMSS keeps only the results stamped at or after it (one sitting's rounds)."""

import json
import os
import statistics
import sys
from collections import defaultdict
from pathlib import Path

results = Path(sys.argv[1])
prefix = sys.argv[2] if len(sys.argv) > 2 else "stages"
variants = sys.argv[3:] or ["base", "none", "noop", "log", "info"]
table: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
since = os.environ.get("SINCE", "")
for path in sorted(results.glob(f"{prefix}-*.json")):
    if path.stem[-15:] < since:
        continue
    data = json.loads(path.read_text())
    variant = data["name"].removeprefix(f"{prefix}-")
    for row in data["rows"]:
        cell = table[(variant, row["scenario"])]
        cell["rps"].append(row["ok_rps"])
        cell["p50"].append(row["p50_us"] / 1000)
scenarios = sorted({s for _, s in table})
print("| scenario | " + " | ".join(variants) + " |")
print("|---|" + "---|" * len(variants))
for scenario in scenarios:
    base = table.get((variants[0], scenario))
    cells = []
    for variant in variants:
        cell = table.get((variant, scenario))
        if not cell:
            cells.append("-")
            continue
        rps, p50 = statistics.median(cell["rps"]), statistics.median(cell["p50"])
        text = f"{rps:,.0f}/s p50 {p50:.3f} ms (n={len(cell['rps'])})"
        if base and variant != variants[0]:
            ratio = rps / statistics.median(base["rps"])
            delta = p50 - statistics.median(base["p50"])
            text += f" = {ratio:.1%}, {delta:+.3f} ms"
        cells.append(text)
    print(f"| {scenario} | " + " | ".join(cells) + " |")
