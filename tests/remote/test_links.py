"""Export links open without a header (the App player, a browser) until they expire; the bearer
header keeps working; an altered or expired link is a 403 in words."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from nemo_mcp.player import PLAYER_URI
from nemo_mcp.remote.auth import Keys
from nemo_mcp.remote.signing import LinkSigner
from tests.remote.conftest import SERVER_KEY, Cluster, connect, new_token
from tests.remote.flows import make_video


async def test_a_signed_link_opens_without_a_header(fresh: Cluster, tmp_path: Path) -> None:
    alice, bob = new_token(fresh.backend.url), new_token(fresh.backend.url)
    made = await make_video(fresh.url, alice, tmp_path, 7)  # it downloads with the header too
    assert made.upload_name == "user7.jpg"  # the name given, not the stored one with its id
    link = str(made.export["url"])
    parts = urlsplit(link)
    name = parts.path.rsplit("/", 1)[1]
    assert Keys.from_setting(SERVER_KEY).user_key(alice) not in link

    with httpx.Client(base_url=fresh.url) as anyone:
        opened = anyone.get(link.removeprefix(fresh.url))
        assert opened.status_code == 200 and opened.content == made.mp4
        ranged = anyone.get(link.removeprefix(fresh.url), headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.content) == 100  # a <video> seeks
        query = dict(parse_qsl(parts.query))
        altered = {**query, "exp": str(int(query["exp"]) + 86400)}
        refused = anyone.get(parts.path, params=altered)
        assert refused.status_code == 403 and "not valid" in refused.json()["error"]
        expired_query = LinkSigner(SERVER_KEY.encode(), ttl=-1).query(
            Keys.from_setting(SERVER_KEY).user_key(alice), name, time.time()
        )
        expired = anyone.get(f"{parts.path}?{expired_query}")
        assert expired.status_code == 403 and "expired" in expired.json()["error"]
        assert anyone.get(parts.path).status_code == 401  # neither header nor signature
    # A bearer header is the bearer's own folder, whatever the link says.
    bob_auth = {"Authorization": f"Bearer {bob}"}
    assert httpx.get(link, headers=bob_auth).status_code == 404

    async with connect(fresh.url, alice) as client:  # the player may load from this server
        read = await client.read_resource(PLAYER_URI)
        csp = (read.contents[0].meta or {})["ui"]["csp"]
        assert fresh.url in csp["resourceDomains"]
