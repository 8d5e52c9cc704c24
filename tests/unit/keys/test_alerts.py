"""Soft-budget alerts posted to a real webhook listener on loopback, off the request path."""

from __future__ import annotations

import asyncio

from aiohttp import web

from switchgear.keys.alerts import Alerts
from switchgear.state import Scope, SoftCrossing
from tests.fakes.gateway import closed_port

CROSSING = SoftCrossing(Scope("key", "key_1"), "202612", 10_000_000, 10_012_500)


async def test_a_crossing_is_posted_as_json() -> None:
    received: asyncio.Queue[object] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    alerts = Alerts(f"http://127.0.0.1:{port}/hook")
    await alerts.start()
    try:
        alerts.crossed(CROSSING)
        body = await asyncio.wait_for(received.get(), 5)
        assert body == {
            "event": "soft_budget_crossed",
            "scope": "key",
            "id": "key_1",
            "period": "202612",
            "soft_budget_usd": "10",
            "spent_usd": "10.0125",
            "soft_budget_microusd": 10_000_000,
            "spent_microusd": 10_012_500,
        }
        while alerts.sent < 1:
            await asyncio.sleep(0.01)
        assert (alerts.crossings, alerts.failed) == (1, 0)
    finally:
        await alerts.close()
        await runner.cleanup()


async def test_a_dead_webhook_is_counted_and_nothing_else_happens() -> None:
    alerts = Alerts(f"http://127.0.0.1:{closed_port()}/hook")
    await alerts.start()
    try:
        alerts.crossed(CROSSING)
        for _ in range(500):
            if alerts.failed:
                break
            await asyncio.sleep(0.01)
        assert (alerts.crossings, alerts.sent, alerts.failed) == (1, 0, 1)
    finally:
        await alerts.close()


async def test_without_a_webhook_crossings_are_only_counted() -> None:
    alerts = Alerts(None)
    await alerts.start()
    alerts.crossed(CROSSING)
    assert (alerts.crossings, alerts.sent, alerts.dropped) == (1, 0, 0)
    await alerts.close()
