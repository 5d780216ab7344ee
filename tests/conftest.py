from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.manifests import Manifest, load_manifests
from nemo_mcp.settings import Settings

SENTINEL_TOKEN = "nmv_usr_SENTINEL0123456789abcdefTEST"
FIXTURES = Path(__file__).parent / "fixtures"


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
