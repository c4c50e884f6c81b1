"""Security headers on every HTTP response: pages, the rider's pass, the API, static files.

It lives beside the templates and ``static/`` because the policy is theirs to keep: a page
may run only scripts and styles served from ``/static`` (data for scripts travels in
``<script type="application/json">`` blocks, which never run), so an injected tag or
attribute does nothing. A plain ASGI middleware, so that streamed answers (``/api/stream``)
go through unbuffered.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def page_policy(image_sources: Sequence[str] = ()) -> str:
    """The pages' policy; ``image_sources`` are the map tile servers a deployment configured
    (``ServerSettings.map_image_sources``), the only other hosts a page may load from."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(("img-src 'self'", *image_sources)),
            "connect-src 'self'",  # fetch and the live EventSource
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


PAGE_POLICY = page_policy()  # with no map tile server
# The rider's pass: the link's secret is in the address, which must never go anywhere.
RIDER_PAGES = "/r/"
HSTS = "max-age=31536000"

_ALWAYS = (
    ("X-Frame-Options", "DENY"),  # for browsers older than frame-ancestors
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def headers_for(
    path: str, *, https: bool, image_sources: Sequence[str] = ()
) -> list[tuple[str, str]]:
    headers = [
        ("Content-Security-Policy", page_policy(image_sources) if image_sources else PAGE_POLICY),
        *_ALWAYS,
        (
            "Referrer-Policy",
            "no-referrer" if path.startswith(RIDER_PAGES) else "same-origin",
        ),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecurityHeaders:
    """Adds ``headers_for`` the path to every response. A response that brings its own
    Content-Security-Policy keeps it (only the API docs page, see ``docs_policy``)."""

    def __init__(self, app: ASGIApp, *, https: bool, image_sources: Sequence[str] = ()) -> None:
        self.app = app
        self.https = https
        self.image_sources = tuple(image_sources)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"], https=self.https, image_sources=self.image_sources)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    if name == "Content-Security-Policy" and name in headers:
                        continue
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_policy(html: str, *, cdn: str) -> str:
    """The API docs page (Swagger UI) loads its script and style from a CDN and starts with
    one inline script: allow exactly that script by its hash, and that CDN. Swagger UI sets
    style attributes, hence inline styles there; no page of ours needs them."""
    hashes = " ".join(
        f"'sha256-{b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {cdn} {hashes}",
            f"style-src {cdn} 'unsafe-inline'",
            f"img-src 'self' data: {cdn}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
