#!/bin/sh
# Restore a backup (backup.sh's custom-format dump) into a NEW database:
#   restore.sh /backups/soulverse-20261207T013000Z.dump soulverse_restored
# It refuses a database that already exists, and removes the new one again if the restore fails.
# Switching the service over (stop web and worker, rename the databases) is in the runbook.
# The connection comes from libpq's variables: PGHOST, PGPORT, PGUSER, PGPASSWORD.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: restore.sh BACKUP_FILE NEW_DATABASE" >&2
    exit 2
fi
file=$1
target=$2
case "$target" in
    "" | [!a-z_]* | *[!a-z0-9_]*)
        echo "restore: $target: a database name is lower-case letters, digits and _ only" >&2
        exit 2
        ;;
esac
if ! pg_restore --list "$file" > /dev/null 2>&1; then
    echo "restore: $file: not a readable pg_dump archive (custom format)" >&2
    exit 1
fi
exists=$(psql -X -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$target'")
if [ "$exists" = 1 ]; then
    echo "restore: database $target already exists: restore into a new name; nothing changed" >&2
    exit 1
fi
createdb --maintenance-db=postgres "$target"
if ! pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$target" "$file"; then
    dropdb --maintenance-db=postgres "$target"
    echo "restore: FAILED (see above); $target removed again" >&2
    exit 1
fi
tables=$(psql -X -d "$target" -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
echo "restore: $file restored into $target ($tables tables)"
