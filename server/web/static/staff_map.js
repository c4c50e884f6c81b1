// The staff map (/map): every station with coordinates from /api/map/stations, drawn by
// station_map.js; the card adds alarms, the door and the station page; the stations in view
// follow the live stream (the overview's rows, at most a page of them).
import { baseCard, createStationMap } from "./station_map.js";

const SETTINGS = JSON.parse(document.getElementById("map-settings").textContent);
const PAGE_WORDS = JSON.parse(document.getElementById("words").textContent);
const WORDS = { ...PAGE_WORDS, ...SETTINGS.words };
const FOLLOW_AT_MOST = 200; // what one stream follows (server/reports/live.py)
const UNSEEN = new Set(["offline", "never_connected"]);

function say(key, values) {
  let text = WORDS[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function fact(list, term, value) {
  list.append(Object.assign(document.createElement("dt"), { textContent: term }),
    Object.assign(document.createElement("dd"), { textContent: value }));
}

function staffCard(marker) {
  const card = baseCard(marker, WORDS);
  card.dataset.station = marker.id;
  const facts = document.createElement("dl");
  fact(facts, say("active_alarms"), String(marker.alarms || 0));
  fact(facts, say("door"), marker.door ? WORDS[`door_${marker.door}`] || marker.door : "—");
  card.append(facts);
  const link = Object.assign(document.createElement("a"), {
    href: `/stations/${encodeURIComponent(marker.id)}`, textContent: say("open_station"),
  });
  card.append(link);
  return card;
}

// A live row of the overview (StationRow) as the marker's changing fields.
function fromRow(row) {
  const seen = !UNSEEN.has(row.state);
  return {
    id: row.id, name: row.name, state: row.state, problem: row.problem,
    capacity: row.capacity, free: seen ? Math.max(0, row.capacity - row.occupancy) : null,
    alarms: row.active_alarms, door: seen ? row.door_phase : null,
  };
}

async function start() {
  const container = document.getElementById("station-map");
  const stations = createStationMap(container, {
    tiles: SETTINGS.tiles, words: WORDS, card: staffCard,
    legend: container.insertAdjacentElement("afterend", document.createElement("section")),
  });
  const reply = await fetch("/api/map/stations", { credentials: "same-origin" });
  if (reply.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const unplaced = document.getElementById("map-unplaced");
  if (!reply.ok) { // the server is away or refused: say so rather than show an empty map
    unplaced.textContent = `${say("error")}: ${reply.status}`;
    unplaced.className = "form-error";
    unplaced.hidden = false;
    return;
  }
  const data = await reply.json();
  stations.setMarkers(data.markers);
  unplaced.textContent = say("map_unplaced", { n: data.unplaced });
  unplaced.hidden = data.unplaced === 0;
  container.dataset.ready = String(data.markers.length);
  window.stationMap = stations; // for the browser's console (and the tests)

  const live = document.getElementById("live");
  const announce = document.getElementById("announce");
  let source = null;
  let following = "";
  function follow() {
    const ids = stations.visibleIds(FOLLOW_AT_MOST).sort().join(",");
    if (ids === following) return;
    following = ids;
    if (source) source.close();
    if (!ids) return;
    source = new EventSource(`/api/stream?ids=${encodeURIComponent(ids)}`);
    source.addEventListener("open", () => {
      live.textContent = say("live");
      live.classList.remove("down");
    });
    source.addEventListener("error", () => {
      live.textContent = say("reconnecting");
      live.classList.add("down");
    });
    source.addEventListener("stations", (event) => {
      const rows = JSON.parse(event.data).map(fromRow);
      // Against the markers as drawn, snapshots included: a stream opened anew (the map
      // moved, the link came back) still says what changed since they were drawn.
      const news = rows
        .filter((m) => stations.marker(m.id) && stations.marker(m.id).state !== m.state)
        .map((m) => say("announce_state", { station: m.name, state: say(`badge_${m.state}`) }));
      stations.updateMarkers(rows);
      if (news.length) announce.textContent = news.slice(0, 5).join("；");
    });
  }
  let moved = null;
  stations.onMove(() => {
    clearTimeout(moved);
    moved = setTimeout(follow, 400);
  });
  follow();
}

start();
