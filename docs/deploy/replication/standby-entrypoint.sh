#!/bin/sh
# The compose profile `replication`'s standby (docker-compose.yml), run as the postgres user: on
# first start, a base backup of the primary with a replication slot, written as a standby (-R),
# then the server as a streaming standby named `standby` (cluster_name, which its walreceiver
# gives the primary as application_name: the name synchronous_standby_names waits for).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h db-primary -p 5432; do sleep 1; done
  export PGPASSWORD="$REPLICATION_PASSWORD"
  pg_basebackup -h db-primary -p 5432 -U replicator -D "$PGDATA" -R -X stream -C -S standby
  # the primary's own setting, copied with its files: once promoted, this server would wait
  # for a synchronous standby named like itself, and no commit would return
  sed -i '/^synchronous_standby_names/d' "$PGDATA/postgresql.auto.conf"
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c cluster_name=standby
