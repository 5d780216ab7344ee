"""Asking the user before a message spends credits, with the SDK's portable elicitation.

``send_edit``'s ``spend`` parameter is filled by ``spend_question`` before the tool body runs
(``Resolve``): it returns the question (``Elicit``) when ``nemo_mcp.spend`` says to ask, else a
``SpendCheck`` saying why not. The SDK sends the question the way the connection allows: a
request mid-call on 2025-11-25 and earlier, an ``InputRequiredResult`` that the client answers
by calling again on 2026-07-28 (so it works over stateless HTTP: nothing is kept between the
two calls, and nothing is sent before the answer). The question is the same on both rounds, so
it is asked once.

Never asked: what the router handles locally (exports, reads, status, stop), a message that
joins the same one already running (it spends nothing new), and a client that did not declare
elicitation (it gets the balance in the answer instead).
"""

from __future__ import annotations

import logging

import anyio
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Elicit
from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.flows.edit import EditRequest
from nemo_mcp.flows.kinds import EDIT
from nemo_mcp.routing import Intent, route
from nemo_mcp.spend import Confirm, SpendCheck, question, should_ask
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import all_runtimes

log = logging.getLogger(__name__)

CANNOT_ASK = "the client cannot be asked"
BALANCE_WAIT_S = 5.0
"""The most the balance may take to read before the question goes out without it."""


def declares_elicitation(ctx: Context) -> bool:
    """Whether the client can be asked a form question (a bare ``elicitation: {}`` counts)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def _balance(runtime: Runtime) -> int | None:
    with anyio.move_on_after(min(BALANCE_WAIT_S, runtime.settings.tool_wait / 3)):
        try:
            return (await runtime.client.credits()).available
        except Exception as exc:  # the question goes out without the number
            log.info("the balance could not be read before asking: %s", type(exc).__name__)
    return None


async def _joins(apps: list[Runtime], key: str) -> bool:
    for runtime in apps:
        if any(j.key == key for j in await runtime.jobs.active(runtime.scope, "edit")):
            return True
    return False


async def spend_question(ctx: Context, message: str) -> SpendCheck | Elicit[Confirm]:
    """The question before ``message`` spends credits, or why there is none."""
    if route(message.strip()) is not Intent.EDIT or not message.strip():
        return SpendCheck(reason="handled here")
    try:
        apps = all_runtimes(ctx)
    except Exception:  # not signed in, or not started: the tool itself answers that
        return SpendCheck(reason="no server state")
    runtime = apps[0]
    mode = runtime.settings.confirm_spend
    offline = runtime.deployment.mode == "offline"
    if mode == "never" or (mode == "low" and offline):
        return SpendCheck(reason=mode if mode == "never" else "offline")
    if await _joins(apps, EDIT.key_of(EditRequest(text=message.strip()))):
        return SpendCheck(reason="joins the same message")
    available = await _balance(runtime)
    if not declares_elicitation(ctx):
        return SpendCheck(available=available, reason=CANNOT_ASK)
    anonymous = runtime.client.anonymous
    if not should_ask(mode, available=available, anonymous=anonymous, offline=offline):
        return SpendCheck(available=available, reason="enough credits")
    return Elicit(question(available), Confirm)


def go_ahead(outcome: ElicitationResult[Confirm] | None) -> tuple[bool, SpendCheck | None]:
    """Whether to send, and the check when nothing was asked (for the balance in the answer)."""
    if outcome is None:
        return True, None
    if not isinstance(outcome, AcceptedElicitation):
        return False, None
    data: object = outcome.data
    if isinstance(data, SpendCheck):
        return True, data
    if isinstance(data, Confirm):
        return data.go_ahead, None
    raise ToolError("The answer to the question could not be read; nothing was sent.")
