#!/usr/bin/env bash
# make image-test: the image as an operator uses it. The migrations run as a one-shot
# command; a missing secret stops the start in one line; the portal then serves a region's
# login page as a non-root user, its health check passes and it logs JSON with request ids.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/myschool-portal:dev}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers.conf}
name=myschool-image-test-$$
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
run=(podman run --runtime runc -v "$name:/srv/portal/instance"
     -e "SECRET_KEY=$secret" -e DATABASE_URL=sqlite:////srv/portal/instance/portal.db)
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "image-test: $*" >&2; podman logs "$name" 2>&1 | tail -20 >&2 || true; exit 1; }

"${run[@]}" --rm "$image" flask --app wsgi db upgrade >/dev/null 2>&1 || fail "the migrations failed"

said=$(podman run --runtime runc --rm "$image" 2>&1) && fail "it started without SECRET_KEY"
grep -q "^myschool: SECRET_KEY must be set outside development" <<<"$said" || fail "no clear line: $said"
grep -q "Traceback" <<<"$said" && fail "a traceback for a missing secret"

# No systemd here to schedule the health check: it is run by hand below.
"${run[@]}" -d --name "$name" -p "127.0.0.1:$port:8000" -e WORKERS=2 --health-interval disable \
  "$image" >/dev/null
for _ in $(seq 1 240); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
[ "$(curl -fsS "http://127.0.0.1:$port/readyz")" = '{"status": "ok"}' ] || fail "/readyz is not ok"
page=$(curl -fsS -D - -H "Host: myschool.mosreg.ru" "http://127.0.0.1:$port/login")
grep -q "Моя школа — Московская область" <<<"$page" || fail "no login page for Moscow Oblast"
id=$(grep -i "^x-request-id:" <<<"$page" | tr -d '\r' | cut -d' ' -f2)
[ -n "$id" ] || fail "no X-Request-ID"
[ "$(podman exec "$name" id -u)" = 10001 ] || fail "the portal runs as root"
podman healthcheck run "$name" >/dev/null 2>&1 || fail "the health check fails"
sleep 0.5
podman logs "$name" 2>&1 | grep -q "\"request_id\": \"$id\"" || fail "no JSON log line for $id"
echo "image-test: migrations, a missing secret in one line, login page, non-root, health check, JSON logs"
