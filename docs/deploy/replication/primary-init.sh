#!/bin/sh
# The compose profile `replication`'s primary (docker-compose.yml): run once by the postgres
# image's entrypoint when it makes the cluster. A role for the standby's streaming, the pg_hba
# line that lets it in, and the standby named synchronous: every commit (a check's record among
# them) returns only once the standby has it, so a failover loses no answered check. Written
# with ALTER SYSTEM, it applies from the server's next start (the entrypoint's own, right after
# this script), never to this script's statements; the standby drops it from its copy.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
ALTER SYSTEM SET wal_level = 'replica';
ALTER SYSTEM SET wal_log_hints = 'on';
ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby)';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
