"""The JSON block a user pastes into Claude Desktop's or Cursor's MCP settings. Pure."""

from __future__ import annotations

import json
from typing import Literal

Client = Literal["claude", "cursor"]

WHERE = {
    "claude": (
        "Claude Desktop: Settings > Developer > Edit Config, or the file "
        "~/Library/Application Support/Claude/claude_desktop_config.json (macOS), "
        "%APPDATA%\\Claude\\claude_desktop_config.json (Windows)"
    ),
    "cursor": "Cursor: ~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project)",
}


def server_entry(
    client: Client, skill: str, command: list[str], *, local: bool = False
) -> dict[str, object]:
    """One server: the absolute command (clients do not use the shell's PATH) and its args."""
    args = [*command[1:], "serve", "--skill", skill] + (["--local"] if local else [])
    entry: dict[str, object] = {"command": command[0], "args": args}
    if client == "cursor":
        # The platform header's documented value for Cursor (DESIGN: X-Skill-Platform).
        entry["env"] = {"SKILL_SOURCE": "cursor"}
    return entry


def config_block(client: Client, skill: str, command: list[str], *, local: bool = False) -> str:
    """The ``mcpServers`` object for ``client``; no token is ever written into it."""
    entry = server_entry(client, skill, command, local=local)
    return json.dumps({"mcpServers": {f"nemo-{skill}": entry}}, indent=2)
