from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nemo_mcp.cli import main

FIELDS = {"name", "version", "display_name", "accepted_types", "max_upload_mb"}


def test_skills_lists_every_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills"]) == 0
    out = capsys.readouterr().out
    for name in ("dreamface-ai", "picture-to-video-ai", "infinite-talk-ai", "lipsyncvideo-ai",
                 "meta-ai-image-to-video"):  # fmt: skip
        assert name in out
    assert "up to 500 MB" in out


@pytest.mark.real  # the installed command, as a process
def test_skills_json_through_the_installed_command() -> None:
    """The console script, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "skills", "--json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    listing = json.loads(done.stdout)
    assert len(listing) == 5
    for item in listing:
        assert FIELDS <= set(item)
    lipsync = next(i for i in listing if i["name"] == "lipsyncvideo-ai")
    assert lipsync["max_upload_mb"] == 500
    assert "mp3" in lipsync["accepted_types"]


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "skills" in capsys.readouterr().err
