// The rider's pass (templates/rider.html): fetch a fresh code before this one expires, show
// how long it lasts, and say so when the network is weak. Served from /static: the page's
// Content-Security-Policy runs no inline script; its data comes in the #pass JSON block.
//
// Without signal it shows a device code instead (protocol/device_cert.py has the layout).
// While online the page keeps an ECDSA P-256 key pair made by WebCrypto (the private half
// non-extractable, kept in IndexedDB) and a certificate the server signed for its public half
// (POST cert_url, renewed at half its life); at the door with no network it signs a fresh
// presentation (time, random nonce) with that key and draws "WSD1:" + Base45 of certificate,
// presentation and signature as the QR itself (vendor/qrcode-generator, alphanumeric mode).
// P-256, not Ed25519: WeChat's browser and older Android WebViews have no Ed25519 in WebCrypto.
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("pass").textContent);
  const texts = data.texts, codeUrl = data.code_url, certUrl = data.cert_url;
  const qr = document.getElementById("qr"), left = document.getElementById("left");
  const status = document.getElementById("status");
  const ready = document.getElementById("offline-ready");
  let expiresAt = 0, offsetMs = 0, lifetimeS = 60, timer = null, failing = false;
  let showing = "none";  // "server": the server's code; "device": one this phone signed
  let device = null;  // {keys, cert, notBefore, notAfter, presentationS, offsetMs}
  let certifying = false, signing = false;

  const now = () => Date.now() + offsetMs;  // server time: the phone's clock may be wrong
  const secondsLeft = () => Math.max(0, Math.ceil((expiresAt - now()) / 1000));
  const say = (text, kind) => { status.textContent = text; status.className = kind || ""; };

  function schedule(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }

  async function refresh() {
    try {
      if (navigator.onLine === false) throw new Error("offline");
      const reply = await fetch(codeUrl, { cache: "no-store" });
      if (reply.status === 404 || reply.status === 410) {
        qr.innerHTML = ""; left.textContent = ""; showing = "none";
        say(reply.status === 410 ? texts.disabled : texts.invalid, "bad");
        expiresAt = 0; clearTimeout(timer); forgetDevice(); return;
      }
      if (!reply.ok) throw new Error(String(reply.status));
      const code = await reply.json();
      offsetMs = Date.parse(code.server_time) - Date.now();
      expiresAt = Date.parse(code.expires_at);
      lifetimeS = code.lifetime_s;
      qr.innerHTML = code.qr_svg;
      qr.dataset.kind = "server";
      showing = "server";
      failing = false;
      say("", "");
      // A new code when a third of this one's life is left: never shown expired.
      schedule(Math.max(3000, expiresAt - now() - lifetimeS * 1000 / 3));
      certify();
    } catch (err) {
      failing = true;
      schedule(3000);
      if (deviceUsable() && showing !== "device") await showDeviceCode();
    }
    render();
  }

  function render() {
    if (!expiresAt) return;
    const s = secondsLeft();
    if (showing === "device" && s < lifetimeS / 3 && deviceUsable()) showDeviceCode();
    left.textContent = s > 0 ? texts.left.replace("{s}", s) : "";
    qr.classList.toggle("stale", s === 0);
    if (s === 0) say(texts.expired, "bad");
    else if (showing === "device") say(texts.offline, "offline");
    else if (failing) say(texts.weak.replace("{s}", s), "weak");
  }

  // -- the device code ------------------------------------------------------------------------

  const subtle = window.crypto && window.crypto.subtle;  // absent outside HTTPS (and localhost)
  const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  // RFC 9285 in a few lines (the server decodes with protocol.credential.b45decode).
  function base45(bytes) {
    let out = "";
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const n = bytes[i] * 256 + bytes[i + 1];
      out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
    }
    if (bytes.length % 2) {
      const n = bytes[bytes.length - 1];
      out += B45[n % 45] + B45[Math.floor(n / 45)];
    }
    return out;
  }
  function b64url(bytes) {
    let text = "";
    bytes.forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    parts.forEach((p) => { out.set(p, at); at += p.length; });
    return out;
  }
  const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));

  // One record per pass link in IndexedDB: the key pair (CryptoKeys are stored as they are,
  // the private one still non-extractable) and the certificate.
  function withStore(mode, act) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open("warm-station-pass", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("device");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result, tx = db.transaction("device", mode);
        const request = act(tx.objectStore("device"));
        tx.oncomplete = () => { db.close(); resolve(request.result); };
        tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
      };
    });
  }
  const storage = subtle && window.indexedDB;
  const loadDevice = () => (storage ? withStore("readonly", (s) => s.get(certUrl)) : null);
  const saveDevice = (r) => (storage ? withStore("readwrite", (s) => s.put(r, certUrl)) : null);
  function forgetDevice() {
    device = null; ready.hidden = true;
    if (storage) withStore("readwrite", (s) => s.delete(certUrl)).catch(() => {});
  }

  const deviceUsable = () => Boolean(device && now() < device.notAfter);

  function showReady() {
    if (!deviceUsable()) { ready.hidden = true; return; }
    const until = new Date(device.notAfter).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    ready.textContent = texts.offline_ready.replace("{time}", until);
    ready.hidden = false;
  }

  // A certificate for this phone's key, unless the one held has more than half its life left.
  async function certify() {
    if (!subtle || certifying) return;
    if (device && device.notAfter - now() > (device.notAfter - device.notBefore) / 2) return;
    certifying = true;
    try {
      const keys = device ? device.keys : await subtle.generateKey(ECDSA, false, ["sign", "verify"]);
      const publicKey = new Uint8Array(await subtle.exportKey("raw", keys.publicKey));
      const reply = await fetch(certUrl, {
        method: "POST",
        cache: "no-store",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ public_key: b64url(publicKey) }),
      });
      if (reply.status === 404 || reply.status === 410) { forgetDevice(); return; }
      if (!reply.ok) return;  // rate-limited or busy: keep what we have, try at the next code
      const body = await reply.json();
      const serverOffset = Date.parse(body.server_time) - Date.now();
      device = {
        keys,
        cert: unb64url(body.certificate),
        notBefore: Date.parse(body.not_before),
        notAfter: Date.parse(body.not_after),
        presentationS: body.presentation_lifetime_s,
        offsetMs: serverOffset,
      };
      showReady();
      await saveDevice(device);  // if storage fails, the page still has it while it stays open
    } catch (err) {
      // No device code this time (no WebCrypto, no network): the server's codes still work.
    } finally {
      certifying = false;
    }
  }

  async function showDeviceCode() {
    if (signing) return;
    signing = true;
    try {
      const t = Math.floor(now() / 1000);
      const presentation = new Uint8Array(20);  // u32 time, 16-byte nonce
      new DataView(presentation.buffer).setUint32(0, t);
      crypto.getRandomValues(presentation.subarray(4));
      const cert = device.cert.subarray(0, device.cert.length - 64);
      const signed = concat(ascii("WSD1:pres"), cert, presentation);
      const signature = new Uint8Array(await subtle.sign(ECDSA, device.keys.privateKey, signed));
      const code = qrcode(0, "M");
      code.addData("WSD1:" + base45(concat(device.cert, presentation, signature)), "Alphanumeric");
      code.make();
      qr.innerHTML = code.createSvgTag({ cellSize: 10, margin: 40, scalable: true });
      qr.dataset.kind = "device";
      expiresAt = (t + device.presentationS) * 1000;
      lifetimeS = device.presentationS;
      showing = "device";
    } finally {
      signing = false;
    }
    render();
  }

  async function start() {
    try {
      const stored = await loadDevice();
      if (stored && stored.cert) {
        device = stored;
        if (!expiresAt) offsetMs = stored.offsetMs;  // no server time yet: the last one seen
        showReady();
      }
    } catch (err) {
      // No storage (private mode, say): a certificate is fetched again and kept in memory.
    }
    refresh();
  }

  setInterval(render, 250);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && secondsLeft() < lifetimeS * 2 / 3) refresh();
  });
  window.addEventListener("offline", () => refresh());
  window.addEventListener("online", () => refresh());
  if ("wakeLock" in navigator) navigator.wakeLock.request("screen").catch(() => {});
  start();
})();
