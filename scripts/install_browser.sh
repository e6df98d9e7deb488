#!/usr/bin/env bash
# Chromium for the browser tests (tests/cluster): Debian's package, driven by Playwright through
# its executable_path. Playwright's own browser download is never used (no network for it here).
# Idempotent: does nothing when a Chromium is already installed. Set PSEVEN_CHROMIUM to use
# another binary.
set -euo pipefail
if [ -n "${PSEVEN_CHROMIUM:-}" ] && [ -x "${PSEVEN_CHROMIUM}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=sudo
else
  echo "scripts/install_browser.sh: Chromium is missing and this user cannot install it;" \
       "run as root: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
echo "scripts/install_browser.sh: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
chromium --version
