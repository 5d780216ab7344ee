"""The shared server's edges: bearer required, health open, paths refused, uploads capped."""

from __future__ import annotations

import socket

import httpx

from tests.e2e.conftest import error_text
from tests.remote.conftest import Cluster, connect, new_token


def test_health_is_open_and_ready_means_the_store_answers(cluster: Cluster) -> None:
    assert httpx.get(f"{cluster.url}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{cluster.url}/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}


def test_no_bearer_or_a_refused_one_is_401_with_a_challenge(fresh: Cluster) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nmv_usr_bogus1"}):
        answer = httpx.post(f"{fresh.url}/mcp", json=body, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith('Bearer realm="nemo-mcp"')
        assert "bogus1" not in answer.text
    assert httpx.post(f"{fresh.url}/uploads", content=b"x").status_code == 401
    assert httpx.get(f"{fresh.url}/downloads/a.mp4").status_code == 401


def test_tokens_never_reach_the_logs(fresh: Cluster) -> None:
    token = new_token(fresh.backend.url)
    httpx.get(f"{fresh.url}/downloads/none.mp4", headers={"Authorization": f"Bearer {token}"})
    httpx.post(f"{fresh.url}/mcp", json={}, headers={"Authorization": "Bearer nmv_usr_refused9"})
    logs = "".join(w.log.read_text() for w in fresh.workers)
    assert '"path": "/downloads/none.mp4"' in logs
    assert token not in logs and "nmv_usr_refused9" not in logs


async def test_paths_are_refused_in_plain_words(fresh: Cluster) -> None:
    token = new_token(fresh.backend.url)
    async with connect(fresh.url, token) as client:
        text = error_text(await client.call_tool("upload_media", {"paths": ["/etc/hostname"]}))
        assert "cannot read files on your computer" in text and "/uploads" in text
        text = error_text(await client.call_tool("export_video", {"output_dir": "/tmp"}))
        assert "download link" in text


def test_uploads_past_the_size_limit_are_cut_off(fresh: Cluster) -> None:
    auth = {"Authorization": f"Bearer {new_token(fresh.backend.url)}"}
    # A declared length past the limit is refused before a byte of the body is read.
    with socket.create_connection(("127.0.0.1", fresh.proxy.port), timeout=10) as raw:
        raw.sendall(
            f"POST /uploads?name=big.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {auth['Authorization']}\r\nContent-Length: {10**12}\r\n\r\n".encode()
        )
        assert raw.recv(200).startswith(b"HTTP/1.1 413")

    def body() -> object:
        chunk = b"\0" * (1 << 20)
        for _ in range(260):  # past picture-to-video-ai's 200 MB, with no length declared
            yield chunk

    streamed = httpx.post(f"{fresh.url}/uploads?name=big.mp4", headers=auth, content=body())
    assert streamed.status_code == 413
    leftovers = list(fresh.data_dir.glob("uploads/*/*big.mp4*"))
    assert leftovers == []
