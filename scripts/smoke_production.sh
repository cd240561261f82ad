#!/usr/bin/env bash
# docker-compose.yml's production topology as processes on loopback (this machine has no Docker):
# Debian's nginx with the project's own config (deploy/nginx/templates/), gunicorn with
# gunicorn.conf.py, two qclusters on the Redis broker, a fresh PostgreSQL database, the secrets as
# files the way compose mounts them (*_FILE variables), and the FCM and Gemini stand-ins as
# processes of their own. It runs the containers' own steps (deploy/start.sh init|web|worker),
# then checks what an operator relies on, one line per check; exit 1 if any failed.
# soulverse/tests/test_compose.py holds docker-compose.yml to the settings below.
#
# Needs: nginx, openssl, curl, psql/pg_dump (PostgreSQL client), a PostgreSQL server and Redis.
#   SMOKE_PG=postgres://postgres@127.0.0.1:5432  SMOKE_DB=soulverse_smoke  (dropped and made anew)
#   SMOKE_REDIS_URL=redis://127.0.0.1:6379/0      SMOKE_PORT_BASE=22000 (ports +0 .. +80 on 127.0.0.1)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
started_at=$(date +%s)

python=${PYTHON:-$repo/.venv/bin/python}
bin=$(dirname "$python")
pg=${SMOKE_PG:-postgres://postgres@127.0.0.1:5432}
db=${SMOKE_DB:-soulverse_smoke}
restored_db=${db}_restored
redis_url=${SMOKE_REDIS_URL:-redis://127.0.0.1:6379/0}
base=${SMOKE_PORT_BASE:-22000}
web_port=$base
fcm_port=$((base + 10))
gemini_port=$((base + 11))
http_port=$((base + 80))
https_port=$((base + 43))
workers=2  # docker-compose.yml: worker's deploy.replicas

work=$(mktemp -d)
chmod 755 "$work"  # nginx's worker processes read and write below it
secrets=$work/run/secrets  # what compose mounts at /run/secrets
mkdir -p "$secrets" "$work/certs" "$work/metrics" "$work/nginx/conf.d" "$work/nginx/tmp" "$work/backups"
log=$work/logs
mkdir -p "$log"

pids=()
failures=0
cleanup() {
    local pid
    # SIGTERM to each main process, as `docker compose stop` sends it to each container's.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null; done
    for _ in $(seq 1 80); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2> /dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.25
    done
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2> /dev/null && echo "cleanup: $(ps -o args= -p "$pid" | cut -c1-60) did not stop on SIGTERM: killed"
        kill -KILL -- "-$pid" 2> /dev/null
    done
    psql -X -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        -c "DROP DATABASE IF EXISTS $restored_db WITH (FORCE)" > /dev/null 2>&1
    [ -n "${SMOKE_KEEP_LOGS:-}" ] && cp -r "$log" "$SMOKE_KEEP_LOGS"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
die() { echo "FAIL  $*"; for f in "$log"/*.log; do echo "--- $f (last lines)"; tail -15 "$f"; done; exit 1; }
# A process group of its own, so that cleanup stops it and all its children.
spawn() { local name=$1; shift; setsid "$@" > "$log/$name.log" 2>&1 & pids+=($!); disown; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
    local seconds=$1 what=$2; shift 2
    for _ in $(seq 1 $((seconds * 4))); do "$@" > /dev/null 2>&1 && return 0; sleep 0.25; done
    die "$what: not ready after ${seconds}s"
}

# --- secrets, as compose mounts them (one file each under /run/secrets) ---------------------
admin_email=admin@soulverse.example
admin_password=$(openssl rand -base64 24 | tr -d '\n/+=')
printf '%s' "$(openssl rand -base64 64 | tr -d '\n/+=' | cut -c1-64)" > "$secrets/django_secret_key"
printf '%s' "$(openssl rand -base64 48 | tr -d '\n/+=' | cut -c1-48)" > "$secrets/metrics_token"
printf '%s' "$admin_password" > "$secrets/admin_password"
printf '%s' "AIzaSmokeStandInKey000000000000000000000" > "$secrets/gemini_api_key"
# fcm_service_account: written by the FCM stand-in (a service account whose token endpoint is it).

# --- the application's environment: docker-compose.yml's x-app environment, local addresses --
app_env=(
    DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1
    DJANGO_CSRF_TRUSTED_ORIGINS=https://localhost:$https_port
    DJANGO_BEHIND_PROXY=true
    FORWARDED_ALLOW_IPS=127.0.0.1  # the proxy's address, as seen by gunicorn
    WEB_TIMEOUT_SECONDS=30
    DATABASE_URL=$pg/$db
    REDIS_URL=$redis_url
    Q_BROKER=redis
    Q_WORKERS=2
    SCHEDULER_WATCHDOG_SECONDS=15
    LOG_FORMAT=json
    PUSH_ENABLED=true
    AI_ENABLED=true
    DJANGO_SECRET_KEY_FILE=$secrets/django_secret_key
    GEMINI_API_KEY_FILE=$secrets/gemini_api_key
    METRICS_TOKEN_FILE=$secrets/metrics_token
    FCM_CREDENTIALS_FILE=$secrets/fcm_service_account
    SOULVERSE_ADMIN_EMAIL=$admin_email
    SOULVERSE_ADMIN_PASSWORD_FILE=$secrets/admin_password
)
# What differs from the containers: loopback addresses of gunicorn and the stand-ins, a metrics
# directory, names that keep this run apart from others on the same Redis, fewer web workers.
local_env=(
    PATH=$bin:/usr/local/bin:/usr/bin:/bin
    HOME=$work
    LANG=C.UTF-8
    GUNICORN_BIND=127.0.0.1:$web_port
    WEB_CONCURRENCY=2
    PROMETHEUS_MULTIPROC_DIR=$work/metrics
    FCM_BASE_URL=http://127.0.0.1:$fcm_port
    GEMINI_BASE_URL=http://127.0.0.1:$gemini_port
    CACHE_KEY_PREFIX=smoke$$
    Q_CLUSTER_NAME=smoke$$
)
# Only these variables, as in a container (nothing inherited from this shell).
app=(env -i "${local_env[@]}" "${app_env[@]}")

# --- the proxy's environment: docker-compose.yml's proxy environment, local paths -----------
proxy_env=(
    SOULVERSE_UPSTREAM=127.0.0.1:$web_port
    NGINX_HTTP_PORT=127.0.0.1:$http_port
    NGINX_HTTPS_PORT=127.0.0.1:$https_port
    PUBLIC_HTTPS_PORT_SUFFIX=:$https_port
    TLS_CERTIFICATE=$work/certs/fullchain.pem
    TLS_CERTIFICATE_KEY=$work/certs/privkey.pem
    METRICS_ALLOW_FROM=127.0.0.1
    NGINX_ACCESS_LOG=$log/nginx-access.log
)

# gunicorn's access lines (LOG_FORMAT=json: JSON objects on its output) as "METHOD TARGET STATUS REQUEST_ID".
gunicorn_access() {
    "$python" -c '
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if isinstance(record, dict) and record.get("logger") == "gunicorn.access":
        match = re.search(r"\"(\S+) (\S+) HTTP/[0-9.]+\" (\d{3}) ", record["message"])
        if match:
            print(*match.groups(), record.get("request_id", "-"))
' "$log/web.log"
}
curl_tls() { curl -s --max-time 10 --cacert "$work/certs/fullchain.pem" "$@"; }
https=https://localhost:$https_port

for tool in nginx openssl curl psql pg_dump pg_restore createdb; do
    command -v "$tool" > /dev/null || die "$tool is not installed"
done

# --- PostgreSQL: a fresh database ---------------------------------------------------------
PGOPTIONS='-c client_min_messages=warning' psql -X -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    -c "DROP DATABASE IF EXISTS $restored_db WITH (FORCE)" -c "CREATE DATABASE $db" > /dev/null \
    || die "PostgreSQL at $pg: cannot create $db"

# --- the stand-ins, each a process of its own --------------------------------------------
spawn fcm "$python" scripts/stand_in.py fcm --port "$fcm_port" --credentials "$secrets/fcm_service_account" \
    --status "$work/fcm.json"
spawn gemini "$python" scripts/stand_in.py gemini --port "$gemini_port" --status "$work/gemini.json"
wait_for 20 "FCM stand-in" test -s "$work/fcm.json"
wait_for 20 "Gemini stand-in" test -s "$work/gemini.json"
chmod 644 "$secrets"/*

# --- the image's build step: static files (Dockerfile) ------------------------------------
"${app[@]}" python manage.py collectstatic --noinput > "$log/collectstatic.log" 2>&1 || die "collectstatic failed"

# --- init: the one-off service ---------------------------------------------------------------
if "${app[@]}" sh deploy/start.sh init > "$log/init.log" 2>&1; then
    pass "init (deploy/start.sh init: migrate, schedules, Bible, admin, check --deploy) exited 0" \
        "[$(grep -E '^(Staff account|French edition|init:|System check)' "$log/init.log" | tr '\n' ' ' | sed 's/ $//')]"
else
    die "init (deploy/start.sh init) failed"
fi

# --- web, workers, proxy ---------------------------------------------------------------------
spawn web "${app[@]}" sh deploy/start.sh web
for i in $(seq 1 "$workers"); do spawn "worker$i" "${app[@]}" sh deploy/start.sh worker; done

sh deploy/selfsigned.sh localhost "$work/certs" > /dev/null || die "deploy/selfsigned.sh failed"
vars=$(printf '${%s} ' "${proxy_env[@]%%=*}")
env -i "${proxy_env[@]}" envsubst "$vars" < deploy/nginx/templates/soulverse.conf.template \
    > "$work/nginx/conf.d/soulverse.conf"
grep -v '^ *#' "$work/nginx/conf.d/soulverse.conf" | grep -q '\${' && die "nginx config: a \${VARIABLE} left unset"
# The main context, as the official image's /etc/nginx/nginx.conf has it (it includes conf.d/).
{
    echo "daemon off;"
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "worker_processes 1;"
    echo "pid $work/nginx/nginx.pid;"
    echo "error_log $log/nginx-error.log notice;"
    echo "events { worker_connections 512; }"
    echo "http {"
    echo "    include /etc/nginx/mime.types;"
    echo "    default_type application/octet-stream;"
    for temp in client_body proxy fastcgi uwsgi scgi; do echo "    ${temp}_temp_path $work/nginx/tmp/$temp;"; done
    echo "    include $work/nginx/conf.d/*.conf;"
    echo "}"
} > "$work/nginx/nginx.conf"
nginx -t -q -p "$work/nginx" -e "$log/nginx-error.log" -c "$work/nginx/nginx.conf" > "$log/nginx-test.log" 2>&1 \
    || { cat "$log/nginx-test.log"; die "nginx -t refused the rendered config"; }
spawn nginx nginx -p "$work/nginx" -e "$log/nginx-error.log" -c "$work/nginx/nginx.conf"

wait_for 60 "gunicorn (check --deploy, then gunicorn)" curl -sf --max-time 2 "http://127.0.0.1:$web_port/livez"
wait_for 20 "nginx" curl_tls -f "$https/livez"

# --- checks ----------------------------------------------------------------------------------
# 1. HTTPS through the proxy; nginx's request id (its access log) reaches gunicorn and Django (their
#    JSON log lines), which echo it.
headers=$(curl_tls -D - -o /dev/null -H "X-Request-ID: chosen-by-the-client" "$https/api/v1/scheduler/health?smoke=id")
request_id=$(printf '%s' "$headers" | tr -d '\r' | awk 'tolower($1) == "x-request-id:" {print $2}')
id_headers=$(printf '%s' "$headers" | grep -ci '^x-request-id:')
nginx_id=$(grep -F 'GET /api/v1/scheduler/health?smoke=id ' "$log/nginx-access.log" | grep -o 'request_id=[0-9a-f]*' | cut -d= -f2)
gunicorn_id=$(gunicorn_access | awk '$2 == "/api/v1/scheduler/health?smoke=id" {print $4}')
health=$(printf '%s' "$headers" | head -1 | awk '{print $2}')
verify=$(curl_tls -o /dev/null -w '%{ssl_verify_result} %{scheme}' "$https/livez")
if [ "$health" = 200 ] && [ "$verify" = "0 HTTPS" ] && [[ "$request_id" =~ ^[0-9a-f]{32}$ ]] \
    && [ "$request_id" = "$nginx_id" ] && [ "$request_id" = "$gunicorn_id" ] && [ "$id_headers" = 1 ]; then
    pass "HTTPS through the proxy: health 200, certificate verified; X-Request-ID $request_id is nginx's own" \
        "(the client's ignored), in nginx's and gunicorn's access lines, echoed once"
else
    fail "HTTPS through the proxy: health '$health', TLS '$verify', X-Request-ID '$request_id' x$id_headers," \
        "nginx's '$nginx_id', gunicorn's '$gunicorn_id'"
fi

# 2. HTTP redirects to HTTPS.
redirect=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' "http://localhost:$http_port/admin/?next=1")
if [ "$redirect" = "301 $https/admin/?next=1" ]; then
    pass "HTTP -> HTTPS: $redirect"
else
    fail "HTTP -> HTTPS: got '$redirect'"
fi

# 3. The admin account from its secret: a token from the login API, then an admin endpoint.
token=$(curl_tls -H 'Content-Type: application/json' \
    -d "{\"email\": \"$admin_email\", \"password\": \"$(cat "$secrets/admin_password")\"}" "$https/api/v1/auth/login" \
    | "$python" -c 'import json, sys; print(json.load(sys.stdin).get("token", ""))' 2> /dev/null)
status_code=$(curl_tls -o "$work/status.json" -w '%{http_code}' -H "Authorization: Token $token" "$https/api/v1/scheduler/status")
if [ -n "$token" ] && [ "$status_code" = 200 ]; then
    pass "admin account: $admin_email logs in with the password from its secret file; scheduler status 200 with the token"
else
    die "admin account: token '${token:0:6}…', scheduler status $status_code"
fi
# Both qclusters up (their heartbeats), push on with the mounted credentials.
status_field() {
    curl_tls -H "Authorization: Token $token" "$https/api/v1/scheduler/status" \
        | "$python" -c 'import json, sys; s = json.load(sys.stdin); print(eval(sys.argv[1], {}, s))' "$1" 2> /dev/null
}
clusters_alive() { [ "$(status_field 'cluster["count"]')" = "$workers" ]; }
wait_for 60 "the $workers workers (cluster heartbeats in the scheduler status)" clusters_alive
pass "workers: $workers qclusters alive on the Redis broker; push $(status_field 'push["status"]'), AI $(status_field 'ai["status"]') ($(status_field 'ai["model"]'))"

# 4. A push tick through the running workers reaches the FCM stand-in.
users=5
"${app[@]}" python manage.py shell -c "
import datetime
from users.models import User
from users.services import device_register
for n in range($users):
    user = User.objects.create_user(f'smoke{n}@example.org', None,
                                    mood=['joyful', 'sad', 'anxious', 'grateful', 'hopeful'][n],
                                    language=['fr', 'en'][n % 2], notify_at=datetime.time(0, 0))
    device_register(user=user, kind='token', identifier=f'smoke-device-{n}', platform='android')
" > "$log/users.log" 2>&1 || die "creating the push users failed"
run=$(curl_tls -X POST -H "Authorization: Token $token" "$https/api/v1/scheduler/jobs/deliver_verses/run")
run_url=$(printf '%s' "$run" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["status_url"])' 2> /dev/null)
delivered() {
    "$python" -c 'import json, sys; t = json.load(open(sys.argv[1]))["tokens"]
sys.exit(sorted(t) != [f"smoke-device-{n}" for n in range(int(sys.argv[2]))] or set(t.values()) != {1})' \
        "$work/fcm.json" "$users"
}
run_closed() { curl_tls -H "Authorization: Token $token" "$run_url" | grep -q '"status":"succeeded"'; }
ok=0
for _ in $(seq 1 240); do delivered && run_closed && { ok=1; break; }; sleep 0.25; done
if [ "$ok" = 1 ]; then
    pass "push: the deliver_verses run (API, through the proxy) ran on the workers; the FCM stand-in accepted" \
        "one message for each of the $users users' tokens ($(grep -o '"delivered": [0-9]*' "$work/fcm.json"))"
else
    fail "push: FCM stand-in status $(cat "$work/fcm.json"); run $run_url: $(curl_tls -H "Authorization: Token $token" "$run_url" | head -c 300) (started: ${run:0:300})"
fi

# 5. A client-sent X-Forwarded-For is not believed: axes records the address a failed login came from.
spoof_code=$(curl_tls -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'X-Forwarded-For: 203.0.113.7' -H 'Forwarded: for=203.0.113.8' -H 'X-Real-IP: 203.0.113.9' \
    -d '{"email": "spoofer@example.org", "password": "wrong password"}' "$https/api/v1/auth/login")
seen=$(psql -X -tA "$pg/$db" -c "SELECT ip_address FROM axes_accessattempt WHERE username = 'spoofer@example.org'")
if [ "$spoof_code" = 401 ] && [ "$seen" = 127.0.0.1 ]; then
    pass "X-Forwarded-For: a login sent with X-Forwarded-For 203.0.113.7 (and Forwarded, X-Real-IP) is recorded" \
        "from 127.0.0.1, the real peer"
else
    fail "X-Forwarded-For: login answered $spoof_code, axes recorded '$seen' (expected 127.0.0.1)"
fi

# 6. limit_req: a burst on the login page is answered 429 by nginx; gunicorn never sees those.
before=$(gunicorn_access | grep -c '^GET /admin/login/ ')
codes=$(for _ in $(seq 1 30); do curl_tls -o /dev/null -w '%{http_code}\n' "$https/admin/login/"; done)
n429=$(grep -c '^429$' <<< "$codes")
n200=$(grep -c '^200$' <<< "$codes")
sleep 0.5  # gunicorn writes its access line after the answer
reached=$(($(gunicorn_access | grep -c '^GET /admin/login/ ') - before))
reached_429=$(gunicorn_access | grep -c '^GET /admin/login/ 429 ')
if [ "$n429" -gt 0 ] && [ $((n429 + n200)) = 30 ] && [ "$reached" = "$n200" ] && [ "$reached_429" = 0 ]; then
    pass "limit_req: 30 requests to /admin/login/ at once: $n200 x 200, $n429 x 429 from nginx; gunicorn's access log" \
        "has exactly the $reached that passed, no 429"
else
    fail "limit_req: $n200 x 200, $n429 x 429 of 30; gunicorn saw $reached (429 among them: $reached_429)"
fi

# 7. A body over the proxy's limit is refused there.
head -c 200000 /dev/zero | tr '\0' 'a' > "$work/big.json"
big_code=$(curl_tls -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$work/big.json" \
    "$https/api/v1/users/me?smoke=big")
if [ "$big_code" = 413 ] && ! gunicorn_access | grep -q 'smoke=big'; then
    pass "body size: a 200 KB body answered 413 by nginx (client_max_body_size), never sent to gunicorn"
else
    fail "body size: a 200 KB body answered $big_code$(gunicorn_access | grep -q 'smoke=big' && echo ', and reached gunicorn')"
fi

# 8. A backup (deploy/backup/backup.sh) restored (restore.sh) into a fresh database: the same rows.
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
backup_out=$(PGDATABASE=$db BACKUP_DIR=$work/backups BACKUP_KEEP_DAYS=14 sh deploy/backup/backup.sh 2>&1)
dump=$(ls "$work"/backups/"$db"-*.dump 2> /dev/null | head -1)
restore_out=$(sh deploy/backup/restore.sh "$dump" "$restored_db" 2>&1)
tables="users_user knox_authtoken axes_accessattempt verses_delivery verses_dailyverse verses_verseoftheday
        scheduler_jobrun scheduler_jobchunk django_q_schedule"
figures() {
    local table
    for table in $tables; do
        printf '%s=%s ' "$table" "$(psql -X -tA "$pg/$1" -c "SELECT count(*) FROM $table")"
    done
    printf 'users_md5=%s' "$(psql -X -tA "$pg/$1" -c "SELECT md5(string_agg(u.id::text || u.email || d.identifier, ',' ORDER BY u.id, d.identifier)) FROM users_user u JOIN users_device d ON d.user_id = u.id")"
}
source_figures=$(figures "$db")
restored_figures=$(figures "$restored_db" 2>&1)
if [ -n "$dump" ] && [ "$source_figures" = "$restored_figures" ] && [[ "$source_figures" != *"=0 "* ]]; then
    pass "backup and restore: ${backup_out##*backup: } -> ${restore_out##*restore: }; same rows: $source_figures"
else
    fail "backup and restore: $backup_out / $restore_out / source: $source_figures / restored: $restored_figures"
fi
unset PGHOST PGPORT PGUSER

# 9. /metrics through the proxy with the token from its secret file, as Prometheus asks it.
metrics_code=$(curl_tls -o "$work/metrics.txt" -w '%{http_code}' \
    -H "Authorization: Bearer $(cat "$secrets/metrics_token")" "$https/metrics")
wrong_code=$(curl_tls -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong-$(cat "$secrets/metrics_token")" \
    "$https/metrics")
if [ "$metrics_code" = 200 ] && grep -q '^soulverse_job_runs_total{job_id="deliver_verses",status="succeeded"} [1-9]' \
    "$work/metrics.txt" && [ "$wrong_code" != 200 ]; then
    pass "metrics: /metrics through the proxy with METRICS_TOKEN_FILE's token: 200, the tick counted" \
        "($(grep -m1 '^soulverse_job_runs_total{job_id="deliver_verses",status="succeeded"}' "$work/metrics.txt"));" \
        "a wrong token: $wrong_code"
else
    fail "metrics: with the token $metrics_code, with a wrong one $wrong_code"
fi

# 10. check --deploy refuses a missing FCM service-account file (push on).
missing_env=("${app_env[@]/#FCM_CREDENTIALS_FILE=*/FCM_CREDENTIALS_FILE=$work/run/secrets/absent.json}")
check_out=$(env -i "${local_env[@]}" "${missing_env[@]}" python manage.py check --deploy 2>&1)
check_rc=$?
if [ "$check_rc" != 0 ] && grep -q "absent.json" <<< "$check_out"; then
    pass "check --deploy without the FCM file: exit $check_rc: $(grep -m1 'absent.json' <<< "$check_out" | sed 's/^ *//')"
else
    fail "check --deploy without the FCM file: exit $check_rc: $(tail -3 <<< "$check_out")"
fi

echo "($(($(date +%s) - started_at)) s)"
if [ "$failures" -gt 0 ]; then
    echo "production smoke test: $failures check(s) FAILED"
    for f in "$log"/*.log; do echo "--- $f (last lines)"; tail -15 "$f"; done
    exit 1
fi
echo "production smoke test: OK"
