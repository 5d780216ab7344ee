"""One shared server, many users: each request gets the ``Runtime`` of the user whose token it
bears, for the skill it runs under (``tools.skills``: one runtime per user and skill; the
conversation's current skill and last upload are kept per user in this worker).

Every user has their own backend client (their token, their scope: ``Scope.user`` is the user
key), their own folders for uploads and exports, and their own records; the job manager, the
store and the task group are shared. A job is run from its record, by whichever worker holds
it: the user's token is then read back from the store, where it is kept sealed with the server
key (``auth.Keys``), so a worker that never saw the user can still finish their render.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

import httpx
from anyio.abc import TaskGroup
from mcp.server.mcpserver import Context
from pydantic import BaseModel

from nemo_mcp.deployment import Deployment, SharedFolders
from nemo_mcp.flows.kinds import SPECS
from nemo_mcp.jobs import Admit, Dispatch, JobManager, RunningJob
from nemo_mcp.manifests import Manifest
from nemo_mcp.redact import register_outgoing, register_secret
from nemo_mcp.remote.answers import Scrubber
from nemo_mcp.remote.auth import Keys, Unauthorized, bearer
from nemo_mcp.remote.signing import LinkSigner
from nemo_mcp.settings import Settings
from nemo_mcp.skill_choice import MediaMix
from nemo_mcp.store import StateStore, TokenRecord
from nemo_mcp.tools.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)

SEALED_FOR_S = 30 * 24 * 3600.0
"""How long a sealed token is kept after the user was last seen (renewed by each worker)."""

CURRENT_TOKEN: contextvars.ContextVar[str] = contextvars.ContextVar("nemo_current_token")
"""The bearer of the request being served (for handlers the SDK gives no context)."""
CURRENT_BASE: contextvars.ContextVar[str] = contextvars.ContextVar("nemo_current_base")
"""The address the request came to, for links when ``NEMO_PUBLIC_URL`` is not set."""


def user_folder(root: Path, kind: str, user_key: str) -> Path:
    return root / kind / user_key


class SharedTransport(httpx.AsyncBaseTransport):
    """One connection pool to the backend for every user of this worker (each user's client
    closing does not close it; the worker does, at the end). It also sees every refusal of a
    token (401, the contract's 1001), and says so: a revoked token loses its trust at once."""

    def __init__(self, refused: Callable[[str], None] | None = None) -> None:
        self.pool = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=200))
        self.refused = refused

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.pool.handle_async_request(request)
        if response.status_code == 401 and self.refused is not None:
            with contextlib.suppress(Unauthorized):
                self.refused(bearer(request.headers.get("authorization")))
        return response

    async def aclose(self) -> None:
        """Left open: other users' clients still use it."""


