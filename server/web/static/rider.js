// The rider's pass (templates/rider.html): fetch a fresh code before this one expires, show
// how long it lasts, and say so when the network is weak. Served from /static: the page's
// Content-Security-Policy runs no inline script; its data comes in the #pass JSON block.
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("pass").textContent);
  const texts = data.texts, codeUrl = data.code_url;
  const qr = document.getElementById("qr"), left = document.getElementById("left");
  const status = document.getElementById("status");
  let expiresAt = 0, offsetMs = 0, lifetimeS = 60, timer = null, failing = false;

  const now = () => Date.now() + offsetMs;  // server time: the phone's clock may be wrong
  const secondsLeft = () => Math.max(0, Math.ceil((expiresAt - now()) / 1000));
  const say = (text, kind) => { status.textContent = text; status.className = kind || ""; };

  function schedule(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }

  async function refresh() {
    try {
      const reply = await fetch(codeUrl, { cache: "no-store" });
      if (reply.status === 404 || reply.status === 410) {
        qr.innerHTML = ""; left.textContent = "";
        say(reply.status === 410 ? texts.disabled : texts.invalid, "bad");
        expiresAt = 0; clearTimeout(timer); return;
      }
      if (!reply.ok) throw new Error(String(reply.status));
      const code = await reply.json();
      offsetMs = Date.parse(code.server_time) - Date.now();
      expiresAt = Date.parse(code.expires_at);
      lifetimeS = code.lifetime_s;
      qr.innerHTML = code.qr_svg;
      failing = false;
      say("", "");
      // A new code when a third of this one's life is left: never shown expired.
      schedule(Math.max(3000, expiresAt - now() - lifetimeS * 1000 / 3));
    } catch (err) {
      failing = true;
      schedule(3000);
    }
    render();
  }

  function render() {
    if (!expiresAt) return;
    const s = secondsLeft();
    left.textContent = s > 0 ? texts.left.replace("{s}", s) : "";
    qr.classList.toggle("stale", s === 0);
    if (s === 0) say(texts.expired, "bad");
    else if (failing) say(texts.weak.replace("{s}", s), "weak");
  }

  setInterval(render, 250);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && secondsLeft() < lifetimeS * 2 / 3) refresh();
  });
  if ("wakeLock" in navigator) navigator.wakeLock.request("screen").catch(() => {});
  refresh();
})();
