"""The start-up baseline: a bare ``MCPServer`` with one tool, over stdio, nothing else."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server: MCPServer = MCPServer(name="bare")


@server.tool()
def ping() -> str:
    """Answer at once."""
    return "pong"


if __name__ == "__main__":
    server.run("stdio")
