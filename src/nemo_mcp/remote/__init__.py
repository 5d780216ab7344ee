"""The shared deployment: ``nemo-mcp serve --http`` for many users on several workers.

Nothing here is imported by the stdio server: the HTTP stack, PostgreSQL and the job engine
load only on this path (docs/DEPLOY.md).
"""
