"""One upload for ``run.py``, in its own process so its memory is its own.

``python bench/upload.py ours|curl '<target json>'``: ``ours`` streams the file through the
nemo-mcp client (``BackendClient.upload_file``), ``curl`` runs ``curl -F`` on the same URL with
the same token. Prints ``{"mb_s": ..., "growth_mib": ...}`` (growth: the peak RSS over the RSS
before the upload, of this process or of curl).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError("no /proc")


async def main(kind: str, target: dict[str, Any]) -> dict[str, float]:
    from nemo_mcp.backend.client import BackendClient, upload_path
    from nemo_mcp.manifests import load_manifests, manifest_dirs
    from nemo_mcp.settings import Settings
    from nemo_mcp.store import SQLiteStore

    environ = {"NEMO_API_URL": target["url"], "NEMO_CONFIG_DIR": target["config"] + kind}
    settings = Settings.from_env(environ)
    manifest = load_manifests(manifest_dirs(None))["picture-to-video-ai"]
    store = SQLiteStore.in_folder(settings.config_dir)
    big = Path(target["file"])
    async with BackendClient(settings, manifest, store) as client:
        record = await client.sessions.current()
        token = await client.credentials.token()
        before = _rss_kib("VmRSS")
        started = time.perf_counter()
        if kind == "ours":
            await client.upload_file(big, filename="big.mp4", content_type="video/mp4")
            growth = (_rss_kib("VmHWM") - before) / 1024
        else:
            url = target["url"] + upload_path(record.session_id)
            subprocess.run(
                ["curl", "-sS", "--fail", "-o", "/dev/null"]
                + [
                    "-H",
                    f"Authorization: Bearer {token}",
                    "-F",
                    f"files=@{big};type=video/mp4",
                    url,
                ],
                check=True,
            )
            growth = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        took = time.perf_counter() - started
    await store.close()
    return {"mb_s": target["mb"] * 2**20 / 1e6 / took, "growth_mib": growth}


if __name__ == "__main__":
    print(json.dumps(anyio.run(main, sys.argv[1], json.loads(sys.argv[2]))))
