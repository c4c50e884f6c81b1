// Stations on a map: a standalone module over Leaflet (vendor/leaflet/leaflet.js, loaded first
// as window.L). It takes plain markers and knows nothing of who looks at them:
//
//   { id, name, lat, lon, state, free, capacity, problem?, alarms? }
//
// lat/lon in WGS-84; state one of STATES (server/reports/station_state.py); free the places
// left, or null when unknown. What a marker's card says beyond name, state and places is the
// caller's (options.card), so the staff map and a rider's "find a station" page share it.
//
//   const stations = createStationMap(element, {
//     tiles: { url, labels, subdomains, attribution, maxZoom, gcj02 } | null,  // null: a grid
//     words: { badge_open: "开放中", ..., free_places: "空位 {free} / {capacity}", ... },
//     card: (marker, baseCard) => Node,   // optional
//     legend: element,                     // optional: where the legend goes (else on the map)
//   });
//   stations.setMarkers(list); stations.updateMarkers(changed); stations.visibleIds(200);
//
// Nothing here builds HTML from text: names go in with textContent (the pages' CSP and
// plain safety), so a station named "<img onerror=...>" is just a name.
import gcoord from "./vendor/gcoord/gcoord.esm-browser.prod.js";

export const STATES = [
  "open", "nearly_full", "full", "closed_by_hours", "lockdown", "maintenance", "offline",
  "never_connected",
];
// A colour and a sign for each state: the state is never told by colour alone.
const SIGNS = {
  open: "✓", nearly_full: "!", full: "■", closed_by_hours: "☾", lockdown: "⊘",
  maintenance: "✎", offline: "×", never_connected: "?",
};
// Past this many markers they are drawn on one canvas (fast at 10,000, but not reachable by
// keyboard: the overview's table is); below it each is a focusable element.
export const DOM_MARKERS_UP_TO = 2000;
const CHINA = [35, 105];

function fill(text, values) {
  let out = text;
  for (const [name, value] of Object.entries(values || {})) out = out.replace(`{${name}}`, value);
  return out;
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

// The card every map shows: name, state in words, places left.
export function baseCard(marker, words) {
  const card = element("div", "station-card");
  card.append(element("strong", "station-card-name", marker.name));
  const state = element("span", `badge badge-${marker.state}`, words[`badge_${marker.state}`] || marker.state);
  const places = marker.free === null || marker.free === undefined
    ? element("span", "unknown", "—")
    : element("span", "free", fill(words.free_places || "{free} / {capacity}", marker));
  if (places.className === "unknown") places.title = words.unknown || "";
  const line = element("div", "station-card-state");
  line.append(state, " ", places);
  card.append(line);
  return card;
}

// Lines of latitude and longitude a few per screen, with their values at the edges: the map's
// background when no tile server is configured (offline demos and tests, a closed network).
function graticule(L, map) {
  const layer = L.layerGroup();
  const STEPS = [20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005];
  const style = { color: "#b9c0cc", weight: 1, interactive: false };
  function label(text, at, className) {
    return L.marker(at, {
      icon: L.divIcon({ className: `grid-label ${className}`, html: element("span", "", text), iconSize: null }),
      interactive: false, keyboard: false,
    });
  }
  function draw() {
    layer.clearLayers();
    const b = map.getBounds();
    const span = Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth());
    const step = STEPS.find((s) => span / s >= 4) || STEPS[STEPS.length - 1];
    const digits = Math.max(0, Math.ceil(-Math.log10(step)));
    for (let lon = Math.ceil(b.getWest() / step) * step; lon <= b.getEast(); lon += step) {
      layer.addLayer(L.polyline([[b.getSouth(), lon], [b.getNorth(), lon]], style));
      layer.addLayer(label(`${lon.toFixed(digits)}°E`, [b.getSouth(), lon], "grid-lon"));
    }
    for (let lat = Math.ceil(b.getSouth() / step) * step; lat <= b.getNorth(); lat += step) {
      layer.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
      layer.addLayer(label(`${lat.toFixed(digits)}°N`, [lat, b.getWest()], "grid-lat"));
    }
  }
  map.on("moveend zoomend resize", draw);
  layer.on("add", draw);
  return layer;
}

function legendList(words, states) {
  const list = element("ul", "map-legend");
  for (const state of STATES.filter((s) => states.has(s))) {
    const item = element("li");
    const pin = element("span", `station-pin state-${state}`, SIGNS[state]);
    pin.setAttribute("aria-hidden", "true"); // the word says it
    item.append(pin, " ", element("span", "legend-word", words[`badge_${state}`] || state));
    list.append(item);
  }
  return list;
}

