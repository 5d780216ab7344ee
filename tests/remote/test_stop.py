"""The shared server: every skill without --skill, and a stop that goes through the store,
across workers, for the user's own work only."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from nemo_mcp.jobs import TICK
from tests.e2e.conftest import structured
from tests.remote.conftest import SERVER_KEY, Cluster, connect, new_token
from tests.remote.services import Worker, free_port


async def test_only_the_owner_stops_a_running_generation(fresh: Cluster) -> None:
    alice_id = str(uuid.uuid4())
    alice, bob = new_token(fresh.backend.url, alice_id), new_token(fresh.backend.url)
    # Each signs in once before connecting twice at a time: two first sign-ins of one user at
    # once collide in the PostgreSQL store (noticed here, left to its owner).
    for token in (alice, bob):
        async with connect(fresh.url, token) as client:
            await client.call_tool("check_credits", {})
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
    # The worker running it (maybe another) lets go of the stream at its next tick; the
    # backend goes on with the message alone.
    with anyio.fail_after(TICK + 5):
        while not all(r["ended"] for r in fresh.backend.stats.requests("run_sse", alice_id)):
            await anyio.sleep(0.1)


async def test_serve_http_without_a_skill_serves_every_skill(
    embedded_backend: Any, tmp_path: Path
) -> None:
    """One worker on SQLite, as a small deployment runs it: the five tools with the skill enum,
    and each user's request under the skill its words choose, with that skill's headers. Its
    backend is its own (not the cluster's), so no other test's late request is counted."""
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path), "NEMO_API_URL": embedded_backend.url,
        "NEMO_SERVER_KEY": SERVER_KEY, "NEMO_REMOTE_DIR": str(tmp_path / "shared"),
        "NEMO_CONFIG_DIR": str(tmp_path / "config"), "NEMO_CONTACT_SHEET": "0",
        "NEMO_CONFIRM_SPEND": "always",
        "NEMO_DRAIN": "0",  # no balancer to drain from: stop at SIGTERM
    }  # fmt: skip
    worker = Worker(free_port(), env, tmp_path / "worker.log", skill=None)
    worker.start()
    try:
        worker.wait_ready()
        embedded_backend.faults.all_off()
        embedded_backend.stats.reset()
        url = f"http://127.0.0.1:{worker.port}"
        token = new_token(embedded_backend.url)
        async with connect(url, token) as client:
            tools = (await client.list_tools()).tools
            sing = structured(await client.call_tool("send_edit", {"message": "让这张自拍唱歌"}))
            dub = structured(
                await client.call_tool("send_edit", {"message": "dub this clip with my recording"})
            )
        # Stateless HTTP on 2026-07-28: the question is an input round, answered by calling again.
        asked: list[str] = []

        async def decline(ctx: Any, params: ElicitRequestParams) -> ElicitResult:
            asked.append(params.message)
            return ElicitResult(action="decline")

        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        stream = streamable_http_client(f"{url}/mcp", http_client=http)
        async with Client(stream, elicitation_callback=decline) as modern:
            declined = structured(
                await modern.call_tool("send_edit", {"message": "make my selfie sing louder"})
            )
            protocol = modern.protocol_version
    finally:
        worker.stop()
    assert protocol == "2026-07-28"
    assert len(asked) == 1 and "uses credits" in asked[0]
    assert declined["status"] == "declined" and "Nothing was sent" in declined["reply"]
    assert len(tools) == 5
    assert all(t.input_schema["properties"]["skill"]["enum"] for t in tools)
    assert sing["status"] == dub["status"] == "done"
    sent = [
        r["skill"] for r in embedded_backend.stats.snapshot()["recent"] if r["route"] == "run_sse"
    ]
    assert sent == ["dreamface-ai", "lipsyncvideo-ai"]
