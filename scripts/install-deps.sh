#!/usr/bin/env bash
# install-deps.sh installs the Debian packages the tests and benchmarks
# need, listed one per line in scripts/deps/*.txt (# starts a comment).
# It is idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t pkgs < <(sed 's/#.*//' deps/*.txt | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
