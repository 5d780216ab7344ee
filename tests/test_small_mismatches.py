"""What the README, the tool text and the manifests say agree (issue 13's smaller mismatches)."""

from __future__ import annotations

import re
from pathlib import Path

from nemo_mcp.deployment import Deployment
from nemo_mcp.manifests import load_manifests
from nemo_mcp.settings import Settings
from nemo_mcp.tool_text import ToolTexts
from nemo_mcp.tools.registry import PROMPT_NAME_CHARS, prompt_name

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()

CLOUD = Deployment("cloud")


def test_the_readme_generation_time_is_the_manifests_range() -> None:
    manifests = load_manifests().values()
    low = min(m.typical_seconds[0] for m in manifests)
    high = max(m.typical_seconds[1] for m in manifests)
    assert f"A generation takes {low}-{high} s" in README
    for m in manifests:
        text = ToolTexts.for_manifest(m, Settings(), CLOUD).send_edit
        assert f"Takes {m.typical_seconds[0]}-{m.typical_seconds[1]} s" in text


def test_credits_are_called_frozen_everywhere() -> None:
    assert "reserved" not in README
    m = next(iter(load_manifests().values()))
    assert "frozen" in ToolTexts.for_manifest(m, Settings(), CLOUD).check_credits


def test_prompt_names_are_whole_words_and_unique() -> None:
    for m in load_manifests().values():
        names = [prompt_name(e) for e in m.examples]
        assert len(set(names)) == len(names), names
        for example, name in zip(m.examples, names, strict=True):
            words = re.sub(r"[^a-z0-9]+", " ", example.lower()).split()
            kept = name.split("-")
            assert kept == words[: len(kept)], (example, name)  # a prefix of whole words
            assert len(name) <= PROMPT_NAME_CHARS


def test_a_long_example_is_cut_between_words() -> None:
    example = "convert three product photos or a single portrait image into a 1080p MP4 please"
    name = prompt_name(example)
    assert name == "convert-three-product-photos-or-a-single-portrait-image-into"
    assert len(name) <= PROMPT_NAME_CHARS


def test_examples_without_latin_letters_get_distinct_names() -> None:
    first, second = prompt_name("把这些照片做成视频"), prompt_name("加背景音乐")
    assert first != second and first.startswith("example-")
    assert prompt_name("把这些照片做成视频") == first, "stable"


def test_offline_tool_text_has_no_cloud_prices_or_cloud_times() -> None:
    m = load_manifests()["picture-to-video-ai"]
    offline = ToolTexts.for_manifest(m, Settings(), Deployment("offline"))
    cloud = ToolTexts.for_manifest(m, Settings(), CLOUD)
    assert "~100" in cloud.send_edit and "~100" not in offline.send_edit
    assert m.typical_time in cloud.send_edit and m.typical_time not in offline.send_edit
    assert "refill" in offline.send_edit and "refills" in offline.check_credits
