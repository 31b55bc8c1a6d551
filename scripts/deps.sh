#!/usr/bin/env bash
# deps.sh — installs the Debian packages Kexin needs that are missing (apt-get as root, else sudo).
# usage: scripts/deps.sh run|test|bench
set -euo pipefail
profile=${1:-run}

pkgs=(build-essential pkg-config libglib2.0-dev libfcgi-dev libpq-dev libctpl-dev
      libxlsxwriter-dev zlib1g-dev libhpdf-dev libsodium-dev libzip-dev libxml2-dev libcsv-dev
      postgresql postgresql-contrib nginx-light fonts-wqy-zenhei)
case "$profile" in
  test)  pkgs+=(libcmocka-dev chromium wrk unzip clang libclang-rt-14-dev) ;;
  bench) pkgs+=(wrk) ;;
esac
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nginx-light or any other nginx flavour will do.
if [[ " ${missing[*]} " == *" nginx-light "* ]] && command -v nginx >/dev/null 2>&1; then
  missing=("${missing[@]/nginx-light}")
fi
read -ra missing <<< "${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian postgresql package starts a system cluster; Kexin runs its own under var/.
