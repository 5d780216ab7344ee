"""The token through the whole workflow, with a backend careless enough to quote it back.

``echo_headers`` makes every error answer and every message stream of the local backend quote
the request's headers, ``Authorization: Bearer <token>`` included, and the door faults (502 HTML,
cut JSON, 429) add more error bodies. The token must then appear nowhere but in its cache (mode
0600) and in the ``Authorization`` header of requests to the API's own origin: not in a result,
an error, the agent's reply text, a progress message, or the log. The claim token appears only in
the claim link (that link is the product) and never in the log.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.logs import LOG_FILE, setup_logging
from nemo_mcp.samples import make_photo
from tests.reliability.conftest import text_of

SPOILERS: list[tuple[str, dict[str, Any]]] = [
    ("check_credits", {"html_error_next": 1}),
    ("check_credits", {"bad_json_next": 1}),
    ("get_timeline", {"rate_limit_next": 2, "retry_after_s": 0}),
    # Two: a client that cannot be asked before spending has the balance read first (for the
    # answer), so both that read and the message's own request meet an HTML error page.
    ("send_edit", {"html_error_next": 2}),
    ("export_video", {"bad_json_next": 1}),
]


class Cdn:
    """A CDN stand-in on another loopback port: serves the backend's render files, and keeps
    the headers of every request it gets."""

    def __init__(self, origin: str) -> None:
        seen: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                seen.append(dict(self.headers.items()))
                with urllib.request.urlopen(origin + self.path, timeout=10) as answer:
                    body = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.seen = seen
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


OWN_TOKEN = "SENTINEL-own-token-0123456789-not-token-shaped"
"""A user's own token that no pattern would catch: only its registration as a secret hides it."""


@pytest.mark.parametrize("kind", ["anonymous", "own"])
async def test_the_token_appears_only_in_its_cache_and_the_api_header(
    open_live: Any, live_settings: Any, embedded_backend: Any, kind: str, figures: Counter[str]
) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    log_path = setup_logging(live_settings.config_dir, "DEBUG")
    assert log_path is not None
    said: list[str] = []
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    overrides: dict[str, Any] = {}
    if kind == "own":
        embedded_backend.grant_token(OWN_TOKEN)
        overrides["token"] = OWN_TOKEN
    cdn = Cdn(embedded_backend.url)
    try:
        async with open_live(**overrides) as live:
            live.backend.faults.update({"echo_headers": True, "files_base_url": cdn.url})

            async def call(tool: str, arguments: dict[str, Any] | None = None) -> Any:
                result = await live.client.call_tool(
                    tool, arguments or {}, progress_callback=on_progress
                )
                said.append(text_of(result))
                return result

            photo = make_photo(live.media / "a.jpg", 0, (48, 64))
            await call("upload_media", {"paths": [str(photo)]})
            edit = await call("send_edit", {"message": "turn these photos into a video"})
            assert "I see:" in text_of(edit), "the stream quoted the headers into the reply"
            await call("get_timeline")
            await call("check_credits")
            done = await call("export_video", {"output_dir": str(live.out)})
            for _ in range(20):
                if (done.structured_content or {}).get("status") != "running":
                    break
                done = await call("export_video", {"output_dir": str(live.out)})
            assert (done.structured_content or {}).get("status") == "done", text_of(done)
            for tool, switches in SPOILERS:
                live.backend.faults.update(switches)
                spoiled = await call(tool, {"message": "add the title 'x'"} if tool == "send_edit"
                                     else {})  # fmt: skip
                assert spoiled.is_error, text_of(spoiled)
                figures["faults injected (secrets)"] += 1
            recent = live.backend.stats.snapshot()["recent"]
    finally:
        cdn.close()
        logging.shutdown()
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])

    cache = live_settings.config_dir / "state.db"
    assert cache.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(cache) as db:
        cached = [row[0] for row in db.execute("SELECT token FROM tokens")]
    token = OWN_TOKEN if kind == "own" else cached[0]
    assert token and len(token) > 20
    logs = Path(log_path).read_text()
    assert logs, "the server did log"
    everything = "\n".join(said + progress)
    assert any("claim?ct=clm_" in s for s in said), "the export handed out a claim link"
    assert progress, "progress messages were checked too"
    for place, text in (("results", everything), ("log", logs)):
        assert token not in text, f"the token leaked into the {place}"
        assert token[8:20] not in text, f"a piece of the token leaked into the {place}"
        assert "nmv_usr_" not in text.replace("nmv_usr_[", ""), f"a token shape in the {place}"
    assert "clm_" not in logs, "the claim token leaked into the log"
    assert cdn.seen, "the MP4 came from the CDN stand-in"
    for headers in cdn.seen:
        assert "Authorization" not in headers and token not in json.dumps(headers)
        assert not any(name.lower().startswith("x-skill") for name in headers)
    api_paths = [r for r in recent if r["path"].startswith(("/api/", "/run_sse"))]
    assert all(r["authorization"] for r in api_paths if r["route"] != "anonymous_token")
    assert (live_settings.config_dir / LOG_FILE).exists()
    figures["secret checks passed"] += 1


def test_log_redaction_leaves_the_record_alone_for_other_handlers() -> None:
    """Redaction happens on the formatted line, traceback included; a second handler on the
    same logger (a test's capture, a host's logging) still sees the record as it was logged."""
    import io

    from nemo_mcp.redact import RedactingFormatter, register_secret

    secret = "own-secret-value-0123456789"
    register_secret(secret)
    ours, theirs = io.StringIO(), []
    logger = logging.getLogger("nemo_mcp.test_redaction")
    redacting = logging.StreamHandler(ours)
    redacting.setFormatter(RedactingFormatter(logging.Formatter("%(message)s")))

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            theirs.append(record)

    logger.addHandler(redacting)
    logger.addHandler(Keep())
    try:
        try:
            raise ValueError(f"failed with {secret}")
        except ValueError:
            logger.exception("calling with %s", secret)
    finally:
        logger.handlers.clear()
    assert secret not in ours.getvalue() and "Traceback" in ours.getvalue()
    (record,) = theirs
    assert record.exc_info is not None and secret in record.getMessage()
