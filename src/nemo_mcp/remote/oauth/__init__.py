"""``serve --http`` as an OAuth 2.1 authorization server for its own resource (docs/DEPLOY.md).

Connector UIs (hosted assistants) sign in with OAuth: dynamic registration, authorization code
with PKCE, short-lived access tokens, rotating refresh tokens, revocation. The protocol is the
SDK's (``mcp.server.auth``); this package keeps the records (store.py, pg.py), issues and checks
tokens (provider.py), shows the sign-in page (signin.py, pages.py) and wires it in (gate.py).
"""

from __future__ import annotations

from nemo_mcp.remote.oauth.gate import OAuth, is_issued, is_open, open_oauth_store

__all__ = ["OAuth", "is_issued", "is_open", "open_oauth_store"]
