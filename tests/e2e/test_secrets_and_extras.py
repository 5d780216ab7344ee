"""Secrets stay secret; roots, HEIC and the demo work as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client
from mcp.types import ListRootsResult, Root

from tests.conftest import SENTINEL_TOKEN
from tests.e2e.conftest import (
    CANVAS,
    WEB_URL,
    MakeMedia,
    Workspace,
    error_text,
    read_mp4,
    run_cli,
    structured,
)


def _everything_said(results: list[object]) -> str:
    return json.dumps(
        [r.model_dump(mode="json") for r in results],  # type: ignore[attr-defined]
        ensure_ascii=False,
    )


async def test_a_sentinel_user_token_never_appears_anywhere(workspace: Workspace) -> None:
    errlog = workspace.root / "server-stderr.txt"
    params = workspace.params(stderr_to=errlog, NEMO_TOKEN=SENTINEL_TOKEN, NEMO_LOG_LEVEL="DEBUG")
    async with Client(params, mode="legacy") as client:
        results = [
            await client.call_tool("check_credits", {}),
            await client.call_tool("send_edit", {"message": "add the title 'x'"}),
            await client.call_tool("get_timeline", {}),
            await client.call_tool("export_video", {}),
        ]
    said = _everything_said(results)
    assert "NEMO_TOKEN is invalid or has expired" in said
    logs = errlog.read_text() + (workspace.config / "nemo-mcp.log").read_text()
    assert logs, "the server did log"
    for place in (said, logs):
        assert SENTINEL_TOKEN not in place
    for request in workspace.backend.stats.snapshot()["recent"]:
        assert SENTINEL_TOKEN not in json.dumps(request)


async def test_the_clients_roots_decide_what_may_be_uploaded_and_heic_is_converted(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """One server: the client's roots decide what may be uploaded, and a HEIC photo inside them
    is converted to JPEG before it is sent."""
    import pillow_heif
    from PIL import Image

    from nemo_mcp.samples import make_photo

    inside = photos(1)[0]
    granted = workspace.root / "granted"
    allowed = make_photo(granted / "ok.jpg", 1, (64, 64))
    pillow_heif.register_heif_opener()
    heic = granted / "beach.heic"
    Image.new("RGB", (64, 48), (200, 120, 40)).save(heic, "HEIF")

    async def list_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=granted.as_uri(), name="granted")])

    async with Client(workspace.params(), mode="legacy", list_roots_callback=list_roots) as client:
        ok = structured(await client.call_tool("upload_media", {"paths": [str(allowed)]}))
        refused = error_text(await client.call_tool("upload_media", {"paths": [str(inside)]}))
        converted = structured(await client.call_tool("upload_media", {"paths": [str(heic)]}))
    assert [u["name"] for u in ok["uploaded"]] == ["ok.jpg"]
    assert "outside the folders" in refused and str(granted) in refused
    item = converted["uploaded"][0]
    assert item["name"] == "beach.heic" and item["type"] == "heic"
    stored = item["backend"]["files"][0]
    assert stored["name"] == "beach.jpg" and stored["kind"] == "image"


HIDE_PILLOW_HEIF = """
import sys


class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pillow_heif":
            raise ModuleNotFoundError("No module named 'pillow_heif'", name=name)


sys.meta_path.insert(0, Hide())
"""


async def test_heic_without_the_extra_says_how_to_install_it(
    workspace: Workspace, photos: MakeMedia
) -> None:
    """A server whose pillow_heif cannot be imported refuses the HEIC alone, with the fix."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    heic = workspace.media / "beach.heic"
    Image.new("RGB", (64, 48), (200, 120, 40)).save(heic, "HEIF")
    jpg = photos(1)[0]
    blocker = workspace.root / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(HIDE_PILLOW_HEIF)
    params = workspace.params(PYTHONPATH=str(blocker))
    async with Client(params, mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = structured(
            await client.call_tool("upload_media", {"paths": [str(heic), str(jpg)]})
        )
    assert [u["name"] for u in result["uploaded"]] == [jpg.name]
    (refused,) = result["rejected"]
    assert refused["name"] == "beach.heic"
    assert "pip install 'nemo-mcp[heic]'" in refused["reason"]
    assert "HEIC" not in (tools["upload_media"].description or ""), "no promise it can't keep"


def test_demo_on_a_fresh_config_ends_with_a_playable_mp4(tmp_path: Path) -> None:
    """``nemo-mcp demo`` run by the command's own function (``cli.main``) in this process, on an
    empty environment (no PATH, a fresh home and config): the demo starts its own ``serve
    --local`` subprocess, which is the real process it needs; one of its own would only add an
    interpreter start (the entry point is tested in test_wire.py)."""
    out = tmp_path / "videos"
    env = {"PATH": "", "HOME": str(tmp_path), "NEMO_CONFIG_DIR": str(tmp_path / "cfg")}
    done = run_cli(env, "demo", "--output-dir", str(out), "--canvas", f"{CANVAS[0]}x{CANVAS[1]}")
    stdout = done.stdout
    assert done.returncode == 0, stdout + done.stderr
    for step in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "Checked with FFmpeg: h264"):
        assert step in stdout
    path = Path(stdout.strip().splitlines()[-1].removeprefix("Your video: "))
    assert path.parent == out.resolve()
    facts = read_mp4(path)
    assert facts["video_codec"] == "h264" and facts["audio_codec"] == "aac"
    assert (facts["width"], facts["height"]) == CANVAS


async def test_out_of_credits_says_so_with_a_registration_link(
    workspace: Workspace, photos: MakeMedia, tmp_path: Path
) -> None:
    from nemo_local import LocalBackendConfig, start_in_thread

    poor = start_in_thread(LocalBackendConfig(data_dir=tmp_path / "poor", starting_credits=40))
    try:
        images = photos(2)
        params = workspace.params(NEMO_API_URL=poor.url)
        async with Client(params, mode="legacy") as client:
            structured(await client.call_tool("upload_media", {"paths": [str(p) for p in images]}))
            text = error_text(
                await client.call_tool("send_edit", {"message": "turn these photos into a video"})
            )
            credits = structured(await client.call_tool("check_credits", {}))
    finally:
        poor.stop()
    assert "out of free credits" in text
    assert f"{WEB_URL}?bind=" in text
    assert credits["available"] == 40, "nothing was charged"
