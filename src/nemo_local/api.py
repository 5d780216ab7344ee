"""The cloud's HTTP contract (docs/BACKEND-CONTRACT.md), one handler per call.

Handlers check in a fixed order: bearer token (1001), attribution where needed (402), body
(422), session (1002), then the call's own rules. Everything they refuse is an ``ApiError``,
turned into the envelope in one place (``app.py``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from nemo_local import api_errors, drafts, intake, probe
from nemo_local.api_errors import ApiError, ok
from nemo_local.context import Backend
from nemo_local.state import Account, Media, Session, new_media_id

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_WAIT_S = 30.0
MAX_URLS = 20
_RENDER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def read_body(request: Request) -> bytes:
    """The whole (small) body, refused with 4002 past ``MAX_JSON_BYTES``."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_JSON_BYTES:
        raise ApiError(api_errors.TOO_LARGE, "The request body is too large.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise ApiError(api_errors.TOO_LARGE, "The request body is too large.")
    return bytes(body)


async def read_json(request: Request) -> Any:
    """The parsed JSON body (size-capped), or 422 in plain words."""
    try:
        return json.loads(await read_body(request))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(api_errors.BAD_REQUEST, f"Malformed JSON body: {exc}") from exc


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(api_errors.BAD_REQUEST, "The body must be a JSON object.")
    return body


def text_field(body: dict[str, Any], *names: str, default: str | None = None) -> str:
    """A non-empty string field (the first of ``names`` present), or 422 naming it."""
    value = next((body[n] for n in names if n in body), default)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(
            api_errors.BAD_REQUEST, f"Field '{names[0]}' is required (a non-empty string)."
        )
    return value


class Api:
    """The handlers; each is a Starlette endpoint."""

    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self._pictures: Any = None
        """``draft_picture.Pictures``, made at the first picture (it needs Pillow)."""

    # helpers ----------------------------------------------------------------------------------

    def _files_base(self, request: Request) -> str:
        """Where render links point: this backend, or the CDN stand-in of ``files_base_url``."""
        return self.b.faults.files_base_url.rstrip("/") or base_url(request)

    def account(self, request: Request) -> Account:
        account = self.b.store.authenticate(request.headers.get("authorization"))
        request.state.client_id = account.client_id  # whose request it was, in the stats
        return account

    def session(self, account: Account, session_id: str) -> Session:
        """The named session; the ``lose_session`` switch deletes it first."""
        if self.b.faults.take("lose_session"):
            if self.b.store.session(account, session_id):
                self.b.store.delete_session(session_id)
        return self.b.store.session(account, session_id)

    # auth, sessions, credits ------------------------------------------------------------------

    async def anonymous_token(self, request: Request) -> Response:
        client_id = request.headers.get("x-client-id", "").strip()
        if not client_id or len(client_id) > 200:
            raise ApiError(api_errors.MISSING_CLIENT_ID, "Missing X-Client-Id header.")
        address = request.client.host if request.client else "unknown"
        account, expires_in = self.b.store.anonymous_token(client_id, address)
        return ok({"token": account.token, "credits": account.available, "expires_in": expires_in})

    async def create_session(self, request: Request) -> Response:
        account = self.account(request)
        body = await read_object(request)
        task_name = text_field(body, "task_name")
        language = text_field(body, "language", default="en")
        session = self.b.store.create_session(account, task_name, language)
        return ok(
            {"task_id": session.task_id, "session_id": session.id, "bind_id": account.bind_id}
        )

    async def claim_token(self, request: Request) -> Response:
        account = self.account(request)
        body = await read_object(request)
        task_id = text_field(body, "task_id")
        session = self.session(account, text_field(body, "session_id"))
        claim, expires_in = self.b.store.claim_token(session, task_id)
        return ok({"claim_token": claim, "expires_in": expires_in})

    async def credits(self, request: Request) -> Response:
        return ok(self.account(request).balance())

    async def state(self, request: Request) -> Response:
        account = self.account(request)
        session = self.session(account, request.path_params["session_id"])
        canvas = session.draft.get("canvas")
        width, height = self.b.config.canvas
        if isinstance(canvas, dict):
            width, height = canvas.get("width", width), canvas.get("height", height)
        base = base_url(request)
        state = {
            "draft": session.draft,
            "video_infos": [m.public(base) for m in session.media],
            "canvas_config": {"width": width, "height": height},
            "generated_media": session.generated,
        }
        return ok(
            {
                "state": state,
                "bind_id": account.bind_id,
                "task_id": session.task_id,
                "session_id": session.id,
            }
        )

    async def draft_picture(self, request: Request) -> Response:
        """A local extension (the cloud has no such call): a JPEG contact sheet of the session's
        draft, one frame per segment with its titles (``draft_picture``); 404 while the draft
        shows nothing. Made in a worker thread, cached per draft version."""
        account = self.account(request)
        session = self.session(account, request.path_params["session_id"])
        try:
            from nemo_local import draft_picture
            from nemo_local.render_plan import RenderError
        except ImportError as exc:
            raise ApiError(api_errors.CONFLICT, f"No picture of the draft: {exc}") from exc
        if self._pictures is None:
            self._pictures = draft_picture.Pictures(self.b.config.canvas)
        draft = json.loads(json.dumps(session.draft))  # the agent may edit it meanwhile
        media = self.b.store.media_paths(account)
        try:
            key, data = await anyio.to_thread.run_sync(
                self._pictures.get, draft, media, abandon_on_cancel=True
            )
        except RenderError as exc:
            raise ApiError(api_errors.CONFLICT, f"No picture of the draft: {exc}") from exc
        if data is None:
            raise ApiError(api_errors.NOT_FOUND, "The draft shows nothing yet.")
        headers = {"ETag": f'"{key[:32]}"', "Cache-Control": "no-cache"}
        return Response(data, media_type="image/jpeg", headers=headers)

    # uploads ----------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        account = self.account(request)
        session = self.session(account, request.path_params["session_id"])
        content_type = request.headers.get("content-type", "")
        limit = self.b.config.max_upload_bytes
        directory = self.b.store.media_dir
        if content_type.startswith("multipart/form-data"):
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit + intake.FORM_OVERHEAD:
                raise ApiError(api_errors.TOO_LARGE, intake.too_large("The upload", limit))
            received = await intake.receive_multipart(
                request.stream(), content_type, directory, limit, new_media_id
            )
        elif content_type.startswith("application/json"):
            urls = _url_list(await read_object(request))
            received = []
            try:
                for url in urls:
                    received.append(
                        await intake.fetch_url(self.b.http, url, directory, limit, new_media_id)
                    )
            except BaseException:
                for done in received:
                    done.path.unlink(missing_ok=True)
                raise
        else:
            raise ApiError(
                api_errors.BAD_REQUEST,
                "Send files as multipart/form-data in the field 'files', or JSON "
                '{"urls": [...], "source_type": "url"}.',
            )
        stored = []
        for item in received:
            kind = item.file_type.kind
            length_ms = await anyio.to_thread.run_sync(probe.duration_ms, item.path, kind)
            media = Media(
                media_id=item.path.stem,
                name=item.name,
                kind=kind,
                content_type=item.file_type.content_type,
                bytes=item.bytes,
                path=item.path,
                duration_ms=length_ms,
            )
            self.b.store.add_media(session, media)
            stored.append(media.public(base_url(request)))
        return ok({"files": stored})

    async def media_file(self, request: Request) -> Response:
        media = self.b.store.media_by_file(request.path_params["name"])
        if media is None or not media.path.is_file():
            raise ApiError(api_errors.NOT_FOUND, "File not found.")
        return FileResponse(media.path, media_type=media.content_type)

    # renders ----------------------------------------------------------------------------------

    async def render_submit(self, request: Request) -> Response:
        account = self.account(request)
        missing = [h for h in _ATTRIBUTION if not request.headers.get(h, "").strip()]
        if missing:
            raise ApiError(
                api_errors.EXPORT_BLOCKED,
                "Export needs the attribution headers X-Skill-Source, X-Skill-Version and "
                f"X-Skill-Platform (missing: {', '.join(missing)}).",
            )
        if self.b.faults.block_export:
            raise ApiError(
                api_errors.EXPORT_BLOCKED,
                "Export is blocked on the free plan: register or upgrade.",
            )
        body = await read_object(request)
        job_id = text_field(body, "id")
        if not _RENDER_ID.match(job_id):
            raise ApiError(
                api_errors.BAD_REQUEST, "Field 'id' may hold letters, digits, _ . - only."
            )
        session = self.session(account, text_field(body, "sessionId", "session_id"))
        draft = body.get("draft")
        if not isinstance(draft, dict):
            raise ApiError(api_errors.BAD_REQUEST, "Field 'draft' is required (a JSON object).")
        if not any(drafts.segments(t) for t in drafts.tracks(draft)):
            raise ApiError(api_errors.BAD_REQUEST, "The draft has nothing to render yet.")
        output = body.get("output", {})
        if not isinstance(output, dict) or output.get("format", "mp4") != "mp4":
            raise ApiError(api_errors.BAD_REQUEST, "Only output.format 'mp4' is supported.")
        job, created = self.b.renders.submit(job_id, account.id, session.id)
        if created:
            job.fail = self.b.faults.take("fail_next_render")
            media = self.b.store.media_paths(account)
            self.b.start_soon(self.b.renders.run, job, draft, media)
        return ok(job.public(self._files_base(request)))

    async def render_status(self, request: Request) -> Response:
        """Answered bare (no envelope), as the cloud sometimes does. ``?wait=S`` (a local
        extension) holds the answer up to S seconds until the job finishes."""
        account = self.account(request)
        job = self.b.renders.get(request.path_params["render_id"], account.id)
        try:
            wait = min(float(request.query_params.get("wait", "0")), MAX_WAIT_S)
        except ValueError as exc:
            raise ApiError(api_errors.BAD_REQUEST, "'wait' must be a number of seconds.") from exc
        if wait > 0:
            with anyio.move_on_after(wait):
                await job.finished.wait()
        return JSONResponse(job.public(self._files_base(request)))

    async def render_download(self, request: Request) -> Response:
        account = self.account(request)
        job = self.b.renders.get(request.path_params["render_id"], account.id)
        if job.status != "completed" or job.path is None:
            raise ApiError(
                api_errors.CONFLICT, f"The render is not finished (status {job.status})."
            )
        return FileResponse(job.path, media_type="video/mp4", filename=f"{job.id}.mp4")

    async def render_file(self, request: Request) -> Response:
        """The ``output.url`` file: no auth (an unguessable id, like a signed URL); Range works."""
        name: str = request.path_params["name"]
        path = self.b.renders.completed_file(name.removesuffix(".mp4"))
        if path is None or not name.endswith(".mp4"):
            raise ApiError(api_errors.NOT_FOUND, "File not found.")
        return FileResponse(path, media_type="video/mp4")


def _url_list(body: dict[str, Any]) -> list[str]:
    urls = body.get("urls")
    if body.get("source_type", "url") != "url":
        raise ApiError(api_errors.BAD_REQUEST, "Field 'source_type' must be 'url'.")
    if (
        not isinstance(urls, list)
        or not urls
        or len(urls) > MAX_URLS
        or not all(isinstance(u, str) and u for u in urls)
    ):
        raise ApiError(api_errors.BAD_REQUEST, f"Field 'urls' must list 1 to {MAX_URLS} URLs.")
    return urls
