"""The OAuth sign-in in memory: one worker on SQLite (the try-out mode) before the embedded backend.

Every refusal the issue lists, in the words the client or the user reads, and the security of
the pages (policy, no caching, forms bound to the browser, rate limits). The module's own
sign-ins and registrations all come from one address, under its limits; the limit tests use
addresses of their own (``X-Forwarded-For``). The same flow through
the 3-worker cluster with the SDK's own OAuth client is test_oauth_cluster.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from nemo_local import LocalBackendConfig, RunningBackend, start_in_thread
from nemo_mcp.manifests import load_manifests, manifest_dirs
from nemo_mcp.remote.auth import Keys
from nemo_mcp.remote.http_app import build_app
from nemo_mcp.settings import Settings
from tests.remote.oauth_steps import REDIRECT, Flow, fields, forms, refresh, register, revoke

BASE = "http://127.0.0.1:8123"
RESOURCE = f"{BASE}/mcp"
SKILL = "picture-to-video-ai"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    config = LocalBackendConfig(
        data_dir=tmp_path_factory.mktemp("oauth-backend"), tokens_per_address=10_000
    )
    with start_in_thread(config) as running:
        yield running


SERVER_KEY = "oauth-test-key-" + "k" * 20


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oauth-worker")


@pytest.fixture(scope="module")
def http(backend: RunningBackend, root: Path) -> Iterator[TestClient]:
    settings = Settings.from_env(
        {"NEMO_API_URL": backend.url, "NEMO_SERVER_KEY": SERVER_KEY,
         "NEMO_CONFIG_DIR": str(root / "config"), "NEMO_REMOTE_DIR": str(root / "shared"),
         "HOME": str(root)}
    )  # fmt: skip
    manifest = load_manifests(manifest_dirs(None))[SKILL]
    app = build_app(manifest, settings, host="127.0.0.1")
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield client


def user_token(backend: RunningBackend) -> str:
    import uuid

    answer = httpx.post(
        f"{backend.url}/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
    )
    token: str = answer.json()["data"]["token"]
    return token


def signed_in(
    http: TestClient, backend: RunningBackend, token: str = ""
) -> tuple[Flow, dict[str, str]]:
    flow = Flow(register(http), RESOURCE)
    answer = flow.token(http, flow.sign_in(http, token or user_token(backend)))
    assert answer.status_code == 200, answer.text
    return flow, answer.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_metadata_documents_and_the_401_point_the_way(http: TestClient) -> None:
    server = http.get("/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == BASE and server["code_challenge_methods_supported"] == ["S256"]
    assert server["registration_endpoint"] == f"{BASE}/register"
    assert server["revocation_endpoint"] == f"{BASE}/revoke"
    resource = http.get("/.well-known/oauth-protected-resource/mcp").json()
    assert resource["resource"] == RESOURCE and resource["authorization_servers"] == [BASE]
    refused = http.post("/mcp", json={})
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert f'resource_metadata="{BASE}/.well-known/oauth-protected-resource/mcp"' in challenge


def test_a_full_sign_in_reaches_the_same_user_as_the_bearer_way(
    http: TestClient, backend: RunningBackend
) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    answer = http.get(flow.authorize(http).headers["location"])
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["cache-control"] == "no-store"
    assert "Test Connector" in page and "127.0.0.1:9" in page
    token = user_token(backend)
    consent = http.post("/oauth/sign-in", data=fields(page, "/oauth/sign-in", token=token))
    assert consent.status_code == 200 and token not in consent.text
    assert "Allow Test Connector" in consent.text
    assert "http://127.0.0.1:9" in consent.headers["content-security-policy"]
    code = flow.consent(http, consent.text)
    issued = flow.token(http, code)
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    tokens = issued.json()
    assert tokens["access_token"].startswith("nmo_at_") and tokens["expires_in"] == 3600
    assert token not in issued.text
    # Authorised: the route answers for the user (no such file), not 401.
    for either in (tokens["access_token"], token):
        assert http.get("/downloads/none.mp4", headers=bearer(either)).status_code == 404


def test_a_wrong_verifier_is_refused(http: TestClient, backend: RunningBackend) -> None:
    flow = Flow(register(http), RESOURCE)
    code = flow.sign_in(http, user_token(backend))
    answer = flow.token(http, code, code_verifier="x" * 50)
    assert answer.status_code == 400
    assert answer.json()["error_description"] == "incorrect code_verifier"


def test_a_code_used_twice_is_refused_and_ends_what_it_gave(
    http: TestClient, backend: RunningBackend
) -> None:
    flow = Flow(register(http), RESOURCE)
    code = flow.sign_in(http, user_token(backend))
    first = flow.token(http, code).json()
    again = flow.token(http, code)
    assert again.status_code == 400 and "used already" in again.json()["error_description"]
    assert http.get("/downloads/a.mp4", headers=bearer(first["access_token"])).status_code == 401
    assert refresh(http, flow.client, first["refresh_token"]).status_code == 400


def test_redirect_uris_are_matched_exactly(http: TestClient, backend: RunningBackend) -> None:
    flow = Flow(register(http), RESOURCE)
    foreign = flow.authorize(http, redirect_uri="https://evil.example/callback")
    assert foreign.status_code == 400 and "not registered" in foreign.json()["error_description"]
    altered = flow.authorize(http, redirect_uri=REDIRECT + "/more")
    assert altered.status_code == 400
    code = flow.sign_in(http, user_token(backend))
    swapped = flow.token(http, code, redirect_uri="http://127.0.0.1:9/other")
    assert swapped.status_code == 400 and "redirect_uri" in swapped.json()["error_description"]
    for uri in ("http://evil.example/cb", "javascript:alert(1)", "https://a.example/cb#x"):
        refused = http.post("/register", json={"redirect_uris": [uri]})
        assert refused.status_code == 400, uri
        assert refused.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


def test_state_and_the_resource_are_enforced(http: TestClient) -> None:
    flow = Flow(register(http), RESOURCE)
    no_state = flow.authorize(http, state="")
    assert no_state.status_code == 302 and "error=invalid_request" in no_state.headers["location"]
    other = flow.authorize(http, resource="https://other.example/mcp")
    assert "error=invalid_target" in other.headers["location"]
    plain = flow.authorize(http, code_challenge_method="plain")
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]
    no_pkce = flow.authorize(http, code_challenge="")
    assert "error=invalid_request" in no_pkce.headers.get("location", no_pkce.text)


def test_an_http_address_that_cannot_be_an_issuer_is_refused_in_words(http: TestClient) -> None:
    answer = http.get("/.well-known/oauth-authorization-server", headers={"Host": "example.com"})
    assert answer.status_code == 503 and "NEMO_PUBLIC_URL" in answer.json()["error_description"]
    preflight = http.options(
        "/token", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"]


def test_an_expired_access_token_is_refused_in_words(
    http: TestClient, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nemo_mcp.remote.oauth.provider.ACCESS_TTL_S", -5.0)
    _, tokens = signed_in(http, backend)
    answer = http.get("/downloads/a.mp4", headers=bearer(tokens["access_token"]))
    assert answer.status_code == 401 and "expired" in answer.json()["error"]
    assert "expired" in answer.headers["www-authenticate"]


def test_a_refresh_token_works_once_and_its_replay_ends_the_sign_in(
    http: TestClient, backend: RunningBackend
) -> None:
    flow, tokens = signed_in(http, backend)
    renewed = refresh(http, flow.client, tokens["refresh_token"])
    assert renewed.status_code == 200
    fresh = renewed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    replay = refresh(http, flow.client, tokens["refresh_token"])
    assert replay.status_code == 400 and "used already" in replay.json()["error_description"]
    assert http.get("/downloads/a.mp4", headers=bearer(fresh["access_token"])).status_code == 401


def test_another_clients_token_is_not_theirs(http: TestClient, backend: RunningBackend) -> None:
    flow, tokens = signed_in(http, backend)
    stranger = register(http)
    assert refresh(http, stranger, tokens["refresh_token"]).status_code == 400
    assert revoke(http, stranger, tokens["access_token"]).status_code == 200
    assert http.get("/downloads/a.mp4", headers=bearer(tokens["access_token"])).status_code == 404
    assert revoke(http, flow.client, tokens["access_token"]).status_code == 200
    gone = http.get("/downloads/a.mp4", headers=bearer(tokens["access_token"]))
    assert gone.status_code == 401 and "not valid" in gone.json()["error"]
    assert refresh(http, flow.client, tokens["refresh_token"]).status_code == 400


def test_a_token_the_backend_refuses_issues_nothing(http: TestClient) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    made_up = "nmv_usr_" + "madeup" * 6
    answer = http.post("/oauth/sign-in", data=fields(page, "/oauth/sign-in", token=made_up))
    assert answer.status_code == 400 and "does not accept this token" in answer.text
    assert made_up not in answer.text and "Allow" not in "".join(forms(answer.text).text)
    refused = http.post("/oauth/consent", data=fields(answer.text, "/oauth/sign-in"))
    assert refused.status_code == 403 and "Sign in first" in refused.text


def test_forms_from_elsewhere_are_refused(http: TestClient) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    forged = fields(page, "/oauth/sign-in", token="nmv_usr_x", csrf="0" * 64)
    assert http.post("/oauth/sign-in", data=forged).status_code == 403
    http.cookies.clear()
    assert http.post("/oauth/sign-in", data=fields(page, "/oauth/sign-in")).status_code == 403
    expired = http.get("/oauth/sign-in", params={"request": "nmo_rq_nothing"})
    assert expired.status_code == 410 and "expired" in expired.text


def test_the_anonymous_way_and_a_denial(http: TestClient) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    consent = http.post("/oauth/anonymous", data=fields(page, "/oauth/anonymous"))
    assert consent.status_code == 200 and "free anonymous NemoVideo token" in consent.text
    assert flow.consent(http, consent.text, decision="deny") == "access_denied"


def test_the_sign_in_form_is_rate_limited_per_address(http: TestClient) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    seen = []
    for i in range(22):
        form = fields(page, "/oauth/sign-in", token=f"nmv_usr_wrong{i:04d}")
        seen.append(
            http.post("/oauth/sign-in", data=form, headers={"X-Forwarded-For": "203.0.113.9"})
        )
    assert [a.status_code for a in seen[:20]] == [400] * 20
    assert seen[-1].status_code == 429 and "Too many sign-in attempts" in seen[-1].text


def test_the_sign_in_form_is_rate_limited_per_user(http: TestClient) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    form = fields(page, "/oauth/sign-in", token="nmv_usr_the_same_wrong_token")
    seen = [
        http.post("/oauth/sign-in", data=form, headers={"X-Forwarded-For": f"198.51.100.{i}"})
        for i in range(11)
    ]
    assert [a.status_code for a in seen[:10]] == [400] * 10
    assert seen[-1].status_code == 429 and "for this token" in seen[-1].text


def test_when_nemovideo_drops_the_token_behind_a_sign_in_it_ends(
    http: TestClient, backend: RunningBackend
) -> None:
    flow, tokens = signed_in(http, backend)
    backend.faults.expire_token = True  # every live token expires before the next call
    try:
        answer = http.get("/downloads/a.mp4", headers=bearer(tokens["access_token"]))
    finally:
        backend.faults.expire_token = False
    assert answer.status_code == 401 and "sign in again" in answer.json()["error"]
    assert "resource_metadata=" in answer.headers["www-authenticate"]
    assert refresh(http, flow.client, tokens["refresh_token"]).status_code == 400


def test_each_access_token_reaches_its_own_users_files_only(
    http: TestClient, backend: RunningBackend, root: Path
) -> None:
    alice = user_token(backend)
    _, hers = signed_in(http, backend, alice)
    _, his = signed_in(http, backend, user_token(backend))
    exports = root / "shared" / "exports" / Keys.from_setting(SERVER_KEY).user_key(alice)
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "hers.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert http.get("/downloads/hers.mp4", headers=bearer(hers["access_token"])).status_code == 200
    assert http.get("/downloads/hers.mp4", headers=bearer(alice)).status_code == 200
    assert http.get("/downloads/hers.mp4", headers=bearer(his["access_token"])).status_code == 404


def test_a_sign_in_is_answered_once(http: TestClient, backend: RunningBackend) -> None:
    flow = Flow(register(http), RESOURCE)
    page = flow.page(http)
    token = user_token(backend)
    consent = http.post("/oauth/sign-in", data=fields(page, "/oauth/sign-in", token=token))
    flow.consent(http, consent.text)
    again = http.post(
        "/oauth/consent", data=fields(consent.text, "/oauth/consent", decision="allow")
    )
    assert again.status_code == 410 and "finished" in again.text


def test_registrations_are_limited_per_address(http: TestClient) -> None:
    body = {"redirect_uris": [REDIRECT]}
    answers = [
        http.post("/register", json=body, headers={"X-Forwarded-For": "192.0.2.44"})
        for _ in range(31)
    ]
    assert [a.status_code for a in answers[:30]] == [201] * 30
    assert answers[-1].status_code == 429 and "an hour" in answers[-1].json()["error_description"]


def test_a_made_up_token_never_redacts_other_users_output(
    http: TestClient, backend: RunningBackend
) -> None:
    """What is registered as a secret is taken out of every user's output on the worker: a
    "token" the backend never took (a word, this server's address) must not be registered."""
    from nemo_mcp.redact import redact

    made_up = [BASE, "the", "video-is-ready-now"]
    for word in made_up:  # user A, as a bearer and pasted on the sign-in page
        assert http.post("/mcp", json={}, headers=bearer(word)).status_code == 401
        flow = Flow(register(http), RESOURCE)
        page = flow.page(http)
        refused = http.post("/oauth/sign-in", data=fields(page, "/oauth/sign-in", token=word))
        assert refused.status_code in (400, 401, 403), refused.text
    token = user_token(backend)  # user B, whose token the backend takes
    assert http.get("/downloads/none.mp4", headers=bearer(token)).status_code == 404
    text = f"the video-is-ready-now at {BASE}/downloads/v.mp4"
    assert redact(text, claims=False) == text
    assert redact(f"{token} {text}", claims=False) == f"[redacted] {text}"
