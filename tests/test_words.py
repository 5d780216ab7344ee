"""Errors: one tree from backend codes, and the one place they become plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.errors import (
    BackendUnreachable,
    ClientIdMissing,
    DownloadFailed,
    EditFailed,
    ErrorContext,
    ExportBlocked,
    FileChanged,
    FolderUnusable,
    InputError,
    MediaTooLarge,
    NemoError,
    OutOfCredits,
    RateLimited,
    RenderFailed,
    RequestRejected,
    ServerFault,
    SessionNotFound,
    StreamDropped,
    StreamTimedOut,
    TokenInvalid,
    ToolTimedOut,
    UnsupportedType,
    backend_error,
)
from nemo_mcp.words import UNEXPECTED, duration_words, user_message

HTML = "<!DOCTYPE html><html><body>502 Bad Gateway nginx</body></html>"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        pytest.param(200, 1001, TokenInvalid, id="1001"),
        pytest.param(404, 1002, SessionNotFound, id="1002"),
        pytest.param(200, 2001, OutOfCredits, id="2001"),
        pytest.param(415, 4001, UnsupportedType, id="4001"),
        pytest.param(200, 4002, MediaTooLarge, id="4002"),
        pytest.param(400, None, ClientIdMissing, id="http-400"),
        pytest.param(402, None, ExportBlocked, id="http-402"),
        pytest.param(429, None, RateLimited, id="http-429"),
        pytest.param(200, 429, RateLimited, id="envelope-429"),
        pytest.param(401, None, TokenInvalid, id="http-401"),
        pytest.param(503, None, ServerFault, id="http-503"),
        pytest.param(200, 500, ServerFault, id="envelope-500"),
        pytest.param(422, None, RequestRejected, id="http-422"),
        pytest.param(200, 7777, RequestRejected, id="unknown-code"),
    ],
)
def test_codes_map_to_one_tree(status: int, code: int | None, kind: type[NemoError]) -> None:
    error = backend_error(status, code, "detail")
    assert type(error) is kind
    assert isinstance(error, NemoError)


def test_a_rate_limit_keeps_its_retry_after() -> None:
    error = backend_error(429, None, "", retry_after=7)
    assert isinstance(error, RateLimited) and error.retry_after == 7


ALL = [
    TokenInvalid(HTML), SessionNotFound(HTML), OutOfCredits(HTML), UnsupportedType(HTML),
    MediaTooLarge(HTML), ClientIdMissing(HTML), ExportBlocked(HTML), RateLimited(HTML),
    RequestRejected(HTML), ServerFault(HTML), ServerFault(""), BackendUnreachable(HTML),
    StreamDropped(HTML), StreamTimedOut(HTML), RenderFailed(HTML), ToolTimedOut(45),
    DownloadFailed(Path("/videos"), OSError(HTML)), EditFailed("The backend could not finish."),
]  # fmt: skip


@pytest.mark.parametrize("error", ALL, ids=lambda e: type(e).__name__)
def test_every_error_has_plain_words_never_a_body_a_code_or_a_class_name(error: NemoError) -> None:
    words = user_message(error)
    assert len(words) > 20
    assert "<" not in words and "nginx" not in words, "no backend body"
    assert type(error).__name__ not in words, "no class name"
    for raw in ("1001", "1002", "2001", "4001", "4002", "Traceback", "None"):
        assert raw not in words


def test_out_of_credits_gives_the_registration_link_to_anonymous_users() -> None:
    link = "https://nemovideo.com?bind=abc"
    anonymous = OutOfCredits(context=ErrorContext(register_link=link))
    assert link in user_message(anonymous)
    registered = OutOfCredits(context=ErrorContext(anonymous=False, register_link=link))
    assert link not in user_message(registered) and "Top up" in user_message(registered)
    offline = OutOfCredits(context=ErrorContext(local=True))
    assert "nemovideo" not in user_message(offline) and "local" in user_message(offline)


def test_refusals_carry_their_context_into_the_words() -> None:
    unsupported = UnsupportedType(context=ErrorContext(accepted=("jpg", "png")))
    assert "Accepted types: jpg, png." in user_message(unsupported)
    assert "listed formats" not in user_message(UnsupportedType())
    too_large = MediaTooLarge(context=ErrorContext(limit_mb=500))
    assert "(the limit is 500 MB)" in user_message(too_large)


def test_a_changed_file_and_a_bad_folder_are_input_errors_in_plain_words() -> None:
    changed = FileChanged("clip.mp4", grew=True)
    assert isinstance(changed, InputError)
    assert "clip.mp4 grew while it was being uploaded" in user_message(changed)
    assert "network" not in user_message(changed)
    folder = FolderUnusable(Path("/mnt/full"), "it has 1 MB free")
    assert "/mnt/full" in user_message(folder) and "1 MB free" in user_message(folder)


def test_offline_unreachable_does_not_blame_the_network() -> None:
    assert "network" in user_message(BackendUnreachable("x"))
    error = BackendUnreachable("x", local=True)
    assert "network" not in user_message(error) and "--local" in user_message(error)


def test_export_blocked_is_a_plan_issue_not_credits() -> None:
    words = user_message(ExportBlocked())
    assert "register or upgrade" in words and "not credits" in words


def test_rate_limit_says_how_long() -> None:
    assert "about 7 s" in user_message(RateLimited(retry_after=7))
    assert "about 30 s" in user_message(RateLimited())


def test_user_token_expiry_says_what_to_fix() -> None:
    error = TokenInvalid(context=ErrorContext(anonymous=False))
    assert "NEMO_TOKEN" in user_message(error)


def test_an_edit_failure_keeps_what_the_agent_said_first() -> None:
    words = user_message(EditFailed("The backend could not finish.", reply="Adding music..."))
    assert words == "Adding music...\nThe backend could not finish."


def test_input_errors_pass_through_and_unknown_errors_stay_vague() -> None:
    assert user_message(InputError("a.txt is not an image")) == "a.txt is not an image"
    assert user_message(RuntimeError("secret internals")) == UNEXPECTED


@pytest.mark.parametrize(
    ("seconds", "words"), [(0.2, "1 s"), (45, "45 s"), (119, "119 s"), (600, "10 min")]
)
def test_duration_words(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words
