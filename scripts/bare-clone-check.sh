#!/usr/bin/env bash
# The bare-clone check (.ci/run): clone HEAD into an empty temporary folder (no Magento schema beside it, none
# configured), run `make run` there as a newcomer would, and after 30 s require every process up, the web
# process ready, the sandbox answering and no failed item in /metrics. Then collect the tests that need the
# schema there and require them all skipped with the line that says how to turn them on.
# BARE_REDIS_URL (default redis://localhost:6379/14) is flushed: give it a database nothing else uses.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
redis_url="${BARE_REDIS_URL:-redis://localhost:6379/14}"
up_for_s="${BARE_UP_FOR_S:-30}"
work="$(mktemp -d)"
clone="$work/syncapi"
log="$work/make-run.log"
run_pid=""

stop() {
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    kill -INT -- "-$run_pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$run_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$run_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
fail() {
  echo "bare-clone check FAILED: $*" >&2
  echo "--- last lines of make run ---" >&2
  tail -n 60 "$log" >&2 || true
  exit 1
}
trap stop EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
sandbox_port="$(free_port)"

git clone --quiet --no-local "$root" "$clone"
git -C "$clone" checkout --quiet "$(git -C "$root" rev-parse HEAD)"
[ ! -e "$work/shared" ] || fail "$work/shared exists"
"$root/.venv/bin/python" - "$redis_url" <<'PY'
import sys, redis
redis.Redis.from_url(sys.argv[1]).flushdb()
PY

echo "bare clone: make run in $clone (port $port, sandbox $sandbox_port, $redis_url)"
(
  cd "$clone"
  exec env -u MAGENTO_SCHEMA_PATH -u CI setsid make run PORT="$port" SANDBOX_PORT="$sandbox_port" REDIS_URL="$redis_url"
) >"$log" 2>&1 &
run_pid=$!

# The first `make run` builds its own .venv (runtime packages only) before anything starts.
for _ in $(seq 600); do
  [ "$(grep -c '\.1 started (pid=' "$log" || true)" -ge 4 ] && break
  kill -0 "$run_pid" 2>/dev/null || fail "make run ended before its processes started"
  sleep 1
done
[ "$(grep -c '\.1 started (pid=' "$log" || true)" -ge 4 ] || fail "the four processes did not start"
sleep "$up_for_s"

kill -0 "$run_pid" 2>/dev/null || fail "make run stopped"
if grep -E '(web|worker|cron|sandbox)\.1 +\| .*(Traceback|ModuleNotFoundError)|system +\| .*(stopped|exited)' "$log"; then
  fail "a process died"
fi
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "/readyz is not 200"
curl -fsS "http://127.0.0.1:$port/" | grep -q '/api/docs' || fail "the start page does not answer"
curl -fsS "http://127.0.0.1:$sandbox_port/_sandbox/config" >/dev/null || fail "the sandbox does not answer"
grep -q 'request bodies not validated: no Magento REST schema' "$log" || fail "the sandbox banner does not say bodies are unvalidated"
metrics="$(curl -fsS "http://127.0.0.1:$port/metrics")"
if grep -E '^syncapi_items_pushed_total\{.*outcome="failed"\} [1-9]' <<<"$metrics"; then
  fail "items failed in the first $up_for_s s"
fi
grep -qE '^syncapi_items_pushed_total\{kind="products",outcome="created"\} [1-9]' <<<"$metrics" \
  || fail "no product was pushed"
runs="$(curl -fsS -H "Authorization: Bearer dev-api-token" "http://127.0.0.1:$port/api/v1/runs?limit=100")"
"$root/.venv/bin/python" -c '
import json, sys
runs = json.loads(sys.argv[1])
runs = runs.get("runs", runs) if isinstance(runs, dict) else runs
bad = [r for r in runs if r["status"] in ("failed", "partial") or r["counts"]["failed"]]
sys.exit(f"failed runs: {bad}" if bad else 0)
' "$runs" || fail "the run history shows failures"
echo "bare clone: every process up after $up_for_s s, /readyz 200, no failed item or run"

# Test collection there: only the tests that need the schema, each skipped for that reason (not the whole
# suite a second time). The clone's .venv has no test packages yet, so the checkout's runs it.
set +e
collected="$(cd "$clone" && env -u MAGENTO_SCHEMA_PATH -u CI "$root/.venv/bin/python" -m pytest -q -rs \
  -p no:cacheprovider -m magento_schema 2>&1)"
status=$?
set -e
summary="$(tail -n 1 <<<"$collected")"
echo "bare clone: $summary"
[ "$status" -eq 0 ] || { echo "$collected" | tail -n 40 >&2; fail "pytest exited $status"; }
grep -qE '^SKIPPED \[[0-9]+\] tests/conftest.py:[0-9]+: needs Magento.s REST schema .*run `make schema`' <<<"$collected" \
  || { echo "$collected" | tail -n 20 >&2; fail "the schema tests were not skipped for the missing schema"; }
grep -qE '^[0-9]+ skipped, [0-9]+ deselected' <<<"$summary" || fail "something other than a skip: $summary"
echo "bare-clone check passed"
