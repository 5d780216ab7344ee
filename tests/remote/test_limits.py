"""Per-user limits: the pure counting in memory, then requests per minute counted across the
three workers of the real cluster (each sees about a third: only a shared count refuses)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nemo_mcp.errors import InputError
from nemo_mcp.remote.limits import Limits, MemoryCounter, PostgresCounter, seconds_left
from nemo_mcp.store import SQLiteStore
from tests.remote.conftest import Cluster, new_token
from tests.store.conftest import SCOPE, job

MINUTE = 1_800_000_000.0 - 1_800_000_000.0 % 60  # the start of a minute


async def test_past_the_limit_a_request_waits_for_the_next_minute(tmp_path: Path) -> None:
    limits = Limits(3, 0, MemoryCounter(), SQLiteStore.in_folder(tmp_path))
    assert [await limits.request("u_a", MINUTE + 10) for _ in range(3)] == [None] * 3
    refused = await limits.request("u_a", MINUTE + 10)
    assert refused is not None and refused[0] == 50 and "Wait 50 seconds" in refused[1]
    assert await limits.request("u_b", MINUTE + 10) is None  # another user's own count
    assert await limits.request("u_a", MINUTE + 60) is None  # a new minute
    assert limits.refused["requests"] == 1 and seconds_left(MINUTE + 59.5) == 1


async def test_a_new_job_past_the_limit_is_refused_in_words_joining_is_not(tmp_path: Path) -> None:
    store = SQLiteStore.in_folder(tmp_path)
    limits = Limits(0, 2, MemoryCounter(), store)
    await limits.admit(SCOPE, "upload", "a")
    for key in ("a", "b"):
        await store.add_job(job(key, kind="upload"), serial=False)
    with pytest.raises(InputError, match="already have 2 jobs running"):
        await limits.admit(SCOPE, "upload", "c")
    await limits.admit(SCOPE, "upload", "b")  # the same request joins its running job
    assert limits.refused["jobs"] == 1
    await store.close()


def test_requests_per_minute_are_counted_across_workers(fresh: Cluster) -> None:
    auth = {"Authorization": f"Bearer {new_token(fresh.backend.url)}"}
    statuses = []
    with httpx.Client(base_url=fresh.url, headers=auth) as http:
        for _ in range(250):  # the default limit is 120 a minute; each worker sees ~40
            answer = http.get("/downloads/none.mp4")
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
    assert statuses[-1] == 429, statuses[-5:]
    assert len(statuses) >= 121 and set(statuses[:120]) == {404}  # a new minute restarts it
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert "Too many requests" in answer.json()["error"]
    assert answer.json()["error"].count("u_") == 0


async def test_with_the_database_away_requests_pass_uncounted_without_waiting() -> None:
    class AwayPool:
        asked = 0

        def connection(self, timeout: float) -> object:
            AwayPool.asked += 1
            raise TimeoutError("the pool timed out")

    counter = PostgresCounter(AwayPool())
    assert await counter.hit("u_a", MINUTE) is None
    assert await counter.hit("u_a", MINUTE) is None
    assert AwayPool.asked == 1  # the second request did not wait on the pool again
