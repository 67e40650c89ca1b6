#!/usr/bin/env bash
# `make run`: prepare the embedded defaults, print the URLs and credentials, and run every process of
# Procfile.dev together. The settings are also written to instance/make-run.env so `bin/syncapi` in a second
# terminal talks to this run.
set -euo pipefail
cd "$(dirname "$0")/.."
export SYNCAPI_ENV=development
# Tells the service it runs under `make run`: development defaults apply only with it and a loopback HOST.
export SYNCAPI_MAKE_RUN=1
export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8000}" SANDBOX_PORT="${SANDBOX_PORT:-8081}"
export MAGENTO_BASE_URL="${MAGENTO_BASE_URL:-http://127.0.0.1:$SANDBOX_PORT}"
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p instance
for step in scripts/dev.d/*.sh; do
  [ -e "$step" ] && . "$step"
done
python -m syncapi.devrun

settings=instance/make-run.env
{
  echo "# Written by \`make run\` (scripts/run-dev.sh) for bin/syncapi; removed when it stops, and ignored once"
  echo "# the process below is gone."
  echo "MAKE_RUN_PID=$$"
  for name in SYNCAPI_ENV SYNCAPI_MAKE_RUN HOST PORT SANDBOX_PORT MAGENTO_BASE_URL REDIS_URL POS_DATABASE_URL \
      STATE_DATABASE_URL; do
    [ -n "${!name:-}" ] && printf '%s=%s\n' "$name" "${!name}"
  done
} >"$settings"
trap 'rm -f "$settings"' EXIT
honcho -f Procfile.dev start
