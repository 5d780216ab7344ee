"""``POST /run_sse``: ADK's request body in, the local agent's turn out as an SSE stream.

Refusals before the stream starts are JSON, like ADK's (422 for a malformed body, with ADK's
``detail`` list; 404 for an unknown app or session), in the envelope with our codes (1002 for the
session). Credits are checked and reserved *before* the stream starts, so "out of credits" is a
plain 403 / 2001 answer, never something to dig out of a stream. One message at a time per
session: another one while a turn runs gets 409.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from nemo_local import adk, api_errors
from nemo_local.agent import plan_turn, reply_language
from nemo_local.api import Api, read_body
from nemo_local.api_errors import ApiError
from nemo_local.fonts import typeface_for
from nemo_local.turns import TurnRequest

APP_NAME = "nemo_agent"
USER_ID = "me"
SSE_MEDIA_TYPE = "text/event-stream; charset=utf-8"


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str | None = None


class _Content(BaseModel):
    model_config = ConfigDict(extra="ignore")
    parts: list[_Part]
    role: str | None = None


class RunBody(BaseModel):
    """ADK's ``RunAgentRequest``: snake_case or camelCase keys."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="ignore"
    )
    app_name: str
    user_id: str
    session_id: str
    new_message: _Content | None = None
    streaming: bool = False


def _invalid(detail: list[dict[str, Any]], message: str) -> ApiError:
    return ApiError(api_errors.BAD_REQUEST, message, detail=detail)


async def parse_body(request: Request) -> RunBody:
    """The request body, or a 422 that reads like ADK's."""
    raw = await read_body(request)
    if not request.headers.get("content-type", "").startswith("application/json"):
        detail: list[dict[str, Any]] = [
            {
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": raw[:1000].decode("utf-8", "replace"),
            }
        ]
        raise _invalid(detail, "The body must be JSON (Content-Type: application/json).")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        error = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else exc.start
        detail = [
            {
                "type": "json_invalid",
                "loc": ["body", position],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": error},
            }
        ]
        raise _invalid(detail, f"Malformed JSON body: {error}") from exc
    try:
        return RunBody.model_validate(body)
    except ValidationError as exc:
        detail = [
            {**dict(e), "loc": ["body", *e["loc"]]}
            for e in exc.errors(include_url=False, include_context=False)
        ]
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise _invalid(detail, f"Missing or invalid fields: {fields}") from exc


async def run_sse(api: Api, request: Request) -> Response:
    """Validate, plan the turn, reserve its credits, then stream it."""
    account = api.account(request)
    body = await parse_body(request)
    if body.app_name != APP_NAME:
        message = f"Agent not found: {body.app_name[:80]!r}."
        raise ApiError(api_errors.NOT_FOUND, message, detail=message)
    try:
        if body.user_id != USER_ID:
            raise ApiError(
                api_errors.SESSION_NOT_FOUND, f"Session not found: {body.session_id[:80]}"
            )
        session = api.session(account, body.session_id)
    except ApiError as exc:
        exc.detail = exc.message
        raise
    if body.new_message is None:
        error = adk.error_frame(
            "ValueError",
            "Running an agent requires either a new_message or an invocation_id to resume a "
            f"previous invocation. Session: {session.id}, User: {USER_ID}",
        )
        return Response(error, media_type=SSE_MEDIA_TYPE)
    if session.busy:
        raise ApiError(
            api_errors.CONFLICT,
            "A message is already being worked on in this session; wait for it.",
        )
    text = "".join(part.text or "" for part in body.new_message.parts)
    media = [m.ref() for m in session.media]
    turn = plan_turn(
        text, session.draft, media, language=session.language,
        undrawable=lambda words: typeface_for(words).missing,
    )  # fmt: skip
    language = reply_language(text, session.language)
    stream = api.b.runner.start(TurnRequest(account, session, turn, body.streaming, language))
    return StreamingResponse(stream, media_type=SSE_MEDIA_TYPE)
