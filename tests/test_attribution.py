from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import pytest

from nemo_mcp.attribution import attribution_headers, detect_platform
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings


@pytest.mark.parametrize(
    ("path", "platform"),
    [
        pytest.param("/home/ann/.clawhub/skills/nemo/nemo_mcp", "clawhub", id="clawhub"),
        pytest.param("/Users/bo/.cursor/skills/nemo-mcp/src/nemo_mcp", "cursor", id="cursor"),
        pytest.param(
            PureWindowsPath(r"C:\Users\cy\.cursor\skills\x\nemo_mcp"), "cursor", id="cursor-windows"
        ),
        pytest.param(
            PureWindowsPath(r"C:\Users\cy\.clawhub\nemo_mcp"), "clawhub", id="clawhub-windows"
        ),
        pytest.param("/usr/lib/python3/site-packages/nemo_mcp", "unknown", id="site-packages"),
        pytest.param("/home/ann/.cursor/extensions/nemo_mcp", "unknown", id="cursor-not-skills"),
        pytest.param("/home/ann/my.clawhub/nemo_mcp", "unknown", id="clawhub-suffix-only"),
        pytest.param(PurePosixPath(".clawhub/nemo_mcp"), "clawhub", id="relative"),
        pytest.param("", "unknown", id="empty"),
    ],
)
def test_platform_from_install_path(path: str, platform: str) -> None:
    assert detect_platform(path) == platform


def test_headers_come_from_the_manifest(manifest: Manifest) -> None:
    headers = attribution_headers(manifest, None, "/opt/x/nemo_mcp")
    assert headers == {
        "X-Skill-Source": "picture-to-video-ai",
        "X-Skill-Version": manifest.version,
        "X-Skill-Platform": "unknown",
    }


def test_skill_source_overrides_detection(manifest: Manifest) -> None:
    settings = Settings.from_env({"SKILL_SOURCE": "claude-desktop"})
    headers = attribution_headers(manifest, settings.skill_source, "/home/a/.cursor/skills/x")
    assert headers["X-Skill-Platform"] == "claude-desktop"


def test_blank_skill_source_falls_back_to_detection(manifest: Manifest) -> None:
    settings = Settings.from_env({"SKILL_SOURCE": "  "})
    headers = attribution_headers(manifest, settings.skill_source, "/a/.cursor/skills/m")
    assert headers["X-Skill-Platform"] == "cursor"
