"""``check_credits`` in memory."""

from __future__ import annotations

from typing import Any

from tests.fakes.backend import FakeBackend


async def test_the_balance_in_numbers_and_words(open_session: Any, fake: FakeBackend) -> None:
    fake.credits = 420
    async with open_session() as s:
        data = await s.data("check_credits")
    assert (data["available"], data["frozen"], data["total"]) == (420, 0, 420)
    assert data["reply"] == "420 credits available, 0 frozen by running work, 420 in all."
