#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every test tier (or, with `torture`, the heavy runs) and ends with one line
# "N passed, N failed" (CI reads it). Called by `make test` and `make torture`, hence by .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tally.sh
source scripts/tally.sh

run_mocha() { # name, mocha args...
  local name=$1
  shift
  tally_mocha "$name" 900 npx mocha "$@"
}

run_eunit() {
  echo "== eunit"
  timeout 300 rebar3 eunit 2>&1 | tee "$tally_dir/eunit.log"
  local rc=${PIPESTATUS[0]}
  local all p f
  all=$(grep -Eo 'All [0-9]+ tests passed' "$tally_dir/eunit.log" | grep -Eo '[0-9]+')
  p=$(grep -Eo 'Passed: [0-9]+' "$tally_dir/eunit.log" | grep -Eo '[0-9]+')
  f=$(grep -Eo 'Failed: [0-9]+' "$tally_dir/eunit.log" | grep -Eo '[0-9]+')
  passed=$((passed + ${all:-${p:-0}})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ]; then status=1; [ -z "$f" ] && failed=$((failed + 1)); fi
}

case "${1:-test}" in
  test)
    run_mocha unit 'test/unit/**/*.test.ts'
    run_eunit
    run_mocha integration --timeout 60000 'test/integration/**/*.test.ts'
    ;;
  torture)
    # The heavy runs, bounded: 100,000 inputs per parser property; 10 worker kills 2 s apart
    # under load; lifecycle under load; the hostile corpus; 100,000 random command names.
    FUZZ_RUNS=100000 run_mocha fuzz --timeout 0 test/unit/fuzz.test.ts
    FAULT_KILLS=10 FAULT_KILL_INTERVAL_MS=2000 FAULT_MAX_REQUESTS=20000 RANDOM_COMMAND_NAMES=100000 \
      run_mocha faults --timeout 900000 test/integration/worker-faults.test.ts test/integration/lifecycle.test.ts \
      test/integration/hostile-input.test.ts test/integration/atoms.test.ts
    ;;
  *) echo "usage: $0 [test|torture]" >&2; exit 2 ;;
esac

tally_finish
