"""Refused before anything ran: the one rule for trying a request once more.

A backend that refuses a request outright (1001 for an expired anonymous token, 429 when rate
limited, 400 for a missing client id) ran nothing and charged nothing, so recovering and trying
again is safe, even for a message whose stream never opened. Each kind of refusal is recovered
from once; the same refusal a second time is reported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from nemo_mcp.errors import BackendError

T = TypeVar("T")
Recovery = Callable[[BackendError], Awaitable[None]]


async def retry_refused(
    attempt: Callable[[], Awaitable[T]], recoveries: Mapping[type[BackendError], Recovery]
) -> T:
    """``attempt()``, recovering once from each refusal named in ``recoveries``."""
    recovered: set[type[BackendError]] = set()
    while True:
        try:
            return await attempt()
        except BackendError as exc:
            kind = next((k for k in recoveries if isinstance(exc, k)), None)
            if kind is None or kind in recovered:
                raise
            recovered.add(kind)
            await recoveries[kind](exc)
