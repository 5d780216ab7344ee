"""``check_credits``: the balance, in the words its deployment calls for."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from nemo_mcp.backend.models import Credits
from nemo_mcp.results import CreditsResult
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.edge import ToolCall, run_tool
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import Pick


def credits_words(runtime: Runtime, credits: Credits) -> str:
    words = (
        f"{credits.available} credits available, {credits.frozen} frozen by running work, "
        f"{credits.total} in all."
    )
    return words + runtime.deployment.credits_note


async def check_credits(
    ctx: Context, skill: str | None = None
) -> Annotated[CallToolResult, CreditsResult]:
    # The balance is the token's, the same in every skill: never a question which.
    pick = Pick(skill, any_skill=True)
    return await run_tool(ctx, ToolName.CHECK_CREDITS, _credits, pick=pick)


async def _credits(call: ToolCall) -> CreditsResult:
    credits = await call.runtime.client.credits()
    return CreditsResult(
        available=credits.available,
        frozen=credits.frozen,
        total=credits.total,
        reply=credits_words(call.runtime, credits),
    )
