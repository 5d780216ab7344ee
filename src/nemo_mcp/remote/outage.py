"""A database outage is an answer in words, not a hang: bounded waits, one log line per incident.

Every store call of the shared server takes its connection through ``Guard``: it waits at most
``NEMO_DB_POOL_TIMEOUT`` for one (``NEMO_DB_QUICK_TIMEOUT`` while the database is known to be
down, so a tool call that touches the store twice still answers within the bound), checks a
pooled connection before handing it out (after a restart every idle one is dead), and turns
"no connection" and "connection lost" into ``StoreUnavailable``, which ``words.py`` says in plain
words. A load peak is not an outage: when no connection came in time but a fresh one can be
made, every connection is merely busy, and the call waits up to ``NEMO_DB_BUSY_TIMEOUT``.
The pool gives up a reconnection attempt after the pool timeout, so the next request starts a
fresh one: a returning database is used within a second or two of its return, not
after an exponential backoff that grew through a long outage.

``Incident`` is the log discipline of every loop that retries (the sweep, the job engine's
worker, the database itself): the first failure is a warning, the repeats are debug lines, and
the recovery is one info line with how long it lasted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.responses import JSONResponse

from nemo_mcp.errors import NemoError, StoreUnavailable
from nemo_mcp.settings import Resilience
from nemo_mcp.store import StateStore
from nemo_mcp.words import user_message

log = logging.getLogger("nemo_mcp.remote")

READY_WAIT_S = 2.5
RETRY_AFTER_S = 30

Connection = AsyncConnection[dict[str, Any]]


def pool_options(resilience: Resilience) -> dict[str, Any]:
    """Keyword arguments for a psycopg pool (the store's and the job engine's)."""
    return {
        "timeout": resilience.pool_timeout,
        "reconnect_timeout": resilience.pool_timeout,
        "check": AsyncConnectionPool.check_connection,
        "kwargs": {"connect_timeout": max(2, round(resilience.connect_timeout))},
    }


RETRYING_LOGGERS = ("psycopg.pool", "procrastinate")


def quiet_retries() -> None:
    """Each reconnection attempt of the pools and the job engine is not a log line of its own:
    ``Incident`` says when the database went and came back (one line each)."""
    for name in RETRYING_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


class Incident:
    """One warning when a thing starts failing, one info line when it works again."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s failed (%s); retrying until it works", self.what, type(exc).__name__)
        else:
            log.debug("%s still failing: %s", self.what, type(exc).__name__)

    def ok(self) -> None:
        if self.since is not None:
            took = time.monotonic() - self.since
            log.info("%s works again after %.1f s", self.what, took)
            self.since = None


LOST = (PoolTimeout, psycopg.OperationalError)
"""No connection within the wait, or the connection broke (server gone, restarting, network)."""


class Guard:
    """The store's connection pool, bounded and worded (see the module's docstring)."""

    def __init__(self, url: str, resilience: Resilience, *, min_size: int, max_size: int) -> None:
        options = pool_options(resilience)
        kwargs = {**options.pop("kwargs"), "row_factory": dict_row, "autocommit": True}
        self.pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, kwargs=kwargs, **options
        )
        self.resilience = resilience
        self.conninfo = url
        self.incident = Incident("the database")

    @property
    def up(self) -> bool:
        return not self.incident.ongoing

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=self.resilience.pool_timeout)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Connection]:
        try:
            db = await self._getconn(timeout)
            try:
                yield db
            finally:
                await self.pool.putconn(db)
        except LOST as exc:
            self.incident.failed(exc)
            raise StoreUnavailable(type(exc).__name__) from exc
        self.incident.ok()

    async def _getconn(self, timeout: float | None) -> Connection:
        """A connection within the pool timeout (the short one while the database is known to
        be down). When none came, a fresh connection tells busy from down: only a database that
        answers, with every connection in use, earns the longer wait of a load peak."""
        r = self.resilience
        if timeout is not None or self.incident.ongoing:
            return await self.pool.getconn(r.quick_timeout if timeout is None else timeout)
        try:
            return await self.pool.getconn(r.pool_timeout)
        except PoolTimeout:
            if not await self._answers():
                raise
            log.debug("every database connection is busy; waiting longer for one")
            return await self.pool.getconn(r.busy_timeout)

    async def _answers(self) -> bool:
        try:
            connect_timeout = max(2, round(self.resilience.connect_timeout))
            with anyio.fail_after(self.resilience.connect_timeout + 0.5):
                probe = await psycopg.AsyncConnection.connect(
                    self.conninfo, connect_timeout=connect_timeout
                )
            await probe.close()
            return True
        except Exception:  # noqa: BLE001 - any failure: not answering
            return False


async def answers(store: StateStore | None, serving: bool) -> bool:
    """Whether the store answers now (readiness), within ``READY_WAIT_S``."""
    if store is None or not serving:
        return False
    ping = getattr(store, "ping", None)
    try:
        with anyio.fail_after(READY_WAIT_S):
            if ping is not None:
                return bool(await ping())
            await store.job("readyz")
            return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def unavailable(exc: NemoError) -> JSONResponse:
    """A route's answer while the database (or the backend) is away: 503, when to try again,
    and plain words."""
    return JSONResponse(
        {"error": user_message(exc)},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
