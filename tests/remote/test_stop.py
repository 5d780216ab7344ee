"""Stop on the shared server: through the store, across workers, and only the user's own work."""

from __future__ import annotations

from typing import Any

import anyio

from tests.e2e.conftest import structured
from tests.remote.conftest import Cluster, connect, new_token


async def test_only_the_owner_stops_a_running_generation(fresh: Cluster) -> None:
    alice, bob = new_token(fresh.backend.url), new_token(fresh.backend.url)
    fresh.backend.faults.update({"heartbeat_only_seconds": 40})
    outcome: dict[str, Any] = {}

    async def generate() -> None:
        async with connect(fresh.url, alice) as client:
            message = {"message": "turn these photos into a video"}
            outcome["edit"] = structured(await client.call_tool("send_edit", message))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(generate)
            async with connect(fresh.url, alice) as client:
                running: list[dict[str, Any]] = []
                while not running:
                    await anyio.sleep(0.3)
                    jobs = structured(await client.call_tool("get_timeline", {}))["jobs"]
                    running = [j for j in jobs if j["status"] == "running"]
                job_id = running[0]["job_id"]
                async with connect(fresh.url, bob) as other:
                    refused = structured(
                        await other.call_tool("send_edit", {"message": f"stop {job_id}"})
                    )
                    nothing = structured(await other.call_tool("send_edit", {"message": "stop"}))
                stopped = structured(
                    await client.call_tool("send_edit", {"message": f"stop {job_id}"})
                )
    assert f"no running or queued job {job_id} of yours" in refused["reply"]
    assert "nothing to stop" in nothing["reply"], "Bob's stop never reaches Alice's work"
    assert stopped["status"] == "cancelled" and stopped["job_id"] == job_id
    assert outcome["edit"]["status"] == "cancelled", "the waiting call learns it too"
    assert "may still complete" in outcome["edit"]["reply"]
