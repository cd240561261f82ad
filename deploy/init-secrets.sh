#!/bin/sh
# The secrets docker-compose.yml mounts (under /run/secrets/, read through the *_FILE variables):
#   deploy/init-secrets.sh [deploy/secrets]
# generates the random ones that are missing (Django's secret key, the /metrics token, the admin
# password) and names the two you bring: the Gemini API key and the Firebase service-account file.
# Existing files are never changed; it exits 1 while one you bring is missing.
set -eu
dir=${1:-$(dirname "$0")/secrets}
mkdir -p "$dir"
chmod 700 "$dir"

random() { openssl rand -base64 64 | tr -d '\n/+=' | cut -c "1-$1"; }

for pair in django_secret_key:64 metrics_token:48 admin_password:24; do
    name=${pair%%:*}
    if [ -s "$dir/$name" ]; then
        echo "kept:      $dir/$name"
    else
        printf '%s' "$(random "${pair##*:}")" > "$dir/$name.new" && mv "$dir/$name.new" "$dir/$name"
        echo "generated: $dir/$name"
    fi
done
# The containers run as an unprivileged user that must read them; the directory stays private.
chmod 644 "$dir"/django_secret_key "$dir"/metrics_token "$dir"/admin_password

# Brought by you; with PUSH_ENABLED=false / AI_ENABLED=false (in .env too) an empty placeholder
# stands in (compose needs the file, the application does not read it).
missing=0
for pair in gemini_api_key:"${AI_ENABLED:-true}" fcm_service_account.json:"${PUSH_ENABLED:-true}"; do
    name=${pair%%:*}
    if [ -s "$dir/$name" ]; then
        chmod 644 "$dir/$name"
        echo "present:   $dir/$name"
    elif [ "${pair##*:}" = false ]; then
        : > "$dir/$name"
        chmod 644 "$dir/$name"
        echo "off:       $dir/$name (empty: switched off)"
    else
        echo "MISSING:   $dir/$name"
        missing=1
    fi
done
if [ "$missing" = 1 ]; then
    echo "Put the Gemini API key in gemini_api_key (printf '%s' 'AIza...' > $dir/gemini_api_key) and the"
    echo "Firebase service-account JSON (Firebase console > Project settings > Service accounts) in"
    echo "fcm_service_account.json, then run this script again (or switch the service off: AI_ENABLED=false,"
    echo "PUSH_ENABLED=false)."
    exit 1
fi
