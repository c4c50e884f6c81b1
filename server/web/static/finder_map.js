// The finder's map (templates/find.html, loaded when the rider asks for it): issue 14's
// station_map.js with the public list only, no staff data. A marker is open with room, full,
// or closed; its card adds the address, the distance and the directions links.
import { baseCard, createStationMap } from "./station_map.js";

const F = window.WarmFinder;
const DATA = JSON.parse(document.getElementById("finder-data").textContent);
const WORDS = DATA.words;
const MAP_WORDS = {
  badge_open: WORDS.open,
  badge_full: WORDS.full,
  badge_closed_by_hours: WORDS.closed,
  free_places: WORDS.free.replace("{n}", "{free}"),
  map_legend: WORDS.map_legend,
};

function marker(station) {
  let state = "closed_by_hours";
  if (station.open_now) state = station.free_places > 0 ? "open" : "full";
  return {
    id: station.id, name: station.name, lat: station.lat, lon: station.lon, state,
    free: station.free_places, capacity: station.capacity,
  };
}

const container = document.getElementById("map");
let latest = window.WarmFinderStations || { stations: [], here: null };

function card(m) {
  const node = baseCard(m, MAP_WORDS);
  const station = latest.stations.find((s) => s.id === m.id);
  if (!station) return node;
  if (station.address) node.append(F.element("span", "address", station.address));
  if (latest.here && station.lat !== null) {
    const d = F.distanceM(latest.here.lat, latest.here.lon, station.lat, station.lon);
    node.append(F.element("span", "distance", F.distanceText(d, WORDS)));
  }
  const links = F.element("span", "directions");
  for (const link of F.directions(station, WORDS)) {
    const a = F.element("a", link.kind, link.label);
    a.href = link.href;
    a.rel = "noreferrer";
    links.append(a, " ");
  }
  node.append(links);
  return node;
}

const map = createStationMap(container, { tiles: DATA.map.tiles, words: MAP_WORDS, card });
let drawn = "";
let placed = "";

function show() {
  latest = window.WarmFinderStations || latest;
  const markers = latest.stations.filter((s) => s.lat !== null && s.lon !== null).map(marker);
  const key = JSON.stringify(markers.map((m) => [m.id, m.state, m.free, m.lat, m.lon]));
  if (key === drawn) return;
  const ids = markers.map((m) => m.id).join();
  if (ids === placed) map.updateMarkers(markers);  // the same stations: move and restyle
  else map.setMarkers(markers);
  drawn = key;
  placed = ids;
  container.dataset.ready = String(markers.length);
}

window.WarmFinderMap = { resize: () => map.map.invalidateSize() };
document.addEventListener("ws-stations", show);
show();
