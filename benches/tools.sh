#!/usr/bin/env bash
# Measures MCP `tools/call` on SQLite with 10,000 conversations and
# 1,000,000 messages. The first run seeds the corpus with `pons bench seed`
# (about 1.4 GB, kept in the corpus directory for later runs). Each run
# starts a release build of `pons serve` on a free loopback port and runs
# `pons bench tools` for list_conversations, get_conversation and
# search_messages at each connection count. It prints one Markdown table per
# run and the server's peak RSS. Copy them into docs/benchmarks.md with the
# machine and command.
#
# Usage: benches/tools.sh [SECONDS] [CONNECTIONS...]
#   SECONDS      measured seconds per phase [default: 10]
#   CONNECTIONS  connection counts to run [default: 1 8 32]
# Environment:
#   PONS_BENCH_CORPUS  corpus directory [default: $CARGO_TARGET_DIR/bench-corpus]
#   PONS_DATABASE_URL  a postgres:// URL to measure PostgreSQL instead. The
#                      database must be empty before the first run. The
#                      corpus directory then keeps only the key files.
set -euo pipefail

seconds=${1:-10}
shift || true
connection_counts=("$@")
[ ${#connection_counts[@]} -gt 0 ] || connection_counts=(1 8 32)

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
pons="$target_dir/release/pons"

corpus=${PONS_BENCH_CORPUS:-$target_dir/bench-corpus}
export PONS_DATA_DIR="$corpus/data"
export PONS_LOG_FORMAT=json
export PONS_LOG=warn,pons=info
key_file="$corpus/key"

if [ ! -f "$corpus/seeded" ]; then
    rm -rf "$corpus"
    mkdir -p "$corpus"
    echo "seeding the corpus into $corpus (once; takes a few minutes)" >&2
    seed_flags=()
    # Concurrent batches of the same customers wait on each other's row
    # locks in PostgreSQL, so they are written one at a time there.
    case "${PONS_DATABASE_URL:-}" in
        postgres*) seed_flags=(--batches-in-flight 1) ;;
    esac
    "$pons" bench seed --key-file "$key_file" "${seed_flags[@]}"
    touch "$corpus/seeded"
fi

work=$(mktemp -d)
source "$root/benches/server.sh"
trap cleanup EXIT

start_server PONS_TOOL_RATE_PER_MINUTE=0

for tool in list_conversations get_conversation search_messages; do
    for connections in "${connection_counts[@]}"; do
        "$pons" bench tools --url "http://$addr" --key-file "$key_file" --tool "$tool" \
            --connections "$connections" --seconds "$seconds" --server-pid "$server_pid"
        echo
    done
done

print_peak_rss
