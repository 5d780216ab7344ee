"""One process at a time: the first to need a thing makes it, the others wait and read it.

Several server processes share one config folder (one per skill in Claude Desktop). When they
all need the anonymous token at once, only one may fetch it (the cloud grants one per client per
7 days); the others wait on the store until it is there. Within a process a lock keeps the
tasks in line too, so the store sees one contender per process.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from nemo_mcp.store.base import StateStore

T = TypeVar("T")
POLL_S = 0.05


async def single_flight(
    store: StateStore,
    name: str,
    holder: str,
    *,
    find: Callable[[], Awaitable[T | None]],
    make: Callable[[], Awaitable[T]],
    ttl: float,
) -> T:
    """What ``find`` returns, else what ``make`` returns, made by one holder at a time.

    A holder that dies keeps the lease until ``ttl`` runs out, or (on this host) until the store
    sees its process is gone; then another makes it."""
    while True:
        if (found := await find()) is not None:
            return found
        if await store.acquire(name, holder, ttl):
            try:
                if (found := await find()) is not None:
                    return found
                return await make()
            finally:
                with anyio.CancelScope(shield=True):
                    await store.release(name, holder)
        await anyio.sleep(POLL_S)


def holder_is_gone(holder: str | None) -> bool:
    """Whether the process named ``holder`` (``host:pid:nonce``) surely ended: same host, no pid.

    A process on another host, or one this process may not signal, is never taken for gone."""
    if not holder:
        return True
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def process_holder() -> str:
    """A name for this process that no other process (here or on another host) shares."""
    return PROCESS_HOLDER


PROCESS_HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
