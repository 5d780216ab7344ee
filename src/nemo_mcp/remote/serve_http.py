"""``nemo-mcp serve --http``: the shared server in the foreground, until SIGINT or SIGTERM.

uvicorn serves the ASGI app. On the first signal the worker drains (drain.py): ``/readyz``
answers 503 for ``NEMO_DRAIN`` seconds while it goes on serving, then it stops listening, lets
the requests in flight finish (up to ``NEMO_TOOL_WAIT``), and the lifespan leaves the jobs it
still runs on record for another worker. The exit status is non-zero when the worker could not
start (3, uvicorn's) or stopped being able to serve (1): its supervisor then starts a new one.

An idle connection is kept ``KEEP_ALIVE_S``, longer than the balancer keeps one for reuse: a
worker closing it just as the balancer sends a request on it loses that request (HAProxy then
closes the client's connection without an answer; uvicorn's default of 5 s did so now and then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings

if TYPE_CHECKING:
    import uvicorn

GRACE_MARGIN_S = 5.0
KEEP_ALIVE_S = 90
"""Past deploy/haproxy.cfg's ``timeout http-keep-alive`` (60 s) and the 60 s idle timeout that
most other balancers default to, with room for HAProxy's purge of its idle pool (every 5 s)."""
STARTUP_FAILURE = 3


def serve_http(
    manifests: Mapping[str, Manifest], settings: Settings, *, host: str, port: int
) -> int:
    from nemo_mcp.remote.drain import DrainingServer, Lifecycle
    from nemo_mcp.remote.http_app import build_app
    from nemo_mcp.remote.jsonlog import setup_json_logging
    from nemo_mcp.remote.outage import quiet_retries

    setup_json_logging(settings.log_level)
    quiet_retries()
    resilience = settings.resilience
    lifecycle = Lifecycle()
    app = build_app(
        manifests, settings, host=host, port=port, resilience=resilience, lifecycle=lifecycle
    )
    config = uvicorn_config(app, settings, host=host, port=port)
    server = DrainingServer(config, lifecycle, resilience.drain)
    server.run()
    if not server.started:
        return STARTUP_FAILURE
    return lifecycle.exit_code


def uvicorn_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
        timeout_graceful_shutdown=int(settings.tool_wait + GRACE_MARGIN_S),
        timeout_keep_alive=KEEP_ALIVE_S,
    )  # fmt: skip
