"""``send_edit``: the user's words, routed (``routing``) to the one action they ask for.

Export, credits, status and upload words are handled here and never reach the backend; anything
else is an edit job. ``dispatch`` is the one place an intent becomes an action.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.errors import InputError
from nemo_mcp.flows.edit import EditRequest
from nemo_mcp.jobs import elapsed_words
from nemo_mcp.results import EditResult, no_title
from nemo_mcp.routing import Intent, route
from nemo_mcp.store import JobRecord
from nemo_mcp.timeline import parse_draft, summarize
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.boundary import Call, answer, refuse
from nemo_mcp.tools.credits import credits_words
from nemo_mcp.tools.export import start_export
from nemo_mcp.tools.outcomes import edit_outcome, result_of, with_notices

UPLOAD_HINT = (
    "To upload, call upload_media with full file paths (or http(s) links), then describe the "
    "change with send_edit."
)


def message_key(text: str) -> str:
    """The same words (case and spacing aside) join the same edit job."""
    return " ".join(text.lower().split())


async def send_edit(
    ctx: Context,
    message: Annotated[str, Field(description="the user's words", json_schema_extra=no_title)],
) -> EditResult:
    return await answer(ctx, ToolName.SEND_EDIT, partial(dispatch, message=message))


async def dispatch(call: Call, *, message: str) -> EditResult:
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
    return await edit(call, text)


async def edit(call: Call, text: str) -> EditResult:
    runtime = call.runtime
    record, _ = await runtime.jobs.submit(
        runtime.scope, "edit", message_key(text), text, EditRequest(text=text), serial=True
    )
    record = await runtime.jobs.wait(record.id, call.remaining(), call.progress)
    if not record.active and (earlier := await _untold_before(call, record)):
        # Results nobody was told yet come first, in order: none is skipped or told later.
        finished = await runtime.jobs.take_finished(runtime.scope, ids=[*earlier, record.id])
        if finished:
            return _all_finished(call, finished)
    return await edit_outcome(call, record)


async def _untold_before(call: Call, record: JobRecord) -> list[str]:
    """Finished edits older than ``record`` that no answer has told yet."""
    jobs = await call.runtime.store.jobs(call.runtime.scope, kinds=["edit"], unreported=True)
    return [j.id for j in jobs if not j.active and j.seq < record.seq]


async def status(call: Call) -> EditResult:
    """Finished edits first (every one not yet told, in order), else the running one (waited
    for a while), else the timeline."""
    runtime = call.runtime
    active = await runtime.jobs.active(runtime.scope, "edit")
    if active and not await _unreported_edits(call):
        await runtime.jobs.wait(active[0].id, call.remaining(), call.progress)
    # Read what runs before taking what finished: a job that ends between the two reads is
    # then taken (never both missed, which would answer with the timeline and no result).
    active = await runtime.jobs.active(runtime.scope, "edit")
    finished = await runtime.jobs.take_finished(runtime.scope, kinds=["edit"])
    if finished:
        return _all_finished(call, finished)
    if active:
        return await edit_outcome(call, active[0])
    timeline = summarize(parse_draft(await runtime.client.state()))
    lines = [timeline]
    for export in await runtime.jobs.active(runtime.scope, "export"):
        _, message = runtime.jobs.progress(export)
        lines.insert(0, f"An export is running ({elapsed_words(export.elapsed)}): {message}")
    return EditResult(
        status="done", intent=Intent.STATE, reply=with_notices(runtime, "\n".join(lines)),
        timeline=timeline,
    )  # fmt: skip


async def _unreported_edits(call: Call) -> bool:
    jobs = await call.runtime.store.jobs(call.runtime.scope, kinds=["edit"], unreported=True)
    return any(not j.active for j in jobs)


def _all_finished(call: Call, finished: list[JobRecord]) -> EditResult:
    """Several finished edits in one answer, oldest first; the latest decides the status.

    One failed edit alone is an error answer, as when it is waited for."""
    if len(finished) == 1 and finished[0].status == "failed":
        raise refuse(finished[0].error or "The request failed.")
    parts: list[str] = []
    changes: list[str] = []
    last: EditResult | None = None
    for record in finished:
        result = result_of(record)
        words = result.reply if result is not None else (record.error or "It failed.")
        parts.append(f"'{record.label[:60]}': {words}" if len(finished) > 1 else words)
        if isinstance(result, EditResult):
            changes += result.changes
            last = result
    latest = finished[-1]
    status = "failed" if latest.status == "failed" else (last.status if last else "done")
    return EditResult(
        status=status,
        intent=Intent.EDIT,
        reply=with_notices(call.runtime, "\n".join(parts)),
        job_id=latest.id,
        timeline=last.timeline if last else None,
        changes=changes,
    )
