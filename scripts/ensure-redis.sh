#!/usr/bin/env bash
# Prints the path of a redis-server binary (the Redis coordination tests start one on a free
# port). When none is found: installs Debian's redis-server with apt-get if running as root,
# else exits 1 with a message saying how to install it. Everything but the path goes to stderr.
set -euo pipefail

find_redis() {
  if [ -n "${REDIS_SERVER:-}" ] && [ -x "${REDIS_SERVER}" ]; then echo "${REDIS_SERVER}"; return 0; fi
  if command -v redis-server >/dev/null 2>&1; then command -v redis-server; return 0; fi
  local p
  for p in /usr/bin/redis-server /usr/local/bin/redis-server /usr/sbin/redis-server /opt/homebrew/bin/redis-server; do
    if [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

if find_redis; then exit 0; fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Test files start in parallel: one installs, the others wait and then find it.
  if command -v flock >/dev/null 2>&1; then
    exec 9>/tmp/bulwark-ensure-redis.lock
    flock -w 600 9 || true
    if find_redis; then exit 0; fi
  fi
  echo "ensure-redis: redis-server not found, installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # (On systemd hosts the package also starts a service on 6379; the tests never use it.)
  {
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 redis-server
  } >/dev/null 2>&1 || { echo "ensure-redis: apt-get install redis-server failed" >&2; exit 1; }
  if find_redis; then exit 0; fi
fi

cat >&2 <<'MSG'
ensure-redis: no redis-server binary found.
Install Redis 6.2 or later, e.g.:
  Debian/Ubuntu:  sudo apt-get install -y redis-server
  macOS:          brew install redis
  or set REDIS_SERVER=/path/to/redis-server
MSG
exit 1
