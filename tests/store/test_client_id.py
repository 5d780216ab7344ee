"""The shared ``client_id`` file: created once, whoever comes first; replaced only on request."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

from nemo_mcp.store import ensure_client_id, read_client_id, replace_client_id


def test_it_is_a_plain_uuid_file_the_vendors_skills_can_read(tmp_path: Path) -> None:
    value = ensure_client_id(tmp_path)
    assert (tmp_path / "client_id").read_text().strip() == value
    assert str(uuid.UUID(value)) == value
    assert ensure_client_id(tmp_path) == value
    assert read_client_id(tmp_path) == value


def test_a_damaged_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "client_id").write_text("not a uuid\n")
    assert read_client_id(tmp_path) is None
    value = ensure_client_id(tmp_path)
    assert read_client_id(tmp_path) == value


def test_replacing_writes_a_new_one(tmp_path: Path) -> None:
    old = ensure_client_id(tmp_path)
    new = replace_client_id(tmp_path)
    assert new != old and read_client_id(tmp_path) == new
    assert [p.name for p in tmp_path.iterdir()] == ["client_id"], "no temporary files left"


def _ensure(folder: str, out: multiprocessing.Queue[str]) -> None:
    out.put(ensure_client_id(Path(folder)))


@pytest.mark.real  # several processes
def test_processes_started_together_agree(tmp_path: Path) -> None:
    for attempt in range(5):
        folder = tmp_path / str(attempt)
        ctx = multiprocessing.get_context("fork")
        out: multiprocessing.Queue[str] = ctx.Queue()
        workers = [ctx.Process(target=_ensure, args=(str(folder), out)) for _ in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(10)
        seen = {out.get(timeout=5) for _ in workers}
        assert len(seen) == 1, f"attempt {attempt}: {seen}"
        assert sorted(p.name for p in folder.iterdir()) == ["client_id"]
