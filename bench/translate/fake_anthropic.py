#!/usr/bin/env python3
"""nginx configuration for a fast fake Anthropic upstream: fixed Messages answers (JSON and SSE).

The same text as the OpenAI fake upstream (18 pieces), so passthrough and translation runs move the
same content. ``/fast/v1/messages`` answers JSON, ``/stream/v1/messages`` an SSE stream.
usage: fake_anthropic.py PORT > nginx.conf
"""

import json
import sys

WORDS = ["Bench", "marks", " run", " at", " night", ",\n", "lat", "ency", " curves", " bend", " and", " fall",
         ",\n", "gate", "ways", " hum", " along", "."]
MESSAGE = {"id": "msg_bench0000000000000001", "type": "message", "role": "assistant",
           "model": "claude-bench", "content": [{"type": "text", "text": "".join(WORDS)}],
           "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 25, "output_tokens": len(WORDS), "cache_creation_input_tokens": 0,
                     "cache_read_input_tokens": 0}}


def event(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def stream() -> str:
    start = {**MESSAGE, "content": [], "stop_reason": None, "usage": {**MESSAGE["usage"], "output_tokens": 1}}
    parts = [event("message_start", {"type": "message_start", "message": start}),
             event("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}})]
    parts += [event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": w}}) for w in WORDS]
    parts += [event("content_block_stop", {"type": "content_block_stop", "index": 0}),
              event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": len(WORDS)}}),
              event("message_stop", {"type": "message_stop"})]
    return "".join(parts)


def ngx(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 18002
    print(f"""worker_processes 1;
pid nginx-anthropic.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port} reuseport;
    location = /fast/v1/messages {{ default_type application/json; return 200 {ngx(json.dumps(MESSAGE))}; }}
    location = /stream/v1/messages {{ default_type text/event-stream; return 200 {ngx(stream())}; }}
    location = /health {{ return 200 'ok'; }}
  }}
}}""")


if __name__ == "__main__":
    main()
