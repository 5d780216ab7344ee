"""Reading one message's stream to its end: the thin I/O half of the SSE reader (``sse``).

Two clocks watch it: heartbeats alone for longer than ``NEMO_HEARTBEAT_TIMEOUT`` is a timeout,
and the whole stream is capped at ``NEMO_SSE_TIMEOUT``. A broken connection is a drop; both keep
the text that arrived, for the caller to recover from state (never by sending again).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from nemo_mcp.backend.http import Phase, map_exceptions
from nemo_mcp.backend.sse import Heartbeat, Signal, StreamParser, Turn
from nemo_mcp.errors import StreamTimedOut

if TYPE_CHECKING:
    import httpx

SignalHandler = Callable[[Signal], Awaitable[None]]


async def read_turn(
    response: httpx.Response,
    on_signal: SignalHandler | None,
    *,
    heartbeat_timeout: float,
    whole_timeout: float,
    local: bool = False,
) -> Turn:
    """The merged turn of an open ``text/event-stream`` answer."""
    parser = StreamParser()
    last_content = time.monotonic()

    async def emit(signals: list[Signal]) -> None:
        nonlocal last_content
        for signal in signals:
            if not isinstance(signal, Heartbeat):
                last_content = time.monotonic()
            if on_signal is not None:
                await on_signal(signal)

    with anyio.move_on_after(whole_timeout) as cap:
        with map_exceptions(Phase.STREAM, local=local, text=lambda: parser.turn.text):
            async for chunk in response.aiter_text():
                await emit(parser.feed(chunk))
                if time.monotonic() - last_content > heartbeat_timeout:
                    raise StreamTimedOut("only heartbeats for too long", text=parser.turn.text)
        await emit(parser.close())
    if cap.cancelled_caught:
        raise StreamTimedOut("the stream ran past its time limit", text=parser.turn.text)
    return parser.turn
