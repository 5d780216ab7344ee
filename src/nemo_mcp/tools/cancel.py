"""The user's "stop": running and queued work of this caller, stopped through its records.

``send_edit`` routes a stop phrase here (``routing.cancel_target`` says what it stops: one job
by id, the jobs of one kind, or everything running and queued). What each stop means:

- a queued edit is dropped: it is never sent, so nothing is charged;
- a running edit stops being waited for; a message already handed to the backend may still
  complete there and be charged, and a later ``get_timeline`` shows it;
- an export stops being polled (exports are free), and a restarted server does not resume it;
- an upload stops; files already sent stay in the project.

Only the caller's own jobs (their scope: on a shared server, their user key) can be stopped,
whichever of their skills they run under.
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from nemo_mcp.jobs import JobManager
from nemo_mcp.results import EditResult, ExportResult, JobResult, UploadResult
from nemo_mcp.routing import CancelTarget, Intent
from nemo_mcp.store import JobRecord
from nemo_mcp.tools.edge import ToolCall
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import all_runtimes

NOTHING = "Nothing is running or queued, so there is nothing to stop."
NO_SUCH_JOB = "There is no running or queued job {job_id} of yours to stop."


async def stopped_words(runtime: Runtime, record: JobRecord) -> str:
    """What stopping ``record`` means, in plain words."""
    what = record.label[:60]
    if record.kind == "export":
        return (
            "Stopped the export: it is no longer followed (exports are free), and it will not "
            "be picked up again. Ask for an export when you want one."
        )
    if record.kind == "upload":
        return f"Stopped uploading {what}; files already sent stay in the project."
    if record.status == "queued":
        return f"Dropped the queued request '{what}': it was never sent, so nothing was charged."
    if not await runtime.store.handed_off(record.id):
        return f"Stopped '{what}' before it was sent to the backend: nothing was charged."
    return (
        f"Stopped waiting for '{what}'. The message had already been sent to the backend, so "
        "it may still complete there and be charged; a later get_timeline will show it."
    )


def _stopped_result(record: JobRecord, words: str) -> JobResult:
    if record.kind == "export":
        return ExportResult(status="cancelled", reply=words, job_id=record.id)
    if record.kind == "upload":
        return UploadResult(status="cancelled", reply=words, job_id=record.id)
    return EditResult(status="cancelled", intent=Intent.CANCEL, reply=words, job_id=record.id)


async def stop_job(jobs: JobManager, record: JobRecord, result: BaseModel, words: str) -> bool:
    """Mark the job stopped on its record (the words of what that means kept as its result,
    already told), and stop it at once if it runs here; False when it had already ended. The
    process running it elsewhere stops it at its next tick (``JobManager.cancelled``)."""
    current = await jobs.store.job(record.id)
    if current is None or not current.active:
        return False
    now = time.time()
    await jobs.store.update_job(
        record.id, status="cancelled", result=result.model_dump_json(), reported=True,
        message=words, finished_at=now, heartbeat_at=now,
    )  # fmt: skip
    jobs.stop(record.id, words)
    return True


async def _targets(call: ToolCall, target: CancelTarget) -> list[tuple[Runtime, JobRecord]]:
    apps = all_runtimes(call.ctx)
    if target.job_id:
        record = await call.runtime.store.job(target.job_id)
        owner = next((a for a in apps if record is not None and a.scope == record.scope), None)
        return [(owner, record)] if owner and record and record.active else []
    found: list[tuple[Runtime, JobRecord]] = []
    for runtime in apps:
        records = await runtime.store.jobs(runtime.scope, states=("queued", "running"))
        found.extend((runtime, r) for r in records if target.kind in (None, r.kind))
    # Queued ones first: dropping them before the running one ends keeps them from starting.
    return sorted(found, key=lambda pair: (pair[1].status != "queued", pair[1].seq))


async def cancel(call: ToolCall, target: CancelTarget) -> EditResult:
    """Stop what ``target`` names; the answer says what each stop means."""
    lines: list[str] = []
    last: str | None = None
    for runtime, record in await _targets(call, target):
        words = await stopped_words(runtime, record)
        if await stop_job(runtime.jobs, record, _stopped_result(record, words), words):
            lines.append(words)
            last = record.id
    if not lines:
        words = NO_SUCH_JOB.format(job_id=target.job_id) if target.job_id else NOTHING
        return EditResult(status="done", intent=Intent.CANCEL, reply=words)
    return EditResult(
        status="cancelled",
        intent=Intent.CANCEL,
        reply=call.runtime.client.with_notices("\n".join(lines)),
        job_id=last if len(lines) == 1 else None,
    )
