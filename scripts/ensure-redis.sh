#!/usr/bin/env bash
# Make sure a Redis server answers at REDIS_URL's host and port: start redis-server if it is installed,
# install it with the system package manager when possible, otherwise stop with one line saying how.
set -euo pipefail
url="${REDIS_URL:-redis://localhost:6379/0}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=6379
[ "$host" = "localhost" ] && host=127.0.0.1

answers() { (exec 3<>"/dev/tcp/$host/$port" && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

answers && exit 0
case "$host" in 127.*|::1) ;; *) echo "Redis at $host:$port does not answer; start it or fix REDIS_URL" >&2; exit 1;; esac
if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing redis-server with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install redis >/dev/null
  else
    echo "Redis is not running and redis-server is not installed: install it (e.g. 'sudo apt-get install redis-server') or set REDIS_URL" >&2
    exit 1
  fi
fi
mkdir -p "${TMPDIR:-/tmp}/syncapi-redis"
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "${TMPDIR:-/tmp}/syncapi-redis" --logfile "${TMPDIR:-/tmp}/syncapi-redis/redis.log" >/dev/null
for _ in $(seq 50); do answers && { echo "started redis-server on $host:$port" >&2; exit 0; }; sleep 0.1; done
echo "redis-server was started but does not answer on $host:$port; see ${TMPDIR:-/tmp}/syncapi-redis/redis.log" >&2
exit 1
