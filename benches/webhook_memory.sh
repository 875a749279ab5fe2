#!/usr/bin/env bash
# Measures the server's memory while many large webhook bodies arrive at
# once: starts a release build of `pons serve` on a free loopback port and
# opens CONNECTIONS connections that each POST an unsigned body of BYTES
# bytes. Every connection sends its head with `Expect: 100-continue` and,
# once the server requests the body with 100 Continue, all of it but the
# last byte. The script waits until all connections are that far and the
# server's RSS has been the same for half a second, and reads the RSS. Then
# it sends the last bytes and reads the responses: 401 for an unsigned body
# the server read, 503 for one it rejected before reading. Prints the RSS before the
# load, with every accepted body in flight, and at the peak, and the count
# of each response status.
#
# Usage: benches/webhook_memory.sh [CONNECTIONS] [BYTES]
# PONS_BIN names a binary to measure instead of a fresh release build; any
# PONS_* setting, such as PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES, passes through
# to the server. Needs python3.
set -euo pipefail

connections=${1:-24}
body_bytes=${2:-4194304}
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
export PONS_WEBHOOK_MAX_BODY_BYTES=${PONS_WEBHOOK_MAX_BODY_BYTES:-$body_bytes}

start_server

python3 - "$addr" "$server_pid" "$connections" "$body_bytes" <<'PYTHON'
import collections
import socket
import sys
import threading
import time

host, port = sys.argv[1].rsplit(":", 1)
pid, connections, body_bytes = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def memory_kib(field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/{pid}/status")


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head")
        data += chunk
    return int(data.split(b" ", 2)[1])


body = b"x" * body_bytes
head = (
    f"POST /api/webhook HTTP/1.1\r\nHost: {host}:{port}\r\n"
    f"Content-Type: application/json\r\nContent-Length: {body_bytes}\r\n"
    "Expect: 100-continue\r\nConnection: close\r\n\r\n"
).encode()
statuses = collections.Counter()
lock = threading.Lock()
all_sent = threading.Barrier(connections + 1)
measured = threading.Event()


def post():
    status = None
    try:
        sock = socket.create_connection((host, int(port)))
        sock.sendall(head)
        first = read_head(sock)
        if first == 100:
            sock.sendall(body[:-1])
        else:
            status = first
    except OSError as error:
        status = type(error).__name__
    all_sent.wait()
    measured.wait()
    if status is None:
        try:
            sock.sendall(body[-1:])
            status = read_head(sock)
        except OSError as error:
            status = type(error).__name__
    with lock:
        statuses[status] += 1


before = memory_kib("VmRSS")
threads = [threading.Thread(target=post) for _ in range(connections)]
for thread in threads:
    thread.start()
all_sent.wait()
# The server may still be reading what the kernel buffered for it.
in_flight, steady_reads = memory_kib("VmRSS"), 0
while steady_reads < 5:
    time.sleep(0.1)
    current = memory_kib("VmRSS")
    steady_reads = steady_reads + 1 if current == in_flight else 0
    in_flight = current
measured.set()
for thread in threads:
    thread.join()
peak = memory_kib("VmHWM")
print(f"RSS before the load: {before // 1024} MiB")
print(f"RSS with every accepted body in flight: {in_flight // 1024} MiB")
print(f"peak RSS: {peak // 1024} MiB")
for status, count in sorted(statuses.items(), key=str):
    print(f"responses {status}: {count}")
PYTHON
