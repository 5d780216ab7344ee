"""User keys and sealed tokens: pure, no services needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nemo_mcp.remote.auth import Keys, Unauthorized, bearer, challenge

KEYS = Keys.from_setting("k" * 32)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer   ", "Basic abc", "Bearer a b", "Bearer \x00x", "Bearer the"],
)
def test_a_missing_or_malformed_bearer_is_refused(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer(header)


def test_the_token_is_read_from_the_header() -> None:
    assert bearer("Bearer nmv_usr_abcdef0123") == "nmv_usr_abcdef0123"
    assert bearer("bearer  nmv_usr_abcdef0123 ") == "nmv_usr_abcdef0123"


def test_a_user_key_is_stable_distinct_and_hides_the_token() -> None:
    a, b = KEYS.user_key("nmv_usr_alice1"), KEYS.user_key("nmv_usr_bob222")
    assert a == KEYS.user_key("nmv_usr_alice1") and a != b
    assert "alice" not in a and a != Keys.from_setting("z" * 32).user_key("nmv_usr_alice1")


def test_a_sealed_token_opens_only_with_its_server_key_and_user() -> None:
    key = KEYS.user_key("nmv_usr_alice1")
    sealed = KEYS.seal("nmv_usr_alice1", key)
    assert "alice" not in sealed and sealed != KEYS.seal("nmv_usr_alice1", key)
    assert KEYS.open(sealed, key) == "nmv_usr_alice1"
    with pytest.raises(ValueError):
        KEYS.open(sealed, KEYS.user_key("nmv_usr_bob222"))
    with pytest.raises(ValueError):
        Keys.from_setting("z" * 32).open(sealed, key)


def test_a_short_server_key_is_refused() -> None:
    with pytest.raises(ValueError, match="NEMO_SERVER_KEY"):
        Keys.from_setting("short")


def test_the_challenge_never_breaks_its_quotes() -> None:
    assert challenge('say "hi"') == (
        'Bearer realm="nemo-mcp", error="invalid_token", error_description="say \'hi\'"'
    )


def test_the_stdio_server_loads_nothing_of_the_remote_stack() -> None:
    code = (
        "import sys, nemo_mcp.cli, nemo_mcp.server, nemo_mcp.serve; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg_pool', 'procrastinate') or m.startswith('nemo_mcp.remote')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_http_needs_a_server_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "", "HOME": str(tmp_path), "NEMO_CONFIG_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "serve", "--http", "--skill", "picture-to-video-ai"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "NEMO_SERVER_KEY" in out.stderr
