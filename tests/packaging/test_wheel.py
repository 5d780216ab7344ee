"""The distributions a user installs: a wheel and an sdist that ``twine check`` accepts, and the
wheel, installed into a clean virtual environment, runs ``nemo-mcp skills`` with every skill."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from nemo_mcp import __version__

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_wheel_installs_into_a_clean_venv_and_lists_every_skill(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "hatchling", "build", "-d", dist)
    wheel = next(dist.glob("nemo_mcp-*.whl"))
    sdist = next(dist.glob("nemo_mcp-*.tar.gz"))
    assert wheel.name == f"nemo_mcp-{__version__}-py3-none-any.whl"
    _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    shipped_files = zipfile.ZipFile(wheel).namelist()
    for font_file in ("DroidSansFallback-subset.ttf", "DroidSansFallback-LICENSE.txt"):
        assert f"nemo_local/data/{font_file}" in shipped_files, "Chinese titles need the font"

    clean = tmp_path / "clean"
    venv.create(clean, with_pip=False)
    python = clean / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    # The wheel itself, no index: its dependencies come from this environment's site-packages,
    # added *after* the clean one, so nemo_mcp can only be the wheel's copy.
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", wheel)  # fmt: skip
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                .stdout.strip())  # fmt: skip
    (site / "zz_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = _run(python, "-c", "import nemo_mcp; print(nemo_mcp.__file__)").stdout.strip()
    assert Path(where).is_relative_to(clean), where
    script = clean / ("Scripts/nemo-mcp.exe" if sys.platform == "win32" else "bin/nemo-mcp")
    listed = json.loads(_run(script, "skills", "--json").stdout)
    shipped = sorted(p.stem for p in (ROOT / "skill_manifests").glob("*.yaml"))
    assert sorted(s["name"] for s in listed) == shipped
