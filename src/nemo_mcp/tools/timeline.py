"""``get_timeline``: the project's tracks, whether it can be exported, and the work in flight.

Jobs that finished are listed here too, and so told (each once: ``JobManager.overview``), so a
result is never lost between the tools that can report it.
"""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from nemo_mcp.flows.kinds import SPECS
from nemo_mcp.jobs import LABEL_CHARS
from nemo_mcp.results import ExportResult, JobInfo, TimelineResult, TrackInfo
from nemo_mcp.store import JobRecord
from nemo_mcp.timeline import Timeline, is_ready, parse_draft, summarize
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.edge import ToolCall, run_tool
from nemo_mcp.tools.extras import timeline_extras
from nemo_mcp.tools.runtime import Runtime
from nemo_mcp.tools.skills import Pick


def track_infos(timeline: Timeline) -> list[TrackInfo]:
    return [
        TrackInfo(
            index=t.index, kind=t.kind, name=t.name, label=t.label or "", start_ms=t.start_ms,
            end_ms=t.end_ms, volume_pct=t.volume_pct, segments=len(t.segments),
        )
        for t in timeline.tracks
    ]  # fmt: skip


async def get_timeline(
    ctx: Context, skill: str | None = None
) -> Annotated[CallToolResult, TimelineResult]:
    return await run_tool(ctx, ToolName.GET_TIMELINE, _timeline, timeline_extras, pick=Pick(skill))


async def _timeline(call: ToolCall) -> TimelineResult:
    runtime = call.runtime
    timeline = parse_draft(await runtime.client.state())
    infos = [
        await job_info(runtime, record) for record in await runtime.jobs.overview(runtime.scope)
    ]
    return TimelineResult(
        summary=runtime.client.with_notices(summarize(timeline)),
        ready=is_ready(timeline),
        duration_ms=timeline.duration_ms,
        tracks=track_infos(timeline),
        jobs=infos,
    )


async def timeline_document(runtime: Runtime) -> str:
    """The ``nemo://timeline/current`` resource: the summary, readiness and the draft JSON."""
    state = await runtime.client.state()
    timeline = parse_draft(state)
    body = {
        "summary": summarize(timeline),
        "ready": is_ready(timeline),
        "draft": state.get("draft"),
    }
    return json.dumps(body, ensure_ascii=False)


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
