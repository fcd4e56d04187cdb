#!/usr/bin/env bash
# Installs the systems the benchmark measures vstore against, from Debian packages, and prints
# each one's version (one line per peer: "name<TAB>version", or "name<TAB>missing: why").
#
#   bash scripts/install-peers.sh            install what is missing, then report
#   bash scripts/install-peers.sh --check    report only, install nothing
#
# Idempotent: `apt-get update` runs only when a package is missing. A peer that cannot be installed
# is reported as missing and the script still exits 0, so the benchmark reports it as missing instead
# of failing. The Python peers (Breezy, Mercurial) are Debian's python3 modules, so the programs in
# scripts/peers/ run under /usr/bin/python3, not whatever `python3` is first on PATH (e.g. pyenv).
set -u

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# Debian package → the file that shows it is installed.
declare -A probe=(
  [git]=/usr/bin/git
  [python3-breezy]=/usr/lib/python3/dist-packages/breezy/__init__.py
  [brz]=/usr/bin/brz
  [mercurial]=/usr/bin/hg
  [xz-utils]=/usr/bin/xz
  [zstd]=/usr/bin/zstd
  [gzip]=/bin/gzip
  [time]=/usr/bin/time
)
packages=(git python3-breezy brz mercurial xz-utils zstd gzip time)

missing=()
for package in "${packages[@]}"; do
  [ -e "${probe[$package]}" ] || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ] && [ "$check_only" = 0 ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  echo "install-peers: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq >&2 || echo "install-peers: apt-get update failed" >&2
  # All at once first; if that fails (one unavailable package), one by one so the rest still install.
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    for package in "${missing[@]}"; do
      "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package" >&2 \
        || echo "install-peers: could not install $package" >&2
    done
  fi
fi

report() { printf '%s\t%s\n' "$1" "$2"; }
first_line() { "$@" 2>&1 | head -n 1; }

if [ -x /usr/bin/git ]; then report git "$(first_line git --version)"; else report git 'missing: package git'; fi

if breezy_version=$(/usr/bin/python3 -c '
import breezy
try:
    from breezy.bzr import _groupcompress_pyx  # noqa: F401
    c = "C extension loaded"
except ImportError as e:
    c = "C extension NOT loaded (%s)" % e
print("breezy %s, %s" % (breezy.__version__, c))' 2>&1); then
  report breezy "$breezy_version"
else
  report breezy "missing: package python3-breezy ($(echo "$breezy_version" | tail -n 1))"
fi

if hg_version=$(/usr/bin/python3 -c 'from mercurial import util; print("mercurial", util.version().decode())' 2>&1); then
  report mercurial "$hg_version"
else
  report mercurial "missing: package mercurial ($(echo "$hg_version" | tail -n 1))"
fi

if [ -x /usr/bin/xz ]; then report xz "$(first_line xz --version)"; else report xz 'missing: package xz-utils'; fi
if [ -x /usr/bin/zstd ]; then report zstd "$(first_line zstd --version)"; else report zstd 'missing: package zstd'; fi
if command -v gzip >/dev/null; then report gzip "$(first_line gzip --version)"; else report gzip 'missing: package gzip'; fi
if [ -x /usr/bin/time ]; then report time "GNU time $(dpkg-query -W -f='${Version}' time 2>/dev/null)"; else report time 'missing: package time (peak RSS needs /usr/bin/time)'; fi
exit 0
