"""The CLI's other commands as a user runs them: config, doctor, local-backend."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nemo_local import RunningBackend
from nemo_mcp.client_config import config_block
from nemo_media.ffmpeg import parse_streams
from tests.conftest import SENTINEL_TOKEN

pytestmark = pytest.mark.real  # runs the command in subprocesses, a backend on a port


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nemo_mcp", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("client", ["claude", "cursor"])
def test_config_prints_a_block_to_paste(client: str) -> None:
    done = run("config", "--client", client, "--skill", "lipsyncvideo-ai")
    assert done.returncode == 0, done.stderr
    block = json.loads(done.stdout)
    entry = block["mcpServers"]["nemo-lipsyncvideo-ai"]
    assert Path(entry["command"]).is_absolute()
    assert entry["args"][-3:] == ["serve", "--skill", "lipsyncvideo-ai"]
    assert ("env" in entry) == (client == "cursor")
    assert "Paste it into" in done.stderr


def test_config_never_contains_the_token() -> None:
    block = config_block("claude", "dreamface-ai", ["/bin/nemo-mcp"], local=True)
    assert SENTINEL_TOKEN not in block and "NEMO_TOKEN" not in block
    assert json.loads(block)["mcpServers"]["nemo-dreamface-ai"]["args"][-1] == "--local"


def test_doctor_is_happy_with_a_reachable_backend(
    embedded_backend: RunningBackend, tmp_path: Path
) -> None:
    env = {"NEMO_API_URL": embedded_backend.url, "NEMO_CONFIG_DIR": str(tmp_path / "c"),
           "NEMO_OUTPUT_DIR": str(tmp_path / "o"), "HOME": str(tmp_path), "PATH": ""}  # fmt: skip
    done = run("doctor", "--skill", "picture-to-video-ai", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "answers (HTTP" in done.stdout and "all good" in done.stdout
    assert "no token yet" in done.stdout
    assert embedded_backend.stats.count("anonymous_token") == 0, "doctor spends nothing"


def test_doctor_says_what_to_fix(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    env = {
        "NEMO_API_URL": f"http://127.0.0.1:{closed}",
        "NEMO_CONFIG_DIR": str(tmp_path / "c"),
        "NEMO_MEDIA_ROOTS": str(tmp_path / "missing"),
        "HOME": str(tmp_path),
        "PATH": "",
    }
    done = run("doctor", env=env)
    assert done.returncode == 1
    assert "unreachable" in done.stdout and "--local" in done.stdout
    assert "media folder(s) missing" in done.stdout
    assert "2 thing(s) to fix" in done.stdout


def test_doctor_checks_a_user_token(embedded_backend: RunningBackend, tmp_path: Path) -> None:
    env = {"NEMO_API_URL": embedded_backend.url, "NEMO_TOKEN": SENTINEL_TOKEN,
           "HOME": str(tmp_path), "NEMO_CONFIG_DIR": str(tmp_path / "c"), "PATH": ""}  # fmt: skip
    done = run("doctor", env=env)
    assert done.returncode == 1
    assert "NEMO_TOKEN is invalid or has expired" in done.stdout
    assert SENTINEL_TOKEN not in done.stdout + done.stderr


def test_local_backend_command_prints_its_url_first(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp", "local-backend", "--data-dir", str(tmp_path),
         "--fault", "rate_limit_next=1", "--canvas", "360x640"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        faults = httpx.get(f"{url}/_local/faults", timeout=10).json()
        assert faults["rate_limit_next"] == 1
        tokens = [
            httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "op"}, timeout=10)
            for _ in range(2)
        ]
        assert [t.status_code for t in tokens] == [429, 200], "the fault, then a token"
        balance = tokens[1].json()["data"]["credits"]
        assert balance == 10_000, "as serve --local: 100 generations, refilled"
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0


def test_the_standalone_backend_tops_credits_up_like_serve_local() -> None:
    """``nemo-mcp local-backend``: a token gets ``--credits`` and is refilled when short (the
    refill itself: ``test_offline_credits_refill_instead_of_refusing``); ``--no-refill`` lets
    balances run out as the cloud's do."""
    from nemo_local.command_line import add_arguments, config_from

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    default = config_from(parser.parse_args([]))
    assert (default.starting_credits, default.refill_credits) == (10_000, True)
    strict = config_from(parser.parse_args(["--credits", "100", "--no-refill"]))
    assert (strict.starting_credits, strict.refill_credits) == (100, False)
    with pytest.raises(ValueError, match="--credits"):
        config_from(parser.parse_args(["--credits", "-5"]))


def test_bad_fault_flag_is_a_clear_error(tmp_path: Path) -> None:
    done = run("local-backend", "--data-dir", str(tmp_path), "--fault", "no_such_switch")
    assert done.returncode == 2
    assert "unknown fault switch 'no_such_switch'" in done.stderr


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        pytest.param(
            "  Duration: 00:00:09.00, start: 0.000000, bitrate: 200 kb/s\n"
            "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive),"
            " 1080x1920, 150 kb/s, 30 fps\n"
            "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo\n",
            (9000, "h264", 1080, 1920, "yuv420p", "aac"), id="h264-aac"),
        pytest.param("  Duration: 01:02:03.50, start: 0\n  Stream #0:0: Audio: mp3, 44100 Hz\n",
                     (3723500, None, None, None, None, "mp3"), id="audio-only"),
        pytest.param("garbage", (None, None, None, None, None, None), id="garbage"),
    ],
)  # fmt: skip
def test_parse_streams(text: str, facts: tuple[object, ...]) -> None:
    got = parse_streams(text)
    assert (got.duration_ms, got.video_codec, got.width, got.height, got.pix_fmt,
            got.audio_codec) == facts  # fmt: skip
