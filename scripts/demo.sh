#!/usr/bin/env bash
# Walk through the ticker plant in one terminal: a fake source, a tail, the Klong averaging
# handler and a tail of its output, for a few seconds each. Needs the release binaries:
#   cargo build --release -p feeders
# Usage: scripts/demo.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release
secs=${1:-3}
for b in ws_feed_fake_src ws_feed_tail ws_feed_klong; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b; run: cargo build --release -p feeders" >&2; exit 1; }
done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
tmp=$(mktemp -d)

# Free ports are picked by the feeders (--port 0); each prints its address first.
"$BIN/ws_feed_fake_src" --symbols AAPL,MSFT,TSLA --delay 0.5 --port 0 --log warn >"$tmp/src" &
pids+=($!)
until [[ -s $tmp/src ]]; do sleep 0.05; done
src=$(head -1 "$tmp/src")
echo "== fake source on $src"

"$BIN/ws_feed_klong" kg/avg.kg --uri "$src" --port 0 --log warn >"$tmp/klong" &
pids+=($!)
until [[ -s $tmp/klong ]]; do sleep 0.05; done
avg=$(head -1 "$tmp/klong")
echo "== Klong handler kg/avg.kg on $avg"

echo "== ws_feed_tail --uri $src --patterns AM.AAPL,AM.MSFT (${secs}s)"
timeout "$secs" "$BIN/ws_feed_tail" --uri "$src" --patterns AM.AAPL,AM.MSFT --log warn || true
echo "== ws_feed_tail --uri $avg (${secs}s)"
timeout "$secs" "$BIN/ws_feed_tail" --uri "$avg" --log warn || true
rm -rf "$tmp"
