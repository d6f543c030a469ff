#!/usr/bin/env bash
# `make demo`: keys, demo data, then the ESIA emulator and the portal, until Ctrl-C.
set -euo pipefail
port=${PORT:-8000}
emulator_port=${EMULATOR_PORT:-8001}
bin=.venv/bin
flask="$bin/flask --app wsgi"

eval "$($flask demo keys instance/demo-keys)"
export IDP_EMULATOR_URL="http://localhost:$emulator_port" PORTAL_PORT="$port"
# Trusted persons get access as soon as they accept (Moscow waits a day in production).
export TRUSTED_ACTIVATION_DELAY_HOURS="${TRUSTED_ACTIVATION_DELAY_HOURS:-0}"
$flask demo seed >/dev/null

echo
echo "«Моя школа» is starting; open these addresses:"
$flask regions urls --port "$port"
echo "Эмулятор Госуслуг и mos.ru   http://localhost:$emulator_port/"
echo "Personas: demo/personas.yaml (P1–P12 in every ESIA region, M1–M4 in Moscow)"
echo

# The emulator keeps its state in memory here: one process, several threads (with
# EMULATOR_STATE_FILE and EMULATOR_SECRET_KEY it can run as several processes; see bench/).
"$bin/gunicorn" --workers 1 --threads 8 --bind "127.0.0.1:$emulator_port" \
  --access-logfile - idp_emulator.wsgi:app &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT INT TERM
WORKERS="${WORKERS:-2}" PORT="$port" "$bin/gunicorn" -c gunicorn.conf.py wsgi:app
