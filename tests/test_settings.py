from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from nemo_mcp.settings import DEFAULT_API_URL, MAX_TOOL_WAIT, Settings, default_output_dir
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


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "-inf", "1e999"])
def test_bad_timing_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="NEMO_RETRY_AFTER"):
        Settings.from_env({"NEMO_RETRY_AFTER": value})
    with pytest.raises(ValueError, match="NEMO_TOOL_WAIT"):
        Settings.from_env({"NEMO_TOOL_WAIT": value})


def test_output_dir_follows_xdg_videos(tmp_path: Path) -> None:
    assert default_output_dir({"XDG_VIDEOS_DIR": str(tmp_path)}) == tmp_path / "NemoVideo"
    assert default_output_dir({}).name == "NemoVideo"


@pytest.mark.parametrize("value", ["56", "120", "1e9"])
def test_a_tool_wait_past_what_clients_wait_is_capped_with_a_warning(value: str) -> None:
    s = Settings.from_env({"NEMO_TOOL_WAIT": value})
    assert s.tool_wait == MAX_TOOL_WAIT
    assert len(s.warnings) == 1 and "NEMO_TOOL_WAIT" in s.warnings[0]
    assert Settings.from_env({"NEMO_TOOL_WAIT": "50"}).warnings == ()


def test_every_variable_is_read_here() -> None:
    s = Settings.from_env(
        {
            "NEMO_SKILL": "dreamface-ai",
            "SKILL_SOURCE": "cursor",
            "NEMO_MANIFEST_DIR": "/tmp/manifests",
            "NEMO_LANGUAGE": "de",
            "LANG": "zh_CN.UTF-8",
            "NEMO_LOG_LEVEL": "debug",
            "NEMO_RENDER_POLLS": "4",
            "NEMO_LOCAL_CANVAS": "540x960",
            "NEMO_CONTACT_SHEET": "off",
            "NEMO_REQUEST_TIMEOUT": "7",
        }
    )
    assert (s.skill, s.skill_source, s.manifest_dir) == (
        "dreamface-ai",
        "cursor",
        Path("/tmp/manifests"),
    )
    assert (s.language, s.locale, s.log_level) == ("de", "zh_CN.UTF-8", "DEBUG")
    assert (s.render_polls, s.local_canvas, s.contact_sheet) == (4, (540, 960), False)
    assert s.request_timeout == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [("NEMO_RENDER_POLLS", "0"), ("NEMO_LOG_LEVEL", "loud"), ("NEMO_LOCAL_CANVAS", "5x5")],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_the_embedded_backend_has_one_identity_whatever_its_port() -> None:
    cloud = Settings(api_url="https://api.example")
    assert cloud.backend_id == "https://api.example"
    assert replace(cloud, api_url="http://127.0.0.1:5555", local=True).backend_id == "local"
