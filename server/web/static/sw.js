// The offline worker (served as /sw.js by server/finder/pages.py, which fills in the version
// and the files): the finder (/find) and the rider's code page (/r/...) open without network,
// with the last station list it saw; the page marks that list with its age. Pages and the list
// are network first (a rider online always sees the live state), the page's own scripts and
// styles cache first (their version is this worker's). Every other request passes untouched:
// the staff console is never served from here.
"use strict";

var VERSION = "__VERSION__";
var SHELL = "ws-shell-" + VERSION;  // this version's scripts and styles, and /find
var KEPT = "ws-kept";  // pages seen, the last station list, photos: across versions
var FILES = ["__FILES__"];
var MAP_FILES = ["__MAP_FILES__"];  // kept once a rider has opened the map
var LIST = "/api/public/stations";
var PHOTOS = /^\/api\/public\/stations\/[^/]+\/photo\//;

function isPage(url) {
  return url.pathname === "/find" || /^\/r\/[^/]+$/.test(url.pathname);
}

function keep(cacheName, key, reply) {
  return caches.open(cacheName).then(function (cache) { return cache.put(key, reply); });
}

function matchAny(url) {
  return caches.match(url).then(function (hit) {
    return hit || caches.match(url, { ignoreSearch: true });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL)
      .then(function (cache) { return cache.addAll(FILES.concat(["/find"])); })
      .then(function () { return self.skipWaiting(); })
  );
});

// Old versions go; the pages already open (the one that registered this worker, say) are
// kept now, so that they open offline after this one visit.
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("ws-shell-") === 0 && name !== SHELL;
        }).map(function (name) { return caches.delete(name); }));
      })
      .then(function () { return self.clients.claim(); })
      .then(function () { return self.clients.matchAll({ type: "window" }); })
      .then(function (windows) {
        return Promise.all(windows.map(function (client) {
          var url = new URL(client.url);
          if (url.origin !== self.location.origin || !isPage(url)) return null;
          return fetch(url.href, { credentials: "same-origin" }).then(function (reply) {
            return reply.ok ? keep(KEPT, url.href, reply) : null;
          }, function () { return null; });
        }));
      })
  );
});

function page(request) {
  return fetch(request).then(function (reply) {
    if (reply.ok) {
      keep(KEPT, request.url, reply.clone());
    } else if (reply.status === 404 || reply.status === 410) {
      caches.open(KEPT).then(function (cache) { cache.delete(request.url); });
    }
    return reply;
  }, function () {
    return matchAny(request.url).then(function (hit) { return hit || Response.error(); });
  });
}

// The copy kept, marked so that the page shows it as old data, not as the live state.
function offlineCopy(reply) {
  return reply.blob().then(function (body) {
    var headers = new Headers(reply.headers);
    headers.set("X-WS-Offline", "1");
    headers.delete("Content-Encoding");
    headers.delete("Content-Length");
    return new Response(body, { status: 200, headers: headers });
  });
}

function stationList(request) {
  return fetch(request).then(function (reply) {
    if (reply.ok) keep(KEPT, LIST, reply.clone());
    return reply;
  }, function () {
    return caches.match(LIST).then(function (hit) { return hit ? offlineCopy(hit) : Response.error(); });
  });
}

function cacheFirst(request, cacheName) {
  return caches.match(request.url).then(function (hit) {
    return hit || fetch(request).then(function (reply) {
      if (reply.ok) keep(cacheName, request.url, reply.clone());
      return reply;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && isPage(url)) {
    event.respondWith(page(request));
  } else if (url.pathname === LIST) {
    event.respondWith(stationList(request));
  } else if (FILES.indexOf(url.pathname) >= 0 || MAP_FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(cacheFirst(request, SHELL));
  } else if (PHOTOS.test(url.pathname)) {
    event.respondWith(cacheFirst(request, KEPT));
  }
});
