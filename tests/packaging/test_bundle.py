"""The MCP Bundle manifest and the registry entry agree with the package, and the bundle builds
and validates with the official tool (when it is installed: ``npm ci`` in packaging/, which
``.ci/check-packaging`` does in CI)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from nemo_mcp import __version__
from nemo_mcp.manifests import load_manifests
from nemo_mcp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "packaging/mcpb/manifest.json").read_text())
SERVER = json.loads((ROOT / "server.json").read_text())
MCPB = ROOT / "packaging/node_modules/.bin/mcpb"


def test_versions_agree_everywhere() -> None:
    assert MANIFEST["version"] == SERVER["version"] == __version__
    assert all(p["version"] == __version__ for p in SERVER["packages"])


def test_the_bundle_runs_the_server_with_uv_and_its_user_config() -> None:
    server = MANIFEST["server"]
    assert server["type"] == "uv" and (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "uv"
    # Every skill unless the user narrows it: an empty field is no skill (see below).
    assert config["args"][-1] == "serve"
    assert config["env"]["NEMO_SKILL"] == "${user_config.skill}"
    fields = MANIFEST["user_config"]
    assert fields["nemo_token"]["sensitive"] is True and not fields["nemo_token"]["required"]
    assert fields["output_dir"]["type"] == "directory"
    assert not fields["skill"]["required"] and "default" not in fields["skill"]
    used = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(config)))
    assert used == set(fields), "every field is used, and only declared fields"
    assert {t["name"] for t in MANIFEST["tools"]} == {
        "upload_media", "send_edit", "get_timeline", "export_video", "check_credits",
    }  # fmt: skip


def test_an_empty_optional_field_is_no_token() -> None:
    """A host may pass the placeholder of a field the user left empty; it is not a value."""
    env = MANIFEST["server"]["mcp_config"]["env"]
    settings = Settings.from_env(env)
    assert settings.token is None
    assert settings.skill is None  # every skill
    assert settings.output_dir == Settings.from_env({}).output_dir


def test_the_bundle_has_an_offline_switch_and_installs_what_offline_needs() -> None:
    """The switch sets NEMO_OFFLINE, which makes ``serve`` run as ``serve --local``; ``uv run``
    installs the ``local`` extra (FFmpeg, Pillow: what ``doctor --local`` checks), so turning
    the switch on needs no reinstall."""
    field = MANIFEST["user_config"]["offline"]
    assert (field["type"], field["default"], field["required"]) == ("boolean", False, False)
    config = MANIFEST["server"]["mcp_config"]
    args = config["args"]
    assert args[args.index("--extra") + 1] == "local"
    assert args.index("--extra") < args.index("nemo-mcp")
    local_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["local"]
    assert any(d.startswith("imageio-ffmpeg") for d in local_extra)
    assert any(d.startswith("pillow") for d in local_extra)
    env = config["env"]
    assert env["NEMO_OFFLINE"] == "${user_config.offline}"
    assert Settings.from_env(env).offline is False, "an unset switch is off"
    assert Settings.from_env({**env, "NEMO_OFFLINE": "true"}).offline is True
    assert Settings.from_env({**env, "NEMO_OFFLINE": "false"}).offline is False
    with pytest.raises(ValueError, match="NEMO_OFFLINE"):
        Settings.from_env({"NEMO_OFFLINE": "maybe"})


def _as_the_host_runs_it(values: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The manifest's command after ``uv run ... nemo-mcp`` and its environment, with the
    user's settings filled in as the host does (the installed package stands in for uv's)."""
    config = json.loads(
        re.sub(
            r"\$\{user_config\.(\w+)\}",
            lambda m: values.get(m[1], m[0]),
            json.dumps(MANIFEST["server"]["mcp_config"]),
        )
    )
    args = config["args"]
    return [sys.executable, "-m", "nemo_mcp", *args[args.index("nemo-mcp") + 1 :]], config["env"]


async def test_the_bundles_command_with_the_switch_on_works_offline(tmp_path: Path) -> None:
    """The real path: the bundle's command and settings, spawned over stdio, answer from the
    embedded backend (no cloud address is reachable here)."""
    from mcp import Client, StdioServerParameters

    # The skill left empty: every skill.
    values = {"offline": "true", "skill": "", "output_dir": str(tmp_path / "out")}
    command, env = _as_the_host_runs_it(values)
    env = {**env, "NEMO_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path),
           "NEMO_API_URL": "http://127.0.0.1:9", "PATH": os.environ.get("PATH", "")}  # fmt: skip
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with Client(params, mode="legacy") as client:
        result = await client.call_tool("check_credits", {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert "Offline" in result.structured_content["reply"]
    assert (tmp_path / "cfg" / "local-backend" / "state.json").exists()


def test_the_registry_entry_names_the_pypi_package_and_its_secret() -> None:
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", SERVER["name"])
    assert 1 <= len(SERVER["description"]) <= 100
    [package] = SERVER["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "nemo-mcp"
    assert package["transport"] == {"type": "stdio"}
    secrets = {v["name"] for v in package["environmentVariables"] if v.get("isSecret")}
    assert secrets == {"NEMO_TOKEN"}
    skill = next(a for a in package["packageArguments"] if a.get("name") == "--skill")
    assert set(skill["choices"]) == set(load_manifests())
    assert not skill["isRequired"] and "default" not in skill
    assert f"mcp-name: {SERVER['name']}" in (ROOT / "README.md").read_text()


@pytest.mark.skipif(not MCPB.exists(), reason="run `npm ci` in packaging/ (CI does)")
def test_the_bundle_builds_and_validates_with_the_official_tool(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "packaging/build-mcpb"), str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Manifest schema validation passes" in done.stdout
    with zipfile.ZipFile(tmp_path / f"nemo-mcp-{__version__}.mcpb") as bundle:
        names = set(bundle.namelist())
    assert {"manifest.json", "pyproject.toml", "src/nemo_mcp/__main__.py"} <= names
    assert {f"skill_manifests/{s}.yaml" for s in load_manifests()} <= names
    assert not any("__pycache__" in n for n in names)
