"""An edit: one message to the backend, its stream read to the end, the result in plain words.

Uploads asked for before the edit finish first (the message may be about them; the job manager
waits for them, by ``kinds.EDIT.after``). The state is
read before the message so a silent edit (about 30% of them) is answered from a
diff, never with silence; that draft is kept on the job's record too, so a server that dies
mid-stream can still say what changed after a restart. The message is recorded as handed to the
backend right before it goes out, and a job with such a record is never sent again:

- a stream that drops or times out is recovered by reading the state after
  ``NEMO_RECOVERY_WAIT`` seconds, then every twice that, five reads in all; a change is the
  result, no change a failure that offers a retry;
- a job adopted after its process died is reported as ``interrupted``, with what the state
  shows changed; the backend goes on without us, so the state is watched on the same schedule
  until the edit lands (or five reads show nothing).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from pydantic import BaseModel

from nemo_mcp import gui
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.backend.models import JsonObject
from nemo_mcp.backend.sse import Failure, Heartbeat, Signal, TextUpdate, ToolCall
from nemo_mcp.errors import EditFailed, StreamError
from nemo_mcp.jobs import RunningJob, elapsed_words
from nemo_mcp.results import EditResult
from nemo_mcp.routing import Intent
from nemo_mcp.store import StateStore
from nemo_mcp.timeline import Timeline, describe_changes, diff, parse_draft, summarize

log = logging.getLogger(__name__)

RECOVERY_READS = 5
PROGRESS_CHARS = 120
REPORT_EVERY_S = 0.25


class EditRequest(BaseModel):
    """What an edit job needs: the words, and (once read) the draft before them."""

    text: str
    before: JsonObject | None = None


class AlreadySent(Exception):
    """The hand-off record exists: this message went to the backend once already."""


def message_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PROGRESS_CHARS else "..." + text[-(PROGRESS_CHARS - 3) :]


def _result(reply: str, after: Timeline, changes: list[str]) -> EditResult:
    return EditResult(
        status="done", intent=Intent.EDIT, reply=reply, timeline=summarize(after), changes=changes
    )


class LatestReport:
    """Progress from a stream, at most one report per ``REPORT_EVERY_S``, the last one never lost.

    A streamed reply is one event per token: reporting each would send thousands of progress
    notifications and translate the whole reply each time (quadratic). The words are made only
    for a report that goes out."""

    def __init__(
        self,
        job: RunningJob,
        words_for: Callable[[Signal], str | None],
        fraction: Callable[[], float],
    ) -> None:
        self._job = job
        self._words_for = words_for
        self._fraction = fraction
        self._sent_at = -REPORT_EVERY_S
        self._held: Signal | None = None

    async def offer(self, signal: Signal) -> None:
        if time.monotonic() - self._sent_at < REPORT_EVERY_S:
            self._held = signal
            return
        await self._send(signal)

    async def flush(self) -> None:
        if self._held is not None:
            await self._send(self._held)

    async def _send(self, signal: Signal) -> None:
        self._held = None
        words = self._words_for(signal)
        if words is not None:
            self._sent_at = time.monotonic()
            await self._job.report(words, self._fraction())


@dataclass
class EditFlow:
    client: BackendClient
    store: StateStore
    recovery_wait: float
    typical_seconds: float

    async def run(self, job: RunningJob) -> EditResult:
        request = EditRequest.model_validate_json(job.record.request)
        if job.resumed and await self.store.handed_off(job.id):
            return await self._interrupted(request, job)
        state = await self.client.state()
        await job.remember(request.model_copy(update={"before": state.get("draft") or {}}))
        before = parse_draft(state)
        started = time.monotonic()

        def fraction() -> float:
            return min(0.95, (time.monotonic() - started) / max(self.typical_seconds, 1.0))

        def words_for(signal: Signal) -> str | None:
            if isinstance(signal, TextUpdate):
                return f"Backend: {_short(gui.translate(signal.text))}"
            if isinstance(signal, ToolCall):
                return f"Working: {signal.name.replace('_', ' ')}"
            if isinstance(signal, Heartbeat):
                return f"Still working... {elapsed_words(job.record.elapsed)}"
            if isinstance(signal, Failure):
                return "The backend reported a problem"
            return None

        throttle = LatestReport(job, words_for, fraction)

        async def before_send(session_id: str) -> None:
            if not await self.store.record_handoff(
                job.id, session_id, message_digest(request.text)
            ):
                raise AlreadySent(job.id)

        await job.report("Sending the request to the backend", 0.01)
        try:
            try:
                turn = await self.client.send_message(
                    request.text, throttle.offer, before_send=before_send
                )
            finally:
                await throttle.flush()
        except AlreadySent:
            return await self._interrupted(
                request.model_copy(update={"before": state.get("draft")}), job
            )
        except StreamError as exc:
            return await self._recover(before, exc, job)
        after = parse_draft(await self.client.state())
        changes = diff(before, after)
        text = gui.translate(gui.strip_trailing_glitch(turn.text)).strip()
        if turn.error and not changes:
            raise EditFailed(
                "The backend could not finish the request, and the project did not change. "
                "Try again in a moment.",
                reply=text,
            )
        if turn.error:
            text = (text + "\n" if text else "") + "(The backend reported a problem at the end.)"
        return _result(text or describe_changes(before, after), after, changes)

    async def _recover(self, before: Timeline, exc: StreamError, job: RunningJob) -> EditResult:
        """Never re-send: watch the state for the edit landing instead."""
        log.warning("edit stream ended badly (%s); recovering from state", type(exc).__name__)
        after, changes = await self._watch(before, job, "The connection dropped")
        if changes:
            reply = "The connection dropped, but the edit landed: " + describe_changes(
                before, after
            )
            return _result(reply, after, changes)
        raise EditFailed(
            "The connection to the backend dropped and the project has not changed after "
            f"{RECOVERY_READS} checks. The request was not sent twice; ask again to retry it."
        )

    async def _watch(
        self, before: Timeline, job: RunningJob, why: str, *, first: Timeline | None = None
    ) -> tuple[Timeline, list[str]]:
        """Read the state on the recovery schedule (``NEMO_RECOVERY_WAIT``, then every twice
        that, five reads in all) until it differs from ``before``; the last read and its diff."""
        after = before if first is None else first
        for attempt in range(RECOVERY_READS):
            if changes := diff(before, after):
                return after, changes
            wait = self.recovery_wait * (1 if attempt == 0 else 2)
            await job.report(
                f"{why}; checking the project in {wait:.0f} s "
                f"(check {attempt + 1} of {RECOVERY_READS}; the request is not sent again)"
            )
            await anyio.sleep(wait)
            after = parse_draft(await self.client.state())
        return after, diff(before, after)

    async def _interrupted(self, request: EditRequest, job: RunningJob) -> EditResult:
        """The server stopped while this message ran: never send it again; watch the project
        for it to land (the backend goes on without us), then say what the project shows."""
        before = parse_draft(request.before or {})
        after = parse_draft(await self.client.state())
        changes: list[str] = []
        if request.before is not None:
            why = "The server stopped while this request ran"
            after, changes = await self._watch(before, job, why, first=after)
        seen = describe_changes(before, after) if changes else "no change to the timeline yet"
        reply = (
            f"The server stopped while this request ({request.text[:80]!r}) was running. It was "
            f"not sent again. What the project shows: {seen}. If that is not what you asked for, "
            "ask again."
        )
        return EditResult(
            status="interrupted", intent=Intent.EDIT, reply=reply, timeline=summarize(after),
            changes=changes,
        )  # fmt: skip
