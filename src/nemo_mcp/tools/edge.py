"""The one edge every answer leaves through: a tool's whole call, or a resource read, in one guard.

``run_tool`` is to our tools what the SDK's ``Tool.run`` is to a function: the whole call in one
try. Inside it, in this order and nowhere else:

- **Deadline.** The call answers within ``NEMO_TOOL_WAIT`` (and a small margin): long work is a
  job the call waits on only until then (``ToolCall.remaining``), the extras (a contact sheet, a
  video's URL) get what is left, and a read the backend never answers is cut at the deadline and
  said so.
- **Body and extras.** The tool's result, then what it gives besides its JSON (``extras``). The
  result is complete without the extras: extras that fail are left out and logged, because the
  result they decorate may already be handed out (a finished job is told once).
- **Words.** Any exception becomes an error result in plain words (``nemo_mcp.words``, the one
  place errors become words). Expected conditions are one log line; the unexpected are logged
  once, with their traceback.
- **Redaction, once, one policy.** The finished result (text, structured content, ``_meta``) or
  the error's words have every secret removed after they were assembled, so nothing cut or joined
  on the way can hide a token. Claim links stay: they are the product (``redact.py``). Progress
  messages are redacted as they are sent.

``Edge`` (server middleware) covers only what the SDK answers itself, before or after a tool runs
(arguments that do not match the schema, an unknown tool, a result it could not convert) and the
resources: those are worded and redacted there, once. Results made by ``run_tool`` pass untouched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import anyio
import pydantic_core
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel

from nemo_mcp.errors import NemoError, ToolTimedOut
from nemo_mcp.player import PLAYER_META
from nemo_mcp.redact import redact
from nemo_mcp.store import JobRecord
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.runtime import Runtime, RuntimeSource
from nemo_mcp.tools.skills import Pick, pick_runtime
from nemo_mcp.words import UNEXPECTED, user_message

log = logging.getLogger(__name__)

DEADLINE_MARGIN_S = 2.0
"""How far past ``NEMO_TOOL_WAIT`` a call may run before it is cut (it should never get there)."""
WAIT_RESERVE_S = 1.0
"""Kept back from a job wait for building the answer after it (a tenth of a short wait)."""
STARTING = "The server is still starting; try again in a moment."
SDK_PREFIX = "Error executing tool "
UNKNOWN_TOOL = "Unknown tool"

R = TypeVar("R", bound=BaseModel)
Extras = Callable[["ToolCall", R], Awaitable[CallToolResult]]


class Refusal(Exception):
    """A tool's own answer as an error result, in words it chose (still redacted at the edge)."""


def refuse_a_lone_failure(told: list[JobRecord]) -> None:
    """One failed job told alone is an error answer, as when it is waited for."""
    if len(told) == 1 and told[0].status == "failed":
        raise Refusal(told[0].error or "The request failed.")


def runtime_of(ctx: Context) -> Runtime:
    """The runtime of the user this call comes from (the lifespan state knows)."""
    return cast(RuntimeSource, ctx.request_context.lifespan_context).runtime_for(ctx)


@dataclass
class ToolCall:
    """One tool call: the runtime, its MCP context, and when it must have answered."""

    runtime: Runtime
    ctx: Context
    deadline: float
    shown: float = -1.0
    """The progress last sent in this call."""

    def remaining(self) -> float:
        """How long a job may still be waited for in this call."""
        reserve = min(WAIT_RESERVE_S, self.runtime.settings.tool_wait / 10)
        return max(0.0, self.deadline - anyio.current_time() - reserve)

    def left(self) -> float:
        """How long the call may still take at all (for the extras after the result)."""
        return max(0.0, self.deadline - anyio.current_time())

    async def progress(self, progress: float, total: float, message: str) -> None:
        """Relay a job's progress to this call. MCP wants each notification of a request to
        increase: a value already shown (a job handing off at the same percent, or a second
        job continuing where the first left off) is not sent again."""
        if progress <= self.shown:
            return
        self.shown = progress
        await self.ctx.report_progress(progress, total, redact(message, claims=False))


def json_result(
    model: BaseModel, extra: list[ContentBlock] | None = None, player: dict[str, Any] | None = None
) -> CallToolResult:
    """``model`` as JSON text and structured data (what the SDK makes of a returned model), then
    ``extra`` content, and ``player`` under the result's ``_meta`` for the player App."""
    text = pydantic_core.to_json(model, indent=2).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text), *(extra or [])],
        structured_content=model.model_dump(mode="json"),
        _meta={PLAYER_META: player} if player else None,
    )


