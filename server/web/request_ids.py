"""Every HTTP request gets an id: the proxy's ``X-Request-ID`` when it is a plain short token,
else a new one. Log lines written while it is handled carry it (``telemetry.logs``), and the
answer echoes it, so one complaint can be followed through the proxy's log and ours. A plain
ASGI middleware, so streamed answers go through unbuffered."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.logs import log_context

HEADER = "X-Request-ID"
_PLAIN = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def request_id_from(sent: bytes | None) -> str:
    if sent is not None and _PLAIN.fullmatch(sent):
        return sent.decode()
    return uuid.uuid4().hex


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(HEADER.lower().encode())
        request_id = request_id_from(sent)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with log_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)
