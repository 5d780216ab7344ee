"""The MCP layer: one module per tool, ``registry`` registers them, ``edge`` is the one edge every
answer leaves through (a tool's whole call in one guard: deadline, words, redaction once),
``runtime`` the server parts one user's call works with, ``extras`` what results give besides
their JSON."""
