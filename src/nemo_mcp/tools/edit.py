"""``send_edit``: the user's words, routed (``routing``) to the one action they ask for.

Export, credits, status and upload words are handled here and never reach the backend; anything
else is an edit job. ``dispatch`` is the one place an intent becomes an action.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, Resolve
from mcp.types import CallToolResult
from pydantic import Field

from nemo_mcp.errors import InputError
from nemo_mcp.flows.edit import EditRequest
from nemo_mcp.flows.kinds import EDIT
from nemo_mcp.jobs import elapsed_words
from nemo_mcp.results import EditResult, no_title
from nemo_mcp.routing import CancelTarget, Intent, cancel_target, route
from nemo_mcp.spend import DECLINED, Confirm, balance_note
from nemo_mcp.store import JobRecord
from nemo_mcp.timeline import parse_draft, summarize
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tool_text import ASK_AGAIN_S
from nemo_mcp.tools.cancel import cancel
from nemo_mcp.tools.confirm import CANNOT_ASK, go_ahead, spend_question
from nemo_mcp.tools.credits import credits_words
from nemo_mcp.tools.edge import ToolCall, refuse_a_lone_failure, run_tool
from nemo_mcp.tools.export import start_export
from nemo_mcp.tools.skills import Pick

UPLOAD_HINT = (
    "To upload, call upload_media with full file paths (or http(s) links), then describe the "
    "change with send_edit."
)


async def send_edit(
    ctx: Context,
    message: Annotated[str, Field(description="the user's words", json_schema_extra=no_title)],
    spend: Annotated[ElicitationResult[Confirm], Resolve(spend_question)],
    skill: str | None = None,
) -> Annotated[CallToolResult, EditResult]:
    stop = route(message) is Intent.CANCEL  # a stop reaches every skill: never a question
    pick = Pick(skill, message, any_skill=stop)
    body = partial(dispatch, message=message, spend=spend)
    return await run_tool(ctx, ToolName.SEND_EDIT, body, pick=pick)


async def dispatch(
    call: ToolCall, *, message: str, spend: ElicitationResult[Confirm] | None = None
) -> EditResult:
    """The one place an intent becomes an action."""
    text = message.strip()
    if not text:
        raise InputError(
            "The message is empty. Say what to make or change, for example: "
            f"{call.runtime.manifest.examples[0]!r}."
        )
    call.runtime.client.sessions.heard(text)  # the user's language, should an upload come first
    intent = route(text)
    if intent is Intent.EXPORT:
        exported = await start_export(call, None, download=True)
        return EditResult(
            status=exported.status, intent=intent, reply=exported.reply, job_id=exported.job_id
        )
    if intent is Intent.CREDITS:
        credits = await call.runtime.client.credits()
        return EditResult(status="done", intent=intent, reply=credits_words(call.runtime, credits))
    if intent is Intent.STATE:
        return await status(call)
    if intent is Intent.UPLOAD:
        return EditResult(status="done", intent=intent, reply=UPLOAD_HINT)
    if intent is Intent.CANCEL:
        return await cancel(call, cancel_target(text) or CancelTarget())
    send, check = go_ahead(spend)
    if not send:
        return EditResult(status="declined", intent=intent, reply=DECLINED)
    result = await edit(call, text)
    if check is not None and check.reason == CANNOT_ASK and check.available is not None:
        return result.model_copy(update={"reply": result.reply + balance_note(check.available)})
    return result


async def edit(call: ToolCall, text: str) -> EditResult:
    """Submit (or join) the edit, wait, and say what the job manager says to tell."""
    jobs = call.runtime.jobs
    record, _ = await jobs.submit(call.runtime.scope, EDIT, EditRequest(text=text))
    record = await jobs.wait(record.id, call.remaining(), call.progress)
    return await edit_reply(call, record, await jobs.tell(record))


async def status(call: ToolCall) -> EditResult:
    """Finished edits first (every one not yet told, in order), else the running one (waited
    for a while), else the timeline."""
    runtime = call.runtime
    told, going = await runtime.jobs.status(
        runtime.scope, EDIT.kind, call.remaining(), call.progress
    )
    if told or going:
        return await edit_reply(call, going or told[-1], told)
    timeline = summarize(parse_draft(await runtime.client.state()))
    lines = [timeline]
    for export in await runtime.jobs.active(runtime.scope, "export"):
        _, message = runtime.jobs.progress(export)
        lines.insert(0, f"An export is running ({elapsed_words(export.elapsed)}): {message}")
    return EditResult(
        status="done", intent=Intent.STATE, reply=runtime.client.with_notices("\n".join(lines)),
        timeline=timeline,
    )  # fmt: skip


async def edit_reply(call: ToolCall, record: JobRecord, told: list[JobRecord]) -> EditResult:
    """The edits to tell (oldest first, in one answer; the latest decides the status), else
    where ``record`` is."""
    runtime = call.runtime
    if told:
        return _edits(call, told)
    if record.status == "queued":
        place = await runtime.jobs.queue_position(record)
        return EditResult(
            status="queued",
            intent=Intent.EDIT,
            job_id=record.id,
            reply=f"Queued behind the request that is running (place {place}); it will be sent "
            "once, when that one finishes. Ask for 'status' to follow it.",
        )
    _, message = runtime.jobs.progress(record)
    return EditResult(
        status="running",
        intent=Intent.EDIT,
        job_id=record.id,
        reply=f"Still working ({elapsed_words(record.elapsed)} so far; this usually takes "
        f"{runtime.manifest.typical_time}). {message.rstrip('.')}. The request is not sent "
        f"again: ask for 'status' (send_edit) or call get_timeline in about {ASK_AGAIN_S} "
        "seconds for the result.",
    )


def _edits(call: ToolCall, told: list[JobRecord]) -> EditResult:
    refuse_a_lone_failure(told)
    parts: list[str] = []
    changes: list[str] = []
    last: EditResult | None = None
    for record in told:
        result = EDIT.result_of(record)
        words = result.reply if result is not None else (record.error or "It failed.")
        parts.append(f"'{record.label[:60]}': {words}" if len(told) > 1 else words)
        if result is not None:
            changes += result.changes
            last = result
    latest = told[-1]
    status = "failed" if latest.status == "failed" else (last.status if last else "done")
    return EditResult(
        status=status,
        intent=Intent.EDIT,
        reply=call.runtime.client.with_notices("\n".join(parts)),
        job_id=latest.id,
        timeline=last.timeline if last else None,
        changes=changes,
    )
