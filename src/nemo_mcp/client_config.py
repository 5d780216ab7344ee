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
    client: Client, skill: str | None, command: list[str], *, local: bool = False
) -> dict[str, object]:
    """One server: the absolute command (clients do not use the shell's PATH) and its args.
    Without ``skill`` it serves every skill; with one, only that one."""
    narrow = ["--skill", skill] if skill else []
    args = [*command[1:], "serve", *narrow] + (["--local"] if local else [])
    entry: dict[str, object] = {"command": command[0], "args": args}
    if client == "cursor":
        # The platform header's documented value for Cursor (DESIGN: X-Skill-Platform).
        entry["env"] = {"SKILL_SOURCE": "cursor"}
    return entry


def config_block(
    client: Client, skill: str | None, command: list[str], *, local: bool = False
) -> str:
    """The ``mcpServers`` object for ``client``; no token is ever written into it."""
    entry = server_entry(client, skill, command, local=local)
    return dump({"mcpServers": {f"nemo-{skill}" if skill else "nemo": entry}})


def dump(value: object, indent: str = "") -> str:
    """JSON as people write these files (and the README shows them): objects one key a line,
    arrays of plain values on one line."""
    if isinstance(value, dict) and value:
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k)}: {dump(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return json.dumps(value, ensure_ascii=False)


def hints(kind: str, *, local: bool) -> list[str]:
    """What to know after pasting: how the command was chosen, and the account (cloud only)."""
    lines = [f"The command is the one of this {kind} install."]
    if kind == "uvx":
        lines[0] = "The command runs nemo-mcp through uvx (uv fetches it again when needed)."
    elif kind == "python":
        lines[0] = "No nemo-mcp command was found, so the command runs this Python."
    if local:
        lines.append("It runs offline on the embedded backend: no account and no token needed.")
    else:
        lines.append('To use your own account, add "NEMO_TOKEN" to its "env".')
    return lines
