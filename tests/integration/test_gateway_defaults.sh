#!/bin/bash
# Safe defaults and early refusals of sonde-gateway:
# - started without --address, its listening sockets are loopback only
#   (127.0.0.1 and ::1, read from /proc/net/tcp{,6} for the gateway's own
#   socket inodes), its startup line names them, and it cannot be reached on a
#   non-loopback address of this machine (when the machine has one); the same
#   check sees 0.0.0.0 when --address asks for it, so it can tell;
# - listening beyond loopback with an upstream key and no client keys is
#   refused (exit 2, naming --allow-unauthenticated), and allowed, loudly,
#   with that flag;
# - a client sending headers for a 1 GB body gets 413 without sending any of
#   it (Content-Length, and with Expect: 100-continue), and a chunked body is
#   cut off with 413 as soon as its running total passes --max-body.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

# listen_addrs PID: the local address:port of every LISTEN socket of the process, as
# "127.0.0.1:8080" / "[::1]:8080" lines (from /proc/net/tcp{,6}, hex little-endian words)
listen_addrs() {
  /usr/bin/python3 - "$1" <<'PY'
import os, re, socket, struct, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        m = re.match(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
    except OSError:
        continue
    if m:
        inodes.add(m.group(1))
for fam, path in ((socket.AF_INET, f"/proc/{pid}/net/tcp"), (socket.AF_INET6, f"/proc/{pid}/net/tcp6")):
    try:
        lines = open(path).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        f = line.split()
        if f[3] != "0A" or f[9] not in inodes:  # 0A = LISTEN
            continue
        hexaddr, hexport = f[1].split(":")
        raw = bytes.fromhex(hexaddr)
        raw = b"".join(struct.pack("<I", struct.unpack(">I", raw[i:i + 4])[0]) for i in range(0, len(raw), 4))
        a = socket.inet_ntop(fam, raw)
        print(f"{a}:{int(hexport, 16)}" if fam == socket.AF_INET else f"[{a}]:{int(hexport, 16)}")
PY
}

PORT=$(free_port)
gw_start gw --port "$PORT" || fail "start"
addrs=$(listen_addrs "$GW_LAST_PID" | sort)
echo "listening: $(echo $addrs)"
[ -n "$addrs" ] || fail "no listening socket found for the gateway"
while read -r a; do
  case "$a" in
    127.0.0.1:*|"[::1]":*) ;;
    *) fail "listening on $a, not loopback" ;;
  esac
done <<<"$addrs"
grep -q "127.0.0.1:$PORT" <<<"$addrs" || fail "not on 127.0.0.1:$PORT"
if [ -f /proc/net/if_inet6 ] && /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  grep -q "\[::1\]:$PORT" <<<"$addrs" || fail "not on [::1]:$PORT although this machine has ::1"
  curl -s -o /dev/null -g "http://[::1]:$PORT/health" || fail "no answer on [::1]"
fi
grep -q "listening on http://127.0.0.1:$PORT" "$tmp/gw.log" || { cat "$tmp/gw.log"; fail "startup line"; }
# a non-loopback address of this machine, if it has one, must not answer
other=$(/usr/bin/python3 -c '
import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9)); a = s.getsockname()[0]
    print("" if a.startswith("127.") else a)
except OSError:
    print("")')
if [ -n "$other" ]; then
  if curl -s -o /dev/null --max-time 2 "http://$other:$PORT/health"; then
    fail "reachable on $other:$PORT"
  fi
  echo "ok: not reachable on $other"
fi

# the check can tell: --address 0.0.0.0 is seen as such
P2=$(free_port)
gw_start open --port "$P2" --address 0.0.0.0 || fail "start 0.0.0.0"
listen_addrs "$GW_LAST_PID" | grep -qx "0.0.0.0:$P2" || fail "0.0.0.0 not seen"

# an upstream key, no client keys, beyond loopback: refused unless allowed
cat >"$tmp/up.json" <<JSON
{"upstreams": {"u": {"type": "openai", "url": "http://127.0.0.1:9/v1", "api_key": "sk-up"}}}
JSON
rc=0
"$GW" --port 0 --address 0.0.0.0 --config "$tmp/up.json" >"$tmp/refused.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q -- "--allow-unauthenticated" "$tmp/refused.log" \
  || { cat "$tmp/refused.log"; fail "exposed upstream key: exit $rc"; }
P3=$(free_port)
gw_start allowed --port "$P3" --address 0.0.0.0 --config "$tmp/up.json" --allow-unauthenticated \
  || fail "start with --allow-unauthenticated"
grep -q "WARNING" "$tmp/allowed.log" || fail "no warning with --allow-unauthenticated"
echo "ok: exposed upstream key refused, allowed loudly"

# 413 before the body
P4=$(free_port)
gw_start small --port "$P4" --max-body 4096 || fail "start small"
/usr/bin/python3 - "$P4" <<'PY'
import json, socket, sys, time, urllib.request
port = int(sys.argv[1])
bad = []

def answer(s, timeout=5):
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + 10:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    return data

HDR = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
for extra in (b"", b"Expect: 100-continue\r\n"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(HDR + extra + b"Content-Length: 1073741824\r\n\r\n")  # and not one byte of it
    data = answer(s)
    s.close()
    head = data.split(b"\r\n", 1)[0]
    if not head.startswith(b"HTTP/1.1 413") or b"request_too_large" not in data:
        bad.append(f"1 GB Content-Length {extra!r}: {data[:200]!r}")

# chunked: 1 KiB chunks until the gateway answers; it must answer soon after 4 KiB
s = socket.create_connection(("127.0.0.1", port))
s.sendall(HDR + b"Transfer-Encoding: chunked\r\n\r\n")
sent, data = 0, b""
s.settimeout(0.05)
for i in range(2000):  # up to 2 MB
    try:
        s.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")
        sent += 1024
    except OSError:
        break
    try:
        d = s.recv(65536)
        if d or d == b"":
            data += d
            break
    except socket.timeout:
        pass
data += answer(s, 2)
s.close()
if not data.startswith(b"HTTP/1.1 413") or b"request_too_large" not in data:
    bad.append(f"chunked: {data[:200]!r} after {sent} bytes")
if sent > 64 * 1024:
    bad.append(f"chunked: {sent} bytes sent before the answer")
print(f"chunked body answered 413 after {sent} bytes sent")

# the gateway still serves, and counted the three refusals
body = json.dumps({"model": "sonde-sim", "messages": [{"role": "user", "content": "hi"}]}).encode()
r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions",
                                                  data=body, headers={"Content-Type": "application/json"}))
if r.status != 200:
    bad.append(f"after the refusals: {r.status}")
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
if 'gateway_refusals_total{code="request_too_large"} 3' not in text:
    bad.append("refusals not counted: " + "".join(l for l in text.splitlines() if "refusals" in l))
if 'http_requests_total{method="POST",route="/v1/chat/completions",status="413"} 3' not in text:
    bad.append("413s not in http_requests_total")
if bad:
    print("FAIL:\n  " + "\n  ".join(bad))
    sys.exit(1)
print("ok: 413 before the body (Content-Length, Expect: 100-continue, chunked)")
PY
echo "ok: safe defaults"
