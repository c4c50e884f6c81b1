#!/bin/sh
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d):
# the server's own role, not a superuser, owning the database it uses. Its password is the
# secret db_app_password; the superuser's (postgres_password) is used for nothing else.
set -eu
app_password=$(cat "${WS_DB_APP_PASSWORD_FILE:-/run/secrets/db_app_password}")
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_role="$WS_DB_APP_USER" -v app_password="$app_password" <<'SQL'
CREATE ROLE :"app_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"DBNAME" OWNER TO :"app_role";
ALTER SCHEMA public OWNER TO :"app_role";
SQL
