// What the finder (/find) and the code page's nearby list share: the public station list
// (fetched, remembered for offline use), distances, ranking, directions links, times in words,
// and the offline worker. Plain script for WeChat's in-app browser: every newer API is
// feature-tested, nothing is loaded from elsewhere, the rider's position never leaves the page.
"use strict";

(function () {
  var API = "/api/public/stations";
  var STORE_KEY = "ws-public-stations";
  var EARTH_RADIUS_M = 6371008.8;
  var STALE_AFTER_MS = 60000;  // older data is marked with its age

  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? values[name] : whole;
    });
  }

  function distanceM(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var dphi = (lat2 - lat1) * rad, dlambda = (lon2 - lon1) * rad;
    var a = Math.pow(Math.sin(dphi / 2), 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.pow(Math.sin(dlambda / 2), 2);
    return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, a)));
  }

  function distanceText(m, words) {
    if (m < 1000) return fill(words.distance_m, { n: Math.max(10, Math.round(m / 10) * 10) });
    return fill(words.distance_km, { n: (m / 1000).toFixed(m < 10000 ? 1 : 0) });
  }

  // Stations with the rider's distance; nearest first when the position is known, else those
  // that can take a rider now first, most free places first.
  function rank(stations, here) {
    var list = stations.map(function (s) {
      var d = here && s.lat !== null && s.lon !== null ? distanceM(here.lat, here.lon, s.lat, s.lon) : null;
      return { station: s, distance: d };
    });
    list.sort(function (a, b) {
      if (here) {
        if (a.distance === null || b.distance === null) {
          if (a.distance !== b.distance) return a.distance === null ? 1 : -1;
        } else if (a.distance !== b.distance) {
          return a.distance - b.distance;
        }
      } else {
        var ra = hasRoom(a.station) ? 0 : a.station.open_now ? 1 : 2;
        var rb = hasRoom(b.station) ? 0 : b.station.open_now ? 1 : 2;
        if (ra !== rb) return ra - rb;
        if (a.station.free_places !== b.station.free_places) return b.station.free_places - a.station.free_places;
      }
      return a.station.id < b.station.id ? -1 : a.station.id > b.station.id ? 1 : 0;
    });
    return list;
  }

  function hasRoom(station) { return station.open_now && station.free_places > 0; }

  // AMap and Baidu Maps web addresses: in WeChat they open the map page (custom app schemes
  // such as amapuri:// are blocked there), elsewhere they offer the app. Coordinates are WGS-84
  // (what GPS and the browser give), which both are told, so they convert to their own datum.
  function directions(station, words) {
    if (station.lat === null || station.lon === null) return [];
    var name = encodeURIComponent(station.name);
    return [
      {
        kind: "amap",
        label: words.amap,
        href: "https://uri.amap.com/marker?position=" + station.lon + "," + station.lat +
          "&name=" + name + "&coordinate=wgs84&callnative=1&src=warm-station",
      },
      {
        kind: "baidu",
        label: words.baidu,
        href: "https://api.map.baidu.com/marker?location=" + station.lat + "," + station.lon +
          "&title=" + name + "&content=" + encodeURIComponent(station.address || station.name) +
          "&coord_type=wgs84&output=html&src=webapp.warm-station.finder",
      },
    ];
  }

  // China time, whatever the phone's zone (stations keep China's hours).
  function chinaParts(date) {
    var shifted = new Date(date.getTime() + 8 * 3600 * 1000);
    return {
      day: shifted.getUTCDate(), month: shifted.getUTCMonth() + 1,
      hh: ("0" + shifted.getUTCHours()).slice(-2), mm: ("0" + shifted.getUTCMinutes()).slice(-2),
      ss: ("0" + shifted.getUTCSeconds()).slice(-2),
      dayNumber: Math.floor((date.getTime() + 8 * 3600 * 1000) / 86400000),
    };
  }

  function whenText(iso, words) {
    var at = chinaParts(new Date(iso)), today = chinaParts(new Date());
    var time = at.hh + ":" + at.mm;
    if (at.dayNumber === today.dayNumber) return fill(words.today, { time: time });
    if (at.dayNumber === today.dayNumber + 1) return fill(words.tomorrow, { time: time });
    return fill(words.on_date, { month: at.month, day: at.day, time: time });
  }

  // "Updated 12:03:04" while live; "Offline: data from N min ago" when it is all there is.
  function freshnessText(list, offline, words) {
    var made = new Date(list.generated_at), age = Date.now() - made.getTime();
    if (offline || age > STALE_AFTER_MS) {
      return { stale: true, text: fill(words.stale, { n: Math.max(1, Math.round(age / 60000)) }) };
    }
    var p = chinaParts(made);
    return { stale: false, text: fill(words.updated, { time: p.hh + ":" + p.mm + ":" + p.ss }) };
  }

  function remember(list) {
    try { window.localStorage.setItem(STORE_KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
  }

  function recall() {
    try { return JSON.parse(window.localStorage.getItem(STORE_KEY) || "null"); } catch (e) { return null; }
  }

  function newest(a, b) {
    if (!a) return b || null;
    if (!b) return a;
    return Date.parse(b.generated_at) > Date.parse(a.generated_at) ? b : a;
  }

  // The list, and whether it is the live one: { list, offline }. The offline worker answers
  // with its last copy when the network fails, and says so in a header.
  function load() {
    var got;
    if (window.fetch) {
      // Revalidated every time (a 304 costs a few bytes): never a copy older than the poll,
      // and a lost network is seen at once.
      got = window.fetch(API, { credentials: "omit", cache: "no-cache" }).then(function (reply) {
        if (!reply.ok) throw new Error(String(reply.status));
        var fromCopy = reply.headers.get("X-WS-Offline") === "1";
        return reply.json().then(function (list) { return { list: list, offline: fromCopy }; });
      });
    } else {
      got = new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        xhr.open("GET", API);
        xhr.setRequestHeader("Cache-Control", "no-cache");
        xhr.onload = function () {
          if (xhr.status !== 200) { reject(new Error(String(xhr.status))); return; }
          resolve({ list: JSON.parse(xhr.responseText), offline: xhr.getResponseHeader("X-WS-Offline") === "1" });
        };
        xhr.onerror = function () { reject(new Error("network")); };
        xhr.send();
      });
    }
    return got.then(function (answer) {
      if (!answer.offline) remember(answer.list);
      return answer;
    });
  }

  // The phone's position, only when the rider asks (a tap), kept in this page only.
  function locate(onDone, onFail) {
    if (!("geolocation" in navigator)) { onFail(); return; }
    navigator.geolocation.getCurrentPosition(
      function (pos) { onDone({ lat: pos.coords.latitude, lon: pos.coords.longitude }); },
      function () { onFail(); },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 }
    );
  }

  // Whether the rider already allowed location here (then asking shows no prompt).
  function locationAllowed(callback) {
    if (!navigator.permissions || !navigator.permissions.query) { callback(false); return; }
    navigator.permissions.query({ name: "geolocation" }).then(
      function (status) { callback(status.state === "granted"); },
      function () { callback(false); }
    );
  }

  function startOffline() {
    if (!("serviceWorker" in navigator) || window.isSecureContext === false) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* stays online-only */ });
  }

  // Poll while the page is visible; at once when it becomes visible again.
  function every(ms, task) {
    var timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(run, ms); }
    function run() {
      if (document.visibilityState === "hidden") { later(); return; }
      Promise.resolve().then(task).then(later, later);
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") run();
    });
    later();
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  window.WarmFinder = {
    fill: fill, distanceM: distanceM, distanceText: distanceText, rank: rank, hasRoom: hasRoom,
    directions: directions, whenText: whenText, freshnessText: freshnessText, remember: remember,
    recall: recall, newest: newest, load: load, locate: locate, locationAllowed: locationAllowed,
    startOffline: startOffline, every: every, element: element,
  };
})();
