// The public join page (templates/join.html): ask to join, then wait on this page until staff
// decide; approved, the page opens the rider's own pass. The request's token stays on this
// phone (localStorage), so closing and reopening /join keeps waiting. Plain script from
// /static (the page's Content-Security-Policy runs nothing inline); fetch and localStorage
// only, which WeChat's browser has.
"use strict";

(function () {
  var data = JSON.parse(document.getElementById("join-data").textContent);
  var texts = data.texts;
  var KEY = "ws-join-token";
  var POLL_MS = 3000;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("join-form"), error = $("error"), submit = $("submit"), state = $("state");
  var timer = null, failures = 0;

  function stored(value) {
    try {
      if (value === undefined) return window.localStorage.getItem(KEY);
      if (value === null) window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, value);
    } catch (_) { /* private mode: the page still works while it stays open */ }
    return null;
  }
  var token = stored();

  function word(key, values) {
    var text = texts[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function show(section) {
    ["ask", "wait", "outcome"].forEach(function (id) { $(id).hidden = id !== section; });
  }

  function fail(key, values) {
    error.textContent = word(key, values);
    error.hidden = false;
  }

  function localTime(iso) {
    var at = new Date(iso);
    try {
      return new Intl.DateTimeFormat(data.lang === "en" ? "en-GB" : "zh-CN", {
        timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false,
      }).format(at);
    } catch (_) {
      return at.toTimeString().slice(0, 5);
    }
  }

  function errorKey(reply, body) {
    if (reply.status === 429) {
      var wait = Number(reply.headers.get("Retry-After")) || 60;
      return ["error_rate_limited", { minutes: Math.max(1, Math.ceil(wait / 60)) }];
    }
    var detail = body && body.detail;
    if (detail && detail.code) {
      return ["error_" + detail.code, { n: data.max_name }];
    }
    if (Array.isArray(detail) && detail.length) {  // the API's own check of the fields
      var field = (detail[0].loc || []).slice(-1)[0];
      var byField = { platform: "error_bad_platform", display_name: "error_name_too_long",
                      phone: "error_bad_phone", invite: "error_invite_unknown" };
      return [byField[field] || "error_network", { n: data.max_name }];
    }
    return ["error_network", {}];
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    }).then(function (reply) {
      return reply.json().catch(function () { return null; }).then(function (json) {
        return { reply: reply, body: json };
      });
    });
  }

  function openPass(link) {
    stored(null);
    show("wait");
    state.textContent = texts.approved;
    window.location.replace(link + (data.lang === "en" ? "?lang=en" : ""));
  }

  function finish(key) {
    stored(null);
    token = null;
    clearTimeout(timer);
    $("outcome-text").textContent = texts[key];
    state.textContent = "";
    show("outcome");
  }

  function waiting(request) {
    $("code").textContent = request.code;
    $("valid-until").textContent = word("valid_until", { time: localTime(request.expires_at) });
    show("wait");
  }

  function apply(request) {
    failures = 0;
    state.textContent = "";
    if (request.status === "approved" && request.link) return openPass(request.link);
    if (request.status === "refused") return finish("refused");
    if (request.status === "expired") return finish("expired");
    if (request.status === "link_changed") return finish("link_changed");
    waiting(request);
    timer = setTimeout(poll, POLL_MS);
  }

  function poll() {
    if (!token) return;
    post("/api/join/status", { token: token }).then(function (answer) {
      if (answer.reply.status === 404) {
        stored(null);
        token = null;
        show("ask");
        fail("error_unknown_request");
        return;
      }
      if (!answer.reply.ok) throw new Error(String(answer.reply.status));
      apply(answer.body);
    }).catch(function () {
      failures += 1;  // a weak network: keep the code up and try again, more slowly
      state.textContent = texts.error_network;
      timer = setTimeout(poll, Math.min(30000, POLL_MS * (1 + failures)));
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var fields = new FormData(form);
    var ask = {
      platform: String(fields.get("platform") || ""),
      display_name: String(fields.get("display_name") || "").trim(),
      phone: String(fields.get("phone") || "").trim(),
      invite: String(fields.get("invite") || "").trim(),
    };
    if (!ask.platform && !ask.invite) return fail("error_bad_platform");
    if (ask.display_name.length > data.max_name) return fail("error_name_too_long", { n: data.max_name });
    if (!ask.platform) ask.platform = "other";  // an invite names its own platform
    submit.disabled = true;
    state.textContent = texts.sending;
    post("/api/join", ask).then(function (answer) {
      state.textContent = "";
      if (answer.reply.status !== 201) {
        var failed = errorKey(answer.reply, answer.body);
        return fail(failed[0], failed[1]);
      }
      token = answer.body.token;
      stored(token);
      apply(answer.body);
    }).catch(function () {
      state.textContent = "";
      fail("error_network");
    }).then(function () { submit.disabled = false; });
  });

  $("again").addEventListener("click", function () { show("ask"); });

  if (token) {  // a request made earlier on this phone: keep waiting for it
    show("wait");
    poll();
  }
})();
