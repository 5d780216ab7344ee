from __future__ import annotations

import pytest

from nemo_mcp.errors import (
    BackendUnreachable,
    ClientIdMissing,
    ExportBlocked,
    Hints,
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
    UnsupportedMedia,
    backend_error,
    user_message,
)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        pytest.param(200, 1001, TokenInvalid, id="1001"),
        pytest.param(404, 1002, SessionNotFound, id="1002"),
        pytest.param(200, 2001, OutOfCredits, id="2001"),
        pytest.param(415, 4001, UnsupportedMedia, id="4001"),
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


ALL = [
    TokenInvalid(), SessionNotFound(), OutOfCredits(), UnsupportedMedia(), MediaTooLarge(),
    ClientIdMissing(), ExportBlocked(), RateLimited(), RequestRejected(), ServerFault(),
    BackendUnreachable("x"), StreamDropped("x"), StreamTimedOut("x"), RenderFailed("x"),
]  # fmt: skip


@pytest.mark.parametrize("error", ALL, ids=lambda e: type(e).__name__)
def test_every_error_has_plain_words_without_codes(error: NemoError) -> None:
    words = user_message(error, Hints())
    assert len(words) > 20
    for raw in ("1001", "1002", "2001", "4001", "4002", "Traceback", "None"):
        assert raw not in words


def test_out_of_credits_gives_the_registration_link_to_anonymous_users() -> None:
    link = "https://nemovideo.com?bind=abc"
    assert link in user_message(OutOfCredits(), Hints(anonymous=True, register_link=link))
    registered = user_message(OutOfCredits(), Hints(anonymous=False, register_link=link))
    assert link not in registered and "Top up" in registered


def test_unsupported_lists_types_and_too_large_names_the_limit() -> None:
    assert "jpg, png" in user_message(UnsupportedMedia(), Hints(accepted_types=("jpg", "png")))
    assert "500 MB" in user_message(MediaTooLarge(), Hints(max_upload_mb=500))


def test_export_blocked_is_a_plan_issue_not_credits() -> None:
    words = user_message(ExportBlocked())
    assert "register or upgrade" in words and "not credits" in words


def test_rate_limit_says_how_long() -> None:
    assert "about 7 s" in user_message(RateLimited(retry_after=7))
    assert "about 30 s" in user_message(RateLimited())


def test_user_token_expiry_says_what_to_fix() -> None:
    assert "NEMO_TOKEN" in user_message(TokenInvalid(), Hints(anonymous=False))


def test_input_errors_pass_through_and_unknown_errors_stay_vague() -> None:
    assert user_message(InputError("a.txt is not an image")) == "a.txt is not an image"
    assert "log" in user_message(RuntimeError("secret internals"))
    assert "secret" not in user_message(RuntimeError("secret internals"))
