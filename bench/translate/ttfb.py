#!/usr/bin/env python3
"""Time to first byte of a streamed chat completion, sequentially, through keep-alive connections.

usage: ttfb.py URL PATH BODY_JSON [N] [HEADER:VALUE ...] -> prints p50 / p90 / p99 in ms
Only loopback URLs. Used to compare a provider's own TTFB with the gateway's.
"""

import http.client
import ipaddress
import statistics
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    url, path, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    headers = {"content-type": "application/json"}
    for item in sys.argv[5:]:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("loopback targets only")
    connection = http.client.HTTPConnection(host, parts.port or 80, timeout=30)
    samples = []
    for i in range(count + 200):
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        first = response.read1(1) if hasattr(response, "read1") else response.read(1)
        elapsed = time.perf_counter() - started
        rest = response.read()
        if response.status != 200 or not (first + rest):
            raise SystemExit(f"bad answer {response.status}: {(first + rest)[:200]!r}")
        if i >= 200:  # warm-up excluded
            samples.append(elapsed * 1000)
    samples.sort()
    q = statistics.quantiles(samples, n=100)
    print(f"p50 {q[49]:.3f} ms  p90 {q[89]:.3f} ms  p99 {q[98]:.3f} ms  (n={len(samples)})")


if __name__ == "__main__":
    main()
