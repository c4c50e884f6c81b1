// The code page's nearby stations (templates/nearby.html): the three nearest open stations
// with room, by distance when the position is known (the rider allowed it before, or taps),
// else by free places; a link to the finder. Offline, the newest list it has, with its age.
"use strict";

(function () {
  var F = window.WarmFinder;
  var data = JSON.parse(document.getElementById("nearby-data").textContent);
  var words = data.words;
  var SHOWN = 3, POLL_MS = 10000;
  var listNode = document.getElementById("nearby-list");
  var freshness = document.getElementById("nearby-freshness");
  var locateButton = document.getElementById("nearby-locate");
  var current = F.recall(), offline = false, here = null;

  function render() {
    if (!current) return;
    var withRoom = current.stations.filter(F.hasRoom);
    var ranked = F.rank(withRoom, here).slice(0, SHOWN);
    listNode.textContent = "";
    if (!ranked.length) listNode.appendChild(F.element("li", "none", words.none_with_room));
    ranked.forEach(function (entry) {
      var s = entry.station;
      var li = F.element("li", "nearby-station");
      li.dataset.station = s.id;
      li.appendChild(F.element("span", "name", s.name));
      li.appendChild(F.element("span", "free", F.fill(words.free, { n: s.free_places, capacity: s.capacity })));
      if (entry.distance !== null) li.appendChild(F.element("span", "distance", F.distanceText(entry.distance, words)));
      var link = F.directions(s, words)[0];
      if (link) {
        var a = F.element("a", "go", words.directions);
        a.href = link.href;
        a.rel = "noreferrer";
        li.appendChild(a);
      }
      listNode.appendChild(li);
    });
    var fresh = F.freshnessText(current, offline, words);
    freshness.textContent = fresh.stale ? fresh.text : "";
    freshness.className = "freshness" + (fresh.stale ? " stale" : "");
  }

  function refresh() {
    return F.load().then(function (answer) {
      offline = answer.offline;
      current = offline ? F.newest(current, answer.list) : answer.list;
      render();
    }, function () {
      offline = true;
      current = F.newest(current, F.recall());
      render();
    });
  }

  function useLocation() {
    F.locate(function (position) {
      here = position;
      locateButton.hidden = true;
      render();
    }, function () { locateButton.disabled = false; });
  }

  if ("geolocation" in navigator) {
    F.locationAllowed(function (allowed) {
      if (allowed) { useLocation(); return; }
      locateButton.hidden = false;
      locateButton.addEventListener("click", function () { locateButton.disabled = true; useLocation(); });
    });
  }

  render();
  refresh();
  F.every(POLL_MS, refresh);
  F.startOffline();
})();
