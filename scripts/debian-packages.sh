#!/usr/bin/env bash
# Installs the Debian packages listed in a file (default: what the tests need), if any is
# missing and we may install. Not root: names them in one line; with --required it then
# stops (exit 1), so that nothing starts that would abort without them.
set -euo pipefail
cd "$(dirname "$0")/.."
required=0
if [ "${1:-}" = "--required" ]; then required=1; shift; fi
list="${1:-packaging/debian-packages.txt}"
command -v dpkg-query >/dev/null || exit 0  # not Debian (a Mac): nothing to do
missing=""
while read -r pkg; do  # bash 3.2 (macOS) has no mapfile
  case "$pkg" in ''|'#'*) continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done < "$list"
missing="${missing# }"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages; install them with: sudo apt-get install $missing" >&2
  exit "$required"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word a package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
