"""Starting and stopping a local backend: inside the current event loop (``LocalBackend``), in a
thread of its own (``start_in_thread``), or in the foreground for the CLI (``serve_forever``).

The socket is bound before uvicorn starts (``claim``; a caller may bind it itself), so the URL is
known (and connectable) at once, port 0 picks a free port, and two backends never race for one.
uvicorn never touches signal handlers or logging configuration here: an embedding program
(``serve --local``) keeps its own, and nothing is ever written to stdout except the URL line of
``serve_forever``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Generator
from types import TracebackType

import uvicorn

from nemo_local import persist
from nemo_local.app import build_app
from nemo_local.claim import listening_socket, url_of
from nemo_local.config import LocalBackendConfig
from nemo_local.context import Backend
from nemo_local.faults import Faults
from nemo_local.stats import Stats
from nemo_local.turns import StreamCut

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 1
START_TIMEOUT_S = 30.0


class _QuietDrops(logging.Filter):
    """uvicorn logs an exception that cuts a response; a deliberate drop is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamCut))


_QUIET_DROPS = _QuietDrops()


class _Server(uvicorn.Server):
    """uvicorn with a "ready" event and without its signal handling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class LocalBackend:
    """A local backend served by uvicorn inside the current asyncio event loop.

    ``async with LocalBackend(config) as backend:`` -- ``backend.url`` answers from the first line
    of the block; ``backend.faults`` and ``backend.stats`` are live."""

    def __init__(
        self,
        config: LocalBackendConfig,
        *,
        listening: socket.socket | None = None,
        folder_owned: bool = False,
    ) -> None:
        """``listening`` and ``folder_owned``: a socket and the data folder's lock the caller
        claimed already (``claim``; ``serve --local`` does, to answer before the backend runs)."""
        self.config = config
        self._backend = Backend(config)
        self._listening = listening
        self._folder_owned = folder_owned
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._owner = contextlib.ExitStack()
        self.url = ""

    @property
    def faults(self) -> Faults:
        return self._backend.faults

    @property
    def stats(self) -> Stats:
        return self._backend.stats

    def grant_token(self, token: str) -> None:
        """Make ``token`` a user's own token (``BackendState.grant_token``); in the loop."""
        self._backend.store.grant_token(token)

    async def __aenter__(self) -> LocalBackend:
        """Start serving; with ``keep_state``, first take the data folder (``FolderBusy`` if
        another backend has it) and, once listening, write its URL in ``backend.url`` there."""
        if self.config.keep_state and not self._folder_owned:
            self._owner.enter_context(persist.owned(self.config.data_dir))
        try:
            await self._start()
        except BaseException:
            self._owner.close()
            raise
        if self.config.keep_state:
            url_file = self.config.data_dir / persist.URL_FILE
            url_file.write_text(self.url + "\n", encoding="utf-8")
            self._owner.callback(url_file.unlink, missing_ok=True)
        return self

    async def _start(self) -> None:
        sock = self._listening or listening_socket(self.config.host, self.config.port)
        self.url = url_of(sock)
        logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)
        server_config = uvicorn.Config(
            build_app(self._backend),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            ws="none",
        )
        self._server = _Server(server_config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        ready = asyncio.create_task(self._server.ready.wait())
        done, _ = await asyncio.wait(
            {self._task, ready}, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            await self._stop()
            sock.close()
            raise RuntimeError("the local backend did not start (see the log)")
        log.info("local backend listening on %s (data in %s)", self.url, self.config.data_dir)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._stop()
        finally:
            self._owner.close()

    async def _stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await self._task
        except (Exception, SystemExit):
            log.exception("the local backend stopped with an error")
        finally:
            self._server = self._task = None


class RunningBackend:
    """A local backend running in a thread of its own (see ``start_in_thread``)."""

    def __init__(self, backend: LocalBackend, loop: asyncio.AbstractEventLoop) -> None:
        self._backend = backend
        self._loop = loop
        self._stop = asyncio.Event()
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self._backend.url

    @property
    def config(self) -> LocalBackendConfig:
        return self._backend.config

    @property
    def faults(self) -> Faults:
        return self._backend.faults

    @property
    def stats(self) -> Stats:
        return self._backend.stats

    def grant_token(self, token: str) -> None:
        """Make ``token`` a user's own token on this backend (from any thread)."""

        async def grant() -> None:
            self._backend.grant_token(token)

        asyncio.run_coroutine_threadsafe(grant(), self._loop).result(timeout=10)

    def stop(self) -> None:
        """Stop the backend and wait for its thread (safe to call twice)."""
        if self.thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join()
        self.thread = None

    def __enter__(self) -> RunningBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_in_thread(config: LocalBackendConfig) -> RunningBackend:
    """Start a local backend in a new thread with its own event loop; returns once it listens."""
    started = threading.Event()
    box: dict[str, RunningBackend | BaseException] = {}

    async def main() -> None:
        backend = LocalBackend(config)
        running = RunningBackend(backend, asyncio.get_running_loop())
        try:
            async with backend:
                box["running"] = running
                started.set()
                await running._stop.wait()
        except BaseException as exc:
            box.setdefault("error", exc)
            raise
        finally:
            started.set()

    def target() -> None:
        with contextlib.suppress(BaseException):
            asyncio.run(main())

    thread = threading.Thread(target=target, name="nemo-local-backend", daemon=True)
    thread.start()
    started.wait()
    result = box.get("running")
    if not isinstance(result, RunningBackend):
        thread.join()
        error = box.get("error")
        raise RuntimeError("the local backend did not start") from (
            error if isinstance(error, BaseException) else None
        )
    result.thread = thread
    return result


def serve_forever(config: LocalBackendConfig) -> int:
    """Run in the foreground: the base URL is the first line on stdout, logs go to stderr; stops
    on SIGINT or SIGTERM. Returns the exit status."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s"
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        async with LocalBackend(config) as backend:
            sys.stdout.write(backend.url + "\n")
            sys.stdout.flush()
            await stop.wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # where signal handlers are not available (Windows)
        pass
    except persist.FolderBusy as exc:
        log.error("another local backend keeps its state in %s; stop it first", exc)
        return 1
    except OSError as exc:
        log.error("cannot start the local backend: %s", exc)
        return 1
    return 0
