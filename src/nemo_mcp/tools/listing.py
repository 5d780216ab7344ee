"""``tools/list`` without the titles the SDK gives every argument.

Every assistant pays for ``tools/list`` in context on every turn. The SDK names each argument's
schema after the argument (``"title": "Output Dir"`` beside ``output_dir``) and the arguments'
object after the function (``"title": "export_videoArguments"``); neither tells a model anything
the name does not, so this middleware leaves them out (about 30 characters an argument).
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel


def untitled(listing: dict[str, Any]) -> dict[str, Any]:
    """A serialized ``ListToolsResult`` without the arguments' generated titles."""
    for tool in listing.get("tools") or []:
        schema = tool.get("inputSchema")
        if isinstance(schema, dict):
            schema.pop("title", None)
            for prop in (schema.get("properties") or {}).values():
                if isinstance(prop, dict):
                    prop.pop("title", None)
    return listing


class CompactListing:
    """``ServerMiddleware``: the tool listing without generated argument titles."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/list" or result is None:
            return result
        raw = result.model_dump(by_alias=True, exclude_none=True) if isinstance(
            result, BaseModel
        ) else dict(result)  # fmt: skip
        return untitled(raw)
