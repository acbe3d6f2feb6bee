#!/usr/bin/env bash
# Extra CI set-up, run by .ci/run after `npm ci`: the web app's browser tests drive the
# system's Chromium through playwright-core (which downloads no browser), so install Debian's;
# `npm run test:fleet` runs the fleet behind HAProxy, so install Debian's haproxy too.
set -euo pipefail

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  echo "== installing HAProxy (for npm run test:fleet)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy
fi

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "== installing Chromium (for the web app browser tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
"$CHROMIUM" --version 2>/dev/null || echo "warning: $CHROMIUM --version failed"
