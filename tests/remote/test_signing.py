"""Signed download links: pure, no services needed (the cluster test is in test_downloads.py)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from nemo_mcp.remote.signing import ALTERED, EXPIRED, LinkRefused, LinkSigner

SIGNER = LinkSigner(b"s" * 32, ttl=3600)
ALICE, BOB = "u_" + "a" * 40, "u_" + "b" * 40
NOW = 1_800_000_000.0


def params(query: str) -> dict[str, str]:
    return dict(parse_qsl(query))


def test_a_link_opens_for_its_user_and_file_until_it_expires() -> None:
    link = params(SIGNER.query(ALICE, "v.mp4", NOW))
    assert ALICE not in str(link) and "a" * 20 not in str(link)  # the key never shows
    assert SIGNER.check("v.mp4", link, NOW + 3599) == ALICE
    with pytest.raises(LinkRefused, match=EXPIRED):
        SIGNER.check("v.mp4", link, NOW + 3601)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: {**p, "exp": str(int(p["exp"]) + 3600)},  # a longer life
        lambda p: {**p, "sig": p["sig"][:-2] + ("AA" if p["sig"][-2:] != "AA" else "BB")},
        lambda p: {**p, "u": params(SIGNER.query(BOB, "v.mp4", NOW))["u"]},  # another user
        lambda p: {k: v for k, v in p.items() if k != "sig"},
        lambda p: {**p, "u": "not-base64!"},
        lambda p: {**p, "exp": "soon"},
    ],
)
def test_an_altered_link_is_refused(change: object) -> None:
    link = params(SIGNER.query(ALICE, "v.mp4", NOW))
    with pytest.raises(LinkRefused, match="not valid"):
        SIGNER.check("v.mp4", change(link), NOW)  # type: ignore[operator]


def test_a_link_is_bound_to_its_file_and_server_key() -> None:
    link = params(SIGNER.query(ALICE, "v.mp4", NOW))
    with pytest.raises(LinkRefused, match=ALTERED[:20]):
        SIGNER.check("w.mp4", link, NOW)
    with pytest.raises(LinkRefused):
        LinkSigner(b"t" * 32).check("v.mp4", link, NOW)
