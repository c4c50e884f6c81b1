// Staff pages: actions through the JSON API with the CSRF token, the login form, and the
// overview's filters, sorting and live updates. Plain script, nothing loaded from elsewhere.
"use strict";

const WORDS = JSON.parse(document.getElementById("words").textContent);
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const LOCAL_TIME = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

function word(key, values) {
  let text = WORDS[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function localTime(iso) {
  if (!iso) return "";
  const parts = Object.fromEntries(LOCAL_TIME.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

// An API error in the page's language: its code's words (error.<code>), a value with words of
// its own (a role) in those; the English detail only for an error with no code.
function apiErrorText(status, data) {
  const code = data && data.code;
  if (code && WORDS[`error.${code}`]) {
    const values = {};
    for (const [name, value] of Object.entries(data.values || {})) {
      values[name] = name === "fields"
        ? String(value).split(", ").map((f) => WORDS[`field_${f}`] || f).join(word("list_sep"))
        : WORDS[`${name}_${value}`] || value;
    }
    return word(`error.${code}`, values);
  }
  if (status === 403) return word("forbidden");
  const detail = data && typeof data.detail === "string" ? data.detail : "";
  return `${word("error")}${word("colon")}${detail || status}`;
}

async function callApi(url, body, method = "POST") {
  const reply = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    throw new Error("log in first");
  }
  if (!reply.ok) {
    let data = null;
    try { data = await reply.json(); } catch (_) { /* not JSON */ }
    throw new Error(apiErrorText(reply.status, data));
  }
  return reply.status === 204 ? null : reply.json();
}

function showMessage(form, text, ok) {
  let box = form.querySelector(".form-error, .form-done");
  if (!box) { box = document.createElement("p"); form.append(box); }
  box.className = ok ? "form-done" : "form-error";
  box.textContent = text;
  box.hidden = false;
}

// -- logout and API buttons/forms -------------------------------------------------------------
function wireActions() {
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await callApi("/api/auth/logout"); } finally { location.href = "/login"; }
    });
  }
  for (const button of document.querySelectorAll("button[data-api]")) {
    button.addEventListener("click", async () => {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      button.disabled = true;
      try {
        await callApi(button.dataset.api);
        location.reload();
      } catch (error) {
        button.disabled = false;
        button.title = error.message;
        alert(error.message);
      }
    });
  }
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { ...JSON.parse(form.dataset.fixed || "{}") };
      for (const [name, value] of new FormData(form)) body[name] = String(value).trim();
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        await callApi(form.dataset.api, body);
        showMessage(form, form.dataset.done || "OK", true);
        form.reset();
        setTimeout(() => location.reload(), 600);
      } catch (error) {
        showMessage(form, error.message, false);
      } finally {
        submit.disabled = false;
      }
    });
  }
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  for (const form of document.querySelectorAll("form[data-confirm]:not([data-api])")) {
    form.addEventListener("submit", (event) => {
      if (!confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

// -- login ------------------------------------------------------------------------------------
function wireLogin() {
  const form = document.getElementById("login-form");
  if (!form) return;
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    const reply = await fetch("/api/auth/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
    });
    if (reply.ok) {
      location.href = form.dataset.next || "/";
      return;
    }
    if (reply.status === 401) error.textContent = word("wrong_login");
    else if (reply.status === 429) error.textContent = word("locked", { s: reply.headers.get("Retry-After") || "60" });
    else error.textContent = word("login_failed");
    error.hidden = false;
  });
}

// -- overview ---------------------------------------------------------------------------------
// The station page (wireStation) still shows lockdown and maintenance in place of the door.
function doorText(row) {
  if (row.lockdown) return word("lockdown");
  if (row.maintenance) return word("maintenance");
  return WORDS[`door_${row.door_phase}`] || row.door_phase;
}

// Offline or never connected: the door and the count are not known now (badges of
// server/reports/station_state.py).
const UNSEEN = new Set(["offline", "never_connected"]);

// 「最后上报 N 分钟前」: the units of station_state.age.
function reportedText(iso, now) {
  if (!iso) return word("reported_never");
  const seconds = (now - Date.parse(iso)) / 1000;
  if (seconds < 60) return word("reported_just_now");
  if (seconds < 3600) return word("reported_minutes", { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return word("reported_hours", { n: Math.floor(seconds / 3600) });
  return word("reported_days", { n: Math.floor(seconds / 86400) });
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function badge(state) {
  return element("span", `badge badge-${state}`, word(`badge_${state}`));
}

function unknown() {
  const dash = element("span", "unknown", "—");
  dash.title = word("unknown");
  return dash;
}

// The bar's width is set here, not in a style attribute: the pages' Content-Security-Policy
// allows no inline style.
function paintBar(tr) {
  const bar = tr.querySelector(".bar");
  if (bar) bar.firstElementChild.style.width = `${Math.min(100, Math.round(100 * Number(tr.dataset.fill)))}%`;
}

function nearlyFull(row) {
  return row.occupancy >= row.soft_limit * row.capacity && row.occupancy < row.capacity;
}

// The occupancy cell as the template draws it: a bar, the count and "full" in words, or "—"
// (and the last known count) when the station cannot be seen.
function fillCell(td, row) {
  if (UNSEEN.has(row.state)) {
    td.replaceChildren(unknown());
    if (row.state === "offline") {
      td.append(" ", element("small", "last-known muted", word("last_known", { n: row.occupancy })));
    }
    return;
  }
  const full = row.occupancy >= row.capacity;
  const bar = element("span", `bar${full ? " full" : nearlyFull(row) ? " nearly" : ""}`);
  bar.append(element("span"));
  td.replaceChildren(bar, " ", element("span", "occupancy", String(row.occupancy)), " / ",
    element("span", "capacity", String(row.capacity)));
  // In words when the badge says something else (a full station in lockdown, say).
  if ((full || nearlyFull(row)) && !["full", "nearly_full"].includes(row.state)) {
    td.append(" ", element("strong", "fill-word", word(full ? "state_full" : "state_nearly_full")));
  }
}

function applyRow(tr, row, highlight) {
  const unseen = UNSEEN.has(row.state);
  tr.dataset.name = row.name;
  tr.dataset.online = row.online ? "1" : "0";
  tr.dataset.state = row.state;
  tr.dataset.problem = String(row.problem);
  tr.dataset.fill = String(row.occupancy / row.capacity);
  tr.dataset.door = row.door_phase;
  tr.dataset.alarms = String(row.active_alarms);
  tr.dataset.entry = row.last_entry_at || "";
  tr.dataset.lockdown = row.lockdown ? "1" : "0";
  tr.dataset.maintenance = row.maintenance ? "1" : "0";
  tr.dataset.nearly = nearlyFull(row) ? "1" : "0";
  tr.dataset.hours = row.closed_by_hours ? "1" : "0";
  tr.classList.toggle("unseen", unseen);
  const badges = tr.querySelector(".state .badges");
  badges.replaceChildren(badge(row.state));
  if (unseen && row.lockdown) badges.append(" ", badge("lockdown"));
  if (unseen && row.maintenance) badges.append(" ", badge("maintenance"));
  const ago = tr.querySelector(".state .ago");
  ago.dataset.since = row.last_report_at || "";
  ago.textContent = unseen ? reportedText(row.last_report_at, Date.now()) : "";
  const reason = row.offline_reason;
  tr.querySelector(".state .reason").textContent =
    reason ? WORDS[`offline_reason_${reason}`] || reason : "";
  fillCell(tr.querySelector("td.fill"), row);
  paintBar(tr);
  const door = tr.querySelector(".door");
  door.className = `door door-${row.door_phase}`;
  if (unseen) door.replaceChildren(unknown());
  else door.textContent = WORDS[`door_${row.door_phase}`] || row.door_phase;
  const alarms = tr.querySelector(".alarms span");
  alarms.className = row.active_alarms ? "alarm-count" : "muted";
  alarms.textContent = String(row.active_alarms);
  tr.querySelector(".entry").textContent = localTime(row.last_entry_at);
  if (!highlight) return;
  tr.classList.remove("flash");
  void tr.offsetWidth; // restart the highlight
  tr.classList.add("flash");
}

// Whether a row matches the state chosen in the toolbar (the same states the server filters).
function matchesState(tr, state) {
  switch (state) {
    case "online": return tr.dataset.online === "1";
    case "offline": return tr.dataset.online === "0";
    case "alarms": return Number(tr.dataset.alarms) > 0;
    case "full": return Number(tr.dataset.fill) >= 1;
    case "nearly_full": return tr.dataset.nearly === "1";
    case "lockdown": return tr.dataset.lockdown === "1";
    case "maintenance": return tr.dataset.maintenance === "1";
    case "closed_by_hours": return tr.dataset.hours === "1";
    default: return true;
  }
}

// Problems first, as the server orders them (station_state.problem_key): the most urgent, then
// more alarms, then by id.
function byProblem(a, b) {
  return Number(a.dataset.problem) - Number(b.dataset.problem)
    || Number(b.dataset.alarms) - Number(a.dataset.alarms)
    || (a.dataset.station < b.dataset.station ? -1 : a.dataset.station > b.dataset.station ? 1 : 0);
}

// What changed that staff should hear (a screen reader's polite region), not every count.
function newsOf(tr, row) {
  const name = row.name;
  if (tr.dataset.state !== row.state) return word("announce_state", { station: name, state: word(`badge_${row.state}`) });
  if (row.active_alarms > Number(tr.dataset.alarms)) return word("announce_alarm", { station: name });
  return null;
}

function wireOverview() {
  const table = document.getElementById("stations");
  if (!table) return;
  const body = table.tBodies[0];
  const form = document.getElementById("station-filter");
  const text = document.getElementById("filter-text");
  const state = document.getElementById("filter-state");
  const order = document.getElementById("sort-order");
  const count = document.getElementById("shown-count");
  const announce = document.getElementById("announce");
  const tiles = [...document.querySelectorAll("#station-counts a.tile")];
  // Every station is on the page: filter it in place. Otherwise the server filters and pages.
  const complete = form.dataset.complete === "1";
  const rows = () => [...body.querySelectorAll("tr[data-station]")];
  for (const tr of rows()) paintBar(tr);

  function filter() {
    const needle = complete ? text.value.trim().toLowerCase() : "";
    let shown = 0;
    for (const tr of rows()) {
      const matches = (!needle || tr.dataset.name.toLowerCase().includes(needle)
          || tr.dataset.station.toLowerCase().includes(needle))
        && (!complete || matchesState(tr, state.value));
      tr.hidden = !matches;
      if (matches) shown += 1;
    }
    count.textContent = word("shown", { n: shown, total: complete ? rows().length : count.dataset.total });
    for (const tile of tiles) {
      if (tile.dataset.state === state.value) tile.setAttribute("aria-current", "true");
      else tile.removeAttribute("aria-current");
    }
  }
  text.addEventListener("input", filter);
  state.addEventListener("change", () => (complete ? filter() : form.submit()));
  order.addEventListener("change", () => form.submit());
  for (const tile of tiles) {
    tile.addEventListener("click", (event) => {
      if (!complete) return; // the link asks the server
      event.preventDefault();
      state.value = tile.dataset.state;
      history.replaceState(null, "", tile.href);
      filter();
    });
  }

  // Sorting by a column: buttons in the headers (keyboard and screen readers reach them), the
  // order said with aria-sort. Without one, a problems-first page stays problems first.
  let sortKey = null;
  let ascending = true;
  function sort() {
    let compare = null;
    if (sortKey === "problem") compare = byProblem;
    else if (sortKey) {
      const numeric = ["fill", "alarms"].includes(sortKey);
      compare = (a, b) => {
        const x = a.dataset[sortKey];
        const y = b.dataset[sortKey];
        return numeric ? Number(x) - Number(y) : x.localeCompare(y, "zh-CN");
      };
    } else if (form.dataset.order === "problems") compare = byProblem;
    if (!compare) return;
    const sorted = rows().sort((a, b) => (ascending || !sortKey ? compare(a, b) : -compare(a, b)));
    body.append(...sorted);
  }
  for (const button of table.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      ascending = sortKey === button.dataset.sort ? !ascending : true;
      sortKey = button.dataset.sort;
      for (const th of table.querySelectorAll("th[aria-sort]")) th.removeAttribute("aria-sort");
      button.parentElement.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      sort();
    });
  }

  // "Last report N min ago" grows older without any message.
  setInterval(() => {
    const now = Date.now();
    for (const tr of body.querySelectorAll("tr.unseen")) {
      const ago = tr.querySelector(".ago");
      ago.textContent = reportedText(ago.dataset.since, now);
    }
  }, 30000);

  const live = document.getElementById("live");
  // The stream follows this page's stations and the counts of all of them.
  const ids = rows().map((tr) => tr.dataset.station).join(",");
  const source = new EventSource(`/api/stream?summary=1&ids=${encodeURIComponent(ids)}`);
  let snapshot = true; // the first message of each connection has every row
  source.addEventListener("open", () => {
    snapshot = true;
    live.textContent = word("live");
    live.classList.remove("down");
  });
  source.addEventListener("error", async () => {
    live.textContent = word("reconnecting");
    live.classList.add("down");
    // EventSource retries by itself; a session that ended needs the login page instead.
    try {
      const me = await fetch("/api/auth/me", { credentials: "same-origin" });
      if (me.status === 401) {
        source.close();
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
      }
    } catch (_) { /* the server is away: keep retrying */ }
  });
  source.addEventListener("stations", (event) => {
    const news = [];
    for (const row of JSON.parse(event.data)) {
      const tr = body.querySelector(`tr[data-station="${CSS.escape(row.id)}"]`);
      if (!tr) continue;
      const said = snapshot ? null : newsOf(tr, row);
      if (said) news.push(said);
      applyRow(tr, row, !snapshot);
    }
    snapshot = false;
    if (news.length) announce.textContent = news.slice(0, 5).join("；") + (news.length > 5 ? " …" : "");
    filter();
    sort();
  });
  // Problems on other pages show only in the counts: when the problems counted outside this
  // page change, offer a reload (which sorts them in). Counts are recounted every few seconds
  // and may lag this page's rows, so each comparison waits for the next recount.
  const PROBLEM_COUNTS = ["stations_with_alarms", "stations_offline", "stations_full"];
  const notice = document.getElementById("problems-changed");
  let latest = null;
  let outside = null; // the problems counted on other pages when watching began
  let pending = null;
  function onOtherPages(counts) {
    const here = rows();
    const shown = {
      stations_with_alarms: here.filter((tr) => Number(tr.dataset.alarms) > 0).length,
      stations_offline: here.filter((tr) => tr.dataset.online === "0").length,
      stations_full: here.filter((tr) => Number(tr.dataset.fill) >= 1).length,
    };
    return PROBLEM_COUNTS.map((key) => counts[key] - shown[key]).join(",");
  }
  function compare() {
    pending = null;
    const now = onOtherPages(latest);
    if (outside === null) {
      outside = now;
      notice.dataset.watching = "1";
    } else if (now !== outside && notice.hidden) {
      notice.querySelector("a").href = location.href;
      notice.hidden = false;
      announce.textContent = notice.textContent;
    }
  }
  source.addEventListener("summary", (event) => {
    const counts = JSON.parse(event.data);
    for (const cell of document.querySelectorAll("#station-counts [data-count]")) {
      cell.textContent = String(counts[cell.dataset.count]);
      if (PROBLEM_COUNTS.includes(cell.dataset.count)) {
        cell.parentElement.classList.toggle("alert", counts[cell.dataset.count] > 0);
      }
    }
    // A station added while every station is on the page: draw the page afresh.
    if (complete && counts.stations > rows().length) location.reload();
    latest = counts;
    if (!complete && pending === null) pending = setTimeout(compare, 6000);
  });
}

// -- station page: its count and door follow the same stream ----------------------------------
function wireStation() {
  const facts = document.getElementById("station-facts");
  if (!facts) return;
  const source = new EventSource(`/api/stream?ids=${encodeURIComponent(facts.dataset.station)}`);
  source.addEventListener("stations", (event) => {
    const row = JSON.parse(event.data).find((r) => r.id === facts.dataset.station);
    if (!row) return;
    facts.querySelector("#occupancy").textContent = String(row.occupancy);
    facts.querySelector("#door-state").textContent = doorText(row);
    const state = facts.querySelector(".state");
    state.className = `state ${row.online ? "online" : "offline"}`;
    state.textContent = word(row.online ? "online" : "offline");
    document.dispatchEvent(new CustomEvent("station-row", { detail: row })); // station.js
  });
}

// -- charts (server/web/charts.py): one tab stop per chart; the arrow keys, Home and End move
// between its points, and the readout shows the value of the one focused or pointed at --------
const CHART_KEYS = { ArrowRight: 1, ArrowLeft: -1 };

function wireCharts() {
  for (const chart of document.querySelectorAll("svg.chart")) {
    const points = [...chart.querySelectorAll(".point")];
    const readout = chart.querySelector(".readout");
    if (!points.length || !readout) continue;
    const show = (point) => { readout.textContent = point ? point.querySelector("title").textContent : ""; };
    const move = (from, to) => {
      from.setAttribute("tabindex", "-1");
      to.setAttribute("tabindex", "0");
      to.focus();
    };
    points.forEach((point, index) => {
      point.addEventListener("focus", () => show(point));
      point.addEventListener("mouseenter", () => show(point));
      point.addEventListener("keydown", (event) => {
        let next = null;
        if (event.key in CHART_KEYS) next = index + CHART_KEYS[event.key];
        else if (event.key === "Home") next = 0;
        else if (event.key === "End") next = points.length - 1;
        if (next === null) return;
        event.preventDefault();
        move(point, points[Math.max(0, Math.min(points.length - 1, next))]);
      });
    });
    chart.addEventListener("mouseleave", () => show(chart.contains(document.activeElement) ? document.activeElement : null));
    chart.addEventListener("focusout", (event) => { if (!chart.contains(event.relatedTarget)) show(null); });
  }
}

wireActions();
wireLogin();
wireCharts();
wireOverview();
wireStation();
