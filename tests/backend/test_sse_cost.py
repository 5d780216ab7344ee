"""The stream reader's cost stays linear in the bytes, and its memory does not grow with them.

Guarded as ratios, never absolute times: the machine is shared, so each size is timed several
times in CPU time (time waiting for a core does not count) and the best run counts."""

from __future__ import annotations

import tracemalloc

import pytest
from bench.sse_sample import adk_partial_stream, chunks

from nemo_mcp.backend.sse import StreamParser, TextUpdate
from tests.cpu_cost import lowest_ratio

RUNS = 7
ATTEMPTS = 3


def _read(parts: list[str]) -> StreamParser:
    parser = StreamParser()
    for part in parts:
        parser.feed(part)
    parser.close()
    return parser


@pytest.mark.real  # times long streams, several runs each
@pytest.mark.parametrize("with_ids", [True, False], ids=["one-id", "no-ids"])
def test_twice_the_events_take_about_twice_the_time(with_ids: bool) -> None:
    n = 4000
    small = chunks(adk_partial_stream(n, with_ids=with_ids))
    large = chunks(adk_partial_stream(2 * n, with_ids=with_ids))
    _assert_linear(small, large)


def _assert_linear(small: list[str], large: list[str]) -> None:
    """``large`` holds twice what ``small`` does: it must take under 2.5x the time."""
    _read(small)  # warm caches and the allocator
    ratio = lowest_ratio(_read, small, large, below=2.5, runs=RUNS, attempts=ATTEMPTS)
    if ratio >= 2.5:
        pytest.fail(f"twice the stream took x{ratio:.2f} the time at best")


def test_merged_text_is_exact_on_a_long_stream() -> None:
    n = 3000
    parser = StreamParser()
    signals = [s for part in chunks(adk_partial_stream(n)) for s in parser.feed(part)]
    signals += parser.close()
    expected = "".join(f"w{i % 997} " for i in range(n))
    assert parser.turn.text == expected
    updates = [s for s in signals if isinstance(s, TextUpdate)]
    assert len(updates) == n + 1 and updates[-1].text == expected
    assert parser.turn.heartbeats == n // 50


@pytest.mark.real  # traces memory over a long stream
def test_memory_does_not_grow_with_the_stream() -> None:
    """Under 100 bytes an event: the merged text (about 15 bytes an event with its pieces) and
    nothing per event; keeping each event's line (340 bytes) or its decoded JSON would exceed
    it. 20,000 events (7 MB) prove the same per-event bound as the bench's 100,000 (PERFORMANCE.md)
    at a fifth of the tracing."""
    events = 20_000
    parts = chunks(adk_partial_stream(events))
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        parser = _read(parts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parser.turn.events == events + 1
    grown = peak - base
    assert grown < 100 * events, f"reading {events} events grew memory by {grown / 2**20:.2f} MiB"


def test_a_long_line_in_many_small_chunks_is_joined_once() -> None:
    """A big final event split over many reads: each read must not copy the line so far."""

    def event(size: int) -> list[str]:
        body = f'data: {{"id": "1", "content": {{"parts": [{{"text": "{"x" * size}"}}]}}}}\n\n'
        return chunks(body, 64)

    _assert_linear(event(200_000), event(400_000))
    assert _read(event(400_000)).turn.text == "x" * 400_000
