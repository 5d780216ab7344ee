"""The leak checker of the remote suites (leaks.py) catches what issue 22 saw, and lets the
upload reference through."""

from __future__ import annotations

from tests.remote.conftest import Cluster, connect, new_token
from tests.remote.leaks import Answers


def test_the_patterns_catch_what_the_issue_saw() -> None:
    """The checker itself: each example from issue 22 is caught, the upload reference is not."""
    seen = Answers()
    seen.add(
        "a",
        "There is no file at /srv/remote/uploads/u_edce517be8c12b2a2f1a984450e82030d01fe5a0/x",
        tool=True,
    )
    seen.add("b", {"summary": "Video: 2136e96c9809-lisbon-1.jpg"}, tool=True)
    seen.add("c", {"link": "https://nemovideo.com/workspace/claim?ct=x"}, tool=True)
    seen.add("d", {"ref": "upload:2136e96c9809-lisbon-1.jpg", "name": "lisbon-1.jpg"}, tool=False)
    found = seen.leaks()
    assert [f.split(":")[0] for f in found] == ["a", "a", "b", "c"], found


async def test_the_checker_sees_the_suites_answers(
    fresh: Cluster, answers_leak_nothing: Answers
) -> None:
    before = len(answers_leak_nothing.seen)
    async with connect(fresh.url, new_token(fresh.backend.url)) as client:
        await client.call_tool("check_credits", {})
    assert [w for w, _, _ in answers_leak_nothing.seen[before:]] == ["tool check_credits"]
