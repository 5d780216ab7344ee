"""``nemo-mcp serve --http``: the shared server in the foreground, until SIGINT or SIGTERM.

uvicorn serves the ASGI app; on a signal it stops taking requests, lets the ones in flight
finish, and the lifespan cancels the jobs this worker runs (they stay on record, and another
worker's sweep takes them over).
"""

from __future__ import annotations

from nemo_mcp.manifests import Manifest
from nemo_mcp.settings import Settings


def serve_http(manifest: Manifest, settings: Settings, *, host: str, port: int) -> int:
    import uvicorn

    from nemo_mcp.remote.http_app import build_app
    from nemo_mcp.remote.jsonlog import setup_json_logging

    setup_json_logging(settings.log_level)
    app = build_app(manifest, settings, host=host, port=port)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    return 0
