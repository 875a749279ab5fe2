#!/usr/bin/env bash
# Measures the server's memory while large signed webhook batches arrive at
# once. Starts a release build of `pons serve` on a free loopback port with
# one account. Then, ROUNDS times, opens CONNECTIONS connections that each
# POST a signed body of STATUSES delivery statuses; 28,000 make about 3 MB,
# the largest body Meta documents. Prints the body size, the RSS
# before the load and at the peak, and the count of each response status.
#
# Usage: benches/webhook_batch_memory.sh [CONNECTIONS] [ROUNDS] [STATUSES]
# PONS_BIN names a binary to measure instead of a fresh release build.
# Needs python3.
set -euo pipefail

connections=${1:-16}
rounds=${2:-2}
statuses=${3:-28000}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${PONS_BIN:-}" ]; then
    pons=$PONS_BIN
else
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    pons="${CARGO_TARGET_DIR:-$root/target}/release/pons"
fi

work=$(mktemp -d)
source "$root/benches/server.sh"
trap cleanup EXIT

use_new_data_dir
export PONS_JOB_WORKERS=0
app_secret="bench-app-secret-0123456789"
printf 'bench-access-token' >"$work/token"
printf '%s' "$app_secret" >"$work/secret"
# The commands' output is shown only when one fails.
"$pons" user add owner@example.com >"$work/setup.log" 2>&1 &&
    "$pons" account add --owner owner@example.com --name Bench --waba-id 100200300 \
        --phone-number-id 400500600 --phone-number +15550001111 \
        --access-token-file "$work/token" --app-secret-file "$work/secret" \
        >>"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; exit 1; }

start_server

python3 - "$addr" "$server_pid" "$connections" "$rounds" "$statuses" "$app_secret" <<'PYTHON'
import collections
import hashlib
import hmac
import http.client
import json
import sys
import threading

host, port = sys.argv[1].rsplit(":", 1)
pid, connections, rounds, status_count = sys.argv[2], *map(int, sys.argv[3:6])
app_secret = sys.argv[6].encode()


def memory_kib(field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/{pid}/status")


def batch(number):
    statuses = [
        {
            "id": f"wamid.B{number}S{index:07d}",
            "status": "delivered",
            "timestamp": "1750000000",
            "recipient_id": "15551230000",
        }
        for index in range(status_count)
    ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "400500600"},
        "statuses": statuses,
    }
    change = {"field": "messages", "value": value}
    body = {"object": "whatsapp_business_account", "entry": [{"id": "100200300", "changes": [change]}]}
    return json.dumps(body).encode()


responses = collections.Counter()
lock = threading.Lock()


def post(number):
    body = batch(number)
    signature = "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()
    connection = http.client.HTTPConnection(host, int(port), timeout=300)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    connection.request("POST", "/api/webhook", body, headers)
    status = connection.getresponse().status
    with lock:
        responses[status] += 1


print(f"body bytes: {len(batch(0))}")
print(f"RSS before the load: {memory_kib('VmRSS') // 1024} MiB")
for round_number in range(rounds):
    threads = [
        threading.Thread(target=post, args=(round_number * connections + index,))
        for index in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
print(f"peak RSS: {memory_kib('VmHWM') // 1024} MiB")
for status, count in sorted(responses.items()):
    print(f"responses {status}: {count}")
PYTHON
