# Shared by scripts/install-station and scripts/update-station (sourced, not run).
# Layout on the box (under $WS_ROOT when --root DIR is given):
#   /opt/warm-station/releases/<name>/   a copy of the source, its own .venv (only .[agent]),
#                                        and .ready once complete
#   /opt/warm-station/current            symlink to releases/<name>, switched atomically
#   /etc/warm-station/agent.toml         the box's settings (never overwritten)
#   /var/lib/warm-station/               the agent's identity and state (0700, service user)
# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this

WS_USER=warm-station
WS_KIOSK_USER=warm-kiosk
WS_AGENT_UNIT=warm-station-agent.service
WS_KIOSK_UNIT=warm-station-kiosk.service
WS_ROOT=""

ws_log() { printf '%s: %s\n' "${WS_PROG:-station}" "$*"; }
ws_die() {
  printf '%s: error: %s\n' "${WS_PROG:-station}" "$*" >&2
  exit 1
}

# Sets the paths for a box rooted at $1 ("" for the real one).
ws_paths() {
  WS_ROOT="${1%/}"
  WS_OPT="$WS_ROOT/opt/warm-station"
  WS_ETC="$WS_ROOT/etc/warm-station"
  WS_STATE="$WS_ROOT/var/lib/warm-station"
  WS_UNITS="$WS_ROOT/etc/systemd/system"
}

ws_require_root() {
  [ -n "$WS_ROOT" ] || [ "$(id -u)" -eq 0 ] || ws_die "run as root (sudo), or use --root DIR"
}

# One install or update at a time.
ws_lock() {
  mkdir -p "$WS_OPT/releases"
  exec 9>"$WS_OPT/.lock"
  flock -n 9 || ws_die "another install or update is running ($WS_OPT/.lock)"
}

# systemctl, or the stub in $WS_SYSTEMCTL (tests); under --root without a stub: skipped.
ws_systemctl() {
  if [ -n "${WS_SYSTEMCTL:-}" ]; then
    "$WS_SYSTEMCTL" "$@"
  elif [ -n "$WS_ROOT" ]; then
    ws_log "skip (--root): systemctl $*"
  else
    systemctl "$@"
  fi
}

ws_unit_active() {
  [ -n "$WS_ROOT" ] && [ -z "${WS_SYSTEMCTL:-}" ] && return 0
  [ "$(ws_systemctl is-active "$WS_AGENT_UNIT" 2>/dev/null)" = "active" ]
}

ws_restarts() {
  [ -n "$WS_ROOT" ] && [ -z "${WS_SYSTEMCTL:-}" ] && { echo 0; return; }
  ws_systemctl show -p NRestarts --value "$WS_AGENT_UNIT" 2>/dev/null || echo "?"
}

# The files a release is made of: pyproject, README, the packages pyproject lists, docs, deploy.
ws_release_files() {
  local src="$1"
  python3 - "$src" <<'PY'
import sys, tomllib
from pathlib import Path
src = Path(sys.argv[1])
conf = tomllib.loads((src / "pyproject.toml").read_text())
names = ["pyproject.toml", "README.md", "docs", "deploy", "requirements/agent.lock"]
names += [p.rstrip("*") for p in conf["tool"]["setuptools"]["packages"]["find"]["include"]]
print("\n".join(n for n in names if (src / n).exists()))
PY
}

ws_tar() {
  local src="$1"
  local files
  mapfile -t files < <(ws_release_files "$src")
  tar -C "$src" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --exclude=__pycache__ --exclude='*.pyc' -cf - "${files[@]}"
}

# <version>-<hash of the release's files>: the same source always gives the same name.
ws_release_name() {
  local src="$1" version hash
  version="$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$src/pyproject.toml")"
  hash="$(ws_tar "$src" | sha256sum | cut -c1-10)"
  echo "$version-$hash"
}

ws_release_ready() { [ -f "$WS_OPT/releases/$1/.ready" ]; }

# Builds releases/<name> from the source: a copy, a venv with .[agent] only (the versions of
# requirements/agent.lock, checked by hash), then .ready.
# Options for pip (e.g. an offline wheelhouse) come from $WS_PIP_OPTS.
ws_make_release() {
  local src="$1" name="$2" dir="$WS_OPT/releases/$2"
  if ws_release_ready "$name"; then
    ws_log "release $name is already installed"
    return
  fi
  ws_log "building release $name in $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  ws_tar "$src" | tar -C "$dir" -xf -
  "${WS_PYTHON:-python3}" -m venv "$dir/.venv"
  # shellcheck disable=SC2086  # WS_PIP_OPTS is a list of options
  "$dir/.venv/bin/python" -m pip install -q --disable-pip-version-check ${WS_PIP_OPTS:-} \
    --require-hashes -r "$dir/requirements/agent.lock"
  # shellcheck disable=SC2086
  "$dir/.venv/bin/python" -m pip install -q --disable-pip-version-check ${WS_PIP_OPTS:-} \
    --no-deps "${dir}"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.ready"
}

ws_current() {
  local target
  target="$(readlink "$WS_OPT/current" 2>/dev/null)" || return 0
  basename "$target"
}

# Points current at releases/<name> in one rename(2): never a moment without a release.
ws_switch() {
  ln -sfn "releases/$1" "$WS_OPT/.current.new"
  mv -Tf "$WS_OPT/.current.new" "$WS_OPT/current"
  ws_log "current -> releases/$1"
}

# The health contract: `python -m station_agent check --quick` exits 0 when this release can
# run the door (docs/install-station.md, "Health check"). Run as the service user on a box.
ws_health() {
  local cmd=("$WS_OPT/current/.venv/bin/python" -m station_agent check --quick
    --config "$WS_ETC/agent.toml")
  if [ -z "$WS_ROOT" ] && [ "$(id -u)" -eq 0 ] && id "$WS_USER" >/dev/null 2>&1; then
    cmd=(runuser -u "$WS_USER" -- env "WS_AGENT_DATA_DIR=$WS_STATE" "${cmd[@]}")
  fi
  timeout "${WS_HEALTH_TIMEOUT:-30}" "${cmd[@]}"
}

# Keeps the newest $1 releases (by completion time), and always the current one.
ws_prune() {
  local keep="$1" current name kept=0
  current="$(ws_current)"
  while read -r name; do
    if [ "$name" = "$current" ] || [ "$kept" -lt $((keep - 1)) ]; then
      [ "$name" = "$current" ] || kept=$((kept + 1))
      continue
    fi
    ws_log "removing old release $name"
    rm -rf "${WS_OPT:?}/releases/$name"
  done < <(find "$WS_OPT/releases" -mindepth 2 -maxdepth 2 -name .ready -printf '%T@ %h\n' |
    sort -rn | while read -r _ dir; do basename "$dir"; done)
}
