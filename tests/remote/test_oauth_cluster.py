"""A connector signs in with OAuth through the load balancer and makes a video.

The client is the MCP Python SDK's own OAuth client (``OAuthClientProvider``): from the 401 it
discovers the protected-resource and authorization-server metadata, registers, sends the user to
the sign-in page with PKCE, takes the code back and exchanges it. The "user" here reads the page
and posts its forms like a browser (tests/browser/ does the same in Chromium). The client never
sees the NemoVideo token. Then: a refresh at each worker in turn, revocation at one worker, and
401 at every worker at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from tests.e2e.conftest import structured
from tests.remote.conftest import Cluster, connect, new_token
from tests.remote.flows import make_video
from tests.remote.oauth_steps import (
    REDIRECT,
    Flow,
    Registered,
    fields,
    refresh,
    register,
    revoke,
)


class Memory:
    """The SDK's ``TokenStorage``: what a connector keeps between calls."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class User:
    """The person at the browser: follows the link, pastes their token, agrees."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.answer: AuthorizationCodeResult | None = None
        self.pages: list[str] = []

    def sign_in(self, authorization_url: str) -> None:
        with httpx.Client(base_url=self.base, follow_redirects=False, timeout=30) as browser:
            to_page = browser.get(authorization_url)
            assert to_page.status_code == 302, to_page.text
            page = browser.get(to_page.headers["location"]).text
            form = fields(page, "/oauth/sign-in", token=self.token)
            consent = browser.post("/oauth/sign-in", data=form)
            assert consent.status_code == 200, consent.text
            back = browser.post(
                "/oauth/consent", data=fields(consent.text, "/oauth/consent", decision="allow")
            )
            assert back.status_code == 303, back.text
            self.pages += [page, consent.text]
        query = parse_qs(urlsplit(back.headers["location"]).query)
        self.answer = AuthorizationCodeResult(
            code=query["code"][0], state=query["state"][0], iss=query["iss"][0]
        )

    async def redirect(self, authorization_url: str) -> None:
        await anyio.to_thread.run_sync(self.sign_in, authorization_url)

    async def callback(self) -> AuthorizationCodeResult:
        assert self.answer is not None
        return self.answer


def at(worker_port: int) -> str:
    return f"http://127.0.0.1:{worker_port}"


async def test_a_connector_signs_in_makes_a_video_refreshes_anywhere_and_is_revoked(
    fresh: Cluster, tmp_path: Path
) -> None:
    nemo = new_token(fresh.backend.url)
    user, storage = User(fresh.url, nemo), Memory()
    oauth = OAuthClientProvider(
        server_url=f"{fresh.url}/mcp",
        client_metadata=OAuthClientMetadata(
            redirect_uris=[AnyUrl(REDIRECT)], client_name="Connector (e2e)"
        ),
        storage=storage,
        redirect_handler=user.redirect,
        callback_handler=user.callback,
    )
    transport = streamable_http_client(
        f"{fresh.url}/mcp", http_client=create_mcp_http_client(auth=oauth)
    )
    async with Client(transport, mode="legacy") as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"upload_media", "send_edit", "export_video"} <= names
        assert "jobs" in structured(await c.call_tool("get_timeline", {}))
    assert storage.tokens is not None and storage.client is not None
    first = storage.tokens
    assert first.access_token.startswith("nmo_at_") and nemo not in str(first.model_dump())
    assert all(nemo not in page for page in user.pages)

    # When the client finds its access token expired, the SDK refreshes it by itself.
    oauth.context.token_expiry_time = time.time() - 1
    transport = streamable_http_client(
        f"{fresh.url}/mcp", http_client=create_mcp_http_client(auth=oauth)
    )
    async with Client(transport, mode="legacy") as c:
        assert "jobs" in structured(await c.call_tool("get_timeline", {}))
    assert storage.tokens.refresh_token != first.refresh_token
    assert storage.tokens.access_token != first.access_token
    access = storage.tokens.access_token

    # The connector's access token is all it needs to make a video through the load balancer.
    made = await make_video(fresh.url, access, tmp_path / "oauth", 7)
    assert made.mp4[4:8] == b"ftyp"
    # The bearer way reaches the same user: the raw token sees the same project.
    async with connect(fresh.url, nemo) as raw:
        timeline = structured(await raw.call_tool("get_timeline", {}))
        assert made.upload_name in str(timeline)

    # Refresh at each worker in turn (each refresh token works once, anywhere).
    client = Registered(storage.client.client_id, storage.client.client_secret)
    token = storage.tokens.refresh_token
    assert token is not None
    issued: dict[str, str] = {}
    for worker in fresh.workers:
        with httpx.Client(base_url=at(worker.port), timeout=30) as direct:
            answer = refresh(direct, client, token)
            assert answer.status_code == 200, answer.text
            issued = answer.json()
            token = issued["refresh_token"]
    proxy_host = urlsplit(fresh.url).netloc
    for worker in fresh.workers:
        with httpx.Client(base_url=at(worker.port), headers={"Host": proxy_host}) as direct:
            auth = {"Authorization": f"Bearer {issued['access_token']}"}
            assert direct.get("/downloads/none.mp4", headers=auth).status_code == 404

    # Revoked at one worker: refused at every worker at once, with the way back to sign-in.
    with httpx.Client(base_url=at(fresh.workers[1].port), timeout=30) as direct:
        assert revoke(direct, client, issued["access_token"]).status_code == 200
    for worker in fresh.workers:
        with httpx.Client(base_url=at(worker.port), headers={"Host": proxy_host}) as direct:
            auth = {"Authorization": f"Bearer {issued['access_token']}"}
            gone = direct.post("/mcp", json={}, headers=auth)
            assert gone.status_code == 401 and "not valid" in gone.json()["error"]
            assert "resource_metadata=" in gone.headers["www-authenticate"]
            assert refresh(direct, client, token).status_code == 400

    # No token of either kind, no code and no sign-in handle in any worker's log.
    logs = "".join(worker.log.read_text(errors="replace") for worker in fresh.workers)
    assert "oauth_consent" in logs
    for secret in (
        nemo,
        access,
        issued["access_token"],
        token,
        user.answer.code if user.answer else "",
    ):
        assert secret and secret not in logs
    assert not any(prefix in logs for prefix in ("nmo_at_", "nmo_rt_", "nmo_ac_", "nmo_rq_"))


def test_a_code_issued_by_one_worker_is_redeemed_at_another(fresh: Cluster) -> None:
    """Each step at another worker (the Host the proxy would pass): all state is shared."""
    proxy_host = urlsplit(fresh.url).netloc
    w = [
        httpx.Client(base_url=at(x.port), headers={"Host": proxy_host}, follow_redirects=False)
        for x in fresh.workers
    ]
    try:
        flow = Flow(register(w[0]), f"{fresh.url}/mcp")
        sign_in = urlsplit(flow.authorize(w[0]).headers["location"])
        page = w[1].get(f"{sign_in.path}?{sign_in.query}").text
        form = fields(page, "/oauth/sign-in", token=new_token(fresh.backend.url))
        w[2].cookies.update(w[1].cookies)
        consent = w[2].post("/oauth/sign-in", data=form)
        w[0].cookies.update(w[2].cookies)
        code = flow.consent(w[0], consent.text)
        answer = flow.token(w[1], code)
        assert answer.status_code == 200, answer.text
        again = flow.token(w[2], code)
        assert again.status_code == 400 and "used already" in again.json()["error_description"]
    finally:
        for client in w:
            client.close()
