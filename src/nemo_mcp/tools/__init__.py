"""The MCP layer: one module per tool, ``registry`` registers them, ``boundary`` is the one edge
(bounded time, errors into words, secrets removed), ``app`` the state the tools share."""
