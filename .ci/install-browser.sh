#!/usr/bin/env bash
# Headless Chromium for the dashboard's browser tests (tests/dashboard): the Debian packages
# chromium and chromium-driver. Idempotent: does nothing when both are installed. Needs root
# (or sudo) and the Debian package mirrors; without them the browser tests skip with a reason.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "chromium and chromium-driver already installed: $(/usr/bin/chromium --version 2>/dev/null)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-browser: need root or sudo" >&2; exit 1; }
  SUDO="sudo"
fi
command -v apt-get >/dev/null || { echo "install-browser: apt-get not found (not Debian?)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver
echo "installed: $(/usr/bin/chromium --version 2>/dev/null); $(/usr/bin/chromedriver --version)"
