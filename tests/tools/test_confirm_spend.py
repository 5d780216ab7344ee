"""Asking before credits are spent (``NEMO_CONFIRM_SPEND``), in memory, on both protocols: the
question mid-call (2025-11-25) and as an input-required round (2026-07-28, stateless HTTP's)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.types import ElicitRequestParams, ElicitResult

from nemo_mcp.spend import LOW_CREDITS
from tests.fakes.backend import FakeBackend

QUESTION = "This starts a new generation, which uses credits (you have {n} available). Go ahead?"


class Asker:
    """An elicitation callback that answers with ``action`` and remembers the questions."""

    def __init__(self, action: str, go_ahead: bool = True) -> None:
        self.action = action
        self.go_ahead = go_ahead
        self.asked: list[str] = []

    async def __call__(self, ctx: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        content = {"go_ahead": self.go_ahead} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@pytest.fixture(params=["legacy", "auto"])
def protocol(request: pytest.FixtureRequest) -> str:
    """``legacy``: 2025-11-25 with a mid-call request; ``auto``: 2026-07-28's input rounds."""
    return str(request.param)


async def edit(open_session: Any, protocol: str, asker: Asker | None, mode: str) -> Any:
    client = {"mode": protocol, **({"elicitation_callback": asker} if asker else {})}
    async with open_session(client_options=client, confirm_spend=mode) as s:
        return await s.data("send_edit", {"message": "add music"})


async def test_accepted_the_message_goes(
    open_session: Any, fake: FakeBackend, protocol: str
) -> None:
    fake.credits = 120
    asker = Asker("accept")
    data = await edit(open_session, protocol, asker, "low")
    assert asker.asked == [QUESTION.format(n=120)], "asked once"
    assert data["status"] == "done" and fake.count("run_sse") == 1


@pytest.mark.parametrize("answer", [Asker("decline"), Asker("cancel"), Asker("accept", False)])
async def test_declined_nothing_is_sent_and_it_says_so(
    open_session: Any, fake: FakeBackend, protocol: str, answer: Asker
) -> None:
    fake.credits = 120
    data = await edit(open_session, protocol, answer, "low")
    assert data["status"] == "declined" and data["intent"] == "edit"
    assert "Nothing was sent" in data["reply"]
    assert fake.count("run_sse") == 0


async def test_a_client_without_elicitation_gets_the_balance_in_the_answer(
    open_session: Any, fake: FakeBackend, protocol: str
) -> None:
    fake.credits = 120
    data = await edit(open_session, protocol, None, "always")
    assert data["status"] == "done" and fake.count("run_sse") == 1
    assert data["reply"].endswith("(120 credits were available before this.)")


@pytest.mark.parametrize(
    ("mode", "credits", "asks"),
    [
        ("always", 10_000, True),
        ("low", LOW_CREDITS - 1, True),
        ("low", 10_000, True),  # the fake's token is a free anonymous one
        ("never", 5, False),
    ],
)
async def test_the_three_settings(
    open_session: Any, fake: FakeBackend, mode: str, credits: int, asks: bool
) -> None:
    fake.credits = credits
    asker = Asker("accept")
    data = await edit(open_session, "legacy", asker, mode)
    assert bool(asker.asked) is asks and data["status"] == "done"


async def test_a_users_own_token_with_enough_credits_is_not_asked_under_low(
    open_session: Any, fake: FakeBackend
) -> None:
    fake.credits = 10_000
    asker = Asker("decline")
    client = {"mode": "legacy", "elicitation_callback": asker}
    async with open_session(client_options=client, confirm_spend="low", token="nmv_usr_x1") as s:
        data = await s.data("send_edit", {"message": "add music"})
    assert asker.asked == [] and data["status"] == "done"


async def test_never_asked_for_exports_reads_or_local_words(
    open_session: Any, fake: FakeBackend
) -> None:
    asker = Asker("decline")
    client = {"mode": "legacy", "elicitation_callback": asker}
    async with open_session(client_options=client, confirm_spend="always") as s:
        for words in ("credits", "status", "upload", "stop"):
            await s.data("send_edit", {"message": words})
        await s.data("check_credits")
        await s.data("get_timeline")
        await s.error("export_video")  # an empty timeline: refused, but never asked
    assert asker.asked == []
