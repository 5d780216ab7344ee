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


def test_skills_and_doctor_say_which_skill_a_phrase_would_pick(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["skills", "--pick", "make my selfie sing", "--media", "me.JPG", "song.mp3"]) == 0
    assert capsys.readouterr().out == (
        "'make my selfie sing' with jpg, mp3 -> dreamface-ai "
        "(selfie, sing, media: one-image-audio)\n"
    )
    assert main(["skills", "--pick", "让这张照片说话", "--media", "jpg", "mp3"]) == 0
    assert "asks which: dreamface-ai, infinite-talk-ai" in capsys.readouterr().out
    # doctor says it first, before any check that needs the network.
    import nemo_mcp.doctor

    async def no_checks(*args: object, **kwargs: object) -> int:
        return 0

    monkeypatch.setattr(nemo_mcp.doctor, "run_doctor", no_checks)
    assert main(["doctor", "--pick", "给这个视频重新配音", "--media", "a.mp4", "b.m4a"]) == 0
    assert "pick: '给这个视频重新配音' with mp4, m4a -> lipsyncvideo-ai" in capsys.readouterr().out


def test_config_defaults_to_every_skill(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--client", "claude"]) == 0
    block = json.loads(capsys.readouterr().out)
    assert list(block["mcpServers"]) == ["nemo"]
    assert block["mcpServers"]["nemo"]["args"][-1] == "serve"
    assert main(["config", "--client", "claude", "--skill", "all"]) == 0
    assert json.loads(capsys.readouterr().out) == block
