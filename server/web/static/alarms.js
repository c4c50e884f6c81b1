// Alarms on every staff page: the open count in the tab title and the nav, a beep and a
// browser notification for a new alarm (opt-in per browser, remembered in localStorage), the
// alarm lists and the station page's usage log kept live, and acknowledging or resolving an
// alarm with a note. Uses callApi() and word() from staff.js. Plain script, nothing from
// elsewhere; the sound is made with WebAudio (no audio file).
"use strict";

const ALERTS_KEY = "ws.alarmAlerts"; // "on" when this browser wants sound and notifications
const SEEN_KEY = "ws.alarmSeen"; // the newest alarm id this browser has been told about
const BASE_TITLE = document.title;
let audio = null;

function alertsOn() {
  try { return localStorage.getItem(ALERTS_KEY) === "on"; } catch (_) { return false; }
}

function count(name) {
  // For people reading the page's state (and for tests): how often each alert path ran.
  const data = document.documentElement.dataset;
  data[name] = String(Number(data[name] || 0) + 1);
}

// A short double beep. Browsers start sound only after a click on the page: the opt-in
// button (or any click later) wakes the audio context up.
function beep() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const start = audio.currentTime + 0.02;
    for (const offset of [0, 0.25]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.2);
    }
    count("alarmBeeps");
  } catch (_) { /* no WebAudio here: the notification and the title still tell */ }
}

function notify(alarm) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  // The tag makes one notification of the same alarm however many tabs are open.
  const notice = new Notification(alarm.text, {
    body: `${alarm.station_id} · ${localTime(alarm.raised_at)}`,
    tag: `ws-alarm-${alarm.id}`,
  });
  notice.addEventListener("click", () => { window.focus(); location.href = "/alarms"; });
  count("alarmNotices");
}

function wireAlertsButton() {
  const button = document.getElementById("alarm-alerts");
  if (!button) return;
  function show() {
    const on = alertsOn();
    const denied = on && "Notification" in window && Notification.permission === "denied";
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = denied ? button.dataset.denied : on ? button.dataset.on : button.dataset.off;
  }
  button.addEventListener("click", async () => {
    const on = !alertsOn();
    try { localStorage.setItem(ALERTS_KEY, on ? "on" : "off"); } catch (_) { /* private mode */ }
    if (on) {
      beep(); // what it will sound like, and the click lets this page make sound
      if ("Notification" in window && Notification.permission === "default") {
        await Notification.requestPermission();
      }
    }
    show();
  });
  document.addEventListener("pointerdown", () => { if (audio && audio.state === "suspended") audio.resume(); });
  show();
}

function showOpenCount(open) {
  document.title = open ? `(${open}) ${BASE_TITLE}` : BASE_TITLE;
  const badge = document.getElementById("open-alarms");
  if (badge) {
    badge.hidden = !open;
    badge.textContent = String(open);
  }
}

function announce(text) {
  const region = document.getElementById("alarm-announce");
  if (region) region.textContent = text;
}

function newAlarm(alarm) {
  let seen = null;
  try { seen = localStorage.getItem(SEEN_KEY); } catch (_) { /* private mode */ }
  const remember = (id) => { try { localStorage.setItem(SEEN_KEY, String(id)); } catch (_) { /* private mode */ } };
  if (seen === null) { remember(alarm ? alarm.id : 0); return; } // this browser's first look
  if (!alarm || alarm.id <= Number(seen)) return;
  remember(alarm.id);
  announce(word("alarm_new", { text: alarm.text }));
  if (!alertsOn()) return;
  // One sound (from a tab on screen) and one notification per browser, however many tabs.
  if (document.visibilityState === "visible") claim(`ws-alarm-beep-${alarm.id}`, beep);
  claim(`ws-alarm-notice-${alarm.id}`, () => notify(alarm));
}

// Runs ``then`` in only one tab of this browser: the first to take the lock, held a while so
// that the other tabs, told of the same alarm a moment later, find it taken.
function claim(name, then) {
  if (!navigator.locks) { then(); return; }
  navigator.locks.request(name, { ifAvailable: true }, async (lock) => {
    if (!lock) return;
    then();
    await new Promise((done) => setTimeout(done, 10000));
  });
}

async function reload(container) {
  if (!container || container.dataset.busy) return;
  container.dataset.busy = "1";
  try {
    const reply = await fetch(container.dataset.list, { credentials: "same-origin" });
    if (reply.ok) container.innerHTML = await reply.text();
  } catch (_) { /* the server is away: the stream reconnects and tells again */ } finally {
    delete container.dataset.busy;
  }
}

function wireStream() {
  if (!document.getElementById("alarm-alerts")) return; // not logged in
  const facts = document.getElementById("station-facts");
  const query = facts ? `?station_id=${encodeURIComponent(facts.dataset.station)}` : "";
  const lists = () => document.querySelectorAll("[data-list][data-alarms]");
  const logs = () => document.querySelectorAll("[data-list][data-activity]");
  const live = document.getElementById("alarm-live");
  let version = null;
  let activity = null;
  const source = new EventSource(`/api/alarms/stream${query}`);
  source.addEventListener("open", () => {
    if (live) { live.textContent = word("live"); live.classList.remove("down"); }
  });
  source.addEventListener("error", () => {
    if (live) { live.textContent = word("reconnecting"); live.classList.add("down"); }
  });
  source.addEventListener("alarms", (event) => {
    const data = JSON.parse(event.data);
    showOpenCount(data.open);
    newAlarm(data.newest);
    if (version !== null && data.version !== version) lists().forEach(reload);
    version = data.version;
  });
  source.addEventListener("activity", (event) => {
    const data = event.data;
    if (activity !== null && data !== activity) logs().forEach(reload);
    activity = data;
  });
}

// -- acknowledging and resolving, in one dialog ---------------------------------------------
function wireDialog() {
  const dialog = document.getElementById("alarm-dialog");
  if (!dialog) return;
  const form = document.getElementById("alarm-dialog-form");
  const note = form.elements.note;
  const error = form.querySelector(".form-error");
  let target = null;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-alarm-action]");
    if (!button) return;
    target = { id: button.dataset.alarm, action: button.dataset.alarmAction };
    document.getElementById("alarm-dialog-title").textContent = dialog.dataset[`title${target.action === "resolve" ? "Resolve" : "Acknowledge"}`];
    document.getElementById("alarm-note-label").textContent = dialog.dataset[`note${target.action === "resolve" ? "Resolve" : "Acknowledge"}`];
    document.getElementById("alarm-dialog-what").textContent = button.dataset.what;
    note.value = "";
    note.required = target.action === "resolve";
    error.hidden = true;
    dialog.showModal();
    note.focus();
  });
  document.getElementById("alarm-dialog-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!target) return;
    const ok = document.getElementById("alarm-dialog-ok");
    ok.disabled = true;
    try {
      const text = note.value.trim();
      const body = target.action === "resolve" || text ? { note: text } : undefined;
      await callApi(`/api/alarms/${target.id}/${target.action}`, body);
      announce(dialog.dataset[`done${target.action === "resolve" ? "Resolve" : "Acknowledge"}`]);
      dialog.close();
      document.querySelectorAll("[data-list][data-alarms]").forEach(reload);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      ok.disabled = false;
    }
  });
}

wireAlertsButton();
wireStream();
wireDialog();
