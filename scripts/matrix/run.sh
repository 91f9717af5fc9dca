#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the integration suite (or the mocha arguments given) against one ejabberd of the version
# matrix: `host` (Debian 12's ejabberd 23.01), `trixie` (24.12, OTP 27, Node 20) or `sid` (26.07,
# OTP 29, Node 24). For a chroot target it compiles erl/ with the chroot's own erlc, warnings as
# errors, stages a module tree in _build/matrix/TARGET/mod_rest, and runs mocha with
# MOD_REST_CHROOT and MOD_REST_STAGE, which make scripts/sandbox.ts run ejabberd in the chroot.
# Needs `make build` (the worker, node_modules, the .app file) and root (chroot, mounts).
set -euo pipefail
target=${1:?usage: $0 host|trixie|sid [mocha args...]}
shift
cd "$(dirname "$0")/../.."
repo=$PWD
[ $# -gt 0 ] || set -- --timeout 60000 'test/integration/**/*.test.ts'
chroot_env=(env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
otp_release=(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().')

ejabberd_version() { # DIR: the YY.MM of its one ejabberd-VERSION[-REVISION] directory
  ls "$1" | sed -n 's/^ejabberd-\([0-9]\+\.[0-9]\+\).*/\1/p' | sort -u
}

case $target in
  host)
    echo "target host: ejabberd $(ejabberd_version /usr/lib/x86_64-linux-gnu), Erlang/OTP $("${otp_release[@]}"), Node.js $(node --version)"
    exec npx mocha "$@"
    ;;
  trixie | sid) ;;
  *) echo "usage: $0 host|trixie|sid [mocha args...]" >&2; exit 2 ;;
esac
[ -f _build/mod_rest/.built ] || { echo "_build/mod_rest is not built: run make build" >&2; exit 2; }

# Re-run ourselves in a private mount namespace: the mounts below vanish with it, whatever happens.
if [ -z "${MOD_REST_MATRIX_NS:-}" ]; then
  exec unshare --mount --propagation private env MOD_REST_MATRIX_NS=1 "$repo/scripts/matrix/run.sh" "$target" "$@"
fi
root=$(scripts/matrix/chroot.sh "$target")
in_chroot() { chroot "$root" "${chroot_env[@]}" "$@"; }
# Every path the tests use (this repository, os.tmpdir() sandboxes) is the same inside the chroot.
mount --bind /tmp "$root/tmp"
mkdir -p "$root$repo"
mount --bind "$repo" "$root$repo"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"

libs=/usr/lib/x86_64-linux-gnu
version=$(ejabberd_version "$root$libs")
echo "target $target: ejabberd $version, Erlang/OTP $(in_chroot "${otp_release[@]}"), Node.js $(in_chroot node --version)"

# The module compiled by the target's own compiler, with rebar.config's options.
out=_build/matrix/$target
rm -rf "$out" && mkdir -p "$out/ebin"
lib=$(cd "$root" && ls -d ."$libs/ejabberd-$version"* | head -1 | cut -c2-)
in_chroot erlc +debug_info +warnings_as_errors +warn_export_vars +warn_unused_import \
  -I "$lib/include" -pa "$lib/ebin" -o "$repo/$out/ebin" "$repo"/erl/*.erl

# The tree `make build` staged, with these beams instead of the host's.
cp -r _build/mod_rest "$out/mod_rest"
rm -f "$out/mod_rest/ebin/"*.beam
cp "$out/ebin/"*.beam "$out/mod_rest/ebin/"

MOD_REST_CHROOT=$root MOD_REST_STAGE=$repo/$out/mod_rest npx mocha "$@"
