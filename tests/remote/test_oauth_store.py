"""The authorization server's records keep one contract on SQLite (try-out) and PostgreSQL.

Single use and the rate-limit counter are atomic: many tasks redeeming one code at once, or
counting one address at once, get exactly one winner and an exact count.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from nemo_mcp.remote.oauth.records import Row, redirect_uri_refusal, same_resource
from nemo_mcp.remote.oauth.store import OAuthStore, SQLiteOAuthStore
from nemo_mcp.remote.pg_store import PostgresStore
from tests.remote.services import Postgres


@pytest.fixture(scope="session")
def oauth_url(postgres: Postgres) -> str:
    import psycopg

    with psycopg.connect(postgres.url, autocommit=True) as db:
        db.execute("CREATE DATABASE nemo_oauth_tests")
    return postgres.url.rsplit("/", 1)[0] + "/nemo_oauth_tests"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OAuthStore]:
    if request.param == "sqlite":
        sqlite = SQLiteOAuthStore.in_folder(tmp_path)
        yield sqlite
        await sqlite.close()
        return
    from nemo_mcp.remote.oauth.pg import PostgresOAuthStore

    url: str = request.getfixturevalue("oauth_url")
    base = await PostgresStore(url, min_size=1, max_size=8).open()
    pg = await PostgresOAuthStore(base.pool).open()
    async with base.pool.connection() as db:
        await db.execute("TRUNCATE nemo_oauth, nemo_oauth_attempts")
    yield pg
    await base.close()


def row(family: str = "f1", ttl: float = 60.0) -> Row:
    return Row('{"a": 1}', family, time.time() + ttl)


async def test_a_record_is_kept_replaced_and_dropped(store: OAuthStore) -> None:
    await store.put("client", "c1", row(""))
    got = await store.get("client", "c1")
    assert got is not None and got.data() == {"a": 1} and not got.used
    await store.put("client", "c1", Row('{"a": 2}', "", time.time() + 60))
    again = await store.get("client", "c1")
    assert again is not None and again.data() == {"a": 2}
    assert await store.get("code", "c1") is None
    await store.drop("client", "c1")
    assert await store.get("client", "c1") is None


async def test_single_use_has_exactly_one_winner(store: OAuthStore) -> None:
    await store.put("code", "k", row())
    wins: list[bool] = []

    async def redeem() -> None:
        wins.append(await store.use("code", "k"))

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(redeem)
    assert sorted(wins) == [False] * 7 + [True]
    used = await store.get("code", "k")
    assert used is not None and used.used
    assert await store.use("code", "missing") is False


async def test_a_family_ends_together_and_clients_stay(store: OAuthStore) -> None:
    for kind, key in (("code", "a"), ("access", "b"), ("refresh", "c")):
        await store.put(kind, key, row("fam"))  # type: ignore[arg-type]
    await store.put("access", "other", row("fam2"))
    await store.put("client", "fam", row("fam"))
    assert await store.drop_family("fam") == 3
    assert await store.get("access", "b") is None and await store.get("refresh", "c") is None
    assert await store.get("access", "other") is not None
    assert await store.get("client", "fam") is not None


async def test_the_counter_is_exact_and_its_window_restarts(store: OAuthStore) -> None:
    counts: list[int] = []

    async def hit() -> None:
        counts.append(await store.hit("address:x", 60.0))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(hit)
    assert sorted(counts) == list(range(1, 11))
    assert await store.hit("address:y", 60.0) == 1
    assert await store.hit("address:x", 0.0) == 1  # a window of nothing has always passed


async def test_prune_removes_only_what_expired(store: OAuthStore) -> None:
    await store.put("access", "old", row(ttl=-1))
    await store.put("access", "new", row())
    assert await store.prune() == 1
    assert await store.get("access", "new") is not None


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://claude.ai/api/mcp/auth_callback", True),
        ("http://localhost:33418/callback", True),
        ("http://127.0.0.1:9/cb", True),
        ("http://[::1]:9/cb", True),
        ("com.example.app:/oauth", True),
        ("http://example.com/cb", False),
        ("https://example.com/cb#frag", False),
        ("https://user:pw@example.com/cb", False),
        ("javascript:alert(1)", False),
        ("myapp:/cb", False),
        ("https:///nohost", False),
    ],
)
def test_redirect_uri_rules(uri: str, allowed: bool) -> None:
    assert (redirect_uri_refusal(uri) is None) is allowed


def test_resources_compare_as_urls() -> None:
    assert same_resource("HTTPS://Example.com:443/mcp/", "https://example.com/mcp")
    assert not same_resource("https://example.com/other", "https://example.com/mcp")
    assert not same_resource(None, "https://example.com/mcp")
