"""Skill manifests: one YAML file per skill, validated into an immutable model.

A manifest decides the attribution headers, what the tools say, the accepted media types and
the size limit. Adding a skill is adding a YAML file: nothing here names a skill.

Manifests are found in the installed package (``nemo_mcp/skill_manifests``, where the wheel
puts the repository's ``skill_manifests/``) and, for a source checkout installed in editable
mode, in ``skill_manifests/`` beside ``src/``. ``NEMO_MANIFEST_DIR`` (``Settings.manifest_dir``)
adds one more folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nemo_mcp.errors import ConfigError
from nemo_media.mediatypes import BACKEND_TYPES

# Media types by their usual extension. HEIC is ours: converted to JPEG before upload.
CONVERTIBLE_TYPES = ("heic",)
KNOWN_TYPES = BACKEND_TYPES + CONVERTIBLE_TYPES

PACKAGE_MANIFEST_DIR = Path(__file__).resolve().parent / "skill_manifests"
SOURCE_MANIFEST_DIR = Path(__file__).resolve().parents[2] / "skill_manifests"

NonEmpty = Annotated[str, Field(min_length=1)]
MediaShape = Literal["one-image", "one-image-audio", "photos", "video-audio"]


class Choosing(BaseModel):
    """When a server of every skill picks this one (``nemo_mcp.skill_choice`` has the rules):
    the words that point to it (English whole words, Chinese anywhere) and the media it fits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    words: tuple[NonEmpty, ...] = ()
    media: tuple[MediaShape, ...] = ()
    choice: Annotated[str, Field(max_length=160)] = ""
    """One sentence for the ``skill`` argument's description: when to pick this skill."""


class Manifest(BaseModel):
    """One skill. Unknown keys are refused so a typo does not pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    version: Annotated[str, Field(pattern=r"^\d+(\.\d+){0,2}([-+][\w.]+)?$")]
    display_name: NonEmpty
    description: Annotated[str, Field(min_length=1, max_length=300)]
    accepted_types: Annotated[tuple[str, ...], Field(min_length=1)]
    max_upload_mb: Annotated[int, Field(gt=0, le=2048)]
    typical_seconds: tuple[int, int]
    examples: Annotated[tuple[NonEmpty, ...], Field(min_length=1)]
    tips: tuple[NonEmpty, ...] = ()
    choosing: Choosing = Choosing()

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # YAML reads 1.0 as a float; a version is text.
        return str(value) if isinstance(value, int | float) else value

    @field_validator("accepted_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(t.lower().lstrip(".") for t in value))
        unknown = [t for t in cleaned if t not in KNOWN_TYPES]
        if unknown:
            raise ValueError(
                f"unknown type(s) {', '.join(unknown)}; known: {', '.join(KNOWN_TYPES)}"
            )
        return cleaned

    @model_validator(mode="after")
    def _typical_range(self) -> Manifest:
        low, high = self.typical_seconds
        if not 0 < low <= high:
            raise ValueError("typical_seconds must be [min, max] with 0 < min <= max")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def typical_time(self) -> str:
        low, high = self.typical_seconds
        if high >= 120:
            return f"{low}-{high} s ({low / 60:g}-{high / 60:g} min)"
        return f"{low}-{high} s"

    def summary(self) -> dict[str, Any]:
        """The machine-readable listing (``nemo-mcp skills --json``)."""
        return self.model_dump(mode="json")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_manifest(text: str, source: str) -> Manifest:
    """A manifest from YAML text; ``source`` names the file in errors."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a manifest must be a mapping of fields")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None
    stem = Path(source).stem
    if stem != manifest.name:
        raise ConfigError(f"{source}: name: {manifest.name!r} must match the file name {stem!r}")
    return manifest


def manifest_dirs(extra: Path | None = None) -> list[Path]:
    """Where manifests are looked for: the package, the source checkout, then ``extra``."""
    dirs = [PACKAGE_MANIFEST_DIR, SOURCE_MANIFEST_DIR, *([extra] if extra else [])]
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def load_manifests(dirs: Iterable[Path] | None = None) -> dict[str, Manifest]:
    """All manifests by name. A later folder's file of the same name wins."""
    found: dict[str, Manifest] = {}
    for folder in manifest_dirs() if dirs is None else dirs:
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            found[path.stem] = parse_manifest(path.read_text(encoding="utf-8"), str(path))
    if not found:
        raise ConfigError("no skill manifests found (the installation looks incomplete)")
    return dict(sorted(found.items()))


def get_manifest(name: str | None, manifests: Mapping[str, Manifest]) -> Manifest:
    """The named skill, or a ConfigError that lists the available ones."""
    available = ", ".join(manifests)
    if not name:
        raise ConfigError(f"no skill given: use --skill NAME or NEMO_SKILL. Available: {available}")
    try:
        return manifests[name]
    except KeyError:
        raise ConfigError(f"unknown skill {name!r}. Available: {available}") from None
