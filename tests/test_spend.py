"""When a message asks before it spends credits (``NEMO_CONFIRM_SPEND``), and in which words."""

from __future__ import annotations

import pytest

from nemo_mcp.settings import Settings
from nemo_mcp.spend import LOW_CREDITS, question, should_ask


@pytest.mark.parametrize(
    ("mode", "available", "anonymous", "offline", "asks"),
    [
        ("always", 10_000, False, False, True),
        ("always", 10_000, False, True, True),
        ("never", 3, True, False, False),
        ("low", LOW_CREDITS - 1, False, False, True),
        ("low", LOW_CREDITS, False, False, False),
        ("low", 10_000, True, False, True),  # a free anonymous token
        ("low", None, False, False, True),  # the balance could not be read
        ("low", 3, True, True, False),  # offline credits refill
    ],
)
def test_when_to_ask(
    mode: str, available: int | None, anonymous: bool, offline: bool, asks: bool
) -> None:
    assert should_ask(mode, available=available, anonymous=anonymous, offline=offline) is asks


def test_the_question_names_the_balance() -> None:
    assert question(120) == (
        "This starts a new generation, which uses credits (you have 120 available). Go ahead?"
    )
    assert "available" not in question(None)


def test_the_setting() -> None:
    assert Settings.from_env({}).confirm_spend == "low"
    assert Settings.from_env({"NEMO_CONFIRM_SPEND": "Always"}).confirm_spend == "always"
    assert Settings.from_env({"NEMO_CONFIRM_SPEND": "never"}).confirm_spend == "never"
    with pytest.raises(ValueError, match="NEMO_CONFIRM_SPEND must be one of always, low, never"):
        Settings.from_env({"NEMO_CONFIRM_SPEND": "sometimes"})
