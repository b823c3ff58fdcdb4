#!/bin/sh
# Creates the databases of huntbridge and Synapse. The PostgreSQL image runs
# this from /docker-entrypoint-initdb.d once, when it initializes an empty
# data volume, as the superuser named by POSTGRES_USER.
#
# Synapse requires its database to use the C locale and UTF-8 encoding, so it
# is created from template0 with those settings. The passwords come from the
# environment and reach SQL as psql variables, which quote them as literals.
#
# Keep the file executable: the image runs an executable *.sh file but
# sources any other, and sourcing would apply this script's `set -eu` to the
# image's entrypoint.
set -eu

: "${HUNTBRIDGE_DB_PASSWORD:?HUNTBRIDGE_DB_PASSWORD is missing: set it in deploy/.env}"
: "${SYNAPSE_DB_PASSWORD:?SYNAPSE_DB_PASSWORD is missing: set it in deploy/.env}"

psql --no-psqlrc -v ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v huntbridge_password="$HUNTBRIDGE_DB_PASSWORD" \
    -v synapse_password="$SYNAPSE_DB_PASSWORD" <<'SQL'
CREATE ROLE huntbridge LOGIN PASSWORD :'huntbridge_password';
CREATE DATABASE huntbridge OWNER huntbridge;
CREATE ROLE synapse LOGIN PASSWORD :'synapse_password';
CREATE DATABASE synapse OWNER synapse
    ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0;
SQL
