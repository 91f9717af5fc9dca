#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make test-matrix`: the integration suite on each ejabberd of the version matrix in turn (the
# host's 23.01, trixie's 24.12, sid's 26.07, see run.sh), then the comparison with Prosody 13
# (make test-prosody); prints each one's figures and time, then the one line CI reads,
# "N passed, N failed" (totals). Needs `make build original` and root.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/tally.sh
source scripts/tally.sh

summary=()
for target in host trixie sid; do
  started=$SECONDS
  tally_mocha "$target" 900 scripts/matrix/run.sh "$target"
  # run.sh's first line: "target NAME: ejabberd V, Erlang/OTP N, Node.js vN".
  what=$(sed -n "s/^target $target: //p" "$tally_dir/$target.log" | head -1)
  summary+=("$(printf '%-7s %-48s %4d passed, %d failed, %d pending, %d s' "$target" "${what:-(did not start)}" \
    "$run_passed" "$run_failed" "$run_pending" $((SECONDS - started)))")
done

# Our authenticated API beside Prosody 13's mod_rest (Prosody from the sid chroot, ours the host's).
started=$SECONDS
tally_mocha prosody 700 make --no-print-directory test-prosody
what=$(sed -n "s/^target prosody: //p" "$tally_dir/prosody.log" | head -1)
summary+=("$(printf '%-7s %-48s %4d passed, %d failed, %d pending, %d s' prosody "${what:-(did not start)}" \
  "$run_passed" "$run_failed" "$run_pending" $((SECONDS - started)))")

echo
printf '%s\n' "${summary[@]}"
tally_finish
