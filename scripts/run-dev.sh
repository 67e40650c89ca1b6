#!/usr/bin/env bash
# `make run`: prepare the embedded defaults, print the URLs and run every process of Procfile.dev together.
set -euo pipefail
cd "$(dirname "$0")/.."
# Development mode needs all three: SYNCAPI_ENV, make run's own marker and a loopback HOST
# (docs/deployment-checks.md); anything else runs as production.
export SYNCAPI_ENV=development SYNCAPI_MAKE_RUN=1
export HOST="${HOST:-127.0.0.1}"
export PORT="${PORT:-8000}" SANDBOX_PORT="${SANDBOX_PORT:-8081}"
export MAGENTO_BASE_URL="${MAGENTO_BASE_URL:-http://127.0.0.1:$SANDBOX_PORT}"
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p instance
for step in scripts/dev.d/*.sh; do
  [ -e "$step" ] && . "$step"
done
cat <<TXT

  syncapi is starting (Ctrl-C stops everything):
    web              http://127.0.0.1:$PORT/healthz   http://127.0.0.1:$PORT/readyz
    API              http://127.0.0.1:$PORT/api/v1    (Authorization: Bearer ${API_TOKEN:-dev-api-token})
    API docs         http://127.0.0.1:$PORT/api/docs
    dashboard        http://127.0.0.1:$PORT/rq
    metrics          http://127.0.0.1:$PORT/metrics
    Magento sandbox  http://127.0.0.1:$SANDBOX_PORT/rest/all/V1
    webhooks         http://127.0.0.1:$PORT/webhooks/magento   (signed with WEBHOOK_SECRET=${WEBHOOK_SECRET:-dev-webhook-secret})

TXT
exec honcho -f Procfile.dev start
