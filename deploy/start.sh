#!/bin/sh
# What the containers run (docker-compose.yml's init, web and worker), and what
# scripts/smoke_production.sh runs as processes: one place for the production steps.
#   deploy/start.sh init    migrate, schedules, the French Bible if missing, the admin account, checks
#   deploy/start.sh web     checks, then gunicorn (gunicorn.conf.py)
#   deploy/start.sh worker  checks, then a qcluster (below the web's CPU priority)
# `manage.py check --deploy` refuses to go on when a service that is on lacks its credentials.
set -eu
cd "$(dirname "$0")/.."

case "${1:-}" in
    init)
        python manage.py migrate --noinput
        python manage.py setup_schedules
        # Offline or eBible.org down: French verses come from the curated set until it succeeds
        # (`docker compose run --rm init` again, or `manage.py import_bible --download`).
        python manage.py import_bible --download --if-missing \
            || echo "init: the French Bible was not downloaded (see above); continuing without it"
        # Its password is a secret file; no API token is made, so none is printed into the logs.
        python manage.py ensure_admin --no-token
        python manage.py check --deploy
        ;;
    web)
        python manage.py check --deploy
        exec gunicorn -c gunicorn.conf.py soulverse.wsgi:application
        ;;
    worker)
        python manage.py check --deploy
        # Only the worker's Python yields: the daily run's cost is mostly in its PostgreSQL backend.
        exec nice -n 10 python manage.py qcluster
        ;;
    *)
        echo "usage: deploy/start.sh init|web|worker" >&2
        exit 2
        ;;
esac
