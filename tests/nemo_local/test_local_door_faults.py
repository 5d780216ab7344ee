"""The door switches of ``nemo_local.misbehave``, seen on the wire: each does what it says, once
per count, only on the paths ``fault_path`` names, and then the backend answers normally."""

from __future__ import annotations

import httpx
import pytest

from .local_backend_helpers import User
from .test_local_faults import set_faults

CREDITS = "/api/credits/balance/simple"


async def test_html_error_page_then_normal(user: User) -> None:
    await set_faults(user.http, html_error_next=1)
    page = await user.http.get(CREDITS, headers=user.headers)
    assert page.status_code == 502 and page.text.startswith("<!DOCTYPE html>")
    assert (await user.http.get(CREDITS, headers=user.headers)).json()["code"] == 0


async def test_malformed_json_is_a_200_that_does_not_parse(user: User) -> None:
    await set_faults(user.http, bad_json_next=1)
    answer = await user.http.get(CREDITS, headers=user.headers)
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()


async def test_redirect_points_at_another_host(user: User) -> None:
    await set_faults(user.http, redirect_next=1)
    answer = await user.http.get(CREDITS, headers=user.headers)
    assert answer.status_code == 302
    assert answer.headers["location"] == f"http://elsewhere.invalid{CREDITS}"


async def test_hang_is_never_answered(user: User) -> None:
    await set_faults(user.http, hang_next=1)
    with pytest.raises(httpx.ReadTimeout):
        await user.http.get(CREDITS, headers=user.headers, timeout=httpx.Timeout(5, read=0.5))
    assert (await user.http.get(CREDITS, headers=user.headers)).status_code == 200


async def test_fault_path_limits_the_counters(user: User) -> None:
    await set_faults(user.http, html_error_next=1, fault_path="/api/render")
    assert (await user.http.get(CREDITS, headers=user.headers)).status_code == 200
    assert (await user.http.get("/_local/faults")).json()["html_error_next"] == 1


async def test_echo_headers_quotes_the_token_in_errors(user: User) -> None:
    await set_faults(user.http, echo_headers=True)
    answer = await user.http.get("/api/state/nemo_agent/me/no-such-session/latest",
                                 headers=user.headers)  # fmt: skip
    assert answer.status_code >= 400
    assert user.token in answer.json()["message"]
    assert int(answer.headers["content-length"]) == len(answer.content)
