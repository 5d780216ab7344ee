"""The OAuth sign-in page in headless Chromium, with the MCP TypeScript SDK's client auth.

``nemo-mcp serve --http`` runs in its try-out mode (one worker, SQLite, no PostgreSQL) before the
embedded backend. sign_in.mjs plays a connector (``auth()`` of the TypeScript SDK) and a user on
a phone-sized window: the page renders under its strict policy, a refused token is shown as
words (never echoed), a good one leads to the consent screen, and Allow brings the code back to
the connector, which then calls a tool with its own token. Screenshots are kept under the test's
temporary folder, or ``NEMO_BROWSER_ARTEFACTS``; with ``NEMO_DOCS_SCREENSHOTS=1`` the sign-in
page's also replaces ``docs/oauth-sign-in.png`` (the README shows it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_local import LocalBackendConfig, RunningBackend, start_in_thread
from tests.browser.test_player_browser import CHROMIUM, HERE, browser_missing
from tests.remote.services import free_port

DOCS = HERE.parents[1] / "docs"
REDIRECT = "http://127.0.0.1:9/oauth/callback"
TIMEOUT_S = 90
READY_S = 40


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    config = LocalBackendConfig(data_dir=tmp_path_factory.mktemp("lb"), tokens_per_address=10_000)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture(scope="module")
def server(backend: RunningBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("try-out")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(root),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "NEMO_API_URL": backend.url, "NEMO_SERVER_KEY": "browser-test-key-" + "b" * 20,
        "NEMO_CONFIG_DIR": str(root / "config"), "NEMO_LOG_LEVEL": "WARNING",
        "NEMO_DRAIN": "0",  # no balancer to drain from: SIGTERM ends it at once
    }  # fmt: skip
    log = open(root / "server.log", "wb")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp", "serve", "--http", "--skill", "picture-to-video-ai",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        # Not waited for here: sign_in.mjs launches Chromium while the server starts, then waits
        # for its /readyz.
        yield Server(url=f"http://127.0.0.1:{port}", log=root / "server.log")
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def report(
    server: Server, backend: RunningBackend, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    missing = browser_missing()
    if missing:
        if os.environ.get("NEMO_REQUIRE_BROWSER"):
            pytest.fail(f"NEMO_REQUIRE_BROWSER is set but {missing}; run .ci/install-browser")
        pytest.skip(missing)
    work = tmp_path_factory.mktemp("sign-in")
    artefacts = Path(os.environ.get("NEMO_BROWSER_ARTEFACTS") or work / "artefacts")
    artefacts.mkdir(parents=True, exist_ok=True)
    answer = httpx.post(
        f"{backend.url}/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
    )
    config = {
        "server": server.url, "ready_s": READY_S, "redirect": REDIRECT,
        "token": answer.json()["data"]["token"],
        "refused_token": "nmv_usr_" + "madeup" * 6, "chromium": CHROMIUM,
        "profile": str(work / "profile"), "artefacts": str(artefacts),
        "report": str(work / "report.json"), "timeout_s": TIMEOUT_S - 20,
    }  # fmt: skip
    done = subprocess.run(
        ["node", str(HERE / "sign_in.mjs")],
        env={**os.environ, "NEMO_SIGN_IN_TEST": json.dumps(config)},
        cwd=HERE, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    facts: dict[str, Any] = json.loads(Path(config["report"]).read_text())
    print(f"\nsign-in test artefacts: {artefacts}")
    server_log = server.log.read_text()[-4000:]
    assert done.returncode == 0, f"{facts.get('error')}\n{done.stderr[-4000:]}\n{server_log}"
    if os.environ.get("NEMO_DOCS_SCREENSHOTS"):
        shutil.copyfile(artefacts / "sign-in.png", DOCS / "oauth-sign-in.png")
    facts["config"] = config
    return facts


def test_the_page_renders_under_its_policy_on_a_phone(report: dict[str, Any]) -> None:
    headers = report["signInHeaders"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    shown = report["signIn"]
    assert shown["h1"] == "Connect Connector (TypeScript SDK) to NemoVideo"
    assert shown["stylesApplied"], "the inline stylesheet was blocked"
    assert shown["scrollWidth"] <= shown["innerWidth"], "the page scrolls sideways on a phone"
    assert "Continue without an account" in shown["text"]
    assert not [line for line in report["console"] if "Refused" in line or "pageerror" in line]


def test_a_refused_token_is_said_in_words_and_never_shown(report: dict[str, Any]) -> None:
    assert "does not accept this token" in report["refused"]["error"]
    assert report["refusedHtmlHasToken"] is False


def test_the_token_field_submits_and_consent_brings_the_connector_in(
    report: dict[str, Any],
) -> None:
    assert report["first"] == "REDIRECT" and report["second"] == "AUTHORIZED"
    assert report["consent"]["h1"] == "Allow Connector (TypeScript SDK) to use NemoVideo?"
    assert report["consentHtmlHasToken"] is False
    assert report["callback"].startswith(REDIRECT + "?code=nmo_ac_")
    assert report["stateMatches"] is True
    assert report["accessPrefix"] == "nmo_at_" and report["tokensHaveUserToken"] is False
    assert report["toolIsError"] is False and "jobs" in report["toolResult"]
    for shot in ("sign-in-phone.png", "sign-in.png", "sign-in-refused.png", "consent.png"):
        assert (Path(report["config"]["artefacts"]) / shot).stat().st_size > 10_000
