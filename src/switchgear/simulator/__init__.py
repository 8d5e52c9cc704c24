"""Simulated LLM providers speaking the real wire formats, for tests and ``switchgear simulate``.

The simulator is an aiohttp server that answers like a provider would — OpenAI today, one module
per wire family — with deterministic content and a per-request behaviour script (``x-sim-*``
headers or ``;key=value`` model-name suffixes) that can delay, chunk, fail, stall, disconnect or
corrupt the answer. It deliberately imports nothing else from ``switchgear`` so a bug in the
gateway can never be mirrored (and cancelled out) by the thing that tests it. Start with
:class:`switchgear.simulator.server.Simulator`; see ``docs/simulator.md``.
"""
