"""The player App in a real browser: headless Chromium renders export_video's App through the
official ext-apps host bridge, connected to ``nemo-mcp serve --local`` over stdio (run.mjs).

It checks what a user would see: the App renders, the exported video plays (its ``currentTime``
advances), the tracks are get_timeline's, and a running export's progress moves. Screenshots are
kept under the test's temporary folder, or ``NEMO_BROWSER_ARTEFACTS`` (the path is printed).
Chromium and Node come from ``.ci/install-browser``; without them the test is skipped, unless
``NEMO_REQUIRE_BROWSER`` is set (CI sets it, so a missing browser fails instead of passing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.samples import make_photo, make_tune

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("NEMO_CHROMIUM", "/usr/bin/chromium")
CANVAS = (360, 640)
"""Small: the renders are this test's main cost, and a 9:16 video shows the same at any size."""
SECONDS = 6
REQUEST = (
    f"turn these photos into a {SECONDS}-second video with transitions, add this song at 30% "
    "and the title 'Summer in Lisbon'"
)
SECOND_EDIT = "add the title 'Second cut'"
THIRD_EDIT = "add the title 'Third cut' and make it 120 seconds long"
"""Long enough that its export is still running, however fast the machine, while the App shows
its progress move and its Stop button stops it (the render goes on in the backend only until
the server ends, just after)."""
TIMEOUT_S = 120


def browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    if shutil.which("node") is None:
        return "no node"
    if not (HERE / "node_modules" / "@modelcontextprotocol" / "ext-apps").exists():
        return "npm packages not installed (npm ci in tests/browser)"
    return None


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    missing = browser_missing()
    if missing:
        if os.environ.get("NEMO_REQUIRE_BROWSER"):
            pytest.fail(f"NEMO_REQUIRE_BROWSER is set but {missing}; run .ci/install-browser")
        pytest.skip(missing)
    work = tmp_path_factory.mktemp("browser")
    media = work / "media"
    paths = [make_photo(media / f"photo-{i + 1}.jpg", i, CANVAS) for i in range(3)]
    paths.append(make_tune(media / "tune.wav", seconds=SECONDS))
    artefacts = Path(os.environ.get("NEMO_BROWSER_ARTEFACTS") or work / "artefacts")
    artefacts.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work / "home"),
        "NEMO_CONFIG_DIR": str(work / "config"),
        "NEMO_OUTPUT_DIR": str(work / "out"),
        "NEMO_MEDIA_ROOTS": str(media),
        "NEMO_LOCAL_CANVAS": "{}x{}".format(*CANVAS),
        "NEMO_POLL_INTERVAL": "0.2",
        "NEMO_RENDER_POLLS": "300",
        "NEMO_TOOL_WAIT": "40",
        "NEMO_LOG_LEVEL": "WARNING",
    }
    config = {
        "command": [sys.executable, "-m", "nemo_mcp", "serve", "--skill",
                    "picture-to-video-ai", "--local"],
        "env": env,
        "media": [str(p) for p in paths],
        "request": REQUEST,
        "secondEdit": SECOND_EDIT,
        "thirdEdit": THIRD_EDIT,
        "chromium": CHROMIUM,
        "profile": str(work / "chromium-profile"),
        "artefacts": str(artefacts),
        "report": str(work / "report.json"),
        "timeout_s": TIMEOUT_S - 30,
    }  # fmt: skip
    done = subprocess.run(
        ["node", str(HERE / "run.mjs")],
        env={**os.environ, "NEMO_BROWSER_TEST": json.dumps(config)},
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    facts: dict[str, Any] = json.loads(Path(config["report"]).read_text())
    print(f"\nbrowser test artefacts: {config['artefacts']}")
    assert done.returncode == 0, (
        f"{facts.get('error')} {facts.get('console')}\n{done.stderr[-4000:]}"
    )
    return facts


def test_the_app_renders_export_videos_result(report: dict[str, Any]) -> None:
    shown = report["shown"]
    assert shown["uri"] == "ui://nemo/player.html"
    backend = shown["csp"]["resourceDomains"]
    assert len(backend) == 1 and backend[0].startswith("http://127.0.0.1:")
    assert report["exportContent"] == ["text", "resource_link", "image"]
    assert not [line for line in report["console"] if "pageerror" in line or "Refused" in line]


def test_the_exported_video_plays(report: dict[str, Any]) -> None:
    # Offline the result has no URL for the assistant (loopback dies with the process); the
    # player gets the render's from the result's _meta, on the origin its CSP allows.
    assert report["export"]["url"] is None
    assert report["videoSrc"] == report["exportMeta"]["nemo/player"]["video_url"]
    assert report["videoSrc"].startswith(report["shown"]["csp"]["resourceDomains"][0] + "/")
    assert report["videoSrc"].endswith(".mp4")
    video = report["video"]
    assert video["error"] is None and (video["width"], video["height"]) == CANVAS
    times = report["currentTimes"]
    assert times[-1] > times[0] + 0.5, f"currentTime did not advance: {times}"
    assert times == sorted(times)


def test_the_tracks_are_get_timelines(report: dict[str, Any]) -> None:
    tracks = report["timeline"]["tracks"]
    shown = report["tracksShown"]
    expected = [
        {
            "index": str(t["index"]), "kind": t["kind"], "name": t["name"],
            "start": str(t["start_ms"]), "end": str(t["end_ms"]), "segments": str(t["segments"]),
            "volume": "" if t["volume_pct"] is None else str(t["volume_pct"]),
        }
        for t in tracks
    ]  # fmt: skip
    assert shown == expected
    assert {t["kind"] for t in tracks} >= {"video", "audio", "text"}
    assert any(t["volume_pct"] == 30 for t in tracks if t["kind"] == "audio")
    assert report["readyShown"] == "Ready to export"


def test_a_running_exports_progress_moves(report: dict[str, Any]) -> None:
    percents = report["exportPercents"]
    assert len(percents) >= 2 and percents == sorted(percents), percents
    assert report["secondExport"]["status"] == "done"
    assert {"call": "get_timeline"} in report["calls"]
    for shot in report["screenshots"]:
        assert Path(shot).stat().st_size > 10_000


def test_the_stop_button_stops_a_running_export(report: dict[str, Any]) -> None:
    assert report["thirdExport"]["status"] == "cancelled", report["thirdExport"]
    assert "Stopped the export" in report["stopFooter"]
    assert {"call": "send_edit"} in report["calls"], "the button asks the server in words"
    assert not [j for j in report["jobsAfterStop"] if j["status"] in ("running", "queued")]
    assert Path(report["stopShot"]).stat().st_size > 10_000


def test_the_app_has_get_timelines_picture_of_the_draft(report: dict[str, Any]) -> None:
    draft = report["draft"]
    assert draft["width"] > 300 and draft["height"] > 200, draft  # a sheet of 3 frames
    assert "has-draft" in draft["stage"] and "has-video" in draft["stage"]  # the video shows
