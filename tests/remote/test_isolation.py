"""Two users on the same workers: neither sees, joins nor fetches the other's work."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.conftest import error_text, structured
from tests.remote.conftest import Cluster, connect, new_token
from tests.remote.flows import make_video


async def test_another_user_can_neither_see_join_nor_fetch(fresh: Cluster, tmp_path: Path) -> None:
    alice, bob = new_token(fresh.backend.url), new_token(fresh.backend.url)
    made = await make_video(fresh.url, alice, tmp_path / "alice", 1)
    link = str(made.export["url"]).removeprefix(fresh.url)
    ref = "upload:" + made.upload_name

    async with connect(fresh.url, bob) as client:
        timeline = structured(await client.call_tool("get_timeline", {}))
        assert timeline["jobs"] == [] and made.upload_name not in timeline["summary"]
        # Alice's upload reference means nothing to Bob.
        text = error_text(await client.call_tool("upload_media", {"urls": [ref]}))
        assert "Nothing was uploaded" in text
        # The same words Alice sent start Bob's own job: nothing of Alice's is joined.
        edit = structured(
            await client.call_tool("send_edit", {"message": "turn these photos into a video"})
        )
        assert edit["job_id"] != made.edit_job
        assert made.upload_name not in str(edit)
        # Nor is Alice's finished export handed to Bob.
        export = await client.call_tool("export_video", {})
        assert made.upload_name not in str(export.content)

    bob_http = httpx.Client(base_url=fresh.url, headers={"Authorization": f"Bearer {bob}"})
    with bob_http:
        assert bob_http.get(link).status_code == 404
        assert bob_http.get("/downloads/..%2F..%2Fetc%2Fpasswd").status_code == 404
    alice_http = httpx.Client(base_url=fresh.url, headers={"Authorization": f"Bearer {alice}"})
    with alice_http:
        assert alice_http.get(link).content == made.mp4
