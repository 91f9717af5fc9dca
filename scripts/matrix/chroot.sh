#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds, once, a Debian chroot with a newer packaged ejabberd (and its Erlang/OTP and Node.js),
# for the version matrix: `trixie` (ejabberd 24.12, OTP 27, Node 20) or `sid` (ejabberd 26.07,
# OTP 29, Node 24). It lives in a cache outside the clone ($MOD_REST_CACHE, default
# /var/cache/mod_rest) and is reused while its stamp is there; a half-built one is rebuilt.
# Prints the chroot's path. Needs root (mmdebstrap --mode=root).
set -euo pipefail
suite=${1:?usage: $0 trixie|sid}
cache=${MOD_REST_CACHE:-/var/cache/mod_rest}
root="$cache/chroots/$suite"
# Bump when the package list changes, so that old caches are rebuilt.
stamp="$root/.mod_rest-chroot-v2"

# A package added after the stamp's version is installed into an existing chroot, no rebuild:
# erlang-p1-oauth2, ejabberd_oauth's library (Debian's ejabberd only suggests it), for Bearer tokens.
added=erlang-p1-oauth2
install_added() {
  chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    sh -c "dpkg-query -W -f='\${Status}' $added 2>/dev/null | grep -q 'install ok installed' \
           || { apt-get update -qq && apt-get install -y -qq $added >/dev/null; }" >&2
}
if [ -f "$stamp" ]; then install_added; echo "$root"; exit 0; fi

if ! command -v mmdebstrap >/dev/null; then
  { apt-get install -y -qq mmdebstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null; }; } >&2
fi
# The mirror apt already uses: the only one this machine reaches.
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

# sid also carries Prosody 13 and prosody-modules (the newest mod_rest): the peer the
# authenticated API is compared with.
extra=""
[ "$suite" = sid ] && extra=",prosody,prosody-modules"

echo "building the $suite chroot in $root (about a minute, ~350 MB) ..." >&2
rm -rf "$root" "$root.tmp"
mkdir -p "$cache/chroots"
# sid's Release file can be past its Valid-Until date: do not let that fail the build.
mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
  --aptopt='APT::Install-Recommends "false"' --aptopt='Acquire::Check-Valid-Until "false"' \
  --include=ejabberd,erlang-dev,erlang-eunit,nodejs,ca-certificates,procps,$added$extra \
  "$suite" "$root.tmp" "deb $mirror $suite main" >&2
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' > "$root.tmp/etc/hosts"   # minbase has none
mv "$root.tmp" "$root"
touch "$stamp"
echo "$root"
