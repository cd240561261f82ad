#!/bin/sh
# PostgreSQL backups: pg_dump in its custom format (compressed; pg_restore reads it), then the
# files older than BACKUP_KEEP_DAYS are removed. docker-compose.yml's `backup` service runs
#   backup.sh --daily     a backup at start when none is younger than a day, then one every day
#                         at BACKUP_AT (HH:MM, the container's TZ)
# and by hand (`docker compose exec backup sh /opt/backup/backup.sh`) it takes one now.
# The connection comes from libpq's variables: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
set -eu
dir=${BACKUP_DIR:-/backups}
keep_days=${BACKUP_KEEP_DAYS:-14}
at=${BACKUP_AT:-01:30}
database=${PGDATABASE:?set PGDATABASE (and PGHOST, PGUSER, PGPASSWORD)}

backup_once() {
    mkdir -p "$dir"
    file="$dir/$database-$(date -u +%Y%m%dT%H%M%SZ).dump"
    # Written aside, checked, then renamed: a file with the .dump suffix is always complete.
    if ! pg_dump --format=custom --file="$file.partial" "$database"; then
        rm -f "$file.partial"
        echo "backup: FAILED: pg_dump of $database (see above)" >&2
        return 1
    fi
    if ! pg_restore --list "$file.partial" > /dev/null; then
        rm -f "$file.partial"
        echo "backup: FAILED: the dump of $database does not read back" >&2
        return 1
    fi
    mv "$file.partial" "$file"
    # Only after a good backup: old ones are never removed while backups fail.
    removed=$(find "$dir" -maxdepth 1 -name "$database-*.dump" -mmin "+$((keep_days * 1440))" -print -delete | wc -l)
    echo "backup: $file ($(du -h "$file" | cut -f1)); $removed older than $keep_days days removed"
}

case "${1:-}" in
    "")
        backup_once
        ;;
    --daily)
        trap 'exit 0' TERM INT
        if [ -z "$(find "$dir" -maxdepth 1 -name "$database-*.dump" -mmin -1440 2> /dev/null)" ]; then
            backup_once || true
        fi
        while :; do
            now=$(date +%s)
            next=$(date -d "today $at" +%s)
            [ "$next" -gt "$now" ] || next=$(date -d "tomorrow $at" +%s)
            echo "backup: next at $(date -d "@$next" '+%Y-%m-%d %H:%M %Z')"
            sleep "$((next - now))" &
            wait $!
            # A failure is logged and retried the next day; the container keeps running.
            backup_once || true
        done
        ;;
    *)
        echo "usage: backup.sh [--daily]" >&2
        exit 2
        ;;
esac
