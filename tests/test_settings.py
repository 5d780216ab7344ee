from __future__ import annotations

import os
from pathlib import Path

import pytest

from nemo_mcp.settings import DEFAULT_API_URL, Settings, default_output_dir
from tests.conftest import SENTINEL_TOKEN


def test_defaults_without_environment() -> None:
    s = Settings.from_env({})
    assert s.api_url == DEFAULT_API_URL
    assert s.web_url == "https://nemovideo.com"
    assert s.token is None
    assert s.config_dir == Path("~/.config/nemovideo").expanduser()
    assert (s.poll_interval, s.retry_after, s.sse_timeout) == (30, 30, 900)
    assert (s.heartbeat_timeout, s.recovery_wait, s.tool_wait) == (600, 30, 45)
    assert s.media_roots == ()


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "NEMO_TOKEN": f" {SENTINEL_TOKEN} ",
        "NEMO_API_URL": "http://127.0.0.1:9/",
        "NEMO_CONFIG_DIR": str(tmp_path / "cfg"),
        "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
        "NEMO_MEDIA_ROOTS": os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b")]),
        "NEMO_TOOL_WAIT": "2.5",
        "NEMO_POLL_INTERVAL": "0",
    }
    s = Settings.from_env(env)
    assert s.token == SENTINEL_TOKEN
    assert s.api_url == "http://127.0.0.1:9"
    assert s.config_dir == tmp_path / "cfg"
    assert s.media_roots == (tmp_path / "a", tmp_path / "b")
    assert (s.tool_wait, s.poll_interval) == (2.5, 0.0)
    assert SENTINEL_TOKEN not in repr(s)


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_bad_timing_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="NEMO_RETRY_AFTER"):
        Settings.from_env({"NEMO_RETRY_AFTER": value})


def test_output_dir_follows_xdg_videos(tmp_path: Path) -> None:
    assert default_output_dir({"XDG_VIDEOS_DIR": str(tmp_path)}) == tmp_path / "NemoVideo"
    assert default_output_dir({}).name == "NemoVideo"
