"""The door screen as a web page for a kiosk browser on the box (``chromium --kiosk
http://127.0.0.1:8470/``), served by a small HTTP server in its own thread, on loopback only.

The message is big, zh-CN with the English line under it, green for a welcome and red for a
refusal, all words from ``i18n``; after ``hold_s`` the screen goes back to idle (the station's
name and how to scan). The page polls ``/state.json`` (a few hundred bytes, four times a
second, on loopback); ``show`` only swaps a value under a lock, so the loop never waits on a
browser. A strict Content-Security-Policy allows nothing but this server's own files, and
requests naming another host are refused (a web page elsewhere cannot reach the screen by DNS
rebinding).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from i18n import door_message, text
from protocol.reasons import DoorHint, Reason
from station_agent.adapters import display_assets

LOOPBACK = "127.0.0.1"


class WebDisplay:
    """Implements Display."""

    def __init__(
        self,
        station_name: str,
        *,
        port: int = 8470,
        hold_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._station = station_name
        self._hold_s = hold_s
        self._clock = clock
        self._guard = threading.Lock()
        self._seq = 0
        self._shown: tuple[str, str, str] | None = None  # kind, zh, en
        self._shown_at = 0.0
        self._server = ThreadingHTTPServer((LOOPBACK, port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon close() is heard
            name="display-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def show(self, *, allowed: bool, reason: Reason, hint: DoorHint | None = None) -> None:
        words = (door_message(reason, "zh", hint), door_message(reason, "en", hint))
        with self._guard:
            self._seq += 1
            self._shown = ("welcome" if allowed else "refusal", *words)
            self._shown_at = self._clock()

    def state(self) -> dict[str, object]:
        """What the screen shows now: ``kind`` (idle, welcome, refusal), the words, and a
        ``seq`` that changes with every message (the same words twice are two messages)."""
        with self._guard:
            seq, shown, shown_at = self._seq, self._shown, self._shown_at
        if shown is None or self._clock() - shown_at >= self._hold_s:
            kind, zh, en = "idle", text("door.idle"), text("door.idle", "en")
        else:
            kind, zh, en = shown
        return {"seq": seq, "kind": kind, "station": self._station, "zh": zh, "en": en}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2.0)


def _handler_for(display: WebDisplay) -> type[BaseHTTPRequestHandler]:
    class Handler(_ScreenHandler):
        screen = display

    return Handler


class _ScreenHandler(BaseHTTPRequestHandler):
    screen: WebDisplay
    server_version = "warm-station-display"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in {LOOPBACK, "localhost"}:
            self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain", b"wrong host\n", body)
            return
        path = self.path.split("?", 1)[0]
        if path == "/state.json":
            payload = json.dumps(self.screen.state(), ensure_ascii=False).encode()
            self._send(HTTPStatus.OK, "application/json", payload, body)
        elif path == "/":
            page = display_assets.page(self.screen.state()).encode()
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", page, body)
        elif path == "/display.css":
            self._send(HTTPStatus.OK, "text/css", display_assets.CSS.encode(), body)
        elif path == "/display.js":
            script = display_assets.SCRIPT.encode()
            self._send(HTTPStatus.OK, "text/javascript", script, body)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", body)

    def _send(self, status: HTTPStatus, kind: str, payload: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Security-Policy", display_assets.CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the page asks four times a second."""
