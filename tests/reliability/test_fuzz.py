"""Fuzzing with hypothesis: never a crash, a traceback in a result, or a hang.

- arbitrary arguments to the five tools, through the in-memory client, against the live backend;
- arbitrary drafts at the timeline reader (and the wording and diff built on it);
- arbitrary bytes, and arbitrary ADK-like events, at the SSE reader;
- raw malformed JSON-RPC lines at the stdio server: one subprocess, many lines, then a valid
  request is still answered.

Examples are bounded (``max_examples``) so the suite stays within seconds; each test counts
what it tried into the run's figures.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemo_mcp.backend.stream import read_turn
from nemo_mcp.errors import NemoError
from nemo_mcp.timeline import describe_changes, is_ready, parse_draft, summarize
from tests.reliability.conftest import DEADLINE_SLACK, TOOL_WAIT, assert_plain_words, text_of

FUZZ = settings(
    deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip

scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
DRAFT_KEYS = ["tracks", "tracks_", "t", "segments", "sg", "s", "st", "d", "start", "duration",
              "type", "kind", "role", "category", "name", "title", "text", "volume",
              "media_id", "canvas", "draft", "data", "state", "meta", "metadata", "width",
              "height"]  # fmt: skip
draft_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(DRAFT_KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=40,
)


@settings(FUZZ, max_examples=80)
@given(draft=draft_like | json_values, other=draft_like)
def test_any_draft_reads_as_a_timeline(draft: object, other: object) -> None:
    for raw in (draft, json.dumps(draft, allow_nan=True), other):
        timeline = parse_draft(raw)
        summary = summarize(timeline)
        assert isinstance(summary, str) and "Traceback" not in summary
        is_ready(timeline)
        assert isinstance(describe_changes(timeline, parse_draft(other)), str)
    FIGURES_BAD["drafts"] += 1


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def adk_event(value: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(value, allow_nan=True)}\n\n".encode()


parts = st.lists(
    st.fixed_dictionaries({}, optional={
        "text": st.text(max_size=30) | json_values,
        "functionCall": st.fixed_dictionaries({}, optional={"id": json_values, "name": json_values,
                                                             "args": json_values}),
        "functionResponse": st.fixed_dictionaries({}, optional={
            "id": json_values, "name": json_values, "response": json_values}),
    }),
    max_size=3,
)  # fmt: skip
events = st.fixed_dictionaries({}, optional={
    "content": st.fixed_dictionaries({}, optional={"parts": parts | json_values,
                                                   "role": json_values}) | json_values,
    "partial": json_values, "id": json_values, "error": json_values, "author": json_values,
    "finishReason": json_values, "errorMessage": json_values,
})  # fmt: skip
streams = st.lists(st.binary(max_size=200) | events.map(adk_event), max_size=12)


@settings(FUZZ, max_examples=80)
@given(chunks=streams, split=st.integers(1, 50))
def test_any_bytes_at_the_sse_reader(chunks: list[bytes], split: int) -> None:
    data = b"".join(chunks)
    pieces = [data[i : i + split] for i in range(0, len(data), split)]

    async def read() -> None:
        response = httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Chunks(pieces)
        )
        with anyio.fail_after(5):
            try:
                turn = await read_turn(response, None, heartbeat_timeout=5, whole_timeout=5)
            except NemoError:
                return
        assert isinstance(turn.text, str)

    anyio.run(read)
    FIGURES_BAD["SSE streams"] += 1


FIGURES_BAD: Counter[str] = Counter()


@pytest.fixture(autouse=True, scope="module")
def _count_bad_inputs() -> Any:
    yield
    from tests.reliability.figures import FIGURES

    for kind, n in FIGURES_BAD.items():
        FIGURES[f"bad inputs tried ({kind})"] += n


TOOL_ARGUMENTS = {
    "upload_media": st.fixed_dictionaries({}, optional={
        "paths": st.lists(st.text(max_size=60) | st.sampled_from(["/", "~", "/dev/zero", "..",
                                                                  "/etc/passwd", "file:///"]),
                          max_size=3),
        "urls": st.lists(st.text(max_size=60) | st.sampled_from(["http://", "https://[",
                                                                 "javascript:x", "//x"]),
                         max_size=3),
    }),
    "send_edit": st.fixed_dictionaries({"message": st.text(max_size=200)}),
    "get_timeline": st.just({}),
    "check_credits": st.just({}),
    "export_video": st.fixed_dictionaries({}, optional={
        "output_dir": st.text(max_size=40).filter(lambda t: not t.strip().startswith(("/", "~"))),
        "download": st.just(False),
    }),
}  # fmt: skip
tool_calls = st.one_of(
    *[args.map(lambda a, t=tool: (t, a)) for tool, args in TOOL_ARGUMENTS.items()],
    st.tuples(st.sampled_from(list(TOOL_ARGUMENTS)), st.dictionaries(st.text(max_size=10),
                                                                     json_values, max_size=3)),
)  # fmt: skip


@settings(FUZZ, max_examples=12)
@given(batch=st.lists(tool_calls, min_size=4, max_size=8))
def test_any_arguments_to_the_five_tools(open_live: Any, batch: list[tuple[str, Any]]) -> None:
    async def run() -> None:
        async with open_live() as live:
            for tool, arguments in batch:
                with anyio.fail_after(TOOL_WAIT + DEADLINE_SLACK):
                    result = await live.call(tool, arguments)
                assert_plain_words(text_of(result))
                FIGURES_BAD["tool calls"] += 1

    anyio.run(run)


MALFORMED = [
    b"", b"{", b"}", b"[]", b"null", b"42", b'"text"', b"\xff\xfe\x00", b"{\"jsonrpc\": \"2.0\"}",
    b'{"jsonrpc": "2.0", "id": 1}', b'{"jsonrpc": "1.0", "id": 2, "method": "ping"}',
    b'{"jsonrpc": "2.0", "id": 3, "method": "tools/call"}',
    b'{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": 5}}',
    b'{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope"}}',
    b'{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "send_edit", '
    b'"arguments": {"message": 7}}}',
    b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}',
    b'{"jsonrpc": "2.0", "method": "notifications/unknown"}',
    b'{"jsonrpc": "2.0", "id": 7, "method": "resources/read", "params": {"uri": "nemo://x"}}',
    b'{"jsonrpc": "2.0", "id": 8, "result": {}}', b"\x00" * 64, b"{" * 200 + b"}" * 200,
]  # fmt: skip


@settings(FUZZ, max_examples=1)
@given(noise=st.lists(st.binary(min_size=1, max_size=80).filter(lambda b: b"\n" not in b),
                      min_size=60, max_size=60))  # fmt: skip
def test_malformed_json_rpc_lines_at_the_stdio_server(tmp_path: Path, noise: list[bytes]) -> None:
    lines = [*MALFORMED, *noise]
    init = {
        "jsonrpc": "2.0",
        "id": 100,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "f", "version": "0"},
        },
    }
    ping = {"jsonrpc": "2.0", "id": 101, "method": "tools/list"}
    script = b"\n".join([json.dumps(init).encode(), *lines,
                         b'{"jsonrpc": "2.0", "method": "notifications/initialized"}',
                         json.dumps(ping).encode()]) + b"\n"  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "NEMO_CONFIG_DIR": str(tmp_path / "config"),
        "NEMO_API_URL": "http://127.0.0.1:9",
    }

    async def run() -> tuple[bytes, bytes, int]:
        with anyio.fail_after(60):
            async with await anyio.open_process(
                [sys.executable, "-m", "nemo_mcp", "serve", "--skill", "picture-to-video-ai"],
                env=env,
            ) as proc:
                assert proc.stdin and proc.stdout and proc.stderr
                await proc.stdin.send(script)
                out = b""
                while b'"id":101' not in out.replace(b" ", b""):
                    out += await proc.stdout.receive()
                await proc.stdin.aclose()
                err = b""
                async for chunk in proc.stderr:
                    err += chunk
                code = await proc.wait()
        return out, err, code

    out, err, code = anyio.run(run)
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(a.get("id") == 101 and "result" in a for a in answers), answers[-3:]
    assert code == 0, err.decode(errors="replace")[-2000:]
    assert b"Traceback" not in out
    assert b"Traceback" not in err, err.decode(errors="replace")[-3000:]
    FIGURES_BAD["JSON-RPC lines"] += len(lines)
