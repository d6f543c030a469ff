#!/usr/bin/env bash
# make stack-test: a fresh stack, the rolling restart under load (deploy/stack_test.py), then
# the development profile on the same volumes and whole logins through its emulator, and the
# stack removed again, volumes included.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers.conf}
export STACK_PORT=${STACK_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
fresh() {
  bash deploy/stack.sh down
  podman volume rm -f myschool_db myschool_tls myschool_devkeys >/dev/null 2>&1 || true
}
fresh
trap fresh EXIT
bash deploy/stack.sh >/dev/null
mkdir -p build
podman cp myschool_nginx_1:/etc/nginx/tls/cert.pem build/stack-cert.pem
STACK_CERT=build/stack-cert.pem .venv/bin/python deploy/stack_test.py
bash deploy/stack.sh down
bash deploy/stack.sh dev >/dev/null
STACK_CERT=build/stack-cert.pem .venv/bin/python deploy/stack_test.py development
