#!/usr/bin/env bash
# make stack: build the images and bring deploy/compose.yaml up with podman-compose; print the
# URLs. `deploy/stack.sh dev` (make stack-dev) lays compose.dev.yaml over it: the development
# profile, with the identity-provider emulator. `deploy/stack.sh down` stops either and
# removes its containers (the volumes stay).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers.conf}
export STACK_PORT=${STACK_PORT:-8443}
base=(podman-compose --podman-args "--runtime runc" -p myschool -f deploy/compose.yaml)
development=("${base[@]}" -f deploy/compose.dev.yaml)
profile=${1:-up}

if [ "$profile" = down ]; then
  "${development[@]}" down >/dev/null 2>&1 || true
  exit 0
fi
compose=("${base[@]}")
[ "$profile" = dev ] && compose=("${development[@]}")

command -v podman-compose >/dev/null || {
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -qq podman-compose >/dev/null \
    || { $sudo apt-get update -qq && $sudo apt-get install -y -qq podman-compose >/dev/null; }
}
# Secrets, made once and kept out of git (deploy/.stack.env is ignored).
env=deploy/.stack.env
if [ ! -f "$env" ]; then
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  umask 077
  cat > "$env" <<SECRETS
POSTGRES_PASSWORD=$password
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
DATABASE_URL=postgresql://postgres:$password@db/portal
REDIS_URL=redis://redis:6379/0
SECRETS
fi

bash deploy/image.sh >/dev/null
for service in postgres redis nginx; do
  podman build --runtime runc --network=host -q -f "deploy/stack/$service.Containerfile" \
    -t "localhost/myschool-$service:dev" . >/dev/null
done
"${compose[@]}" up -d db redis >/dev/null 2>&1
for _ in $(seq 1 60); do
  podman exec myschool_db_1 pg_isready -q -d portal 2>/dev/null && break
  sleep 0.5
done
"${compose[@]}" run --rm migrate >/dev/null 2>&1 || { echo "stack: the migrations failed" >&2; exit 1; }
services=(portal1 portal2 nginx)
[ "$profile" = dev ] && services=(emulator "${services[@]}")
"${compose[@]}" up -d "${services[@]}" >/dev/null 2>&1
# Every instance answers its own health check (the image's HEALTHCHECK; the emulator's too):
# up to two minutes, as on a slow, shared machine the portals' workers take that long to start.
for service in "${services[@]}"; do
  [ "$service" = nginx ] && continue
  for _ in $(seq 1 240); do
    podman healthcheck run "myschool_${service}_1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  podman healthcheck run "myschool_${service}_1" >/dev/null 2>&1 \
    || { echo "stack: $service did not start (podman logs myschool_${service}_1)" >&2; exit 1; }
done
# Then through nginx, which counts an instance failed for fail_timeout (3 s, stack/nginx.conf)
# after it refused a connection while starting: ready once both database and Redis answer.
for _ in $(seq 1 20); do
  curl -fsSk "https://127.0.0.1:$STACK_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsSk "https://127.0.0.1:$STACK_PORT/readyz" >/dev/null || {
  echo "stack: not ready; nginx's last lines:" >&2
  podman logs --tail 10 myschool_nginx_1 >&2
  exit 1
}
echo "«Моя школа» stack (nginx → portal1, portal2 → PostgreSQL, Redis) on 127.0.0.1:$STACK_PORT"
if [ "$profile" = dev ]; then
  echo "in the development profile: sign in through the emulator (personas: demo/personas.yaml);"
  echo "*.localhost is this machine in browsers (the certificate is the stack's own, self-signed):"
  for slug in mosreg kaluga tatarstan moscow; do echo "  https://$slug.localhost:$STACK_PORT/"; done
  echo "  https://idp.localhost:$STACK_PORT/   the emulator of Госуслуги and mos.ru"
else
  echo "the regions' hosts resolve there with, e.g., curl --resolve myschool.mosreg.ru:$STACK_PORT:127.0.0.1 -k:"
  for host in myschool.edu.ru myschool.mosreg.ru education.admoblkaluga.ru ms-edu.tatar.ru school.mos.ru; do
    echo "  https://$host:$STACK_PORT/"
  done
fi
