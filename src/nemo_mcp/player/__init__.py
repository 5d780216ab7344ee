"""The MCP App (``io.modelcontextprotocol/ui``): a small player for the exported video, the
timeline as tracks on a time axis, and the work in flight, refreshed by calling ``get_timeline``.

The page is one self-contained HTML file (no CDN, no build step), read the first time a host asks
for it, never at start-up. Its content-security policy names the one origin it loads media from,
the backend's (offline: the embedded backend on loopback, whose port is known only once the server
runs), so the resource's metadata is filled in when it is read. Hosts without Apps lose nothing:
the tools' text and structured results are complete without it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from mcp.server.apps import APP_MIME_TYPE, ResourceCsp
from mcp.server.mcpserver.resources import Resource

PLAYER_URI = "ui://nemo/player.html"
PLAYER_META = "nemo/player"
"""The tool result's ``_meta`` key with what only the player needs (where to stream the video)."""


@cache
def player_html() -> str:
    return files("nemo_mcp.player").joinpath("player.html").read_text(encoding="utf-8")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, else None. Pure."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def ui_meta(media_origin: str | None) -> dict[str, Any]:
    """The resource's ``_meta.ui``: media from the backend only, no other network, no border."""
    csp = ResourceCsp(resource_domains=[media_origin] if media_origin else [])
    return {"ui": {"csp": csp.model_dump(by_alias=True), "prefersBorder": False}}


class PlayerResource(Resource):
    """The player page. ``media_url`` gives the backend's URL at the moment of reading."""

    media_url: Callable[[], str | None]

    async def read(self) -> str:
        # The SDK reads ``meta`` after ``read()``: the CSP is the backend's as it runs now.
        url = self.media_url()
        self.meta = ui_meta(origin_of(url) if url else None)
        return player_html()


def player_resource(media_url: Callable[[], str | None]) -> PlayerResource:
    url = media_url()
    return PlayerResource(
        uri=PLAYER_URI,
        name="player",
        title="Video player",
        description="Watch the exported video, see the timeline's tracks and follow running work.",
        mime_type=APP_MIME_TYPE,
        meta=ui_meta(origin_of(url) if url else None),
        media_url=media_url,
    )
