"""``get_timeline``: the project's tracks, whether it can be exported, and the work in flight.

Jobs that finished are handed out here too (each once), so a result is never lost between the
tools that can report it.
"""

from __future__ import annotations

import json
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from nemo_mcp.results import TimelineResult, TrackInfo
from nemo_mcp.timeline import Timeline, is_ready, parse_draft, summarize
from nemo_mcp.tool_names import ToolName
from nemo_mcp.tools.boundary import Call, answer
from nemo_mcp.tools.media_results import MEDIA_MAX_S, finished_videos, json_result
from nemo_mcp.tools.outcomes import job_info, with_notices
from nemo_mcp.tools.runtime import Runtime, runtime_of


def track_infos(timeline: Timeline) -> list[TrackInfo]:
    return [
        TrackInfo(
            index=t.index, kind=t.kind, name=t.name, label=t.label or "", start_ms=t.start_ms,
            end_ms=t.end_ms, volume_pct=t.volume_pct, segments=len(t.segments),
        )
        for t in timeline.tracks
    ]  # fmt: skip


async def get_timeline(ctx: Context) -> Annotated[CallToolResult, TimelineResult]:
    started = anyio.current_time()
    result = await answer(ctx, ToolName.GET_TIMELINE, _timeline)
    runtime = runtime_of(ctx)
    videos: dict[str, str] = {}
    with anyio.move_on_after(
        min(MEDIA_MAX_S, started + runtime.settings.tool_wait - anyio.current_time())
    ):
        videos = await finished_videos(runtime, result.jobs)
    return json_result(result, player={"videos": videos} if videos else None)


async def _timeline(call: Call) -> TimelineResult:
    runtime = call.runtime
    timeline = parse_draft(await runtime.client.state())
    outstanding = await runtime.jobs.outstanding(runtime.scope)
    infos = [await job_info(runtime, record) for record in outstanding]
    await runtime.jobs.take_finished(runtime.scope, ids=[r.id for r in outstanding if not r.active])
    return TimelineResult(
        summary=with_notices(runtime, summarize(timeline)),
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
