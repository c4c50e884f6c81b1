#!/bin/sh
# The broker container's entry point (issue 10): runs Mosquitto and keeps its account files
# and certificate current.
#
# The server writes them (server/broker: stations.passwd, stations.acl, internal.passwd,
# internal.acl, 0600 as its own user; ca.crt, broker.crt, broker.key) into the volume mounted
# at $SHARED. Mosquitto rereads them on SIGHUP, but the server cannot signal a process in
# another container, and Mosquitto 2.0 does not watch its files. So this script, as root:
#   1. waits until all of them exist, then copies them into $AUTH owned by the user Mosquitto
#      runs as (the server's user id means nothing in this container), 0600;
#   2. starts Mosquitto;
#   3. every $WS_BROKER_POLL_S seconds (default 5), if their content changed, copies them
#      again and sends Mosquitto SIGHUP. A reload re-hashes the password of every connected
#      client, so it happens only on a change, never on a timer alone. Mosquitto 2.0 forgets
#      a SIGHUP that arrives while it is still applying the previous reload; these are
#      $WS_BROKER_POLL_S apart, longer than any reload, so none falls into another's.
# A new station can therefore log in at most $WS_BROKER_POLL_S seconds after the server has
# written its account; its first attempts are refused and it retries with backoff.
# The paths can be moved by environment variables (tests run this outside a container).
SHARED=${WS_BROKER_SHARED:-/mosquitto/shared}
AUTH=${WS_BROKER_AUTH:-/mosquitto/auth}
CONF=${WS_BROKER_CONF:-/mosquitto/config/mosquitto.conf}
DATA=${WS_BROKER_DATA:-/mosquitto/data}
POLL_S=${WS_BROKER_POLL_S:-5}
FILES="stations.passwd stations.acl internal.passwd internal.acl ca.crt broker.crt broker.key"

all_present() {
  for f in $FILES; do [ -s "$SHARED/$f" ] || return 1; done
}

digest() {
  (cd "$SHARED" && cat $FILES 2>/dev/null | sha256sum)
}

install_files() {
  mkdir -p "$AUTH"
  for f in $FILES; do
    cp "$SHARED/$f" "$AUTH/.$f.new" || return 1
    chmod 600 "$AUTH/.$f.new"
    [ "$(id -u)" != 0 ] || chown mosquitto:mosquitto "$AUTH/.$f.new"
    mv "$AUTH/.$f.new" "$AUTH/$f"  # a rename: Mosquitto never reads half a file
  done
}

until all_present; do
  echo "broker: waiting for the server to write the account files into $SHARED"
  sleep 2
done
install_files || exit 1
seen=$(digest)
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATA" && chown -R mosquitto:mosquitto "$DATA"  # the image's own entrypoint did this
fi

mosquitto -c "$CONF" &
pid=$!
stopping=""
trap 'stopping=1; kill -TERM "$pid" 2>/dev/null' TERM INT

while [ -z "$stopping" ] && kill -0 "$pid" 2>/dev/null; do
  sleep "$POLL_S" &
  wait $!  # returns at once when a signal arrives
  [ -z "$stopping" ] || break
  now=$(digest)
  if [ "$now" != "$seen" ] && all_present && install_files; then
    seen=$now
    echo "broker: account files changed, reloading"
    kill -HUP "$pid" 2>/dev/null
  fi
done
wait "$pid"
