"""The stream reader, on the recorded captures' real bytes and on hand-made edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nemo_mcp.backend.sse import (
    EventDecoder,
    Failure,
    Heartbeat,
    LineDecoder,
    StreamParser,
    TextUpdate,
    ToolCall,
    ToolResult,
)
from tests.backend.conftest import CAPTURES, http_captures, load_capture

READY = "Your video vid_0001 is ready. Click the Export button to download it."


def parse(body: bytes, chunk: int | None = None) -> StreamParser:
    parser = StreamParser()
    text = body.decode("utf-8")
    step = chunk or len(text) or 1
    for i in range(0, len(text), step):
        parser.feed(text[i : i + step])
    parser.close()
    return parser


EXPECTED = {
    # name: (text, tool calls, tool results, error)
    "capture_camelcase_body": ("", 1, 1, None),
    "capture_err_midstream_exception": (
        "Working on your video", 0, 0, "RuntimeError: scripted failure for testing"),
    "capture_err_no_new_message": ("", 0, 0, "ValueError: Running an agent requires"),
    "capture_llm_silent_streamfalse": ("", 1, 1, None),
    "capture_llm_streamfalse": (
        "Working on your video\nYour video is ready. Click the Export button to download it.",
        1, 1, None),
    "capture_normal_streamfalse": (f"Working on your video\n{READY}", 1, 1, None),
    "capture_normal_streamtrue": (f"Working on your video\n{READY}", 1, 1, None),
    "capture_silent": ("", 1, 1, None),
    "capture_silent_streamtrue": ("", 1, 1, None),
    "capture_slow": ("", 1, 1, None),
    "capture_state_delta": ("", 1, 1, None),
    "capture_unicode": (f"Working on your video\n{READY}", 1, 1, None),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("chunk", [None, 1, 7, 64], ids=["whole", "1-char", "7-char", "64-char"])
def test_captured_streams_merge_without_doubling(name: str, chunk: int | None) -> None:
    capture = load_capture(CAPTURES / f"{name}.txt")
    assert capture.status == 200
    text, calls, results, error = EXPECTED[name]
    turn = parse(capture.body, chunk).turn
    assert turn.text == text
    assert len(turn.tool_calls) == calls
    assert len(turn.tool_results) == results
    if error is None:
        assert turn.error is None
    else:
        assert turn.error is not None and turn.error.startswith(error)
    assert turn.silent == (text == "")


def test_every_streamed_capture_has_an_expectation() -> None:
    streams = {p.stem for p in http_captures() if load_capture(p).status == 200}
    streams = {n for n in streams if "event-stream" in load_capture(CAPTURES / f"{n}.txt")
               .headers.get("content-type", "")}  # fmt: skip
    assert streams == set(EXPECTED)


def test_tool_calls_stay_apart_and_keep_utf8() -> None:
    turn = parse(load_capture(CAPTURES / "capture_unicode.txt").body).turn
    assert turn.tool_calls[0].name == "generate_video"
    assert turn.tool_calls[0].args["prompt"] == "vidéo ✓ 日本"
    assert turn.tool_results[0].response["video_id"] == "vid_0001"
    assert "generate_video" not in turn.text


def test_partials_then_final_with_same_id_are_not_doubled() -> None:
    events = [
        {"id": "a", "partial": True, "content": {"parts": [{"text": "Hel"}]}},
        {"id": "a", "partial": True, "content": {"parts": [{"text": "lo"}]}},
        {"id": "a", "content": {"parts": [{"text": "Hello"}, {"functionCall": {"name": "f"}}]}},
        {"id": "b", "partial": True, "content": {"parts": [{"text": "你好"}]}},
    ]
    body = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events)
    parser = parse(body.encode())
    assert parser.turn.text == "Hello\n你好"
    assert [c.name for c in parser.turn.tool_calls] == ["f"]


@pytest.mark.parametrize(
    ("body", "form"),
    [
        pytest.param(": ping\n\n", "comment", id="comment"),
        pytest.param(":\n\n", "comment", id="bare-colon"),
        pytest.param("data:\n\n", "empty data", id="empty-data"),
        pytest.param("data: \n\n", "empty data", id="blank-data"),
        pytest.param('data: {"id": "x", "author": "nemo"}\n\n', "no content", id="no-content"),
        pytest.param('data: {"content": {"parts": []}}\n\n', "no content", id="empty-parts"),
        pytest.param("data: not json\n\n", "unreadable event", id="garbage"),
        pytest.param("data: [1, 2]\n\n", "unreadable event", id="json-list"),
    ],
)
def test_heartbeat_forms(body: str, form: str) -> None:
    parser = StreamParser()
    signals = parser.feed(body) + parser.close()
    assert signals == [Heartbeat(form)]
    assert parser.turn.text == ""


def test_heartbeats_between_events_are_counted_and_do_not_disturb_text() -> None:
    body = (
        ": still working\n\n"
        'data: {"id": "1", "content": {"parts": [{"text": "Done."}]}}\n\n'
        ": still working\n\ndata:\n\n"
    )
    parser = StreamParser()
    signals = parser.feed(body) + parser.close()
    assert [type(s) for s in signals] == [Heartbeat, TextUpdate, Heartbeat, Heartbeat]
    assert parser.turn.heartbeats == 3
    assert parser.turn.text == "Done."


def test_signals_in_order() -> None:
    body = load_capture(CAPTURES / "capture_normal_streamtrue.txt").body.decode()
    parser = StreamParser()
    kinds = [type(s) for s in parser.feed(body) + parser.close()]
    assert kinds == [TextUpdate, ToolCall, ToolResult, TextUpdate]


def test_midstream_error_is_a_failure_signal_after_the_text() -> None:
    body = load_capture(CAPTURES / "capture_err_midstream_exception.txt").body.decode()
    parser = StreamParser()
    signals = parser.feed(body) + parser.close()
    assert isinstance(signals[0], TextUpdate)
    assert isinstance(signals[-1], Failure)
    assert "scripted failure" in signals[-1].message


def test_model_returned_no_content_is_silence_not_failure() -> None:
    body = load_capture(CAPTURES / "capture_llm_silent_streamfalse.txt").body.decode()
    parser = StreamParser()
    signals = parser.feed(body) + parser.close()
    assert not any(isinstance(s, Failure) for s in signals)
    assert parser.turn.silent


def test_error_message_field_is_a_failure() -> None:
    body = 'data: {"id": "z", "errorCode": "QUOTA", "errorMessage": "quota exceeded"}\n\n'
    parser = StreamParser()
    assert parser.feed(body) == [Failure("quota exceeded")]


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        pytest.param(["a\nb\n"], ["a", "b"], id="lf"),
        pytest.param(["a\r\nb\r\n"], ["a", "b"], id="crlf"),
        pytest.param(["a\r", "\nb\r\n"], ["a", "b"], id="crlf-split"),
        pytest.param(["a\rb\r"], ["a", "b"], id="cr-only"),
        pytest.param(["da", "ta: x", "\n"], ["data: x"], id="split-line"),
        pytest.param(["a\u2028b\n"], ["a\u2028b"], id="unicode-line-separator-is-not-a-newline"),
    ],
)
def test_line_decoder(chunks: list[str], lines: list[str]) -> None:
    decoder = LineDecoder()
    out = [line for chunk in chunks for line in decoder.feed(chunk)] + decoder.flush()
    assert out == lines


def test_multi_line_data_is_joined() -> None:
    decoder = EventDecoder()
    out = [*decoder.feed('data: {"a":'), *decoder.feed("data: 1}"), *decoder.feed("")]
    assert out == ['{"a":\n1}']
    assert json.loads(out[0]) == {"a": 1}


def test_event_without_trailing_blank_line_is_not_lost() -> None:
    parser = StreamParser()
    parser.feed('data: {"id": "1", "content": {"parts": [{"text": "end"}]}}')
    parser.close()
    assert parser.turn.text == "end"


def test_timed_capture_replays_to_the_same_turn() -> None:
    """capture_slow_timing: the same stream with arrival times; 20 s of nothing mid-way."""
    lines = Path(CAPTURES / "capture_slow_timing.txt").read_text(encoding="utf-8").splitlines()
    stamps = [float(line.split(" ", 1)[0]) for line in lines]
    assert max(b - a for a, b in zip(stamps, stamps[1:], strict=False)) > 19
    body = "\n".join(line.split(" ", 1)[1] if " " in line else "" for line in lines[6:]) + "\n"
    # The timing file truncates each event line; what survives must not break the reader.
    parser = StreamParser()
    parser.feed(body)
    parser.close()
    assert parser.turn.text == ""
