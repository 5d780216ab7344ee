"""Whether to ask the user before a message spends credits, and in which words. Pure.

A message the router sends to the backend (an edit or a generation) costs credits; exports,
reads and what the router answers locally never do, so only a new backend message is ever asked
about (joining the same message already running spends nothing). ``NEMO_CONFIRM_SPEND``:

- ``always``: ask before every such message;
- ``low`` (the default): ask when the balance is under ``LOW_CREDITS`` (or unknown), or the
  token is a free anonymous one;
- ``never``: never ask.

Offline, credits are a local counter that refills, so only ``always`` asks there. A client that
did not declare elicitation is not asked: it gets today's behaviour, with the balance in the
answer.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

LOW_CREDITS = 500
"""Under this balance (about five generations) ``low`` asks first."""


class Confirm(BaseModel):
    """What the question asks for: the accept button is the answer; the box can take it back."""

    go_ahead: bool = Field(default=True, title="Go ahead", description="Spend the credits")


class SpendCheck(BaseModel):
    """The outcome when nothing was asked: why not, and the balance when it was read."""

    asked: bool = False
    available: int | None = None
    reason: str = ""


def should_ask(mode: str, *, available: int | None, anonymous: bool, offline: bool) -> bool:
    """Whether ``mode`` asks before a message spends, given the balance and the token."""
    if mode == "always":
        return True
    if mode == "never" or offline:
        return False
    return anonymous or available is None or available < LOW_CREDITS


def question(available: int | None) -> str:
    """The question put to the user before a message that starts a generation."""
    balance = f" (you have {available} available)" if available is not None else ""
    return f"This starts a new generation, which uses credits{balance}. Go ahead?"


DECLINED = (
    "Nothing was sent: you chose not to spend credits on this. Say it again (or change it) when "
    "you want to go ahead."
)


def balance_note(available: int | None) -> str:
    """The line a client without elicitation gets instead of the question."""
    return "" if available is None else f" ({available} credits were available before this.)"