async def run_tool(
    ctx: Context,
    tool: ToolName,
    body: Callable[[ToolCall], Awaitable[R]],
    extras: Extras[R] | None = None,
    pick: Pick | None = None,
) -> CallToolResult:
    """Run ``body`` (then ``extras``) as the tool ``tool``: bounded in time, in plain words,
    without secrets. Always a result, never an exception. ``pick``: how a server of every
    skill chooses the one this call runs under (``tools.skills``; asking which is an answer)."""
    try:
        runtime = pick_runtime(ctx, tool, pick or Pick())
    except LookupError:
        return _error(STARTING)
    except NemoError as exc:
        return _error(user_message(exc))
    wait = runtime.settings.tool_wait
    call = ToolCall(runtime, ctx, anyio.current_time() + wait)
    try:
        with anyio.fail_after(wait + DEADLINE_MARGIN_S):
            result = await body(call)
            made = await _with_extras(tool, call, result, extras)
    except TimeoutError:
        log.warning("%s: no answer within %.0f s; stopped", tool, wait)
        return _error(user_message(ToolTimedOut(wait)))
    except Refusal as refusal:
        return _error(str(refusal))
    except NemoError as exc:
        log.info("%s: %s", tool, type(exc).__name__)
        return _error(user_message(exc))
    except Exception as exc:
        log.error("%s failed unexpectedly", tool, exc_info=exc)
        return _error(UNEXPECTED)
    return redacted(made)


async def _with_extras(
    tool: ToolName, call: ToolCall, result: R, extras: Extras[R] | None
) -> CallToolResult:
    if extras is None:
        return json_result(result)
    try:
        return await extras(call, result)
    except Exception as exc:  # the result stands without them
        log.warning("%s: its extras failed (%s); answering without them", tool, type(exc).__name__)
        return json_result(result)


async def read_resource(
    runtime: Callable[[], Runtime], body: Callable[[Runtime], Awaitable[str]]
) -> str:
    """A resource read: bounded like a tool call, its failures as a ``ResourceError`` in plain
    words (the ``Edge`` redacts what leaves)."""
    try:
        current = runtime()
    except LookupError:
        raise ResourceError(STARTING) from None
    wait = current.settings.tool_wait
    try:
        with anyio.fail_after(wait + DEADLINE_MARGIN_S):
            return await body(current)
    except TimeoutError:
        raise ResourceError(user_message(ToolTimedOut(wait))) from None
    except NemoError as exc:
        raise ResourceError(user_message(exc)) from None
    except Exception as exc:
        log.error("reading a resource failed unexpectedly", exc_info=exc)
        raise ResourceError(UNEXPECTED) from None


def _error(words: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=redact(words, claims=False))], is_error=True
    )


# -- redaction -------------------------------------------------------------------------------
def redact_json(value: Any) -> Any:
    """Every string in a JSON value without secrets (claim links stay: they are the product)."""
    if isinstance(value, str):
        return redact(value, claims=False)
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_json(v) for k, v in value.items()}
    return value


def redacted(result: CallToolResult) -> CallToolResult:
    return CallToolResult.model_validate(
        redact_json(result.model_dump(by_alias=True, exclude_none=True))
    )


# -- what the SDK answers itself -------------------------------------------------------------
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
    """``ServerMiddleware``: what the SDK answers itself leaves in plain words, without secrets;
    resources leave without secrets."""

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
        return sdk_made(raw, _tool_name(ctx.params))


def sdk_made(result: dict[str, Any], tool: str) -> dict[str, Any]:
    """A serialized ``CallToolResult``: an error the SDK made (refused arguments, an unknown
    tool, a result it could not convert) in plain words and redacted; anything else as it came
    (``run_tool`` made it, and redacted it already)."""
    blocks = result.get("content") or []
    first = blocks[0] if blocks and isinstance(blocks[0], dict) else {}
    text = str(first.get("text", "")) if first.get("type") == "text" else ""
    unknown = text.startswith(UNKNOWN_TOOL)
    if not result.get("isError") or not (text.startswith(SDK_PREFIX) or unknown):
        return result
    words = argument_words(tool, text) or (text if unknown else UNEXPECTED)
    return {**result, "content": [{"type": "text", "text": redact(words, claims=False)}]}
