"""What a tool says about a job: the results the job manager says to tell now, else where it is.

Which results are told, in what order and exactly once, is decided by ``JobManager`` (``tell``,
``news``, ``status``, ``overview``); this module only words them, the same way whichever tool
is asked.
"""

from __future__ import annotations

from nemo_mcp.flows.kinds import EDIT, EXPORT, SPECS, UPLOAD
from nemo_mcp.jobs import LABEL_CHARS, elapsed_words
from nemo_mcp.results import EditResult, ExportResult, JobInfo, RejectedItem, UploadResult
from nemo_mcp.routing import Intent
from nemo_mcp.store import JobRecord
from nemo_mcp.tools.edge import Refusal, ToolCall
from nemo_mcp.tools.runtime import Runtime

ASK_AGAIN_S = 30
FAILED = "The request failed."


def with_notices(runtime: Runtime, reply: str) -> str:
    """The reply with any notice for the user first ("the previous project had expired")."""
    notices = runtime.client.take_notices()
    return "\n".join([*notices, reply]) if notices else reply


async def job_info(runtime: Runtime, record: JobRecord) -> JobInfo:
    percent, message = runtime.jobs.progress(record)
    result = SPECS[record.kind].result_of(record)
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


def _failed_alone(told: list[JobRecord]) -> None:
    """One failed job alone is an error answer, as when it is waited for."""
    if len(told) == 1 and told[0].status == "failed":
        raise Refusal(told[0].error or FAILED)


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
    _failed_alone(told)
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
        reply=with_notices(call.runtime, "\n".join(parts)),
        job_id=latest.id,
        timeline=last.timeline if last else None,
        changes=changes,
    )


async def export_reply(call: ToolCall, record: JobRecord, told: list[JobRecord]) -> ExportResult:
    """The export to tell (the latest), else where ``record`` is."""
    if told:
        _failed_alone(told[-1:])
        result = EXPORT.result_of(told[-1])
        if result is not None:
            return as_link(call.runtime, result).model_copy(update={"job_id": told[-1].id})
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


async def upload_reply(
    call: ToolCall, record: JobRecord, told: list[JobRecord], refused: list[RejectedItem]
) -> UploadResult:
    """The upload to tell, with what was refused before it was sent, else where it is."""
    if told:
        _failed_alone(told)
        result = UPLOAD.result_of(told[-1])
        if result is not None:
            rejected = refused + result.rejected
            if not result.uploaded:
                reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected)
                raise Refusal(f"Nothing was uploaded. {reasons}")
            more = f" {len(rejected)} refused (see rejected)." if rejected else ""
            return result.model_copy(
                update={
                    "job_id": told[-1].id,
                    "rejected": rejected,
                    "reply": with_notices(call.runtime, result.reply + more),
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
