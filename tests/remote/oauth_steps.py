"""The steps of an OAuth sign-in, spoken over plain HTTP, for the tests (sync httpx clients).

``SignInPage`` reads the sign-in and consent pages the way a browser would: it finds the forms
and their hidden fields and posts them back with the page's cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT = "http://127.0.0.1:9/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


class Forms(HTMLParser):
    """The forms of a page: action -> hidden fields (the last form with an action wins)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
        elif tag == "input" and a.get("type") == "hidden" and self.forms:
            self.forms[-1][1][a["name"]] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def forms(html: str) -> Forms:
    parsed = Forms()
    parsed.feed(html)
    return parsed


def fields(html: str, action: str, **extra: str) -> dict[str, str]:
    """The fields of the page's form to ``action`` (the one whose ``decision`` is asked, if any)."""
    for target, hidden in forms(html).forms:
        if target == action and extra.get("decision", "") == hidden.get("decision", ""):
            return {**hidden, **extra}
    raise AssertionError(f"no form to {action} in the page")


@dataclass
class Registered:
    client_id: str
    client_secret: str | None
    redirect_uri: str = REDIRECT


def register(http: httpx.Client, redirect_uri: str = REDIRECT, **extra: Any) -> Registered:
    body = {"redirect_uris": [redirect_uri], "client_name": "Test Connector", **extra}
    answer = http.post("/register", json=body)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    return Registered(data["client_id"], data.get("client_secret"), redirect_uri)


@dataclass
class Flow:
    """One authorization in progress: the client, its PKCE pair and state."""

    client: Registered
    resource: str
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce()

    def authorize(self, http: httpx.Client, **override: str) -> httpx.Response:
        params = {
            "response_type": "code", "client_id": self.client.client_id,
            "redirect_uri": self.client.redirect_uri, "state": self.state,
            "code_challenge": self.challenge, "code_challenge_method": "S256",
            "resource": self.resource, "scope": "nemo", **override,
        }  # fmt: skip
        return http.get("/authorize", params=params)

    def sign_in(self, http: httpx.Client, token: str) -> str:
        """Through the page with a pasted token and consent: the code the client gets."""
        page = self.page(http)
        consent = http.post("/oauth/sign-in", data=fields(page, "/oauth/sign-in", token=token))
        assert consent.status_code == 200, consent.text
        return self.consent(http, consent.text)

    def page(self, http: httpx.Client) -> str:
        answer = self.authorize(http)
        assert answer.status_code == 302, answer.text
        shown = http.get(answer.headers["location"])
        assert shown.status_code == 200, shown.text
        return shown.text

    def consent(self, http: httpx.Client, page: str, decision: str = "allow") -> str:
        back = http.post("/oauth/consent", data=fields(page, "/oauth/consent", decision=decision))
        assert back.status_code == 303, back.text
        query = parse_qs(urlsplit(back.headers["location"]).query)
        assert query["state"] == [self.state]
        assert query["iss"] == [self.resource.removesuffix("/mcp")]
        if decision != "allow":
            return query["error"][0]
        return query["code"][0]

    def token(self, http: httpx.Client, code: str, **override: str) -> httpx.Response:
        data = {
            "grant_type": "authorization_code", "code": code, "client_id": self.client.client_id,
            "redirect_uri": self.client.redirect_uri, "code_verifier": self.verifier,
            "resource": self.resource, **override,
        }  # fmt: skip
        if self.client.client_secret:
            data.setdefault("client_secret", self.client.client_secret)
        return http.post("/token", data=data)


def refresh(http: httpx.Client, client: Registered, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": client.client_id}  # fmt: skip
    if client.client_secret:
        data["client_secret"] = client.client_secret
    return http.post("/token", data=data)


def revoke(http: httpx.Client, client: Registered, token: str) -> httpx.Response:
    data = {"token": token, "client_id": client.client_id}
    if client.client_secret:
        data["client_secret"] = client.client_secret
    return http.post("/revoke", data=data)
