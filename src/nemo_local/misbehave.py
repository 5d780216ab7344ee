"""The answers a broken cloud gives, on demand: the door switches of ``nemo_local.faults``.

A hang (the request is read, then nothing until the client gives up), a 502 HTML page from a
proxy, a 200 whose JSON is cut off, a 302 to another host, a download cut half-way, and a backend
careless enough to quote the request's headers (the token!) in its errors and its stream. Each is
plain ASGI, so it acts the same whatever route would have answered.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_local import adk
from nemo_local.faults import Faults

HANG_CAP_S = 300.0
"""A hung request is dropped after this long even if the client never hangs up."""
OTHER_HOST = "http://elsewhere.invalid"
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>{echo}</body></html>"
)
BAD_JSON = '{"code": 0, "data": {"files": [{"id": "med_{echo}'


def headers_text(scope: Scope) -> str:
    """The request's headers as a careless backend would quote them."""
    return "; ".join(
        f"{name.decode('latin-1')}: {value.decode('latin-1')}"
        for name, value in scope.get("headers", [])
    )


def is_download(path: str) -> bool:
    return path.startswith("/files/renders/") or (
        path.startswith("/api/render/proxy/") and path.endswith("/download")
    )


async def _answer(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _hang(receive: Receive) -> None:
    """Read the request, then wait for the client to hang up (never answer)."""
    with anyio.move_on_after(HANG_CAP_S):
        while (await receive())["type"] != "http.disconnect":
            pass


async def at_the_door(faults: Faults, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer badly if a door counter says so; whether it did (then the route does not run)."""
    path: str = scope.get("path", "")
    if not path.startswith(faults.fault_path):
        return False
    echo = headers_text(scope) if faults.echo_headers else ""
    if faults.take_count("hang_next"):
        await _hang(receive)
        return True
    if faults.take_count("html_error_next"):
        page = HTML_PAGE.format(echo=f"<!-- {echo} -->" if echo else "")
        await _answer(send, 502, page.encode(), {"Content-Type": "text/html"})
        return True
    if faults.take_count("bad_json_next"):
        body = BAD_JSON.replace("{echo}", echo)
        await _answer(send, 200, body.encode(), {"Content-Type": "application/json"})
        return True
    if faults.take_count("redirect_next"):
        await _answer(send, 302, b"", {"Location": f"{OTHER_HOST}{path}"})
        return True
    return False


def _with_echo(body: bytes, echo: str) -> bytes:
    try:
        value: Any = json.loads(body)
    except ValueError:
        return body + f" (request headers: {echo})".encode()
    if isinstance(value, dict):
        value["message"] = f"{value.get('message', '')} (request headers: {echo})"
        value["detail"] = echo
    return json.dumps(value).encode()


class EchoAndCut:
    """Wraps one response: quotes the headers into an error body or a stream (``echo_headers``),
    or cuts a download half-way (``cut_download_next``)."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        cut = is_download(path) and self.faults.take_count("cut_download_next")
        echo = headers_text(scope) if self.faults.echo_headers else ""
        if not cut and not echo:
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        error_body = b""

        async def wrapped(message: Message) -> None:
            nonlocal held, error_body
            if message["type"] == "http.response.start":
                status = message["status"]
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if echo and status >= 400:
                    held = message
                    return
                await send(message)
                if echo and status == 200 and kind.startswith(b"text/event-stream"):
                    event = adk.Invocation().event([adk.text_part(f"I see: {echo}\n")])
                    await send({"type": "http.response.body", "body": adk.frame(event),
                                "more_body": True})  # fmt: skip
                return
            if message["type"] == "http.response.body" and held is not None:
                error_body += message.get("body", b"")
                if message.get("more_body"):
                    return
                body = _with_echo(error_body, echo)
                headers = [(k, v) for k, v in held["headers"] if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**held, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            if cut and message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                await send({"type": "http.response.body", "body": chunk[: max(1, len(chunk) // 2)],
                            "more_body": True})  # fmt: skip
                raise ConnectionAbortedError("the cut_download_next switch cut this download")
            await send(message)

        await self.app(scope, receive, wrapped)
