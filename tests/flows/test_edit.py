"""The edit flow against respx routes (the stdio and in-memory tests cover the real path)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import respx

from nemo_mcp.errors import EditFailed
from nemo_mcp.flows.edit import EditFlow, EditRequest
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings
from tests.backend.conftest import BrokenStream
from tests.flows.conftest import DRAFT, STATE, TITLED, Env, flow_env, sse, state


def flow(env: Env, recovery_wait: float = 0.01) -> EditFlow:
    return EditFlow(env.client, env.store, recovery_wait, 60)


async def test_a_silent_edit_is_told_from_the_diff(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(TITLED)])
    router.post("/run_sse").mock(return_value=sse(": working\n\n"))
    async with flow_env(settings, manifest, router) as env:
        job = await env.job("edit", EditRequest(text="add the title 'Hi'"))
        result = await flow(env).run(job)
        assert await env.store.handed_off(job.id), "recorded before it went out"
        kept = EditRequest.model_validate_json(job.record.request)
        assert kept.before == DRAFT, "the draft before is on record for a restart"
    assert result.reply == "Title added: 'Hi' (0-3s)"
    assert result.changes == ["Title added: 'Hi' (0-3s)"]


async def test_text_is_translated_and_a_trailing_glitch_dropped(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(TITLED)])
    text = "Done. Click the Export button to download it. I encountered a temporary issue."
    event = {"id": "1", "content": {"parts": [{"text": text}]}}
    router.post("/run_sse").mock(return_value=sse(f"data: {json.dumps(event)}\n\n"))
    async with flow_env(settings, manifest, router) as env:
        result = await flow(env).run(await env.job("edit", EditRequest(text="x")))
    assert result.reply == "Done. Download it with export_video."


async def test_a_drop_is_recovered_by_reading_state_never_resending(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(DRAFT), state(DRAFT), state(TITLED)])
    run = router.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=BrokenStream(b": hb\n\n")
        )
    )
    async with flow_env(settings, manifest, router) as env:
        started = time.monotonic()
        result = await flow(env, 0.05).run(await env.job("edit", EditRequest(text="x")))
    assert result.reply.startswith("The connection dropped, but the edit landed")
    assert run.call_count == 1
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.1  # 1x, then 2x the wait


async def test_five_unchanged_reads_are_a_failure_offering_a_retry(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    reads = router.get(STATE).mock(return_value=state(DRAFT))
    run = router.post("/run_sse").mock(side_effect=httpx.ReadTimeout("no answer"))
    async with flow_env(settings, manifest, router) as env:
        with pytest.raises(EditFailed, match="after 5 checks.*ask again"):
            await flow(env, 0.001).run(await env.job("edit", EditRequest(text="x")))
    assert reads.call_count == 1 + 5
    assert run.call_count == 1


async def test_a_midstream_error_with_no_change_fails_without_the_backends_words(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    router.post("/run_sse").mock(
        return_value=sse('data: {"error": "RuntimeError: GPU out of memory"}\n\n')
    )
    async with flow_env(settings, manifest, router) as env:
        with pytest.raises(EditFailed) as info:
            await flow(env).run(await env.job("edit", EditRequest(text="x")))
    assert info.value.reason.startswith("The backend could not finish the request")
    assert "GPU" not in str(info.value)


async def test_a_message_that_went_out_before_a_restart_is_never_sent_again(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(return_value=state(TITLED))
    run = router.post("/run_sse").mock(return_value=sse(": hb\n\n"))
    async with flow_env(settings, manifest, router) as env:
        job = await env.job("edit", EditRequest(text="add a title", before=DRAFT), resumed=True)
        await env.store.record_handoff(job.id, "s1", "digest")
        result = await flow(env).run(job)
    assert run.call_count == 0
    assert result.status == "interrupted"
    assert "not sent again" in result.reply and "Title added: 'Hi'" in result.reply
    assert result.changes == ["Title added: 'Hi' (0-3s)"]


async def test_a_resumed_edit_that_never_went_out_is_sent_once(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(TITLED)])
    run = router.post("/run_sse").mock(return_value=sse(": hb\n\n"))
    async with flow_env(settings, manifest, router) as env:
        job = await env.job("edit", EditRequest(text="add a title"), resumed=True)
        result = await flow(env).run(job)
    assert run.call_count == 1 and result.status == "done"


async def test_a_second_attempt_at_the_same_job_is_refused_by_the_record(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(return_value=state(DRAFT))
    run = router.post("/run_sse").mock(return_value=sse(": hb\n\n"))
    async with flow_env(settings, manifest, router) as env:
        job = await env.job("edit", EditRequest(text="x"))
        await env.store.record_handoff(job.id, "s1", "another process sent it")
        result = await flow(env).run(job)
    assert run.call_count == 0 and result.status == "interrupted"


async def test_an_interrupted_edit_watches_the_project_until_it_lands(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    """The backend goes on after our process died: the first reads may not show it yet."""
    reads = router.get(STATE).mock(side_effect=[state(DRAFT), state(DRAFT), state(TITLED)])
    run = router.post("/run_sse").mock(return_value=sse(": hb\n\n"))
    async with flow_env(settings, manifest, router) as env:
        job = await env.job("edit", EditRequest(text="add a title", before=DRAFT), resumed=True)
        await env.store.record_handoff(job.id, "s1", "digest")
        result = await flow(env).run(job)
    assert run.call_count == 0 and reads.call_count == 3
    assert result.status == "interrupted" and result.changes == ["Title added: 'Hi' (0-3s)"]


async def test_a_long_streamed_reply_reports_a_few_times_and_always_the_end(
    settings: Settings, manifest: Manifest, router: respx.MockRouter
) -> None:
    router.get(STATE).mock(side_effect=[state(DRAFT), state(TITLED)])
    words = [f"word{i} " for i in range(3000)]
    events = ({"id": "r", "partial": True, "content": {"parts": [{"text": w}]}} for w in words)
    router.post("/run_sse").mock(
        return_value=sse("".join(f"data: {json.dumps(e)}\n\n" for e in events))
    )
    seen: list[str] = []

    async def listener(percent: float, total: float, message: str) -> None:
        seen.append(message)

    async with flow_env(settings, manifest, router) as env:
        job = await env.job("edit", EditRequest(text="x"))
        job.listeners.append(listener)
        result = await flow(env).run(job)
    assert result.reply == "".join(words).strip()
    backend_lines = [m for m in seen if m.startswith("Backend: ")]
    assert 1 <= len(backend_lines) < 50, "thousands of events, a handful of reports"
    assert backend_lines[-1].endswith("word2999"), "the last text is never held back"
