"""The kiosk page of ``display_web``: HTML, CSS and script, served from the same loopback
server so that the Content-Security-Policy can forbid everything else (no inline code, no
third-party anything). The script only sets text and a class: no markup from data."""

from __future__ import annotations

from html import escape

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

POLL_MS = 250  # the page asks this often; a rider sees the answer within a quarter second

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{station}</title>
<link rel="stylesheet" href="/display.css">
<script src="/display.js" defer></script>
</head>
<body>
<main id="screen" class="{kind}" data-seq="{seq}">
<p id="station">{station}</p>
<p id="zh" lang="zh-CN">{zh}</p>
<p id="en" lang="en">{en}</p>
</main>
</body>
</html>
"""


def page(state: dict[str, object]) -> str:
    """The page as it stands now (it shows the right words even before the script runs)."""
    return PAGE.format(**{key: escape(str(value)) for key, value in state.items()})


CSS = """
html, body { margin: 0; height: 100%; background: #111; color: #fff; cursor: none; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
       sans-serif; }
#screen { box-sizing: border-box; height: 100vh; padding: 6vh 6vw; display: flex;
          flex-direction: column; justify-content: center; align-items: center;
          text-align: center; gap: 3vh; transition: background-color 0.15s; }
#zh { font-size: 9vmin; font-weight: 700; margin: 0; line-height: 1.25; }
#en { font-size: 5vmin; margin: 0; opacity: 0.9; }
#station { font-size: 4vmin; margin: 0; opacity: 0.75; }
.welcome { background: #0a7d2c; }
.refusal { background: #b3161b; }
.idle { background: #1d2530; }
.idle #zh { font-size: 7vmin; font-weight: 400; }
.idle #station { font-size: 8vmin; font-weight: 700; opacity: 1; order: -1; }
.stale #zh, .stale #en { opacity: 0.4; }
"""

SCRIPT = """
"use strict";
(function () {
  var screen = document.getElementById("screen");
  var fields = ["station", "zh", "en"];
  function show(state) {
    screen.dataset.seq = String(state.seq);
    screen.className = state.kind;  // also drops "stale": the agent answers again
    fields.forEach(function (name) {
      document.getElementById(name).textContent = state[name];
    });
  }
  function poll() {
    fetch("/state.json", { cache: "no-store" })
      .then(function (answer) { return answer.json(); })
      .then(function (state) { show(state); })
      .catch(function () { screen.classList.add("stale"); })
      .finally(function () { window.setTimeout(poll, POLL_MS); });
  }
  poll();
})();
""".replace("POLL_MS", str(POLL_MS))
