"""Regular expressions compiled at their first use, not at import.

The router's keyword patterns are long alternations (tens of ms to compile); the server imports
the router at start-up but uses it only when a tool is called, so ``initialize`` should not
pay for them.
"""

from __future__ import annotations

import re
from typing import Any, cast


class _LazyPattern:
    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """A stand-in for ``re.compile(pattern, flags)`` that compiles on first use."""
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags))
