"""Twenty calls at once on a fresh config: one anonymous token, one session, no call lost.

The calls mix the five tools the way an impatient assistant fires them; the backend's counters
say how many tokens and sessions were asked for.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio

from nemo_mcp.samples import make_photo
from tests.reliability.conftest import assert_plain_words, text_of

PARALLEL = 20


async def test_twenty_calls_at_once_share_one_token_and_one_session(
    open_live: Any, figures: Counter[str]
) -> None:
    async with open_live() as live:
        photos = [make_photo(live.media / f"p{i}.jpg", i, (48, 64)) for i in range(4)]
        calls: list[tuple[str, dict[str, Any]]] = []
        for i in range(PARALLEL):
            match i % 5:
                case 0:
                    calls.append(("upload_media", {"paths": [str(photos[i % 4])]}))
                case 1:
                    calls.append(("check_credits", {}))
                case 2:
                    calls.append(("get_timeline", {}))
                case 3:
                    calls.append(("send_edit", {"message": f"add the title 'call {i}'"}))
                case _:
                    calls.append(("check_credits", {}))
        results: list[Any] = [None] * PARALLEL

        async def one(index: int, tool: str, arguments: dict[str, Any]) -> None:
            results[index] = await live.call(tool, arguments)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for index, (tool, arguments) in enumerate(calls):
                    tg.start_soon(one, index, tool, arguments)
        tokens = live.count("anonymous_token")
        sessions = live.count("session_create")
        messages = live.count("run_sse")
    for (tool, _), result in zip(calls, results, strict=True):
        said = text_of(result)
        assert_plain_words(said)
        assert not result.is_error, f"{tool}: {said[:300]}"
    assert tokens == 1, f"{tokens} anonymous tokens asked for"
    assert sessions == 1, f"{sessions} sessions created"
    edits = sum(tool == "send_edit" for tool, _ in calls)
    assert messages == edits, f"{messages} messages sent for {edits} edits"
    figures["parallel calls held"] += PARALLEL
