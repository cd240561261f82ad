#!/usr/bin/env bash
# Start the web server (127.0.0.1:8000) and a qcluster worker together; Ctrl+C stops both.
set -u
python=${1:-python}
cd "$(dirname "$0")/.."

"$python" manage.py qcluster &
worker=$!
"$python" manage.py runserver "${WEB_ADDRESS:-127.0.0.1:8000}" --noreload &
web=$!

stop() {
    trap - INT TERM
    kill -TERM "$web" "$worker" 2>/dev/null
    wait "$web" "$worker" 2>/dev/null
    exit 0
}
trap stop INT TERM

# Either process exiting on its own stops the other one too.
wait -n "$web" "$worker"
status=$?
echo "a process stopped (exit $status); stopping the other one" >&2
kill -TERM "$web" "$worker" 2>/dev/null
wait 2>/dev/null
exit "$status"
