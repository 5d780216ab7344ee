"""Which folders local uploads may come from: the client's MCP roots, when it declares them.

Roots arrive as URIs (``file:///Users/me/My%20Videos``) and are decoded as such. A client that
declares the capability but does not answer in time, or a connection with no back channel
(the 2026-07-28 protocol), falls back to the configured folders.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning

from nemo_mcp.media import path_of_uri

log = logging.getLogger(__name__)

ROOTS_TIMEOUT_S = 5.0


async def client_roots(ctx: Context) -> list[Path] | None:
    """The client's roots as local folders, or None to use the configured ones."""
    session = ctx.session
    caps = session.client_capabilities
    if caps is None or caps.roots is None or not session.can_send_request:
        return None
    try:
        with anyio.fail_after(ROOTS_TIMEOUT_S), warnings.catch_warnings():
            # Deprecated in the 2026-07-28 protocol; today's clients still declare roots.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            result = await session.list_roots()
    except Exception:
        log.info("the client declared roots but did not list them; using the configured folders")
        return None
    roots = [path for root in result.roots if (path := path_of_uri(str(root.uri))) is not None]
    return roots or None
