"""How the one HTTP client is made: lazily, and offline without a TLS trust store."""

from __future__ import annotations

import ssl
from dataclasses import replace

import pytest

from nemo_mcp.backend.http import ApiHttp
from nemo_mcp.settings import Settings


def _trust_store_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loads: list[str] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append("load")
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    return loads


async def test_offline_the_client_loads_no_trust_store(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, every request is plain HTTP to loopback: the trust store (~80 ms) is not loaded."""
    loads = _trust_store_loads(monkeypatch)
    http = ApiHttp(replace(settings, api_url="http://127.0.0.1:9"), {}, local=True)
    assert http._client is not None
    await http.aclose()
    assert loads == []


async def test_online_the_client_verifies_tls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _trust_store_loads(monkeypatch)
    http = ApiHttp(settings, {})
    assert loads == [], "nothing is made before the first request"
    assert http._client is not None
    await http.aclose()
    assert loads, "the cloud's certificate is checked"
