"""The edge every tool answer passes: a deadline, errors as plain words, secrets removed.

- Every call answers within ``NEMO_TOOL_WAIT`` (and a small margin): long work is a job the call
  waits on only until then (``Call.remaining``), and a read the backend never answers is
  cancelled at the deadline and said so.
- Any exception becomes a ``ToolError`` in plain words (``nemo_mcp.words``, the one place errors
  become words). Expected conditions are one log line; the unexpected are logged once, with
  their traceback.
- Every string that leaves (the result, the words of an error, progress messages) has secrets
  removed after it was assembled, so nothing cut or joined on the way can hide a token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from nemo_mcp.errors import NemoError, ToolTimedOut
from nemo_mcp.redact import redact
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.runtime import Runtime, runtime_of
from nemo_mcp.words import UNEXPECTED, user_message

log = logging.getLogger(__name__)

DEADLINE_MARGIN_S = 2.0
"""How far past ``NEMO_TOOL_WAIT`` a call may run before it is cut (it should never get there)."""
WAIT_RESERVE_S = 1.0
"""Kept back from a job wait for building the answer after it (a tenth of a short wait)."""

R = TypeVar("R", bound=BaseModel)


def redact_json(value: Any) -> Any:
    """Every string in a JSON value without secrets (claim links stay: they are the product)."""
    if isinstance(value, str):
        return redact(value, claims=False)
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_json(v) for k, v in value.items()}
    return value


def redact_model(model: R) -> R:
    return type(model).model_validate(redact_json(model.model_dump(mode="json")))


@dataclass
class Call:
    """One tool call: the runtime, its MCP context, and when it must have answered."""

    runtime: Runtime
    ctx: Context
    deadline: float

    def remaining(self) -> float:
        """How long a job may still be waited for in this call."""
        reserve = min(WAIT_RESERVE_S, self.runtime.settings.tool_wait / 10)
        return max(0.0, self.deadline - anyio.current_time() - reserve)

    async def progress(self, progress: float, total: float, message: str) -> None:
        await self.ctx.report_progress(progress, total, redact(message))


async def answer(ctx: Context, tool: ToolName, body: Callable[[Call], Awaitable[R]]) -> R:
    """Run ``body`` as the tool ``tool``: bounded in time, in plain words, without secrets."""
    runtime = runtime_of(ctx)
    wait = runtime.settings.tool_wait
    call = Call(runtime, ctx, anyio.current_time() + wait)
    try:
        with anyio.fail_after(wait + DEADLINE_MARGIN_S):
            result = await body(call)
    except TimeoutError:
        log.warning("%s: no answer within %.0f s; stopped", tool, wait)
        raise ToolError(user_message(ToolTimedOut(wait))) from None
    except ToolError:
        raise
    except NemoError as exc:
        log.info("%s: %s", tool, type(exc).__name__)
        raise ToolError(redact(user_message(exc))) from None
    except Exception as exc:
        log.error("%s failed unexpectedly", tool, exc_info=exc)
        raise ToolError(UNEXPECTED) from None
    return redact_model(result)


def refuse(words: str) -> ToolError:
    """An error answer of our own words (redacted like every other)."""
    return ToolError(redact(words))
