"""``check_credits``: the balance, in the offline world's words when offline."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from nemo_mcp.backend.models import Credits
from nemo_mcp.results import CreditsResult
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.app import App
from nemo_mcp.tools.boundary import Call, answer
from nemo_mcp.tools.skills import Pick

OFFLINE_NOTE = (
    " Offline, credits are a local counter of the embedded backend: work is never refused for them."
)


def credits_words(app: App, credits: Credits) -> str:
    words = (
        f"{credits.available} credits available, {credits.frozen} frozen by running work, "
        f"{credits.total} in all."
    )
    return words + (OFFLINE_NOTE if app.client.offline else "")


async def check_credits(ctx: Context, skill: str | None = None) -> CreditsResult:
    return await answer(ctx, ToolName.CHECK_CREDITS, _credits, Pick(skill))


async def _credits(call: Call) -> CreditsResult:
    credits = await call.app.client.credits()
    return CreditsResult(
        available=credits.available,
        frozen=credits.frozen,
        total=credits.total,
        reply=credits_words(call.app, credits),
    )
