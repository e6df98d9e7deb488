#!/usr/bin/env bash
# tinyproxy for the tests behind a forward proxy (tests/support/forward_proxy.py): Debian's
# package. Idempotent: does nothing when tinyproxy is already installed. The package's own
# service is not needed (the tests start their own tinyproxy on a free loopback port).
set -euo pipefail
if command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ]; then exit 0; fi
"$(dirname "$0")/apt_install.sh" scripts/install_proxy.sh tinyproxy
tinyproxy -v
