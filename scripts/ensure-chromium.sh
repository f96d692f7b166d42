#!/usr/bin/env bash
# Prints the path of a Chromium binary (the HTML report test renders the report in it,
# headless). When none is found: installs Debian's chromium with apt-get if running as root,
# else exits 1 with a message saying how to install it. Everything but the path goes to stderr.
set -euo pipefail

find_chromium() {
  if [ -n "${CHROMIUM:-}" ] && [ -x "${CHROMIUM}" ]; then echo "${CHROMIUM}"; return 0; fi
  local c
  for c in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}

if find_chromium; then exit 0; fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: chromium not found, installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  {
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends chromium
  } >/dev/null 2>&1 || { echo "ensure-chromium: apt-get install chromium failed" >&2; exit 1; }
  if find_chromium; then exit 0; fi
fi

cat >&2 <<'MSG'
ensure-chromium: no Chromium binary found.
Install it, e.g.:
  Debian/Ubuntu:  sudo apt-get install -y chromium
  or set CHROMIUM=/path/to/chromium
MSG
exit 1
