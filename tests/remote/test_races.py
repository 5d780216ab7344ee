"""Races a real deployment meets: a user's burst of parallel first calls at a worker that has
never seen them (after every deploy), and a token revoked while a worker still trusts it."""

from __future__ import annotations

import anyio
import httpx

from tests.remote.conftest import Cluster, new_token
from tests.remote.load import Answer, call

BURST = 20


async def test_parallel_first_calls_of_one_user_all_succeed(fresh: Cluster) -> None:
    # A new user is new to every worker: their token is not yet sealed there, nor trusted, so
    # all 20 calls sign in at once (the sealed-token write raced, UniqueViolation, HTTP 500).
    token = new_token(fresh.backend.url)
    worker = fresh.workers[0]
    answers: list[Answer] = []

    async def one(http: httpx.AsyncClient) -> None:
        answers.append(await call(http, token, "get_timeline"))

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", timeout=60) as http:
        async with anyio.create_task_group() as tg:
            for _ in range(BURST):
                tg.start_soon(one, http)
    assert len(answers) == BURST
    assert [a for a in answers if not a.ok] == []
    assert "Exception in ASGI application" not in worker.log.read_text()


async def test_a_revoked_token_loses_the_workers_trust_at_once(fresh: Cluster) -> None:
    token = new_token(fresh.backend.url)
    worker = fresh.workers[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", timeout=60) as http:
        assert (await call(http, token, "get_timeline")).ok  # accepted, then trusted 10 min
        try:
            fresh.backend.faults.update({"expire_token": True})  # the backend revokes it
            refused = await call(http, token, "check_credits")
            assert refused.is_error, refused
            # The worker saw the backend refuse it: the next request asks again, and is a 401.
            again = await http.post("/uploads", params={"name": "a.jpg"}, content=b"x")
            assert again.status_code == 401, again.text
            assert "WWW-Authenticate" in again.headers
        finally:
            fresh.backend.faults.all_off()