export function createStationMap(container, options = {}) {
  const L = window.L;
  const words = options.words || {};
  const tiles = options.tiles || null;
  const card = options.card || ((marker, base) => base(marker, words));
  const map = L.map(container, {
    center: CHINA, zoom: 4, minZoom: 3, maxZoom: tiles ? tiles.maxZoom || 18 : 19,
    attributionControl: Boolean(tiles && tiles.attribution),
    preferCanvas: false,
  });
  if (tiles) {
    const layer = { subdomains: tiles.subdomains || "abc", maxZoom: tiles.maxZoom || 18 };
    const attribution = element("span", "", tiles.attribution || "").innerHTML; // as text
    L.tileLayer(tiles.url, { ...layer, attribution }).addTo(map);
    if (tiles.labels) L.tileLayer(tiles.labels, layer).addTo(map);
    if (map.attributionControl) map.attributionControl.setPrefix(false);
  } else {
    container.classList.add("station-map-grid");
    graticule(L, map).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  // The legend names the states on the map (a rider's map has no "maintenance" to explain).
  let legendBox = options.legend || null;
  if (!legendBox) {
    const Legend = L.Control.extend({ onAdd: () => element("div", "map-legend-box") });
    legendBox = new Legend({ position: "bottomright" }).addTo(map).getContainer();
  }
  let legendStates = "";
  function legend() {
    const states = new Set([...shown.values()].map((entry) => entry.data.state));
    const key = [...states].sort().join();
    if (key === legendStates) return;
    legendStates = key;
    const parts = options.legend ? [element("h2", "", words.map_legend || "")] : [];
    legendBox.replaceChildren(...parts, legendList(words, states));
  }

  // Escape closes a card wherever the focus is in the map (Leaflet does it only when the map
  // itself has the focus, not a marker).
  container.addEventListener("keydown", (event) => {
    if (event.key === "Escape") map.closePopup();
  });

  const shown = new Map(); // id -> { marker: Leaflet layer, data: plain marker }
  let canvas = null;
  let fitted = false;

  // Tiles in GCJ-02 (AMap, Tencent) sit some hundred metres off WGS-84 inside China.
  function place(m) {
    if (!(tiles && tiles.gcj02)) return [m.lat, m.lon];
    const [lon, lat] = gcoord.transform([m.lon, m.lat], gcoord.WGS84, gcoord.GCJ02);
    return [lat, lon];
  }
  function title(m) {
    return `${m.name} · ${words[`badge_${m.state}`] || m.state}`;
  }
  // A focusable marker (Leaflet: role=button, Enter opens the card) is named by its station
  // and state, not by its sign.
  function name(marker, m) {
    const node = marker.getElement();
    if (!node) return;
    node.dataset.station = m.id;
    node.dataset.state = m.state;
    node.title = title(m);
    node.setAttribute("aria-label", title(m));
  }
  // Where markers overlap, the more urgent one is on top.
  function urgency(m) {
    return 1000 * (5 - (m.problem ?? 5));
  }
  function icon(m) {
    const pin = element("span", `station-pin state-${m.state}${m.alarms ? " has-alarm" : ""}`, SIGNS[m.state] || "•");
    pin.setAttribute("aria-hidden", "true"); // the marker's label says it
    return L.divIcon({ className: "station-marker", html: pin, iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12] });
  }
  function draw(m) {
    if (canvas) {
      return L.circleMarker(place(m), {
        renderer: canvas, radius: 6, weight: m.alarms ? 3 : 1, color: m.alarms ? "#b00020" : "#333",
        fillOpacity: 0.9, className: `state-${m.state}`, fillColor: getComputedStyle(document.documentElement)
          .getPropertyValue(`--state-${m.state}`).trim() || "#666",
      });
    }
    const marker = L.marker(place(m), {
      icon: icon(m), title: title(m), keyboard: true, riseOnHover: true, zIndexOffset: urgency(m),
    });
    marker.on("add", () => name(marker, m));
    return marker;
  }
  function add(m) {
    const entry = { marker: draw(m), data: m };
    entry.marker.bindPopup(() => card(entry.data, baseCard), {
      maxWidth: 280, autoPanPaddingTopLeft: [50, 20], autoPanPaddingBottomRight: [20, 20],
    });
    entry.marker.addTo(map);
    shown.set(m.id, entry);
  }
  function restyle(entry) {
    const m = entry.data;
    entry.marker.setLatLng(place(m));
    if (canvas) {
      entry.marker.setStyle({ weight: m.alarms ? 3 : 1, color: m.alarms ? "#b00020" : "#333",
        fillColor: getComputedStyle(document.documentElement).getPropertyValue(`--state-${m.state}`).trim() || "#666" });
    } else {
      const open = entry.marker.isPopupOpen();
      entry.marker.setIcon(icon(m));
      entry.marker.setZIndexOffset(urgency(m));
      name(entry.marker, m);
      if (open) entry.marker.setPopupContent(card(m, baseCard));
    }
    if (canvas && entry.marker.isPopupOpen()) entry.marker.setPopupContent(card(m, baseCard));
  }

  return {
    map,
    // Replaces every marker; the first list also frames the view.
    setMarkers(list) {
      for (const entry of shown.values()) entry.marker.remove();
      shown.clear();
      canvas = list.length > (options.domMarkersUpTo ?? DOM_MARKERS_UP_TO) ? canvas || L.canvas({ padding: 0.2 }) : null;
      container.classList.toggle("station-map-canvas", Boolean(canvas));
      for (const m of list) add(m);
      legend();
      if (!fitted && list.length) {
        fitted = true;
        map.fitBounds(L.latLngBounds(list.map(place)), { padding: [30, 30], maxZoom: 15 });
      }
    },
    // Changes some markers (matched by id; fields not given are kept).
    updateMarkers(changed) {
      for (const m of changed) {
        const entry = shown.get(m.id);
        if (!entry) continue;
        entry.data = { ...entry.data, ...m };
        restyle(entry);
      }
      legend();
    },
    marker(id) {
      const entry = shown.get(id);
      return entry ? entry.data : null;
    },
    // The stations in view, most urgent first (by `problem`, then id), at most `limit`.
    visibleIds(limit) {
      const bounds = map.getBounds();
      return [...shown.values()]
        .filter((entry) => bounds.contains(entry.marker.getLatLng()))
        .map((entry) => entry.data)
        .sort((a, b) => (a.problem ?? 0) - (b.problem ?? 0) || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map((m) => m.id);
    },
    open(id) {
      const entry = shown.get(id);
      if (entry) entry.marker.openPopup();
    },
    onMove(callback) {
      map.on("moveend", callback);
    },
  };
}
