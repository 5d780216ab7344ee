"""Shared fixtures and the suite's tiers; docs/TESTING.md is the guide for adding tests.

Tiers (markers, applied here at collection so a test never marks itself, except ``chaos``):

- ``fast``: everything in memory (the SDK's ``Client(server)``, ``httpx.MockTransport``, respx,
  the stores on a temporary folder). A test is fast unless it lives in a folder of real paths
  (``REAL_PATHS``), uses a fixture that starts something real (``REAL_FIXTURES``), or is marked
  ``real``. ``pytest -m fast`` runs only these (about 25 CPU-seconds; docs/TESTING.md).
- the default run (the README's command): everything but ``chaos``, spread over workers by
  pytest-xdist. A test that uses a costly session fixture is pinned to one worker group
  (``XDIST_GROUPS``), so the PostgreSQL cluster starts once per run; each browser module keeps
  to one worker (``MODULE_GROUPS``), so its Chromium session runs once.
- ``chaos``: tests that must wait out production timeouts (a minute-long database outage, a
  soak) or trace a promise at full size (the 1 GiB upload). Excluded from the default run by
  ``addopts``; ``pytest -m chaos`` runs them (.ci/run does, after the README's command).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from nemo_local import RunningBackend
from nemo_mcp.backend.client import BackendClient
from nemo_mcp.manifests import Manifest, load_manifests
from nemo_mcp.settings import Settings
from nemo_mcp.store import SQLiteStore
from tests.embedded import EmbeddedBackends
from tests.reliability import figures
from tests.remote.services import Postgres, require_services

SENTINEL_TOKEN = "nmv_usr_SENTINEL0123456789abcdefTEST"
FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.nemo.test"
TESTS = Path(__file__).parent

REAL_PATHS = frozenset(
    {"e2e", "remote", "browser", "packaging", "bench", "reliability", "integration"}
)
"""Folders whose every test goes through a real process, service, port or browser."""
REAL_FIXTURES = frozenset(
    {"embedded_backend", "embedded_backends", "workspace", "cluster", "postgres", "remote_backend",
     "open_live"}
)  # fmt: skip
"""Fixtures that start something real: a test using one is not in the fast tier."""
XDIST_GROUPS = {"cluster": "cluster", "fresh": "cluster", "postgres": "cluster",
                "remote_backend": "cluster"}  # fmt: skip
"""Costly session fixtures: the tests using one run on one xdist worker, so it starts once."""
MODULE_GROUPS = frozenset({"browser"})
"""Folders whose modules each run one costly module-scoped set-up (a Chromium session over the
whole module): each module's tests stay on one worker, so it runs once; modules still spread."""


def _tier_of(item: pytest.Item) -> tuple[bool, str | None]:
    """(is it in memory, its xdist group) from the folder and fixtures a test uses."""
    parts = Path(item.path).relative_to(TESTS).parts
    folder = parts[0] if len(parts) > 1 else ""
    names = set(getattr(item, "fixturenames", ()))
    in_memory = (
        folder not in REAL_PATHS
        and not names & REAL_FIXTURES
        and item.get_closest_marker("real") is None
        and item.get_closest_marker("chaos") is None
    )
    group = next((XDIST_GROUPS[n] for n in sorted(names) if n in XDIST_GROUPS), None)
    if group is None and folder in MODULE_GROUPS:
        group = "/".join(parts)
    return in_memory, group


def pytest_configure(config: pytest.Config) -> None:
    """Let Python keep compiled bytecode, even where the machine says not to
    (``PYTHONDONTWRITEBYTECODE``): the suite starts about 70 server processes, and each would
    compile the same modules again (about 0.1 CPU-second a start), as would every worker its
    rewritten test modules on the next run."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``-m fast`` leaves the folders of real paths unimported: none of their tests can be fast,
    and importing them (assertion rewriting, their imports) cost each worker 1.5-2 CPU-seconds
    only to deselect them afterwards."""
    fast_only = (config.option.markexpr or "").strip() == "fast"
    if fast_only and collection_path.parent == TESTS and collection_path.name in REAL_PATHS:
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test's tier and group, and put the grouped tests first: a group runs on one
    worker from start to end, so starting it first keeps it from being the run's tail."""
    rank: dict[str, int] = {}
    for item in items:
        in_memory, group = _tier_of(item)
        if in_memory:
            item.add_marker(pytest.mark.fast)
        elif item.get_closest_marker("chaos") is None and item.get_closest_marker("real") is None:
            item.add_marker(pytest.mark.real)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            rank[item.nodeid] = 0 if group == "cluster" else 1  # the longest group first
    items.sort(key=lambda item: rank.get(item.nodeid, 2))  # stable: modules stay together


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    figures.finish(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: a worker is done; add its reliability counters."""
    figures.add_from_worker(getattr(node, "workeroutput", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    line = figures.summary_line()
    if line is not None:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def manifests() -> dict[str, Manifest]:
    return load_manifests()


@pytest.fixture
def manifest(manifests: dict[str, Manifest]) -> Manifest:
    return manifests["picture-to-video-ai"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Fast timings and a private config folder; no token (anonymous flow)."""
    return Settings(
        api_url="https://api.nemo.test",
        web_url="https://web.nemo.test",
        config_dir=tmp_path / "config",
        output_dir=tmp_path / "out",
        media_roots=(tmp_path,),
        poll_interval=0.01,
        retry_after=0.0,
        recovery_wait=0.01,
        tool_wait=5.0,
        heartbeat_timeout=5.0,
        sse_timeout=10.0,
    )


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(base_url=API, assert_all_called=False)


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(
    settings: Settings, manifest: Manifest, router: respx.MockRouter, sleeps: Sleeps
) -> Callable[..., BackendClient]:
    """A client on the routes, with a real store in the test's config folder; ``token=`` is a
    user's own token (the way ``NEMO_TOKEN`` sets it), other keywords replace settings."""

    def make(**overrides: object) -> BackendClient:
        s = replace(settings, **overrides)  # type: ignore[arg-type]
        return BackendClient(
            s,
            manifest,
            SQLiteStore.in_folder(s.config_dir),
            transport=httpx.MockTransport(router.async_handler),
            sleep=sleeps,
        )

    return make


@pytest.fixture(scope="session")
def embedded_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBackends]:
    """Every embedded backend of the run, by variant (tests/embedded.py), each started once."""
    backends = EmbeddedBackends(tmp_path_factory.mktemp("embedded"))
    yield backends
    backends.stop()


@pytest.fixture
def embedded_variant() -> str:
    """Which variant ``embedded_backend`` is; a folder's conftest (or a module) overrides it."""
    return "quick"


@pytest.fixture
def embedded_backend(embedded_backends: EmbeddedBackends, embedded_variant: str) -> RunningBackend:
    """The embedded backend on a loopback port, every fault switch off, the counters at zero."""
    return embedded_backends.get(embedded_variant)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The run's one PostgreSQL cluster (a throwaway folder, a free loopback port); skipped when
    PostgreSQL is not installed, failed instead under ``NEMO_REQUIRE_REMOTE`` (CI)."""
    bindir, _ = require_services()
    pg = Postgres.start(bindir)
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def pg_store_url(postgres: Postgres) -> str:
    """A database of its own for the store tests, beside the cluster's."""
    return postgres.create_database("nemo_store_tests")
