#!/usr/bin/env bash
# Chromium for the browser tests (tests/cluster): Debian's package, driven by Playwright through
# its executable_path. Playwright's own browser download is never used (no network for it here).
# Idempotent: does nothing when a Chromium is already installed. Set PSEVEN_CHROMIUM to use
# another binary.
set -euo pipefail
if [ -n "${PSEVEN_CHROMIUM:-}" ] && [ -x "${PSEVEN_CHROMIUM}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi
"$(dirname "$0")/apt_install.sh" scripts/install_browser.sh chromium fonts-liberation
chromium --version
