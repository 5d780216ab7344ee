"""``nemo-mcp config`` launches what each install kind needs, and the README shows exactly that."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_mcp.client_config import config_block
from nemo_mcp.install import Facts, Install, detect

ROOT = Path(__file__).resolve().parents[1]
HOME = Path("/Users/you")
PIPX_ENV = HOME / ".local/share/pipx/venvs/nemo-mcp"
UV_TOOL_ENV = HOME / ".local/share/uv/tools/nemo-mcp"
UVX_ENV = HOME / "Library/Caches/uv/archive-v0/Xc2bS1vX"
VENV = HOME / "nemo-mcp/.venv"
LINK = HOME / ".local/bin/nemo-mcp"


def facts(kind: str) -> Facts:
    """What a process of each install kind sees (paths as on the author's Mac)."""
    prefix = {"pipx": PIPX_ENV, "uv tool": UV_TOOL_ENV, "uvx": UVX_ENV, "venv": VENV}[kind]
    script = prefix / "bin/nemo-mcp"
    linked = kind in ("pipx", "uv tool")
    return Facts(
        prefix=prefix,
        script=script,
        on_path=script if linked else None,  # the link resolves to the env's script
        on_path_as_typed=LINK if linked else None,
        source=str(HOME / "nemo-mcp") if kind == "uvx" else None,
        uvx=str(HOME / ".local/bin/uvx"),
        executable=prefix / "bin/python3",
    )


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        ("pipx", [str(LINK)]),
        ("uv tool", [str(LINK)]),
        ("venv", [str(VENV / "bin/nemo-mcp")]),
        ("uvx", [str(HOME / ".local/bin/uvx"), "--from", str(HOME / "nemo-mcp"), "nemo-mcp"]),
    ],
)
def test_each_install_kind_launches_a_command_that_survives(kind: str, command: list[str]) -> None:
    assert detect(facts(kind)) == Install(kind, command)  # type: ignore[arg-type]


def test_uvx_from_an_index_names_the_package_and_offline_adds_the_local_extra() -> None:
    from_index = Facts(**{**facts("uvx").__dict__, "source": None, "uvx": None})
    assert detect(from_index).command == ["uvx", "--from", "nemo-mcp", "nemo-mcp"]
    assert detect(from_index, local=True).command[2] == "nemo-mcp[local]"
    assert detect(facts("uvx"), local=True).command[2] == f"{HOME}/nemo-mcp[local]"


def test_a_tool_install_without_its_link_on_the_path_uses_the_env_script() -> None:
    alone = Facts(**{**facts("pipx").__dict__, "on_path": None, "on_path_as_typed": None})
    assert detect(alone).command == [str(PIPX_ENV / "bin/nemo-mcp")]


def test_without_any_script_the_python_runs_the_module() -> None:
    bare = Facts(**{**facts("venv").__dict__, "script": None})
    assert detect(bare) == Install("python", [str(VENV / "bin/python3"), "-m", "nemo_mcp"])


_BLOCK = re.compile(r"<!-- config: (\w+) ([\w ]+?)( local)? -->\n```json\n(.*?)\n```", re.S)


def test_the_readme_shows_exactly_what_config_prints() -> None:
    blocks = _BLOCK.findall((ROOT / "README.md").read_text())
    assert {kind for _, kind, _, _ in blocks} >= {"pipx", "venv", "uvx"}
    for client, kind, local, shown in blocks:
        install = detect(facts(kind), local=bool(local))
        printed = config_block(client, None, install.command, local=bool(local))
        assert printed == shown, f"README block {client} {kind}{local}"


@pytest.mark.real  # a process
def test_config_in_a_venv_prints_its_script_and_offline_needs_no_token() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "config", "--client", "claude",
         "--skill", "picture-to-video-ai", "--local"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    script = Path(sys.prefix) / "bin" / "nemo-mcp"
    assert f'"command": "{script}"' in done.stdout
    assert '"args": ["serve", "--skill", "picture-to-video-ai", "--local"]' in done.stdout
    assert "NEMO_TOKEN" not in done.stdout + done.stderr
    assert "no account and no token" in done.stderr


def test_uv_tool_on_windows_keeps_its_tools_under_data() -> None:
    env = HOME / "AppData/Roaming/uv/data/tools/nemo-mcp"
    script = env / "bin/nemo-mcp"
    facts_ = Facts(env, script, script, LINK, None, None, env / "bin/python3")
    assert detect(facts_) == Install("uv tool", [str(LINK)])
