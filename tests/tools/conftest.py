"""The MCP layer in memory: ``Client(server)`` against a server whose backend is ``FakeBackend``.

Every structured result a test reads through ``call`` is validated against the tool's published
output schema, so a result and its schema can never drift apart.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.types import CallToolResult

from nemo_mcp.manifests import Manifest
from nemo_mcp.server import create_server
from nemo_mcp.settings import Settings
from tests.fakes.backend import FakeBackend


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


@dataclass
class Session:
    """An entered in-memory client, with the tools' output schemas at hand."""

    client: Client
    schemas: dict[str, dict[str, Any]]

    async def call(
        self, tool: str, arguments: dict[str, Any] | None = None, **kw: Any
    ) -> CallToolResult:
        result = await self.client.call_tool(tool, arguments or {}, **kw)
        if not result.is_error:
            assert result.structured_content is not None
            validator_of(self.schemas[tool]).validate(result.structured_content)
        return result

    async def data(
        self, tool: str, arguments: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        result = await self.call(tool, arguments, **kw)
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        return result.structured_content

    async def error(self, tool: str, arguments: dict[str, Any] | None = None) -> str:
        result = await self.call(tool, arguments)
        assert result.is_error, result.structured_content
        return text_of(result)


_VALIDATORS: dict[str, Any] = {}


def validator_of(schema: dict[str, Any]) -> Any:
    """A validator for ``schema``, the schema itself checked once a run: ``jsonschema.validate``
    checks it against its meta-schema on every call, which cost more than the call."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[key] = cls(schema)
    return _VALIDATORS[key]


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture
def tool_settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "media").mkdir()
    # Asking before spending has its own tests (test_confirm_spend.py); elsewhere it would only
    # add a balance read to every edit.
    return replace(
        settings, media_roots=(tmp_path / "media",), tool_wait=5.0, poll_interval=0.0,
        confirm_spend="never",
    )  # fmt: skip


@pytest.fixture
def open_session(tool_settings: Settings, manifest: Manifest, fake: FakeBackend):  # type: ignore[no-untyped-def]
    """``async with open_session(**settings) as s``: a fresh server and client in this task.

    ``skills=`` (a mapping of manifests) serves those skills instead of the one ``manifest``;
    ``client=`` passes keywords to the client (an elicitation callback)."""

    @asynccontextmanager
    async def open_(
        skills: Any = None, client_options: dict[str, Any] | None = None, **overrides: Any
    ) -> AsyncIterator[Session]:
        server = create_server(
            skills or manifest, replace(tool_settings, **overrides), transport=fake.transport
        )
        async with Client(server, **{"mode": "legacy", **(client_options or {})}) as client:
            tools = (await client.list_tools()).tools
            yield Session(client, {t.name: t.output_schema or {} for t in tools})

    return open_
