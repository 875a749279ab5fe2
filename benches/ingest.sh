#!/usr/bin/env bash
# Measures webhook ingestion on a fresh SQLite data directory: starts a
# release build of `pons serve` on a free loopback port, connects one
# account, then runs `pons bench ingest` against it. Prints the results
# table; copy it into docs/benchmarks.md with the machine and command.
#
# Usage: benches/ingest.sh [CONNECTIONS] [SECONDS]
set -euo pipefail

connections=${1:-64}
seconds=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
pons="${CARGO_TARGET_DIR:-$root/target}/release/pons"

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export PONS_DATA_DIR="$work/data"
export PONS_LOG_FORMAT=json
export PONS_LOG=warn,pons=info
printf 'bench-token' > "$work/token"
printf 'bench-app-secret' > "$work/secret"

"$pons" user add bench@example.com >/dev/null 2>&1
"$pons" account add --owner bench@example.com --name Bench --waba-id 100000000000001 \
    --phone-number-id 100000000000002 --phone-number +15550001111 \
    --access-token-file "$work/token" --app-secret-file "$work/secret" >/dev/null 2>&1

PONS_BIND=127.0.0.1:0 "$pons" serve 2>"$work/server.log" &
server_pid=$!
addr=""
for _ in $(seq 1 200); do
    addr=$(grep -o '"addr":"[^"]*"' "$work/server.log" | head -1 | cut -d'"' -f4 || true)
    [ -n "$addr" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
    sleep 0.05
done
[ -n "$addr" ] || { echo "server did not report its address" >&2; cat "$work/server.log" >&2; exit 1; }

"$pons" bench ingest --url "http://$addr" --app-secret-file "$work/secret" \
    --phone-number-id 100000000000002 --connections "$connections" --seconds "$seconds"

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
echo "server peak RSS: $((rss_kb / 1024)) MiB"
