from __future__ import annotations

import httpx

from nemo_mcp.samples import make_photo
from tests.remote.conftest import Cluster, connect, new_token, structured


async def test_one_user_uploads_edits_and_exports(fresh: Cluster, tmp_path) -> None:
    token = new_token(fresh.backend.url)
    photo = make_photo(tmp_path / "p.jpg", 1, (320, 480))
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=fresh.url, headers=auth) as http:
        up = await http.post("/uploads", params={"name": "p.jpg"}, content=photo.read_bytes())
        assert up.status_code == 200, up.text
        ref = up.json()["ref"]
        async with connect(fresh.url, token) as client:
            r = structured(await client.call_tool("upload_media", {"urls": [ref]}))
            print(r)
            r = structured(
                await client.call_tool("send_edit", {"message": "turn these photos into a video"})
            )
            print(r)
            r = structured(await client.call_tool("export_video", {}))
            print(r)
        got = await http.get(r["url"].removeprefix(fresh.url))
        assert got.status_code == 200
        assert got.content[4:8] == b"ftyp"
