"""What one remote user does, as an assistant would on their behalf: upload, edit, export."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from nemo_mcp.samples import make_photo
from tests.e2e.conftest import structured
from tests.remote.conftest import connect


@dataclass
class Outcome:
    token: str
    upload_name: str
    timeline: str
    edit_job: str
    export: dict[str, object]
    mp4: bytes
    latencies: dict[str, float]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.mp4).hexdigest()


async def timed(latencies: dict[str, float], name: str, coro: object) -> object:
    import time

    started = time.perf_counter()
    result = await coro  # type: ignore[misc]
    latencies[name] = time.perf_counter() - started
    return result


async def make_video(url: str, token: str, folder: Path, index: int) -> Outcome:
    """Upload one photo of the user's own, turn it into a video, export it, download it."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = make_photo(folder / f"user{index}.jpg", index, (320, 480))
    auth = {"Authorization": f"Bearer {token}"}
    lat: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=60) as http:
        up = await timed(
            lat, "POST /uploads",
            http.post("/uploads", params={"name": photo.name}, content=photo.read_bytes()),
        )  # fmt: skip
        assert isinstance(up, httpx.Response) and up.status_code == 200, up
        ref = up.json()["ref"]
        async with connect(url, token) as client:
            uploaded = structured(
                await timed(lat, "upload_media", client.call_tool("upload_media", {"urls": [ref]}))
            )
            assert uploaded["status"] == "done", uploaded
            edit = structured(
                await timed(
                    lat, "send_edit",
                    client.call_tool("send_edit", {"message": "turn these photos into a video"}),
                )
            )  # fmt: skip
            assert edit["status"] == "done", edit
            export = structured(
                await timed(lat, "export_video", client.call_tool("export_video", {}))
            )
            while export["status"] == "running":  # as an assistant does: ask again, it joins
                export = structured(await client.call_tool("export_video", {}))
            assert export["status"] == "done", export
        link = str(export["url"])
        assert link.startswith(url + "/downloads/"), link
        got = await timed(lat, "GET /downloads", http.get(link.removeprefix(url)))
        assert isinstance(got, httpx.Response) and got.status_code == 200, got
    name = uploaded["uploaded"][0]["name"]
    return Outcome(token, name, edit["timeline"], edit["job_id"], export, got.content, lat)
