"""The last thing every tool answer passes on its way out, whoever built it.

``answer`` (``tools.boundary``) words and redacts what our tools say. Some answers never reach
it: the SDK refuses arguments that do not match a tool's schema before the tool runs, with
pydantic's text (a model's class name, the rejected value itself, a documentation link). This
middleware rewrites such a refusal into plain words naming the field, and removes secrets from
every text and structured value of every tool result and resource, so a token pasted in the
wrong field is not echoed back either.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel

from nemo_mcp.redact import redact
from nemo_mcp.tools.boundary import redact_json

_PYDANTIC = re.compile(r"\d+ validation errors? for \w+")
_DETAIL = re.compile(r"\s*\[type=.*$|\s*For further information.*$")


def argument_words(tool: str, text: str) -> str | None:
    """Plain words for the SDK's refusal of ``tool``'s arguments, or None if ``text`` is not one.

    Pydantic writes each problem as a line with the field's path, then an indented line with
    the message and its ``[type=..., input_value=...]`` detail (dropped: it echoes the input).
    """
    if not _PYDANTIC.search(text):
        return None
    lines = text.splitlines()
    problems: list[str] = []
    for field, message in zip(lines[1:], lines[2:], strict=False):
        if field.startswith(" ") or not message.startswith("  ") or message.startswith("    "):
            continue
        problems.append(f"`{field.strip()}`: {_DETAIL.sub('', message.strip()).rstrip('.')}")
    listed = "; ".join(problems[:5]) or "they do not match its description"
    return (
        f"{tool} was called with arguments it does not take ({listed}). Call it again with the "
        "arguments its description lists."
    )


def _tool_name(params: Any) -> str:
    name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else "the tool"


class Edge:
    """``ServerMiddleware``: tool results leave in plain words and without secrets."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method not in ("tools/call", "resources/read") or result is None:
            return result
        raw = result.model_dump(by_alias=True, exclude_none=True) if isinstance(
            result, BaseModel
        ) else dict(result)  # fmt: skip
        if ctx.method == "resources/read" or "inputRequests" in raw:
            # A question for the user (2026-07-28's input round) is not a tool result.
            return redact_json(raw)  # type: ignore[no-any-return]
        return cleaned(raw, _tool_name(ctx.params))


def cleaned(result: dict[str, Any], tool: str) -> dict[str, Any]:
    """A serialized ``CallToolResult`` in plain words and without secrets."""
    failed = bool(result.get("isError"))
    content: list[Any] = []
    for block in result.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "text":
            text = str(block.get("text", ""))
            if failed:
                text = argument_words(tool, text) or text
            block = {**block, "text": redact(text, claims=False)}
        content.append(block)
    out = {**result, "content": content}
    if "structuredContent" in out:
        out["structuredContent"] = redact_json(out["structuredContent"])
    return out
