# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by scripts/test-all.sh and scripts/matrix/test-matrix.sh: runs test commands, counts what
# their output says passed and failed, and ends with the one line CI reads, "N passed, N failed".
passed=0 failed=0 status=0
tally_dir=$(mktemp -d)   # each run's output, as NAME.log

# tally_mocha NAME SECONDS COMMAND...: runs a command that ends in mocha, bounded in time, its output
# shown and kept; adds its figures to the totals and sets run_passed, run_failed, run_pending.
# A run that fails without saying how many tests failed (a crash, a timeout) counts as one failure.
tally_mocha() {
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  timeout "$limit" "$@" 2>&1 | tee "$tally_dir/$name.log"
  local rc=${PIPESTATUS[0]}
  run_passed=$(mocha_count passing "$tally_dir/$name.log")
  run_failed=$(mocha_count failing "$tally_dir/$name.log")
  run_pending=$(mocha_count pending "$tally_dir/$name.log")
  if [ "$rc" -ne 0 ]; then status=1; [ "$run_failed" -eq 0 ] && run_failed=1; fi
  passed=$((passed + run_passed)); failed=$((failed + run_failed))
}

mocha_count() { # WORD LOG: N of mocha's last "N WORD" summary line (passing, failing, pending), or 0
  local n
  n=$(grep -Eo "^ +[0-9]+ $1" "$2" | grep -Eo '[0-9]+' | tail -1)
  echo "${n:-0}"
}

# tally_finish: prints the totals line; succeeds when every run did and nothing failed.
tally_finish() {
  rm -rf "$tally_dir"
  echo
  echo "$passed passed, $failed failed"
  [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
}
