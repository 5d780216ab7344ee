from __future__ import annotations

import textwrap
import zipfile
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

from nemo_mcp.errors import ConfigError
from nemo_mcp.manifests import (
    SOURCE_MANIFEST_DIR,
    Manifest,
    get_manifest,
    load_manifests,
    parse_manifest,
)

SEED_SKILLS = {
    "dreamface-ai": 200,
    "picture-to-video-ai": 200,
    "infinite-talk-ai": 200,
    "lipsyncvideo-ai": 500,
    "meta-ai-image-to-video": 200,
}

VALID = textwrap.dedent(
    """
    name: sixth-skill
    version: "2.1.0"
    display_name: Sixth Skill
    description: Does a sixth thing.
    accepted_types: [jpg, MP4, .png]
    max_upload_mb: 100
    typical_seconds: [10, 20]
    examples: [do the sixth thing]
    tips: [be specific]
    """
)


def test_every_seed_has_a_manifest(manifests: dict[str, Manifest]) -> None:
    assert {name: m.max_upload_mb for name, m in manifests.items()} == SEED_SKILLS


@pytest.mark.parametrize("name", sorted(SEED_SKILLS))
def test_seed_manifests_are_complete(manifests: dict[str, Manifest], name: str) -> None:
    m = manifests[name]
    assert m.version and m.display_name and m.description
    assert len(m.examples) == 3
    assert m.tips
    assert m.typical_seconds[0] <= m.typical_seconds[1]


def test_accepted_types_follow_the_seeds(manifests: dict[str, Manifest]) -> None:
    assert set(manifests["lipsyncvideo-ai"].accepted_types) == {
        "mp4", "mov", "mp3", "wav", "m4a", "aac",
    }  # fmt: skip
    assert "heic" in manifests["picture-to-video-ai"].accepted_types
    assert "heic" in manifests["meta-ai-image-to-video"].accepted_types
    assert "heic" not in manifests["dreamface-ai"].accepted_types
    assert {"mp4", "mov", "jpg", "png"} <= set(manifests["infinite-talk-ai"].accepted_types)


def test_a_valid_manifest_is_normalised() -> None:
    m = parse_manifest(VALID, "sixth-skill.yaml")
    assert m.accepted_types == ("jpg", "mp4", "png")
    assert m.max_upload_bytes == 100 * 1024 * 1024
    assert m.typical_time == "10-20 s"


def test_a_sixth_skill_is_just_a_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "sixth-skill.yaml").write_text(VALID, encoding="utf-8")
    found = load_manifests([SOURCE_MANIFEST_DIR, tmp_path])
    assert "sixth-skill" in found
    assert len(found) == len(SEED_SKILLS) + 1


def test_float_version_is_read_as_text() -> None:
    m = parse_manifest(VALID.replace('"2.1.0"', "1.0"), "sixth-skill.yaml")
    assert m.version == "1.0"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        pytest.param(
            ("max_upload_mb: 100", "max_upload_mb: 0"),
            "max_upload_mb",
            "greater than 0",
            id="zero-size",
        ),
        pytest.param(
            ("accepted_types: [jpg, MP4, .png]", "accepted_types: [jpg, exe]"),
            "accepted_types",
            "unknown type(s) exe",
            id="unknown-type",
        ),
        pytest.param(
            ("accepted_types: [jpg, MP4, .png]", "accepted_types: []"),
            "accepted_types",
            "at least 1",
            id="no-types",
        ),
        pytest.param(
            ("typical_seconds: [10, 20]", "typical_seconds: [30, 20]"),
            "(top level)",
            "typical_seconds",
            id="range-backwards",
        ),
        pytest.param(
            ("typical_seconds: [10, 20]", "typical_seconds: fast"),
            "typical_seconds",
            "valid",
            id="range-not-a-list",
        ),
        pytest.param(("name: sixth-skill", "name: Sixth Skill"), "name", "pattern", id="bad-name"),
        pytest.param(
            ('version: "2.1.0"', "version: banana"), "version", "pattern", id="bad-version"
        ),
        pytest.param(
            ("examples: [do the sixth thing]", "examples: []"),
            "examples",
            "at least 1",
            id="no-examples",
        ),
        pytest.param(
            ("tips: [be specific]", "tips: [be specific]\ncolour: blue"),
            "colour",
            "Extra inputs",
            id="unknown-key",
        ),
        pytest.param(
            ("display_name: Sixth Skill\n", ""),
            "display_name",
            "Field required",
            id="missing-field",
        ),
    ],
)
def test_broken_manifest_names_file_field_and_problem(
    change: tuple[str, str], field: str, problem: str
) -> None:
    text = VALID.replace(*change)
    with pytest.raises(ConfigError) as info:
        parse_manifest(text, "skills/sixth-skill.yaml")
    message = str(info.value)
    assert message.startswith("skills/sixth-skill.yaml: ")
    assert field in message
    assert problem in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("name: [unclosed", "not valid YAML", id="bad-yaml"),
        pytest.param("- a\n- b\n", "must be a mapping", id="a-list"),
        pytest.param("", "must be a mapping", id="empty"),
    ],
)
def test_unreadable_manifest(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_manifest(text, "x.yaml")


def test_name_must_match_file_name() -> None:
    with pytest.raises(ConfigError, match="must match the file name 'other'"):
        parse_manifest(VALID, "other.yaml")


def test_broken_file_in_folder_fails_loading(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_manifests([tmp_path])


def test_no_manifests_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no skill manifests"):
        load_manifests([tmp_path])


def test_unknown_skill_lists_the_available(manifests: dict[str, Manifest]) -> None:
    with pytest.raises(ConfigError) as info:
        get_manifest("nope", manifests)
    assert "unknown skill 'nope'" in str(info.value)
    for name in SEED_SKILLS:
        assert name in str(info.value)
    with pytest.raises(ConfigError, match="no skill given"):
        get_manifest(None, manifests)


def test_the_wheel_ships_the_manifests(tmp_path: Path) -> None:
    """An installed nemo-mcp must find its manifests without the source tree."""
    root = Path(__file__).resolve().parents[1]
    builder = WheelBuilder(str(root))
    wheel = next(iter(builder.build(directory=str(tmp_path), versions=["standard"])))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for name in SEED_SKILLS:
        assert f"nemo_mcp/skill_manifests/{name}.yaml" in names
