"""The sign-in and consent pages: one self-contained HTML page each, no script, no CDN.

Nothing here reads a request or writes a response: functions turn what the page must say into
HTML (every value escaped) and name the headers it goes out with. The one stylesheet is inline
and allowed by its hash, so the policy can forbid everything else (no script at all, no frames,
forms only to this server and, on the consent page, to the client's own address). Pages are
never cached, and a pasted token is never written back into one.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
 background:#f4f5f7;color:#1d2330}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.4rem;line-height:1.3;margin:.5rem 0 1rem}
h2{font-size:1.05rem;margin:0 0 .5rem}
section{background:#fff;border:1px solid #dde1e8;border-radius:.75rem;padding:1rem;margin:1rem 0}
label{display:block;font-weight:600;margin-bottom:.35rem}
input[type=password]{width:100%;font:inherit;padding:.7rem;border:1px solid #b8c0cc;
 border-radius:.5rem}
button{width:100%;font:inherit;font-weight:600;padding:.75rem;margin-top:.75rem;border:0;
 border-radius:.5rem;background:#3848d8;color:#fff;cursor:pointer}
button.quiet{background:#e7e9f2;color:#1d2330}
.row{display:flex;gap:.75rem}.row form{flex:1}
.note{color:#566074;font-size:.9rem}
.error{background:#fdecec;border:1px solid #f3b4b4;border-radius:.5rem;padding:.75rem;color:#8a1c1c}
ul{padding-left:1.2rem;margin:.25rem 0}
a{color:#3848d8}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


@dataclass(frozen=True)
class Client:
    """What the user is told about the client asking."""

    name: str
    redirect_uri: str

    @property
    def returns_to(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return parts.netloc or f"{parts.scheme}:"

    @property
    def title(self) -> str:
        return self.name.strip() or "An application"


def headers(form_targets: tuple[str, ...] = ()) -> dict[str, str]:
    """The response headers of every page: a strict policy, never cached, never framed."""
    targets = " ".join(("'self'", *form_targets))
    policy = (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action {targets}; "
        "frame-ancestors 'none'; base-uri 'none'; img-src 'self'"
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def redirect_target(redirect_uri: str) -> str:
    """The form-action source that lets the consent form's redirect reach the client."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<meta name=robots content="noindex">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _hidden(request: str, csrf: str) -> str:
    return (
        f'<input type=hidden name=request value="{escape(request)}">'
        f'<input type=hidden name=csrf value="{escape(csrf)}">'
    )


def sign_in_page(client: Client, request: str, csrf: str, *, web_url: str, error: str = "") -> str:
    who = escape(client.title)
    shown_error = f"<p class=error role=alert id=error>{escape(error)}</p>" if error else ""
    web = escape(web_url)
    body = f"""
<h1>Connect {who} to NemoVideo</h1>
<p>{who} (it returns to <strong>{escape(client.returns_to)}</strong>) asks to make videos with
NemoVideo through this server.</p>
{shown_error}
<section>
<h2>I have a NemoVideo token</h2>
<form method=post action="/oauth/sign-in" autocomplete=off>
{_hidden(request, csrf)}
<label for=token>Your NemoVideo token</label>
<input type=password id=token name=token required maxlength=4096 spellcheck=false
 autocapitalize=off autocomplete=off placeholder="nmv_usr_...">
<button type=submit id=sign-in>Sign in</button>
</form>
<p class=note>You find your token in your account at <a href="{web}" rel=noopener>{web}</a>.</p>
</section>
<section>
<h2>No account yet?</h2>
<p>Take a free anonymous token: it comes with free credits to try things out.
Register at <a href="{web}" rel=noopener>{web}</a> for more credits.</p>
<form method=post action="/oauth/anonymous">
{_hidden(request, csrf)}
<button type=submit class=quiet id=anonymous>Continue without an account</button>
</form>
</section>
<p class=note>Your NemoVideo token stays on this server. {who} gets a token of its own that
works only here, and only until you or it revokes it.</p>"""
    return _page(f"Connect {client.title} to NemoVideo", body)


def consent_page(client: Client, request: str, csrf: str, *, anonymous: bool, web_url: str) -> str:
    who = escape(client.title)
    web = escape(web_url)
    account = (
        "a free anonymous NemoVideo token, made for you just now. When its credits run out, "
        f'register at <a href="{web}" rel=noopener>{web}</a> and sign in again with your own.'
        if anonymous
        else "your NemoVideo token (checked with NemoVideo just now)."
    )
    body = f"""
<h1>Allow {who} to use NemoVideo?</h1>
<p>You are signed in with {account}</p>
<section>
<h2>{who} will be able to</h2>
<ul>
<li>upload photos, videos and music you give it,</li>
<li>edit and export videos, and see your projects,</li>
<li>check your credits.</li>
</ul>
<p class=note>It reaches your account only through this server, never with your NemoVideo
token, and goes back to <strong>{escape(client.returns_to)}</strong>.</p>
</section>
<div class=row>
<form method=post action="/oauth/consent">
{_hidden(request, csrf)}<input type=hidden name=decision value=deny>
<button type=submit class=quiet id=deny>Deny</button>
</form>
<form method=post action="/oauth/consent">
{_hidden(request, csrf)}<input type=hidden name=decision value=allow>
<button type=submit id=allow>Allow</button>
</form>
</div>"""
    return _page(f"Allow {client.title}?", body)


def problem_page(title: str, words: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p class=error role=alert>{escape(words)}</p>")
