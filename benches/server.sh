# Shared by the benchmark scripts, which source it after setting `pons`
# (the binary) and `work` (a temporary directory).

server_pid=""

# Stops the server, if one runs, and removes the temporary directory.
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}

# Starts `pons serve` on a free loopback port with the given extra
# environment (NAME=VALUE words) and sets `addr` once it listens. Its Graph
# API is a closed loopback port, so the template sync at start-up fails at
# once instead of reaching out to Meta. The first start of a new release
# may rebuild the search index first (about 20 s per million messages), so
# the wait is up to two minutes.
start_server() {
    env PONS_BIND=127.0.0.1:0 PONS_GRAPH_API_URL=http://127.0.0.1:9/v25.0 "$@" \
        "$pons" serve 2>"$work/server.log" &
    server_pid=$!
    addr=""
    for _ in $(seq 1 2400); do
        addr=$(grep -o '"addr":"[^"]*"' "$work/server.log" | head -1 | cut -d'"' -f4 || true)
        [ -n "$addr" ] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
        sleep 0.05
    done
    echo "server did not report its address" >&2
    cat "$work/server.log" >&2
    exit 1
}

# Prints the server's peak resident memory.
print_peak_rss() {
    local rss_kb
    rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
    echo "server peak RSS: $((rss_kb / 1024)) MiB"
}

# Points the server at a new data directory in the temporary directory,
# with JSON logs of warnings and of Pons's own info lines.
use_new_data_dir() {
    export PONS_DATA_DIR="$work/data"
    export PONS_LOG_FORMAT=json
    export PONS_LOG=warn,pons=info
}
