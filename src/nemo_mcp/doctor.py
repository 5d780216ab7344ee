"""``nemo-mcp doctor``: check the set-up and say what to fix, one line per check.

It never obtains a token or creates a session (that would spend the anonymous allowance): the
backend check is a plain request, and the credit check runs only with a token already at hand.
Without ``--skill`` every skill is checked (what differs between them: the extras they need).
``--local`` checks what ``serve --local`` needs instead of the cloud: FFmpeg, and the offline
backend's folder (writable, its saved projects, whether a server is running on it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from nemo_mcp.backend.client import BackendClient
from nemo_mcp.errors import ConfigError, NemoError
from nemo_mcp.manifests import Manifest, get_manifest, load_manifests
from nemo_mcp.settings import Settings
from nemo_mcp.store import Retention, SQLiteStore, StateStore, read_client_id
from nemo_mcp.words import user_message

Say = Callable[[str], None]


@dataclass
class Report:
    say: Say
    problems: int = 0

    def ok(self, text: str) -> None:
        self.say(f"  ok   {text}")

    def fix(self, text: str) -> None:
        self.problems += 1
        self.say(f"  FIX  {text}")

    def note(self, text: str) -> None:
        self.say(f"  --   {text}")


def _writable(folder: Path) -> bool:
    probe = folder / f".nemo-doctor-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True


def _check_files(report: Report, settings: Settings) -> None:
    if _writable(settings.config_dir):
        report.ok(f"config folder {settings.config_dir} is writable")
    else:
        report.fix(f"config folder {settings.config_dir} is not writable: set NEMO_CONFIG_DIR")
    if _writable(settings.output_dir):
        report.ok(f"exports go to {settings.output_dir}")
    else:
        report.fix(f"output folder {settings.output_dir} is not writable: set NEMO_OUTPUT_DIR")
    roots = settings.media_roots or (Path.home(),)
    missing = [r for r in roots if not r.is_dir()]
    if missing:
        report.fix(f"media folder(s) missing: {', '.join(map(str, missing))} (NEMO_MEDIA_ROOTS)")
    else:
        report.ok(f"uploads may come from {', '.join(map(str, roots))}")


async def _check_identity(report: Report, settings: Settings, store: StateStore) -> str | None:
    if settings.token:
        report.ok("NEMO_TOKEN is set (your own account)")
        token: str | None = settings.token
    elif (cached := await store.token(settings.backend_id, "")) and cached.valid():
        days = (cached.expires_at - time.time()) / 86400
        report.ok(f"anonymous token cached, valid for {days:.1f} more days")
        token = cached.token
    else:
        report.note("no token yet: a free anonymous one (100 credits) is obtained on first use")
        token = None
    client_id = settings.client_id or read_client_id(settings.config_dir)
    if client_id:
        source = "NEMO_CLIENT_ID" if settings.client_id else "shared file"
        report.ok(f"client id {client_id[:8]}... ({source})")
    else:
        report.note("no client id yet: one is created on first use")
    return token


async def _check_backend(
    report: Report, settings: Settings, manifest: Manifest, store: StateStore, token: str | None
) -> None:
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(settings.api_url)
        report.ok(f"backend {settings.api_url} answers (HTTP {response.status_code})")
    except httpx.HTTPError as exc:
        report.fix(
            f"backend {settings.api_url} is unreachable ({type(exc).__name__}): check the network "
            "or NEMO_API_URL, or use `serve --local` to work offline"
        )
        return
    if token is None:
        return
    async with BackendClient(settings, manifest, store) as client:
        try:
            credits = await client.credits()
        except NemoError as exc:
            report.fix(user_message(exc))
        else:
            report.ok(f"token accepted: {credits.available} credits available")


async def _check_records(report: Report, store: StateStore) -> None:
    """Stuck or stale records (docs/STATE.md): counted, never changed here."""
    stale = await store.prune(Retention(), dry_run=True)
    if stale.stuck_jobs:
        report.fix(
            f"{stale.stuck_jobs} job record(s) stuck for over a day (their server is gone): "
            "run `nemo-mcp state --prune`"
        )
    elif stale.total:
        report.note(f"{stale.total} stale record(s); `nemo-mcp state --prune` removes them")
    else:
        report.ok("job and render records are in order")


def _check_extras(report: Report, manifests: list[Manifest], *, local: bool) -> None:
    try:
        from nemo_media.ffmpeg import find_ffmpeg

        find_ffmpeg()
        report.ok("FFmpeg found (offline mode can render)")
    except RuntimeError:
        advice = "offline mode needs pip install 'nemo-mcp[local]'"
        (report.fix if local else report.note)(f"FFmpeg missing: {advice}")
    heic = [m.name for m in manifests if "heic" in m.accepted_types]
    if heic:
        try:
            import pillow_heif  # noqa: F401

            report.ok("HEIC conversion available")
        except ImportError:
            report.note(f"HEIC photos ({', '.join(heic)}) need pip install 'nemo-mcp[heic]'")


def _check_local(report: Report, settings: Settings) -> None:
    """The offline backend's folder: writable, what it keeps, whether a server has it now."""
    from nemo_local.persist import URL_FILE, FolderBusy, owned, read_state
    from nemo_mcp.offline import local_data_dir

    folder = local_data_dir(settings)
    if not _writable(folder):
        report.fix(f"offline folder {folder} is not writable: set NEMO_CONFIG_DIR")
        return
    try:
        with owned(folder):
            saved = read_state(folder)
    except FolderBusy:
        url = folder / URL_FILE
        where = url.read_text(encoding="utf-8").strip() if url.is_file() else "starting"
        report.ok(f"offline backend running ({where}); its projects are in {folder}")
        return
    projects = len(saved.get("store", {}).get("sessions", []))
    report.ok(f"offline folder {folder}: {projects} project(s) kept")


async def run_doctor(skill: str | None, say: Say, *, local: bool = False) -> int:
    report = Report(say)
    say("nemo-mcp doctor" + (" (offline: serve --local)" if local else ""))
    try:
        manifests = load_manifests()
        report.ok(f"{len(manifests)} skill manifests valid: {', '.join(manifests)}")
        if skill:
            chosen = [get_manifest(skill, manifests)]
            report.ok(f"skill {chosen[0].name} {chosen[0].version}")
        else:
            chosen = list(manifests.values())
            report.ok(f"checking every skill (--skill NAME checks one): {len(chosen)}")
        settings = Settings.from_env()
    except (ConfigError, ValueError) as exc:
        report.fix(str(exc))
        return 1
    for warning in settings.warnings:
        report.note(warning)
    store = SQLiteStore.in_folder(settings.config_dir)
    try:
        _check_files(report, settings)
        if local:
            _check_local(report, settings)
        else:
            token = await _check_identity(report, settings, store)
            await _check_records(report, store)
            await _check_backend(report, settings, chosen[0], store, token)
    finally:
        await store.close()
    _check_extras(report, chosen, local=local)
    say("all good" if report.problems == 0 else f"{report.problems} thing(s) to fix")
    return 0 if report.problems == 0 else 1
