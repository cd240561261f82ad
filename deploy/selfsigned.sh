#!/bin/sh
# A self-signed certificate for a first try, before a real one (Let's Encrypt, your provider):
#   deploy/selfsigned.sh soulverse.example.org [deploy/certs]
# writes fullchain.pem and privkey.pem (what the proxy reads) into the directory. Browsers and
# apps warn about it: replace both files by the real ones, then `docker compose restart proxy`.
set -eu
name=${1:?usage: deploy/selfsigned.sh DOMAIN-OR-IP [DIRECTORY]}
dir=${2:-$(dirname "$0")/certs}
case "$name" in
    *[!0-9.]*) san="DNS:$name" ;;
    *) san="IP:$name" ;;
esac
[ "$name" = localhost ] && san="$san,IP:127.0.0.1"
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days "${CERT_DAYS:-90}" -subj "/CN=$name" \
    -addext "subjectAltName=$san" -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null
# The proxy's master process reads them as root; the certificate itself is public.
chmod 644 "$dir/fullchain.pem"
echo "self-signed certificate for $name ($san), valid ${CERT_DAYS:-90} days: $dir/fullchain.pem, $dir/privkey.pem"
