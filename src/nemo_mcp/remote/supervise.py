"""Loops that must outlive any fault: restarted with capped backoff, never ending the lifespan.

The job engine's worker loop stops when its database connection fails; the sweep's store calls
fail while the database is down. Left alone, either exception would leave the lifespan's task
group and take the whole worker down for good (issue 22). ``supervised`` runs such a loop
forever: a failure is logged once per incident (``Incident``), the loop is started again after
a pause that doubles up to ``backoff_max``, and a run that lasts ``healthy_after`` seconds is
logged as the recovery, so the next failure is a new incident with a short first pause.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from nemo_mcp.remote.outage import Incident

log = logging.getLogger("nemo_mcp.remote")

FIRST_PAUSE_S = 0.5
HEALTHY_AFTER_S = 10.0


def next_pause(pause: float, backoff_max: float) -> float:
    """The pause after ``pause``: doubled, never above ``backoff_max``."""
    return min(backoff_max, max(FIRST_PAUSE_S, pause * 2))


async def supervised(
    what: str,
    run: Callable[[], Awaitable[object]],
    *,
    backoff_max: float,
    healthy_after: float = HEALTHY_AFTER_S,
) -> None:
    """Run ``run`` again and again until cancelled; its failures never leave this function."""
    incident = Incident(what)
    pause = FIRST_PAUSE_S

    async def watch() -> None:
        nonlocal pause
        await anyio.sleep(healthy_after)
        incident.ok()  # it ran long enough: the next failure is a new incident
        pause = FIRST_PAUSE_S

    while True:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                await run()
                raise RuntimeError("it returned")
        except Exception as exc:  # noqa: BLE001 - everything is retried; cancellation is not
            incident.failed(_first(exc))
        await anyio.sleep(pause)
        pause = next_pause(pause, backoff_max)


def _first(exc: BaseException) -> BaseException:
    """The failure itself, out of the task group's exception group."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
