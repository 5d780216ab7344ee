"""One message turn on ``/run_sse``: the work runs as a task of the backend (not of the request),
and the response only relays its events, adding ``: still working`` heartbeats whenever nothing
was sent for ``heartbeat_interval``.

So a client that hangs up does not stop the work: the edit still lands in the session's state,
as on the cloud, and the client recovers by reading the state. The edit always lands *before* the
final text is sent. The order of a turn:

1. heartbeats only, if the ``heartbeat_only_seconds`` switch is on;
2. a generation opens with a partial "Working on your video" (no final event for it, like the
   cloud's), then one ``functionCall`` event per tool call; it then works ``work_seconds``;
3. the new draft lands in the session and the reserved credits are charged;
4. one ``functionResponse`` event (role ``user``) per call;
5. the reply: partial deltas and a final event with the same id (``streaming: true``) or one final
   event; a silent edit sends no text (with ``streaming: false``, an empty model event closes it).

With ``drop_next_stream`` the connection is cut after step 4: no final event, no clean end of the
chunked body (the client sees an incomplete read).
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from nemo_local import adk
from nemo_local.config import LocalBackendConfig
from nemo_local.edits import GENERATION_TOOLS, AgentTurn
from nemo_local.faults import Faults
from nemo_local.phrases import say
from nemo_local.state import Account, BackendState, Session

log = logging.getLogger(__name__)


class StreamCut(Exception):
    """Raised inside a response on purpose: the server then cuts the connection mid-body."""


class _Drop:
    """Marker on the event channel: cut the connection here."""


_DROP = _Drop()
Item = bytes | _Drop


@dataclass
class TurnRequest:
    account: Account
    session: Session
    turn: AgentTurn
    streaming: bool
    language: str


_BROKEN_PAGE = "<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>"


class _Broken(Exception):
    """The ``error_next_stream`` switch: the turn fails the way a broken upstream makes it."""


class TurnRunner:
    """Starts turns in the backend's task group and hands back the byte stream of each."""

    def __init__(
        self, config: LocalBackendConfig, store: BackendState, faults: Faults, task_group: TaskGroup
    ) -> None:
        self._config = config
        self._store = store
        self._faults = faults
        self._task_group = task_group
        self._rng = random.Random(config.seed)
        self.running = 0
        self._idle = anyio.Event()
        self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no turn is being worked on (the admin route ``/_local/idle``)."""
        while self.running:
            await self._idle.wait()

    def start(self, request: TurnRequest) -> AsyncIterator[bytes]:
        """Reserve the turn's credits (2001 when short), start its work, return its stream."""
        self._store.reserve(request.account, request.turn.cost)
        request.session.busy = True
        if self.running == 0:
            self._idle = anyio.Event()
        self.running += 1
        silent = request.turn.kind == "edit" and self._silent()
        drop = self._faults.take("drop_next_stream")
        broken = self._faults.take("error_next_stream")
        send, receive = anyio.create_memory_object_stream[Item](max_buffer_size=1000)
        self._task_group.start_soon(self._work, request, silent, drop, send, broken)
        return self._relay(receive)

    def _silent(self) -> bool:
        if self._faults.take("silent_next"):
            return True
        if self._faults.talkative:
            return False
        return self._rng.random() < self._config.silent_rate

    async def _relay(self, receive: MemoryObjectReceiveStream[Item]) -> AsyncIterator[bytes]:
        async with receive:
            while True:
                item: Item | None = None
                with anyio.move_on_after(self._config.heartbeat_interval):
                    try:
                        item = await receive.receive()
                    except anyio.EndOfStream:
                        return
                if item is None:
                    yield adk.HEARTBEAT
                elif isinstance(item, _Drop):
                    raise StreamCut("the drop_next_stream switch cut this stream")
                else:
                    yield item

    async def _work(
        self,
        req: TurnRequest,
        silent: bool,
        drop: bool,
        send: MemoryObjectSendStream[Item],
        broken: bool = False,
    ) -> None:
        landed = False

        def emit(*items: dict[str, Any] | bytes | _Drop) -> None:
            for item in items:
                data = adk.frame(item) if isinstance(item, dict) else item
                try:
                    send.send_nowait(data)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.WouldBlock):
                    pass  # the client is gone; the work goes on

        turn, inv = req.turn, adk.Invocation()
        async with send:
            try:
                quiet = self._faults.take_heartbeat_only()
                if quiet:
                    await anyio.sleep(quiet)
                if turn.kind == "generation":
                    opening = say(req.language, "working")
                    emit(inv.event([adk.text_part(opening)], partial=True))
                if broken:
                    raise _Broken(_BROKEN_PAGE)
                ids = [inv.call_id() for _ in turn.calls]
                for call_id, call in zip(ids, turn.calls, strict=True):
                    emit(inv.event([adk.call_part(call_id, call.name, call.args)]))
                if turn.kind == "generation":
                    await anyio.sleep(self._config.work_seconds)
                results = self._land(req)
                landed = True
                for call_id, call, result in zip(ids, turn.calls, results, strict=True):
                    emit(inv.event([adk.response_part(call_id, call.name, result)], role="user"))
                if drop:
                    emit(_DROP)
                elif not silent:
                    emit(*inv.text(turn.reply, streaming=req.streaming))
                elif not req.streaming:
                    emit(inv.no_content())
            except _Broken as exc:
                emit(adk.error_frame("InternalServerError", str(exc)))
            except Exception as exc:
                log.exception("turn failed in session %s", req.session.id)
                emit(adk.error_frame(type(exc).__name__, "the local agent failed; see its log"))
            finally:
                req.session.busy = False
                if not landed:
                    self._store.refund(req.account, turn.cost)
                self.running -= 1
                if self.running == 0:
                    self._idle.set()

    def _land(self, req: TurnRequest) -> list[dict[str, Any]]:
        """Put the new draft in the session and charge; the function responses to send."""
        session, turn = req.session, req.turn
        session.draft = turn.draft
        self._store.charge(req.account, turn.cost)
        results = []
        for call in turn.calls:
            result = dict(call.result)
            if call.name in GENERATION_TOOLS:
                video_id = f"vid_{len(session.generated) + 1:04d}"
                session.generated.append({"id": video_id, "tool": call.name, **call.result})
                result["video_id"] = video_id
            results.append(result)
        self._store.touch(session)
        return results