class Users:
    """The shared server's lifespan state: per-user runtimes over one store and one job
    manager."""

    def __init__(
        self,
        settings: Settings,
        manifests: Mapping[str, Manifest],
        store: StateStore,
        keys: Keys,
        task_group: TaskGroup,
        *,
        holder: str,
        data_dir: Path,
        dispatch: Dispatch | None = None,
        admit: Admit | None = None,
    ) -> None:
        self.settings = settings
        self.deployment = Deployment.of(settings, many_users=True)
        self.manifests = dict(manifests)
        self.store = store
        self.keys = keys
        self.data_dir = data_dir
        self.links = LinkSigner(keys.secret, settings.link_ttl)
        self.answers = Scrubber(data_dir)
        self._unregister = register_outgoing(self.answers.scrub)
        self.jobs = JobManager(
            store, task_group, self._run, self.answers.describe, kinds=SPECS, holder=holder,
            dispatch=dispatch, admit=admit,
        )  # fmt: skip
        self._users: dict[tuple[str, str], Runtime] = {}
        self._current: dict[str, str] = {}
        self._media: dict[str, MediaMix] = {}
        self._transport = SharedTransport(self._refused)
        self.trust_lost: Callable[[str], object] = lambda key: None
        """Told the user key of a token the backend refused (the server drops its trust)."""
        self._sealed: set[str] = set()

    @property
    def first_manifest(self) -> Manifest:
        """The skill a request names none for is attributed to (the sign-in page's token)."""
        return next(iter(self.manifests.values()))

    @property
    def max_upload_mb(self) -> int:
        return max(m.max_upload_mb for m in self.manifests.values())

    # -- who is asking ---------------------------------------------------------------------
    async def sign_in(self, token: str) -> str:
        """The user key of ``token``; its sealed copy on record for work that outlives us."""
        key = self.keys.user_key(token)
        if key not in self._sealed:
            record = TokenRecord(
                self.keys.seal(token, key), time.time() + SEALED_FOR_S, client_id=""
            )
            await self.store.save_token(self.settings.backend_id, key, record)
            self._sealed.add(key)
        return key

    def _token(self, ctx: Context) -> str:
        # The request's NemoVideo token: the bearer itself, or the one behind an access token
        # this server issued (oauth/gate.py); the header only outside the middleware.
        headers = ctx.headers or {}
        token = CURRENT_TOKEN.get("") or (bearer(headers.get("authorization")) if headers else "")
        if not token:
            raise Unauthorized("no bearer token")
        return token

    def runtime_for(self, ctx: Context) -> Runtime:
        return self.runtime_of_skill(ctx, self.current_skill(ctx) or next(iter(self.manifests)))

    def runtime_of_skill(self, ctx: Context, skill: str) -> Runtime:
        token = self._token(ctx)
        return self._runtime(self.keys.user_key(token), token, skill)

    def current_skill(self, ctx: Context) -> str | None:
        return self._current.get(self.keys.user_key(self._token(ctx)))

    def remember(self, ctx: Context, skill: str, media: MediaMix) -> None:
        key = self.keys.user_key(self._token(ctx))
        self._current[key] = skill
        if not media.empty:
            self._media[key] = media

    def recent_media(self, ctx: Context) -> MediaMix:
        return self._media.get(self.keys.user_key(self._token(ctx)), MediaMix())

    def current(self) -> Runtime:
        """The runtime of the request being served (LookupError outside a request)."""
        token = CURRENT_TOKEN.get("")
        if not token:
            raise LookupError("no request")
        key = self.keys.user_key(token)
        return self._runtime(key, token, self._current.get(key))

    def _runtime(self, key: str, token: str, skill: str | None = None) -> Runtime:
        skill = skill if skill in self.manifests else next(iter(self.manifests))
        if (runtime := self._users.get((key, skill))) is not None:
            return runtime
        folders = SharedFolders(
            user_folder(self.data_dir, "uploads", key),
            user_folder(self.data_dir, "exports", key),
            functools.partial(self._link, key),
        )
        runtime = self._users[(key, skill)] = build_runtime(
            self.settings, self.manifests[skill], self.store, self.jobs,
            self.deployment.for_user(folders), user=key, token=token, transport=self._transport,
        )  # fmt: skip
        return runtime

    def _link(self, key: str, name: str) -> str:
        """A link its owner's player or browser opens without a header, for ``link_ttl``."""
        base = self.settings.public_url or CURRENT_BASE.get("")
        return f"{base}/downloads/{quote(name)}?{self.links.query(key, name, time.time())}"

    def _refused(self, token: str) -> None:
        key = self.keys.user_key(token)
        log.info("the backend refused the token of %s; asking again on its next request", key[:12])
        self.trust_lost(key)

    async def verify(self, key: str, token: str) -> None:
        """Ask the backend once whether it takes the token (``TokenInvalid`` if not)."""
        await self._runtime(key, token).client.credits()
        # Registered for redaction only now: a made-up "token" ("the") would otherwise be taken
        # out of every other user's output on this worker.
        register_secret(token)

    async def close(self) -> None:
        self._unregister()
        for runtime in self._users.values():
            await runtime.client.aclose()
        self._users.clear()
        await self._transport.pool.aclose()

    # -- running a job, whoever asked for it -------------------------------------------------
    async def _run(self, job: RunningJob) -> BaseModel:
        key, skill = job.scope.user, job.scope.skill
        runtime = self._users.get((key, skill))
        if runtime is None:
            record = await self.store.token(self.settings.backend_id, key)
            if record is None:
                raise Unauthorized("the user's token is no longer on record")
            token = self.keys.open(record.token, key)
            register_secret(token)  # sealed once the backend took it
            self._sealed.add(key)
            runtime = self._runtime(key, token, skill)
        return await runtime.work(job)
