"""The player App in memory: advertised, linked from the two tools it shows, served as one
self-contained page whose CSP names the backend only, and fed by what ``get_timeline`` says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from nemo_mcp.manifests import Manifest
from nemo_mcp.player import PLAYER_META, PLAYER_URI, origin_of, player_html
from nemo_mcp.server import create_server
from nemo_mcp.settings import Settings
from tests.fakes.backend import FakeBackend

DRAFT = {"t": [{"tt": 0, "sg": [{"st": 0, "d": 3000, "m": {"name": "a.jpg"}}]}]}


async def test_the_two_tools_link_the_player_and_the_server_advertises_apps(
    tool_settings: Settings, manifest: Manifest, fake: FakeBackend
) -> None:
    server = create_server(manifest, tool_settings, transport=fake.transport)
    # Capability extensions exist on the wire from protocol 2026-07-28 (the client's default);
    # hosts on 2025-11-25 find the App through the tools' ``_meta.ui``.
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        capabilities = client.server_capabilities
    linked = {name for name, t in tools.items() if (t.meta or {}).get("ui")}
    assert linked == {"get_timeline", "export_video"}
    assert tools["export_video"].meta == {"ui": {"resourceUri": PLAYER_URI}}
    assert capabilities.extensions is not None and EXTENSION_ID in capabilities.extensions


async def test_the_page_is_self_contained_and_its_csp_names_the_backend_only(
    open_session: Any, tool_settings: Settings
) -> None:
    async with open_session() as s:
        listed = {str(r.uri): r for r in (await s.client.list_resources()).resources}
        read = await s.client.read_resource(PLAYER_URI)
    assert listed[PLAYER_URI].mime_type == APP_MIME_TYPE
    (content,) = read.contents
    assert content.mime_type == APP_MIME_TYPE
    html = getattr(content, "text", "")
    assert html.startswith("<!doctype html>") and "get_timeline" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html), "nothing loaded from outside"
    assert "http://" not in html and "https://" not in html.replace("/^https?:\\/\\//", "")
    assert content.meta is not None
    csp = content.meta["ui"]["csp"]
    assert csp["resourceDomains"] == [origin_of(tool_settings.api_url)] == ["https://api.nemo.test"]
    assert not csp.get("connectDomains") and not csp.get("frameDomains")


def test_the_page_is_read_when_asked_for_not_at_start_up(
    tool_settings: Settings, manifest: Manifest, fake: FakeBackend
) -> None:
    player_html.cache_clear()
    create_server(manifest, tool_settings, transport=fake.transport)
    assert player_html.cache_info().currsize == 0


def test_origins_keep_scheme_host_and_port_and_drop_the_rest() -> None:
    assert origin_of("http://127.0.0.1:8765/files/renders/r.mp4") == "http://127.0.0.1:8765"
    assert origin_of("https://user:pw@cdn.example/x") == "https://cdn.example"
    assert origin_of("/api/render/proxy/r/download") is None
    assert origin_of("file:///tmp/x.mp4") is None


async def test_the_timeline_shows_an_exports_progress_then_its_video(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    """What the player polls: a running export with its percentage, then its video's URL."""
    fake.draft = DRAFT
    fake.render_polls = 6
    async with open_session(
        tool_wait=0.2, poll_interval=0.05, render_polls=50, output_dir=tmp_path
    ) as s:
        started = await s.data("export_video")
        assert started["status"] == "running"
        seen: list[dict[str, Any]] = []
        with anyio.fail_after(10):
            while True:
                jobs = (await s.data("get_timeline"))["jobs"]
                seen += jobs
                if any(j["status"] == "done" for j in jobs):
                    break
                await anyio.sleep(0.05)
    running = [j for j in seen if j["status"] == "running"]
    assert running and all(isinstance(j["percent"], int) for j in running)
    assert any(j["percent"] > 0 for j in running)
    done = next(j for j in seen if j["status"] == "done")
    assert done["kind"] == "export" and done["percent"] is None
    assert done["url"].endswith(".mp4") and done["job_id"] == started["job_id"]


async def test_the_timeline_gives_the_player_a_finished_exports_video(
    open_session: Any, fake: FakeBackend, tmp_path: Path
) -> None:
    fake.draft = DRAFT
    fake.render_polls = 20  # ~1 s: the first call hands off (0.2 s) before it ends

    def on_a_cdn(request: httpx.Request) -> httpx.Response:
        body = fake._render_status(request).json()
        if "output" in body:
            body["output"]["url"] = "https://cdn.nemo.test" + body["output"]["url"]
        return httpx.Response(200, json=body)

    fake.fail("render_status", *[on_a_cdn] * 200)
    async with open_session(
        tool_wait=0.2, poll_interval=0.05, render_polls=50, output_dir=tmp_path
    ) as s:
        started = await s.data("export_video")
        assert started["status"] == "running", started
        with anyio.fail_after(30):  # seconds when idle; generous for a loaded machine
            while True:
                result = await s.call("get_timeline")
                assert result.structured_content is not None
                if any(j["status"] == "done" for j in result.structured_content["jobs"]):
                    break
                assert result.meta is None, "nothing for the player until a video is there"
                await anyio.sleep(0.05)
    (done,) = result.structured_content["jobs"]
    assert done["url"].startswith("https://cdn.nemo.test/files/")
    assert result.meta == {PLAYER_META: {"videos": {started["job_id"]: done["url"]}}}
