#!/bin/sh
# Entry point of the server and demo images: every secret mounted as /run/secrets/WS_<NAME>
# (docker-compose.yml, `secrets:` with that target) becomes the environment variable of that
# name, so no password is written into a compose file or shown by `docker inspect`.
# Then runs "$@".
set -eu
for file in /run/secrets/WS_*; do
  [ -f "$file" ] || continue
  name=$(basename "$file")
  value=$(cat "$file")
  export "$name=$value"
done
exec "$@"
