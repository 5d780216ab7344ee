"""What the tools say, from the active manifest. Pure.

Every assistant pays for ``tools/list`` in context on every turn, so descriptions are short: what
the tool does for this skill, what it accepts, what it costs, how long it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nemo_mcp.deployment import Deployment
from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings

GENERATION_CREDITS = 100
EDIT_CREDITS = 50
OFFLINE_TIME = "a few seconds"
ASK_AGAIN_S = 30
"""When a tool suggests asking again about work still running."""
"""The embedded backend's generations land in seconds (``nemo_local.config.WORK_SECONDS``)."""


@dataclass(frozen=True)
class ToolTexts:
    instructions: str
    upload: str
    send_edit: str
    get_timeline: str
    export_video: str
    check_credits: str

    @classmethod
    def for_manifest(
        cls, m: Manifest, settings: Settings, deployment: Deployment, *, heic: bool = True
    ) -> ToolTexts:
        """Offline (the embedded backend) there are no prices and no cloud; ``heic``: whether
        HEIC can be converted here (the optional extra is installed)."""
        offline = deployment.mode == "offline"
        accepted = [t for t in m.accepted_types if heic or t != "heic"]
        types = ", ".join(accepted)
        heic_words = " HEIC photos are converted to JPEG first." if "heic" in accepted else ""
        cost = (
            "Offline: runs on this computer; credits only count the work (they refill, nothing "
            "is bought)."
            if offline
            else f"Costs credits (~{GENERATION_CREDITS} a clip, ~{EDIT_CREDITS} an edit)."
        )
        export_cost = "Free." if not offline else "Saved on this computer."
        took = OFFLINE_TIME if offline else m.typical_time
        tips = " ".join(m.tips[:2])
        return cls(
            instructions=(
                f"{m.display_name}: {m.description} Typical flow: upload_media, then send_edit "
                f"with the user's words (e.g. {m.examples[0]!r}), then export_video. Long work "
                "returns status 'running' with a job_id: ask again with send_edit('status') or "
                "get_timeline, never by repeating the request. Relay replies in plain words; "
                f"never show tokens. {tips}"
            ),
            upload=(
                f"Upload files for {m.display_name}: full local paths or http(s) links. Accepts "
                f"{types}, up to {m.max_upload_mb} MB each; the type is checked by content."
                f"{heic_words}"
            ),
            send_edit=(
                f"Ask {m.display_name} for a change in plain words, e.g. {m.examples[1]!r}. "
                f"{cost} Takes {took}; if longer it returns 'running' (then send "
                "'status'; never resend). 'export', 'credits', 'status', 'stop' work here too."
            ),
            get_timeline="The project's tracks, whether it can be exported, and running work.",
            export_video=(
                f"Render the timeline to an MP4 and save it (default folder {settings.output_dir})."
                f" {export_cost} If it returns 'running', call again later to get the file."
            ),
            check_credits="The credit balance: available, frozen by running work, total."
            + (" Offline, a local counter that refills." if offline else ""),
        )

    @classmethod
    def for_manifests(
        cls,
        manifests: Mapping[str, Manifest],
        settings: Settings,
        deployment: Deployment,
        *,
        heic: bool = True,
    ) -> ToolTexts:
        """One skill's words, or the words of a server of every skill (each tool's ``skill``
        argument lists them; the server picks one from the words and media when it is left out).
        """
        if len(manifests) == 1:
            only = next(iter(manifests.values()))
            return cls.for_manifest(only, settings, deployment, heic=heic)
        offline = deployment.mode == "offline"
        ms = list(manifests.values())
        largest = max(m.max_upload_mb for m in ms)
        low = min(m.typical_seconds[0] for m in ms)
        high = max(m.typical_seconds[1] for m in ms)
        took = OFFLINE_TIME if offline else f"{low}-{high} s"
        converts = heic and any("heic" in m.accepted_types for m in ms)
        cost = (
            "Offline: credits only count the work."
            if offline
            else f"Costs credits (~{GENERATION_CREDITS} a clip, ~{EDIT_CREDITS} an edit); "
            "may ask first."
        )
        skills = "; ".join(f"{m.name}: {m.description}" for m in ms)
        one = cls.for_manifest(ms[0], settings, deployment, heic=heic)
        return cls(
            instructions=(
                f"NemoVideo, {len(ms)} skills: {skills} Every tool takes an optional `skill`; "
                "without it the server picks one from the user's words and media, and asks "
                "which when two fit. Typical flow: upload_media, then send_edit with the user's "
                "words, then export_video. Long work returns status 'running' with a job_id: ask "
                "again with send_edit('status') or get_timeline, never by repeating the request; "
                "'stop' cancels it. Relay replies in plain words; never show tokens."
            ),
            upload=(
                "Upload files: full local paths or http(s) links. Each skill takes its own types "
                f"(see `skill`), up to {largest} MB; the type is checked by content."
                + (" HEIC photos are converted to JPEG first." if converts else "")
            ),
            send_edit=(
                "Ask for a change in plain words, e.g. 'turn these photos into a video with "
                f"transitions'. {cost} Takes {took}; if longer it returns 'running' (then send "
                "'status'; never resend). 'export', 'credits', 'status', 'stop' work here too."
            ),
            get_timeline=one.get_timeline,
            export_video=one.export_video,
            check_credits=one.check_credits,
        )
