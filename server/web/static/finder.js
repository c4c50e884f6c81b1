// The station finder (templates/find.html): every station, open or closed and when it reopens,
// free places kept live, distance once the rider taps "sort by distance", directions, address,
// amenities, photo. Starts from the list in the page; offline it shows the newest list it has,
// marked with its age.
"use strict";

(function () {
  var F = window.WarmFinder;
  var data = JSON.parse(document.getElementById("finder-data").textContent);
  var words = data.words;
  var POLL_MS = 5000;
  var listNode = document.getElementById("stations");
  var freshness = document.getElementById("freshness");
  var where = document.getElementById("where");
  var locateButton = document.getElementById("locate");
  var cards = {};  // station id -> its <li>
  var current = null, offline = false, here = null, drawn = "";

  function embedded() {
    try { return JSON.parse(document.getElementById("stations-data").textContent); } catch (e) { return null; }
  }

  // The amenity's icon from the page's sprite (templates/amenity_icons.html).
  function icon(amenity) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS(ns, "use");
    use.setAttribute("href", "#amenity-" + amenity);
    svg.appendChild(use);
    return svg;
  }

  function stateLine(station) {
    var line = F.element("p", "state");
    var badge = F.element("span", "badge " + (station.open_now ? "open" : "closed"),
      station.open_now ? words.open : words.closed);
    line.appendChild(badge);
    if (!station.open_now && station.reopens_at) {
      line.appendChild(F.element("span", "reopens", F.fill(words.reopens, { time: F.whenText(station.reopens_at, words) })));
    }
    var full = station.free_places <= 0;
    line.appendChild(F.element("span", "free" + (full ? " none" : ""),
      full ? words.full : F.fill(words.free, { n: station.free_places, capacity: station.capacity })));
    return line;
  }

  function fillCard(li, entry) {
    var s = entry.station;
    li.className = "station " + (F.hasRoom(s) ? "room" : s.open_now ? "full" : "closed");
    var shown = li.querySelector("img.photo");  // kept when unchanged: no flicker every poll
    li.textContent = "";
    if (s.photo_url) {
      var img = shown && shown.getAttribute("src") === s.photo_url ? shown : F.element("img", "photo");
      img.src = s.photo_url;
      img.alt = F.fill(words.photo_alt, { name: s.name });
      img.loading = "lazy";
      img.width = 96; img.height = 72;
      li.appendChild(img);
    }
    var body = F.element("div", "body");
    var title = F.element("h2", "name", s.name);
    if (entry.distance !== null) title.appendChild(F.element("span", "distance", F.distanceText(entry.distance, words)));
    body.appendChild(title);
    body.appendChild(stateLine(s));
    if (s.address) body.appendChild(F.element("p", "address", s.address));
    if (s.amenities.length) {
      var amenities = F.element("ul", "amenities");
      s.amenities.forEach(function (a) {
        var item = F.element("li", "amenity");
        item.dataset.amenity = a;
        item.appendChild(icon(a));
        item.appendChild(document.createTextNode(words["amenity_" + a] || a));
        amenities.appendChild(item);
      });
      body.appendChild(amenities);
    }
    var links = F.directions(s, words);
    if (links.length) {
      var row = F.element("p", "directions");
      row.appendChild(F.element("span", "label", words.directions));
      links.forEach(function (link) {
        var a = F.element("a", link.kind, link.label);
        a.href = link.href;
        a.rel = "noreferrer";
        row.appendChild(a);
      });
      body.appendChild(row);
    }
    li.appendChild(body);
  }

  function render() {
    if (!current) return;
    showFreshness();
    // Cards are rebuilt only when something on them changed: a link being tapped stays put.
    var key = JSON.stringify([current.stations, here]);
    if (key === drawn) return;
    drawn = key;
    var ranked = F.rank(current.stations, here);
    var seen = {};
    ranked.forEach(function (entry) {
      var id = entry.station.id;
      seen[id] = true;
      var li = cards[id];
      if (!li) { li = cards[id] = F.element("li"); li.dataset.station = id; }
      fillCard(li, entry);
      listNode.appendChild(li);  // moves it into ranked order
    });
    Object.keys(cards).forEach(function (id) {
      if (!seen[id]) { cards[id].remove(); delete cards[id]; }
    });
    document.getElementById("empty").hidden = ranked.length > 0;
    publish();
  }

  // The map (finder_map.js) reads the list from here, and hears of each new one.
  function publish() {
    window.WarmFinderStations = { stations: current.stations, here: here };
    if (typeof CustomEvent === "function") document.dispatchEvent(new CustomEvent("ws-stations"));
  }

  // The map's files are fetched only when the rider first asks for it (a weak network pays
  // for the list, not for a map nobody opened); module scripts are what it needs.
  var mapButton = document.getElementById("show-map"), mapBox = document.getElementById("map");
  var mapLoaded = false;
  function loadMap() {
    data.map.files.forEach(function (file) {
      var node;
      if (/\.css$/.test(file)) {
        node = document.createElement("link");
        node.rel = "stylesheet";
        node.href = file;
        document.head.appendChild(node);
      } else if (/finder_map\.js$/.test(file)) {
        node = document.createElement("script");
        node.type = "module";
        node.src = file;
        document.body.appendChild(node);
      } else if (/leaflet\.js$/.test(file)) {
        node = document.createElement("script");
        node.src = file;
        node.async = false;  // before the module that uses window.L
        document.body.appendChild(node);
      }
    });
  }
  if ("noModule" in document.createElement("script")) {
    mapButton.addEventListener("click", function () {
      var show = mapBox.hidden;
      mapBox.hidden = !show;
      mapButton.textContent = show ? words.hide_map : words.show_map;
      mapButton.setAttribute("aria-expanded", String(show));
      if (show && !mapLoaded) { mapLoaded = true; loadMap(); }
      if (show && window.WarmFinderMap) window.WarmFinderMap.resize();
    });
  } else {
    mapButton.hidden = true;  // a browser without modules keeps the list
  }

  function showFreshness() {
    var fresh = F.freshnessText(current, offline, words);
    freshness.textContent = fresh.text;
    freshness.className = "freshness" + (fresh.stale ? " stale" : "");
    document.body.classList.toggle("offline", fresh.stale);
  }

  function refresh() {
    return F.load().then(function (answer) {
      offline = answer.offline;
      current = offline ? F.newest(current, answer.list) : answer.list;
      render();
    }, function () {
      offline = true;
      current = F.newest(current, F.recall());
      if (current) render();
      else freshness.textContent = words.load_failed;
    });
  }

  if ("geolocation" in navigator) {
    locateButton.hidden = false;
    locateButton.addEventListener("click", function () {
      where.textContent = words.locating;
      locateButton.disabled = true;
      F.locate(function (position) {
        here = position;
        where.textContent = words.location_note;
        locateButton.disabled = false;
        locateButton.classList.add("on");
        render();
      }, function () {
        where.textContent = words.location_failed;
        locateButton.disabled = false;
      });
    });
  }

  current = F.newest(embedded(), F.recall());
  render();
  refresh();
  F.every(POLL_MS, refresh);
  F.startOffline();
})();
