"""Several server processes on one config folder, as Claude Desktop runs one per skill.

Real ``nemo-mcp serve`` subprocesses over stdio, one real SQLite file, one local backend; the
backend's own counters say how many tokens and sessions were asked for.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from nemo_mcp.manifests import load_manifests
from nemo_mcp.store.client_id import CLIENT_ID_FILE
from nemo_mcp.store.sqlite import STATE_FILE
from tests.e2e.conftest import Workspace, structured

SOAK_ROUNDS = 4
"""The race soak (chaos tier): the same start-up race again and again on fresh folders. The
default run keeps one round, the same start, the same checks."""


def rows(config: Path, sql: str) -> list[tuple[Any, ...]]:
    """What the state file really holds, read with a connection of the test's own."""
    with sqlite3.connect(config / STATE_FILE) as db:
        return db.execute(sql).fetchall()


async def _start_all_at_once(workspace: Workspace, skills: list[str]) -> dict[str, Any]:
    """Every skill's server started together, each asked for its timeline (token + session)."""
    answers: dict[str, Any] = {}
    ready = anyio.Event()
    started = 0

    async def one(skill: str) -> None:
        nonlocal started
        async with Client(workspace.params(skill), mode="legacy") as client:
            started += 1
            if started == len(skills):
                ready.set()
            await ready.wait()  # all handshakes done: the first calls race each other
            answers[skill] = structured(await client.call_tool("get_timeline", {}))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for skill in skills:
                tg.start_soon(one, skill)
    return answers


@pytest.mark.parametrize(
    "rounds",
    [pytest.param(1, id="once"), pytest.param(SOAK_ROUNDS, id="soak", marks=pytest.mark.chaos)],
)
async def test_five_skills_started_together_share_one_token_and_keep_five_sessions(
    workspace: Workspace, rounds: int
) -> None:
    skills = list(load_manifests())
    assert len(skills) == 5
    backend = workspace.backend
    for round_ in range(rounds):
        shutil.rmtree(workspace.config, ignore_errors=True)  # a fresh config folder each time
        backend.stats.reset()
        answers = await _start_all_at_once(workspace, skills)

        assert set(answers) == set(skills)
        assert all(a["ready"] is False for a in answers.values())
        assert backend.stats.count("anonymous_token") == 1, f"round {round_}"
        assert backend.stats.count("session_create") == 5, f"round {round_}"
        client_id = (workspace.config / CLIENT_ID_FILE).read_text().strip()
        assert str(uuid.UUID(client_id)) == client_id
        assert not list(workspace.config.glob(f".{CLIENT_ID_FILE}.*"))  # no temporary left
        sessions = rows(workspace.config, "SELECT skill, session_id FROM sessions")
        assert sorted(s for s, _ in sessions) == sorted(skills), f"round {round_}"
        assert len({sid for _, sid in sessions}) == 5
        tokens = rows(workspace.config, "SELECT client_id FROM tokens")
        assert tokens == [(client_id,)]
        assert rows(workspace.config, "SELECT COUNT(*) FROM leases WHERE expires_at > 0") == [
            (0,)
        ]  # every lease was released
