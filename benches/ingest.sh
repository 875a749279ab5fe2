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
source "$root/benches/server.sh"
trap cleanup EXIT

use_new_data_dir
printf 'bench-token' > "$work/token"
printf 'bench-app-secret' > "$work/secret"

"$pons" user add bench@example.com >/dev/null 2>&1
"$pons" account add --owner bench@example.com --name Bench --waba-id 100000000000001 \
    --phone-number-id 100000000000002 --phone-number +15550001111 \
    --access-token-file "$work/token" --app-secret-file "$work/secret" >/dev/null 2>&1

start_server

"$pons" bench ingest --url "http://$addr" --app-secret-file "$work/secret" \
    --phone-number-id 100000000000002 --connections "$connections" --seconds "$seconds"

print_peak_rss
