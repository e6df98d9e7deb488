#!/usr/bin/env bash
# apt_install.sh NAME PACKAGE...: install Debian packages for a test tool, as root or through
# password-less sudo; otherwise say what to run. The callers check first that the tool is missing.
set -euo pipefail
name=$1; shift
if [ "$(id -u)" -eq 0 ]; then
  SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=sudo
else
  echo "$name: $* missing and this user cannot install it;" \
       "run as root: apt-get update && apt-get install -y $*" >&2
  exit 1
fi
echo "$name: installing Debian's $*"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
