"""The three attribution headers every backend request carries.

The backend refuses exports (HTTP 402) without them. The platform is ``SKILL_SOURCE`` when set,
else read from where this code is installed: ``clawhub`` under a ``.clawhub/`` folder,
``cursor`` under ``.cursor/skills/``, else ``unknown``.
"""

from __future__ import annotations

from pathlib import PurePath

from nemo_mcp.manifests import Manifest

PLATFORM_MARKERS = ((".clawhub/", "clawhub"), (".cursor/skills/", "cursor"))


def detect_platform(install_path: str | PurePath) -> str:
    """``clawhub``, ``cursor`` or ``unknown`` from an install path (either slash style)."""
    path = str(install_path).replace("\\", "/").rstrip("/") + "/"
    for marker, platform in PLATFORM_MARKERS:
        if f"/{marker}" in path or path.startswith(marker):
            return platform
    return "unknown"


def attribution_headers(
    manifest: Manifest, platform: str | None, install_path: str | PurePath
) -> dict[str, str]:
    """``X-Skill-Source``, ``X-Skill-Version`` and ``X-Skill-Platform`` for this skill.

    ``platform`` is ``SKILL_SOURCE`` (``Settings.skill_source``) when the user set it."""
    override = (platform or "").strip()
    return {
        "X-Skill-Source": manifest.name,
        "X-Skill-Version": manifest.version,
        "X-Skill-Platform": override or detect_platform(install_path),
    }
