"""What users read on a shared server names nothing of the server's insides.

The words of the stdio server (``words.py``) speak to someone at their own computer: they name
the folder a file is in and suggest another ``output_dir``. On a shared server that folder is
the server's (``NEMO_REMOTE_DIR/exports/<user key>``): naming it would show a server path and a
user key, and the advice does not apply. So a job's failure is worded here (``describe``), and
any text that still carries a server path has it taken out (``scrub``): a user's own upload
becomes the name they gave it, anything else under the shared folder "the server's storage",
and a bare user key disappears. Pure.
"""

from __future__ import annotations

import re
from pathlib import Path

from nemo_mcp.errors import DownloadFailed, FolderUnusable
from nemo_mcp.tools.export import SERVER_FULL
from nemo_mcp.tools.upload import given_name
from nemo_mcp.words import user_message

USER_KEY = re.compile(r"\bu_[0-9a-f]{40}\b")
NOT_STORED = (
    "The video was rendered, but the server could not store it (its disk may be full). Call "
    "export_video again later: it stores the finished render without rendering again."
)


class Scrubber:
    """Takes the shared folder's paths and user keys out of text meant for a user."""

    def __init__(self, data_dir: Path) -> None:
        roots = {str(data_dir), str(data_dir.resolve())}
        alternatives = "|".join(re.escape(r) for r in sorted(roots, key=len, reverse=True))
        self._file = re.compile(
            rf"(?:{alternatives})/(uploads|exports)/u_[0-9a-f]+/([^\s/'\"`,;:()]+)"
        )
        self._rest = re.compile(rf"(?:{alternatives})(?:/[^\s'\"`,;:()]*)?")

    def scrub(self, text: str) -> str:
        text = self._file.sub(lambda m: given_name(m.group(2)), text)
        text = self._rest.sub("the server's storage", text)
        return USER_KEY.sub("your account", text)

    def describe(self, exc: BaseException) -> str:
        """A job's failure in words for a user of the shared server."""
        if isinstance(exc, FolderUnusable):
            return SERVER_FULL
        if isinstance(exc, DownloadFailed):
            return NOT_STORED
        return self.scrub(user_message(exc))
