#!/usr/bin/env bash
# Long reliability run: the crash torture (SIGKILL during concurrent acknowledged updates,
# restart, verify) for many cycles, then the hostile-input property tests with many cases.
# Release build, so far more writes happen between kills than in the short CI run.
#
#   scripts/torture.sh                 # 200 crash cycles, 100,000 hostile cases per property
#   CYCLES=1000 CASES=1000000 scripts/torture.sh
#   SEED=1234 scripts/torture.sh       # repeat the random choices of an earlier run
#
# Each test prints its seed and totals (cycles, acknowledged rows, row checks, compactions,
# seconds); a failure prints the seed to repeat it. The cargo-fuzz targets (nightly) are run
# separately, see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

CYCLES="${CYCLES:-200}"
CASES="${CASES:-100000}"

seed_env=()
if [[ -n "${SEED:-}" ]]; then
    seed_env=(KDFS_TORTURE_SEED="$SEED")
fi

echo "== crash torture: $CYCLES cycles (release build)"
env KDFS_TORTURE_CYCLES="$CYCLES" "${seed_env[@]}" \
    cargo test --release --locked --test crash -- --nocapture

echo "== hostile input: $CASES cases per property"
env PROPTEST_CASES="$CASES" cargo test --release --locked -p kdfs-client --test hostile
env PROPTEST_CASES="$CASES" cargo test --release --locked --test hostile -- --nocapture
