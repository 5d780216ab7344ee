"""The deployment's web links: pages on NEMO_WEB_URL are offered only for the backend they
belong to (issue 22: a shared server on the embedded backend linked to nemovideo.com)."""

from __future__ import annotations

from nemo_mcp.deployment import Deployment
from nemo_mcp.settings import Settings


def test_web_links_belong_to_the_cloud_or_to_a_web_url_the_operator_named() -> None:
    assert Deployment.of(Settings()).has_account  # the cloud's API and its web pages
    own = Settings(api_url="http://127.0.0.1:8010")
    assert not Deployment.of(own).has_account
    assert not Deployment.of(own, many_users=True).has_account
    named = Settings(api_url="https://staging-api.example", web_url="https://staging.example")
    assert Deployment.of(named, many_users=True).has_account
    assert not Deployment.of(Settings(), embedded=True).has_account  # offline: no account
