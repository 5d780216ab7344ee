"""/metrics: the pure parts in memory, then a real scrape of each worker of the cluster."""

from __future__ import annotations

import re

import httpx

from nemo_mcp.remote.metrics import may_scrape, route_of, tool_of
from tests.e2e.conftest import structured
from tests.remote.conftest import Cluster, connect, new_token


def test_routes_fold_their_parameters_and_tools_are_only_ours() -> None:
    assert route_of("/downloads/u_abc-video.mp4") == "/downloads" and route_of("/x") == "other"
    call = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_edit"}}'
    assert tool_of(call) == "send_edit"
    assert tool_of(call.replace(b"send_edit", b"u_0123456789")) == "other"  # never a label
    assert tool_of(b'{"method":"tools/list"}') is None and tool_of(b"\xff") is None


def test_only_direct_requests_from_the_named_networks_may_scrape() -> None:
    nets = ("10.0.0.0/8", "::1/128")
    assert may_scrape("10.1.2.3", {}, nets) and may_scrape("::1", {}, nets)
    assert not may_scrape("192.168.1.1", {}, nets)
    assert not may_scrape("10.1.2.3", {"x-forwarded-for": "1.2.3.4"}, nets)  # via a proxy
    assert not may_scrape("10.1.2.3", {}, ()) and not may_scrape(None, {}, nets)


async def test_each_worker_is_scraped_without_user_keys_or_tokens(fresh: Cluster) -> None:
    token = new_token(fresh.backend.url)
    async with connect(fresh.url, token) as client:
        structured(await client.call_tool("check_credits", {}))
    pages = []
    for worker in fresh.workers:
        page = httpx.get(f"http://127.0.0.1:{worker.port}/metrics")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
        pages.append(page.text)
    text = "\n".join(pages)
    for name in ("nemo_http_requests_total", "nemo_http_request_seconds_bucket",
                 "nemo_jobs", "nemo_queue_depth", "nemo_adoptions_total",
                 'nemo_limit_refusals_total{limit="requests"}'):  # fmt: skip
        assert name in text, name
    assert all("nemo_database_up 1.0" in page for page in pages)
    assert 'nemo_tool_calls_total{tool="check_credits"}' in text
    assert 'route="/mcp"' in text and token not in text
    assert not re.search(r"u_[0-9a-f]{8}", text)
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert (
        httpx.get(f"http://127.0.0.1:{fresh.workers[0].port}/metrics", headers=proxied).status_code
        == 404
    )
