from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import respx

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.manifests import Manifest, load_manifests
from nemo_mcp.settings import Settings
from nemo_mcp.store import SQLiteStore

SENTINEL_TOKEN = "nmv_usr_SENTINEL0123456789abcdefTEST"
FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.nemo.test"


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
