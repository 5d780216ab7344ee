"""What a tool says about a job: its result once finished (handed out once), else where it is.

Every tool that starts, joins or reports a job answers through these functions, so a job is
worded the same way whichever tool is asked, and a finished result is marked handed out in one
place (``JobManager.take_finished``).
"""

from __future__ import annotations

from nemo_mcp.jobs import elapsed_words
from nemo_mcp.results import (
    EditResult,
    ExportResult,
    JobInfo,
    JobResult,
    RejectedItem,
    UploadResult,
)
from nemo_mcp.routing import Intent
from nemo_mcp.store import JobRecord
from nemo_mcp.tools.boundary import Call, refuse
from nemo_mcp.tools.runtime import Runtime

ASK_AGAIN_S = 30
LABEL_CHARS = 120


def result_of(record: JobRecord) -> JobResult | None:
    """The result a finished job left on record (its model follows from the job's kind)."""
    if record.result is None:
        return None
    if record.kind == "edit":
        return EditResult.model_validate_json(record.result)
    if record.kind == "export":
        return ExportResult.model_validate_json(record.result)
    return UploadResult.model_validate_json(record.result)


def with_notices(runtime: Runtime, reply: str) -> str:
    """The reply with any notice for the user first ("the previous project had expired")."""
    notices = runtime.client.take_notices()
    return "\n".join([*notices, reply]) if notices else reply


async def job_info(runtime: Runtime, record: JobRecord) -> JobInfo:
    percent, message = runtime.jobs.progress(record)
    result = result_of(record)
    if result is not None:
        message = result.reply
    elif record.status == "failed":
        message = record.error or "It failed."
    elif record.status == "queued":
        message = f"Queued (place {await runtime.jobs.queue_position(record)})."
    return JobInfo(
        job_id=record.id,
        kind=record.kind,
        status=record.status,
        what=record.label[:LABEL_CHARS],
        elapsed_s=int(record.elapsed),
        message=message,
        percent=int(percent) if record.active else None,
        url=result.url if isinstance(result, ExportResult) else None,
    )


async def _take(call: Call, record: JobRecord) -> JobResult | None:
    """The finished job's result, now handed out; its failure as an error answer."""
    if record.active:
        return None
    await call.runtime.jobs.take_finished(record.scope, ids=[record.id])
    if record.status == "failed":
        raise refuse(record.error or "The request failed.")
    return result_of(record)


async def edit_outcome(call: Call, record: JobRecord) -> EditResult:
    result = await _take(call, record)
    if isinstance(result, EditResult):
        reply = with_notices(call.runtime, result.reply)
        return result.model_copy(update={"job_id": record.id, "reply": reply})
    if record.status == "queued":
        place = await call.runtime.jobs.queue_position(record)
        return EditResult(
            status="queued",
            intent=Intent.EDIT,
            job_id=record.id,
            reply=f"Queued behind the request that is running (place {place}); it will be sent "
            "once, when that one finishes. Ask for 'status' to follow it.",
        )
    _, message = call.runtime.jobs.progress(record)
    return EditResult(
        status="running",
        intent=Intent.EDIT,
        job_id=record.id,
        reply=f"Still working ({elapsed_words(record.elapsed)} so far; this usually takes "
        f"{call.runtime.manifest.typical_time}). {message.rstrip('.')}. The request is not sent "
        f"again: ask for 'status' (send_edit) or call get_timeline in about {ASK_AGAIN_S} "
        "seconds for the result.",
    )


async def export_outcome(call: Call, record: JobRecord) -> ExportResult:
    result = await _take(call, record)
    if isinstance(result, ExportResult):
        return as_link(call.runtime, result).model_copy(update={"job_id": record.id})
    _, message = call.runtime.jobs.progress(record)
    return ExportResult(
        status="running",
        job_id=record.id,
        reply=f"Still exporting ({elapsed_words(record.elapsed)} so far): {message.rstrip('.')}. "
        f"It goes on in the background; call export_video again in about {ASK_AGAIN_S} seconds "
        "to get the file.",
    )


def as_link(runtime: Runtime, result: ExportResult) -> ExportResult:
    """On a shared server the file is not the user's to open: they get a download link."""
    link = runtime.deployment.shared_file(result.path) if result.path else None
    if link is None:
        return result
    return result.model_copy(
        update={"path": None, "url": link, "reply": f"The video is ready: {link}"}
    )


async def upload_outcome(
    call: Call, record: JobRecord, refused: list[RejectedItem]
) -> UploadResult:
    result = await _take(call, record)
    if isinstance(result, UploadResult):
        rejected = refused + result.rejected
        if not result.uploaded:
            reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected)
            raise refuse(f"Nothing was uploaded. {reasons}")
        reply = result.reply + (f" {len(rejected)} refused (see rejected)." if rejected else "")
        return result.model_copy(
            update={
                "job_id": record.id,
                "rejected": rejected,
                "reply": with_notices(call.runtime, reply),
            }
        )
    _, message = call.runtime.jobs.progress(record)
    return UploadResult(
        status="running",
        job_id=record.id,
        rejected=refused,
        reply=f"Still uploading ({elapsed_words(record.elapsed)} so far): {message.rstrip('.')}. "
        "It goes on in the background; call upload_media again with the same files (it joins "
        "this upload, nothing is sent twice) or get_timeline to see it finish.",
    )
