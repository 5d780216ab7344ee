"""Where this server runs and for whom, chosen once: the cloud, offline, or shared. Pure.

- **cloud** (``serve``): one user on their own computer, the NemoVideo cloud behind.
- **offline** (``serve --local``): the embedded backend on loopback. Its URLs die with the
  process, so saved files are the results and no loopback link is shown; there is no account, so
  no claim or project links and credits only count work; the network cannot be the cause of a
  failure and the system's proxies and trust store do not apply.
- **shared** (``serve --http``): many users over HTTP. The server cannot read or write their
  computers: files arrive through its upload endpoint, exports leave as download links.

``Deployment.of`` is the one place the mode is chosen; code asks the questions below instead of
testing flags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from nemo_mcp.settings import Settings

Mode = Literal["cloud", "offline", "shared"]

OFFLINE_CREDITS_NOTE = (
    " Offline, credits are a local counter of the embedded backend: work is never refused for them."
)


@dataclass(frozen=True)
class SharedFolders:
    """On a shared server: this user's folders there, and the link a saved file is fetched by."""

    uploads: Path
    exports: Path
    link: Callable[[str], str]
    """A file name in ``exports`` -> the address its owner downloads it from."""


@dataclass(frozen=True)
class Deployment:
    mode: Mode
    folders: SharedFolders | None = None
    web_links: bool = True
    """Whether ``NEMO_WEB_URL``'s pages (claim, project, register) belong to this backend: the
    cloud's do, or ones an operator named; a backend of its own (the embedded one behind
    ``NEMO_API_URL``, a staging API) is not reachable through nemovideo.com's pages."""

    @classmethod
    def of(
        cls, settings: Settings, *, embedded: bool = False, many_users: bool = False
    ) -> Deployment:
        """The mode: shared when serving many users, offline when the backend is the embedded
        one (``embedded``: it is about to be started), else the cloud."""
        from nemo_mcp.settings import DEFAULT_API_URL, DEFAULT_WEB_URL

        web = settings.api_url == DEFAULT_API_URL or settings.web_url != DEFAULT_WEB_URL
        if many_users:
            return cls("shared", web_links=web)
        return cls("offline" if embedded or settings.local else "cloud", web_links=web)

    def for_user(self, folders: SharedFolders) -> Deployment:
        """A shared server's deployment as one user's tools see it: with their folders."""
        return replace(self, folders=folders)

    # -- files -----------------------------------------------------------------------------
    @property
    def reads_local_paths(self) -> bool:
        """Whether a tool may read a path on the user's computer (upload_media's ``paths``)."""
        return self.mode != "shared"

    @property
    def takes_output_dir(self) -> bool:
        """Whether export_video may be told where to save (a shared server answers a link)."""
        return self.mode != "shared"

    @property
    def always_saves(self) -> bool:
        """Whether an export is always saved: offline, the render's URL dies with the process."""
        return self.mode == "offline"

    def uploaded(self, name: str) -> Path | None:
        """Where a file sent to a shared server's upload endpoint is (None elsewhere)."""
        return self.folders.uploads / name if self.folders is not None else None

    def shared_file(self, path: str) -> str | None:
        """The download link of a saved file on a shared server; None where the user opens
        the file themselves."""
        return self.folders.link(Path(path).name) if self.folders is not None else None

    # -- links and the backend -------------------------------------------------------------
    @property
    def backend_urls_last(self) -> bool:
        """Whether the backend's URLs outlive this process and may be handed out or kept
        (offline they name this run's loopback port)."""
        return self.mode != "offline"

    @property
    def has_account(self) -> bool:
        """Whether the backend has accounts on the web pages: claim, register and project links
        make sense."""
        return self.mode != "offline" and self.web_links

    @property
    def backend_is_local(self) -> bool:
        """The backend runs on this computer: the network is not the cause of a failure, and
        the system's proxy settings and trust store do not apply."""
        return self.mode == "offline"

    # -- words -----------------------------------------------------------------------------
    @property
    def credits_note(self) -> str:
        """What to add to a balance so it is not read as money."""
        return OFFLINE_CREDITS_NOTE if self.mode == "offline" else ""
