#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 and that the test database exists: start the
# installed cluster, or install PostgreSQL with apt-get, or stop with one line saying how.
set -euo pipefail
db="${TEST_POSTGRES_DB:-syncapi_test}"

answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
as_postgres() { if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then su postgres -c "$*"; else sh -c "$*"; fi; }

if ! answers; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "installing postgresql with apt-get" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
    else
      echo "PostgreSQL does not answer on 127.0.0.1:5432: install and start it (e.g. 'sudo apt-get install postgresql')" >&2
      exit 1
    fi
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    echo "PostgreSQL is installed but has no cluster: create one with 'pg_createcluster <version> main'" >&2
    exit 1
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start
  for _ in $(seq 100); do answers && break; sleep 0.2; done
  answers || { echo "PostgreSQL $version was started but does not answer on 127.0.0.1:5432" >&2; exit 1; }
  echo "started PostgreSQL $version" >&2
fi
# The tests connect as "postgres" over TCP; make sure that works and that the test database exists.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  as_postgres "psql -d postgres -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
fi
export PGPASSWORD="${PGPASSWORD:-postgres}"
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1 from pg_database where datname='$db'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  echo "created database $db" >&2
fi
