#!/usr/bin/env bash
# `make run` from a fresh clone: the README's first command, as a new user types it.
# Waits until /health is 200 (web up, cluster heartbeat seen), calls the admin API with the
# printed token, then stops everything with Ctrl+C (SIGINT to the process group).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/soulverse"
cd "$work/soulverse"

setsid make run > "$work/run.log" 2>&1 &
leader=$!
cleanup() { kill -INT -- "-$leader" 2>/dev/null || true; sleep 5; kill -KILL -- "-$leader" 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT

base=http://127.0.0.1:8000/api/v1/scheduler
for _ in $(seq 1 180); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/health" || true)
    [ "$code" = 200 ] && break
    sleep 1
done
if [ "$code" != 200 ]; then
    echo "make run: /health never answered 200 (last: $code)"; tail -40 "$work/run.log"; exit 1
fi
token=$(awk '/API token:/ {print $3}' "$work/run.log")
[ -n "$token" ] || { echo "make run printed no API token"; tail -40 "$work/run.log"; exit 1; }
curl -sf -H "Authorization: Token $token" "$base/status" | grep -q '"jobs_count":6' \
    || { echo "status with the printed token failed"; exit 1; }
curl -sf -H "Authorization: Token $token" "$base/users-count" | grep -q '"active_users":' \
    || { echo "users-count with the printed token failed"; exit 1; }
curl -sf -o /dev/null http://127.0.0.1:8000/admin/login/ || { echo "admin login page failed"; exit 1; }

kill -INT -- "-$leader"
for _ in $(seq 1 30); do
    pgrep -g "$leader" > /dev/null || break
    sleep 1
done
if pgrep -g "$leader" > /dev/null; then
    echo "Ctrl+C left processes running:"; pgrep -a -g "$leader"; exit 1
fi
echo "make run smoke test: OK (health 200, status and users-count with the printed token, Ctrl+C stopped all)"
